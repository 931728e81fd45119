// A bank admin's page: the onboarding queue (verify or reject documents), rate cards,
// organisations, sites, users and grants, priority groups, site policies.
import { all, get, post, put, query } from "./api.js";
import { action, badge, clear, field, form, h, label, money, section, short, table } from "./ui.js";

const ROLES = ["bank_admin", "rota_coordinator", "timesheet_approver", "leadership", "agency", "hr_system"];
const state = { bank: null };

export async function render(root, { me }) {
  const grant = me.roles.find((g) => g.role === "bank_admin" && g.scope_type === "bank");
  state.bank = state.bank || (grant && grant.scope_id) || null;
  const parts = { queue: h("div"), cards: h("div"), tree: h("div"), users: h("div"), groups: h("div"), policy: h("div") };
  const isPlatform = me.roles.some((g) => g.role === "platform_admin");
  clear(root,
    isPlatform ? section("Bank", form({ label: "Choose a bank", submitLabel: "Show bank", inline: true, fields: [
      field("Bank id", { name: "bank", required: true, value: state.bank || "" })],
    submit: async (v) => { state.bank = v.bank; await render(root, { me }); } }),
    form({ label: "Create a bank", submitLabel: "Create bank", inline: true, fields: [field("Bank name", { name: "name", required: true })],
      submit: async (v) => { const bank = await post("/v1/banks", { name: v.name }); state.bank = bank.id; await render(root, { me }); } })) : null,
    state.bank ? h("p", {}, "Workers register at ", h("code", { id: "register-link" }, `${location.origin}/portal/register?bank=${state.bank}`)) : null,
    section("Onboarding queue", parts.queue),
    section("Rate cards", parts.cards),
    section("Organisations and sites", parts.tree),
    section("Users and grants", parts.users),
    section("Priority groups", parts.groups),
    section("Site policies", parts.policy));
  if (!state.bank) return;
  await Promise.all([queue(parts.queue), cards(parts.cards), tree(parts.tree), users(parts.users)]);
  groups(parts.groups);
  policy(parts.policy);
}

async function queue(el) {
  const workers = [];
  for (const status of ["applied", "onboarding", "suspended"]) {
    workers.push(...await all(`/v1/workers${query({ bank_id: state.bank, status })}`));
  }
  const rows = [];
  for (const worker of workers) {
    const [documents, compliance] = await Promise.all([all(`/v1/workers/${worker.id}/documents`),
      get(`/v1/workers/${worker.id}/compliance`)]);
    const waiting = documents.filter((d) => d.status === "submitted");
    rows.push(h("li", { class: "card inner" },
      h("h3", {}, `${worker.name} · ${worker.staff_type} ${worker.grade} · ${worker.bank_number} `, badge(worker.status)),
      h("p", {}, compliance.missing.length ? `Missing: ${compliance.missing.map(label).join(", ")}` : "Nothing missing."),
      table(`Documents of ${worker.name}`, ["Document", "Reference", "Expires", "Status", "Decision"],
        documents.map((d) => [label(d.kind), d.reference, d.expires_on || "", badge(d.status),
          d.status !== "submitted" ? "" : h("div", { class: "decide" },
            action(`Verify ${label(d.kind)} of ${worker.name}`, async () => {
              await post(`/v1/documents/${d.id}/verify`, { outcome: "verified" }); await queue(el);
            }),
            form({ label: `Reject ${label(d.kind)} of ${worker.name}`, submitLabel: "Reject", inline: true, fields: [
              field("Why rejected", { name: "note", required: true })],
            submit: async (v) => { await post(`/v1/documents/${d.id}/verify`, { outcome: "rejected", note: v.note }); await queue(el); } }))]),
        "No documents yet."),
      waiting.length ? null : h("p", { class: "hint" }, "Nothing waits for a decision.")));
  }
  clear(el, rows.length ? h("ul", { class: "plain" }, rows) : h("p", { class: "empty" }, "Nobody is waiting to be onboarded."));
}

