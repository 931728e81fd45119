// An approver's page: one queue of what waits (rate violations and releases awaiting approval,
// agency cascades: GET /v1/shifts?awaiting=true; timesheets, second approvals), approved or
// rejected with reasons.
import { all, post } from "./api.js";
import { directory, siteName } from "./directory.js";
import { action, badge, clear, field, form, h, money, section, short, span, table, when } from "./ui.js";

export async function render(root) {
  const shiftsEl = h("div"), sheetsEl = h("div");
  clear(root, section("Shifts waiting for approval", shiftsEl), section("Timesheets waiting for approval", sheetsEl));
  await Promise.all([shifts(shiftsEl), timesheets(sheetsEl)]);
}

async function shifts(el) {
  const [items, dir] = await Promise.all([all("/v1/shifts?awaiting=true"), directory()]);
  const release = (a) => (a.release === "agency" ? `an agency cascade to tier ${a.tier}`
    : a.release === "priority" ? "a release to a priority group" : a.release === "bank" ? "a release to the bank" : null);
  const what = (s) => h("span", {},
    s.awaiting.rate ? `Rate violation: ${money(s.hourly_rate)}/h against the standard ${money(s.standard_rate)}/h` : "",
    s.awaiting.rate && s.justification ? h("span", { class: "hint" }, ` (the poster's reason: “${s.justification}”)`) : "",
    release(s.awaiting) ? `${s.awaiting.rate ? "; then " : ""}${release(s.awaiting)}` : "");
  const decide = (s, verb, path, labelText) => form({ label: `${verb} shift ${span(s)}`, submitLabel: verb, inline: true, fields: [
    field(labelText, { name: "reason", required: true }),
  ], submit: async (v) => { await post(`/v1/shifts/${s.id}/${path}`, { reason: v.reason }); await shifts(el); } });
  clear(el, table("Shifts waiting", ["Shift", "Site", "Waits for", "Decision"],
    items.map((s) => [`${span(s)} ${s.staff_type} ${s.grade}`, siteName(dir, s.site_id), what(s),
      h("div", { class: "decide" }, decide(s, "Approve", "approve", "Reason for approving"),
        decide(s, "Reject", "reject", "Reason for rejecting"))]),
    "No shifts are waiting."));
}

async function timesheets(el) {
  const items = await all("/v1/timesheets?status=submitted");
  clear(el, table("Timesheets waiting", ["Worker", "Shift", "Claimed", "Hours", "Amount", "Decision"],
    items.map((t) => [`${t.worker_name || short(t.worker_id)} (${t.bank_number})`,
      `${when(t.shift_starts_at)} at ${t.site_name || short(t.site_id)}`,
      h("span", {}, `${when(t.started_at)}–${when(t.ended_at)}, break ${t.break_minutes} min `,
        t.awaiting === "second_approval" ? badge("second_approval") : null,
        t.second_approval_required ? h("span", { class: "warn" }, ` over the ${t.scheduled_hours} h scheduled`) : null),
      t.hours, money(t.amount),
      h("div", {}, action(`Approve timesheet of ${t.worker_name || short(t.worker_id)}`, async () => {
        await post(`/v1/timesheets/${t.id}/approve`); await timesheets(el);
      }), form({ label: `Reject timesheet of ${t.worker_name || short(t.worker_id)}`, submitLabel: "Reject", inline: true, fields: [
        field("Reason for rejecting", { name: "reason", required: true }),
      ], submit: async (v) => { await post(`/v1/timesheets/${t.id}/reject`, { reason: v.reason }); await timesheets(el); } }))]),
    "No timesheets are waiting."));
}

