// A worker's page: documents and what is missing or expiring; open shifts I may take (nearest
// first, filtered by distance, date and site); apply or book; my bookings, cancel with a reason,
// submit a timesheet; my notifications, unread first.
import { all, get, post, query } from "./api.js";
import { directory, siteName } from "./directory.js";
import { action, badge, clear, field, form, h, isoFromLocal, label, localFromIso, messages, money, section,
  span, table, when } from "./ui.js";

const KINDS = ["identity", "right_to_work", "professional_registration", "dbs", "occupational_health",
  "references", "mandatory_training"];
const filters = {};

export async function render(root, { me }) {
  const workerId = me.worker_id;
  const parts = { status: h("div"), shifts: h("div"), bookings: h("div"), timesheets: h("div"), inbox: h("div") };
  clear(root,
    section("My documents", parts.status),
    section("Open shifts I may take", parts.shifts),
    section("My bookings", parts.bookings),
    section("My timesheets", parts.timesheets),
    section("My notifications", parts.inbox));
  const refresh = () => Promise.all([
    status(parts.status, workerId), shifts(parts.shifts, refresh, workerId), bookings(parts.bookings, workerId, refresh),
    timesheets(parts.timesheets, workerId), inbox(parts.inbox)]);
  await refresh();
}

async function status(el, workerId) {
  const [worker, compliance, documents] = await Promise.all([
    get(`/v1/workers/${workerId}`), get(`/v1/workers/${workerId}/compliance`),
    all(`/v1/workers/${workerId}/documents`)]);
  const missing = compliance.missing.length
    ? h("p", {}, h("strong", {}, "Missing: "), compliance.missing.map(label).join(", "))
    : h("p", {}, "Nothing missing.");
  const expiring = compliance.expiring.length
    ? h("p", { class: "warn" }, h("strong", {}, "Expiring soon: "),
      compliance.expiring.map((e) => `${label(e.kind)} on ${e.expires_on}`).join(", "))
    : null;
  clear(el,
    h("p", {}, "Status: ", badge(worker.status), " · Bank number ", h("strong", {}, worker.bank_number),
      " · Checks: ", badge(compliance.status)),
    missing, expiring,
    table("My documents", ["Kind", "Reference", "Expires", "Status"],
      documents.map((d) => [label(d.kind), d.reference, d.expires_on || "", badge(d.status)]), "No documents yet."),
    form({ label: "Add a document", submitLabel: "Add document", fields: [
      field("Document", { name: "kind", type: "select", required: true,
        options: KINDS.map((k) => [k, label(k)]), value: compliance.missing[0] }),
      field("Reference", { name: "reference", required: true }, "The document's number or reference."),
      field("Issued on (optional)", { name: "issued_on", type: "date" }),
      field("Expires on (optional)", { name: "expires_on", type: "date" }, "The last day it is valid."),
    ], submit: async (v) => {
      const body = { kind: v.kind, reference: v.reference };
      if (v.issued_on) body.issued_on = v.issued_on;
      if (v.expires_on) body.expires_on = v.expires_on;
      await post(`/v1/workers/${workerId}/documents`, body);
      await status(el, workerId);
      return null;
    } }));
}

async function shifts(el, refresh, workerId) {
  const params = { max_distance_km: filters.distance, site_id: filters.site,
    from: filters.from ? `${filters.from}T00:00:00+00:00` : undefined,
    to: filters.to ? `${filters.to}T23:59:00+00:00` : undefined };
  const list = h("div");
  const note = messages();
  const dir = await directory();
  const sites = [...dir.sites].sort((a, b) => siteName(dir, a.id).localeCompare(siteName(dir, b.id)));
  clear(el,
    form({ label: "Filter open shifts", submitLabel: "Search", inline: true, fields: [
      field("Within (km)", { name: "distance", type: "number", min: 0, step: "any", value: filters.distance }),
      field("From", { name: "from", type: "date", value: filters.from }),
      field("To", { name: "to", type: "date", value: filters.to }),
      field("Site", { name: "site", type: "select", value: filters.site || "",
        options: [["", "Any site"], ...sites.map((site) => [site.id, siteName(dir, site.id)])] }),
    ], submit: async (v) => { Object.assign(filters, v); await shifts(el, refresh, workerId); return null; } }),
    note, list);
  let items;
  try {
    items = (await get(`/v1/shifts/available${query(params)}`)).items;
  } catch (error) { note.error(error); return; }
  clear(list, table("Open shifts, nearest first", ["When", "Shift", "Site", "Rate", "Distance", ""],
    items.map((s) => [span(s), `${s.staff_type} ${s.grade}${s.specialty ? ` (${s.specialty})` : ""}`,
      siteName(dir, s.site_id), `${money(s.hourly_rate)}/h`, `${s.distance_km.toFixed(1)} km`,
      s.instant_book
        ? action(`Book now ${when(s.starts_at)}`, async () => {
          await post(`/v1/shifts/${s.id}/book`, { worker_id: workerId });
          await refresh(); return null;
        })
        : action(`Apply ${when(s.starts_at)}`, async () => {
          await post(`/v1/shifts/${s.id}/applications`); await refresh(); return null;
        })]),
    "No open shifts match. Try a wider distance or other dates."));
}