async function cards(el) {
  const items = (await get(`/v1/rate-cards${query({ bank_id: state.bank })}`)).items;
  const rate = (name, text) => field(text, { name, type: "number", step: "0.01", min: 0, required: true });
  clear(el, table("Rate cards", ["Staff type", "Grade", "Day", "Night", "Weekend", "Bank holiday"],
    items.map((c) => [c.staff_type, c.grade, money(c.day_rate), money(c.night_rate), money(c.weekend_rate), money(c.bank_holiday_rate)]),
    "No rate cards yet."),
  form({ label: "Set a rate card", submitLabel: "Save rate card", fields: [
    field("Staff type", { name: "staff_type", required: true }), field("Grade", { name: "grade", required: true }),
    rate("day_rate", "Day rate (£/h)"), rate("night_rate", "Night rate (£/h)"), rate("weekend_rate", "Weekend rate (£/h)"),
    rate("bank_holiday_rate", "Bank holiday rate (£/h)")],
  submit: async (v) => {
    const fix = (x) => Number(x).toFixed(2);
    await put("/v1/rate-cards", { bank_id: state.bank, staff_type: v.staff_type, grade: v.grade, day_rate: fix(v.day_rate),
      night_rate: fix(v.night_rate), weekend_rate: fix(v.weekend_rate), bank_holiday_rate: fix(v.bank_holiday_rate) });
    await cards(el);
  } }));
}

async function tree(el) {
  // The API lists no organisations or sites yet: the sitrep names every organisation of the bank,
  // and the fill-rate report the sites that have had shifts.
  const [orgs, sites] = await Promise.all([get(`/v1/reports/sitrep${query({ bank_id: state.bank })}`).then((r) => r.items).catch(() => []),
    get(`/v1/reports/fill-rate${query({ bank_id: state.bank, group_by: "site" })}`).then((r) => r.items).catch(() => [])]);
  const created = h("div");
  clear(el,
    table("Organisations", ["Name", "Id"], orgs.map((o) => [o.name, h("code", {}, o.organisation_id)]), "No organisations yet."),
    table("Sites with shifts", ["Name", "Id"], sites.map((s) => [s.name || "", h("code", {}, s.key)]), "No sites with shifts yet."),
    form({ label: "Add an organisation", submitLabel: "Add organisation", inline: true, fields: [
      field("Organisation name", { name: "name", required: true }),
      field("Kind", { name: "kind", type: "select", options: ["trust", "practice", "hub", "agency"].map((k) => [k, k]) }),
      field("ODS code (optional)", { name: "ods_code" })],
    submit: async (v) => {
      const org = await post("/v1/organisations", { bank_id: state.bank, name: v.name, kind: v.kind, ...(v.ods_code ? { ods_code: v.ods_code } : {}) });
      return `Added ${org.name}: id ${org.id}.`;
    } }),
    form({ label: "Add a site", submitLabel: "Add site", inline: true, fields: [
      field("Organisation id", { name: "organisation_id", required: true }), field("Site name", { name: "name", required: true }),
      field("Latitude", { name: "latitude", type: "number", step: "any", required: true }),
      field("Longitude", { name: "longitude", type: "number", step: "any", required: true }),
      field("Postcode (optional)", { name: "postcode" })],
    submit: async (v) => {
      const site = await post("/v1/sites", { organisation_id: v.organisation_id, name: v.name, latitude: Number(v.latitude),
        longitude: Number(v.longitude), ...(v.postcode ? { postcode: v.postcode } : {}) });
      return `Added ${site.name}: id ${site.id}.`;
    } }), created);
}