// My bookings and applications (GET /v1/workers/{id}/shifts): from today on, and those worked
// that still want a timesheet.
async function bookings(el, workerId, refresh) {
  const since = new Date(Date.now() - 31 * 24 * 3600 * 1000).toISOString();
  const [found, sheets, dir] = await Promise.all([all(`/v1/workers/${workerId}/shifts${query({ from: since })}`),
    all(`/v1/timesheets${query({ worker_id: workerId })}`), directory()]);
  const claimed = new Set(sheets.filter((t) => t.status !== "rejected").map((t) => t.shift_id));
  const mine = (s) => s.worker_id === workerId;
  const relevant = found.filter((s) => !mine(s) || s.status !== "completed" || !claimed.has(s.id));
  clear(el, table("My bookings and applications", ["When", "Shift", "Status", ""],
    relevant.map((s) => [span(s), `${s.staff_type} ${s.grade} · ${siteName(dir, s.site_id)}`,
      mine(s) ? badge(s.status) : badge(s.status === "open" || s.status === "agency" ? "applied" : "not_booked"),
      !mine(s) ? "" : s.status === "booked" ? cancelForm(s, refresh)
        : s.status === "completed" && !claimed.has(s.id) ? timesheetForm(s, refresh) : ""]),
    "No bookings or applications yet."));
}

function cancelForm(shift, refresh) {
  return form({ label: `Cancel shift ${when(shift.starts_at)}`, submitLabel: "Cancel shift", inline: true, fields: [
    field("Reason for cancelling", { name: "reason", required: true }),
  ], submit: async (v) => { await post(`/v1/shifts/${shift.id}/cancel`, { reason: v.reason }); await refresh(); return null; } });
}

function timesheetForm(shift, refresh) {
  return form({ label: `Timesheet for ${when(shift.starts_at)}`, submitLabel: "Submit timesheet", inline: true, fields: [
    field("Started", { name: "started_at", type: "datetime-local", required: true, value: localFromIso(shift.starts_at) }),
    field("Ended", { name: "ended_at", type: "datetime-local", required: true, value: localFromIso(shift.ends_at) }),
    field("Break (minutes)", { name: "break_minutes", type: "number", min: 0, required: true, value: shift.break_minutes }),
  ], submit: async (v) => {
    await post("/v1/timesheets", { shift_id: shift.id, started_at: isoFromLocal(v.started_at),
      ended_at: isoFromLocal(v.ended_at), break_minutes: Number(v.break_minutes) });
    await refresh();
    return null;
  } });
}

async function timesheets(el, workerId) {
  const [items, dir] = await Promise.all([all(`/v1/timesheets${query({ worker_id: workerId })}`), directory()]);
  clear(el, table("My timesheets", ["Shift", "Site", "Hours", "Amount", "Status"],
    items.map((t) => [when(t.shift_starts_at), t.site_name || siteName(dir, t.site_id), t.hours, money(t.amount),
      h("span", {}, badge(t.status), t.rejection_reason ? ` ${t.rejection_reason}` : "")]), "No timesheets yet."));
}

async function inbox(el) {
  const items = (await get("/v1/notifications?limit=100")).items;
  items.sort((a, b) => (a.read_at ? 1 : 0) - (b.read_at ? 1 : 0) || b.created_at.localeCompare(a.created_at));
  clear(el, items.length ? h("ul", { class: "inbox" }, items.map((n) => h("li", { class: n.read_at ? "read" : "unread" },
    h("p", {}, h("strong", {}, n.read_at ? "" : "New: ", n.title)), h("p", {}, n.body),
    h("p", { class: "meta" }, when(n.created_at)),
    n.read_at ? null : action(`Mark read: ${n.title}`, async () => { await post(`/v1/notifications/${n.id}/read`); await inbox(el); return null; }))))
    : h("p", { class: "empty" }, "No notifications."));
}