async function users(el) {
  const items = await all(`/v1/users${query({ bank_id: state.bank })}`);
  const grants = (u) => u.roles.map((g) => `${label(g.role)} on ${g.scope_type} ${short(g.scope_id)}`).join("; ");
  clear(el, table("Accounts", ["Name", "Email", "Grants", "Active", ""],
    items.map((u) => [u.name, u.email, grants(u), u.active ? "yes" : "no",
      u.active && !u.roles.some((g) => g.role === "worker") ? action(`Deactivate ${u.email}`, async () => {
        await post(`/v1/users/${u.id}/deactivate`); await users(el);
      }) : ""]), "No accounts yet."),
  form({ label: "Add a staff account", submitLabel: "Add account", fields: [
    field("Name", { name: "name", required: true }), field("Email", { name: "email", type: "email", required: true }),
    field("Password", { name: "password", type: "password", required: true, minlength: 8, autocomplete: "new-password" }),
    field("Role", { name: "role", type: "select", options: ROLES.map((r) => [r, label(r)]) }),
    field("Granted on", { name: "scope_type", type: "select", options: [["bank", "the bank"], ["organisation", "an organisation"], ["site", "a site"]] }),
    field("Organisation or site id (not for the bank)", { name: "scope_id" })],
  submit: async (v) => {
    const scopeId = v.scope_type === "bank" ? state.bank : v.scope_id;
    await post("/v1/users", { name: v.name, email: v.email, password: v.password,
      roles: [{ role: v.role, scope_type: v.scope_type, scope_id: scopeId }] });
    await users(el);
  } }),
  form({ label: "Replace an account's grants", submitLabel: "Set grants", fields: [
    field("Account id", { name: "id", required: true }),
    field("Role", { name: "role", type: "select", options: ROLES.map((r) => [r, label(r)]) }),
    field("Granted on", { name: "scope_type", type: "select", options: [["bank", "the bank"], ["organisation", "an organisation"], ["site", "a site"]] }),
    field("Organisation or site id (not for the bank)", { name: "scope_id" })],
  submit: async (v) => {
    await put(`/v1/users/${v.id}/roles`, { roles: [{ role: v.role, scope_type: v.scope_type, scope_id: v.scope_type === "bank" ? state.bank : v.scope_id }] });
    await users(el);
  } }));
}

function groups(el) {
  clear(el, form({ label: "Create a priority group", submitLabel: "Create group", fields: [
    field("Organisation id", { name: "organisation_id", required: true }), field("Group name", { name: "name", required: true }),
    field("Worker ids (comma separated)", { name: "worker_ids", type: "textarea" })],
  submit: async (v) => {
    const group = await post("/v1/priority-groups", { organisation_id: v.organisation_id, name: v.name,
      worker_ids: v.worker_ids.split(/[\s,]+/).filter(Boolean) });
    return `Created ${group.name}: id ${group.id} (${group.worker_ids.length} workers).`;
  } }));
}

function policy(el) {
  const shown = h("div");
  clear(el, form({ label: "Show a site's policy", submitLabel: "Show policy", inline: true, fields: [
    field("Site id", { name: "site", required: true })],
  submit: async (v) => {
    const p = await get(`/v1/sites/${v.site}/policy`);
    clear(shown, form({ label: "Site policy", submitLabel: "Save policy", fields: [
      field("Approval before release", { name: "approval_before_release", type: "checkbox", checked: p.approval_before_release }),
      field("Instant booking allowed", { name: "instant_book_allowed", type: "checkbox", checked: p.instant_book_allowed }),
      field("Agency cascade needs approval", { name: "agency_cascade_needs_approval", type: "checkbox", checked: p.agency_cascade_needs_approval }),
      field("Priority window (minutes)", { name: "priority_minutes", type: "number", min: 1, value: p.priority_minutes }),
      field("Cascade to agencies hours before (empty: never)", { name: "cascade_hours_before", type: "number", min: 1, value: p.cascade_hours_before ?? "" })],
    submit: async (x) => {
      await put(`/v1/sites/${v.site}/policy`, { approval_before_release: x.approval_before_release, instant_book_allowed: x.instant_book_allowed,
        agency_cascade_needs_approval: x.agency_cascade_needs_approval, priority_minutes: Number(x.priority_minutes),
        cascade_hours_before: x.cascade_hours_before ? Number(x.cascade_hours_before) : null });
      return "Policy saved.";
    } }));
  } }), shown);
}
