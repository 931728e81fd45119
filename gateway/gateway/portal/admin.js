// A bank admin's page: the onboarding queue (verify or reject documents), rate cards,
// organisations, sites, users and grants, priority groups, site policies.
import { all, get, post, put, query } from "./api.js";
import { directory, forget, siteName } from "./directory.js";
import { action, badge, clear, field, form, h, label, money, section, short, table } from "./ui.js";

const ROLES = ["bank_admin", "rota_coordinator", "timesheet_approver", "leadership", "agency", "hr_system"];
const state = { bank: null };

export async function render(root, { me }) {
  const grant = me.roles.find((g) => g.role === "bank_admin" && g.scope_type === "bank");
  state.bank = state.bank || (grant && grant.scope_id) || null;
  const parts = { queue: h("div"), cards: h("div"), tree: h("div"), users: h("div"), groups: h("div"), policy: h("div") };
  const isPlatform = me.roles.some((g) => g.role === "platform_admin");
  const dir = await directory();
  if (!state.bank && isPlatform && dir.banks.length) state.bank = dir.banks[0].id;
  clear(root,
    isPlatform ? section("Bank", dir.banks.length ? form({ label: "Choose a bank", submitLabel: "Show bank", inline: true, fields: [
      field("Bank", { name: "bank", type: "select", required: true, value: state.bank || "",
        options: dir.banks.map((b) => [b.id, b.name]) })],
    submit: async (v) => { state.bank = v.bank; await render(root, { me }); } }) : null,
    form({ label: "Create a bank", submitLabel: "Create bank", inline: true, fields: [field("Bank name", { name: "name", required: true })],
      submit: async (v) => { const bank = await post("/v1/banks", { name: v.name }); state.bank = bank.id; forget(); await render(root, { me }); } })) : null,
    state.bank ? h("p", {}, "Workers register at ", h("code", { id: "register-link" }, `${location.origin}/portal/register?bank=${state.bank}`)) : null,
    section("Onboarding queue", parts.queue),
    section("Rate cards", parts.cards),
    section("Organisations and sites", parts.tree),
    section("Users and grants", parts.users),
    section("Priority groups", parts.groups),
    section("Site policies", parts.policy));
  if (!state.bank) return;
  const again = () => render(root, { me });
  await Promise.all([queue(parts.queue), cards(parts.cards), tree(parts.tree, dir, again), users(parts.users, dir),
    groups(parts.groups, dir), policy(parts.policy, dir)]);
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

// The bank's organisations and their sites (GET /v1/organisations, /v1/sites), and adding either.
function tree(el, dir, again) {
  const orgs = dir.organisations.filter((o) => o.bank_id === state.bank);
  const sitesOf = (org) => dir.sites.filter((site) => site.organisation_id === org.id);
  const created = async (text) => { forget(); await again(); return text; };
  clear(el,
    table("Organisations and their sites", ["Organisation", "Kind", "ODS code", "Sites"],
      orgs.map((o) => [o.name, o.kind, o.ods_code || "", sitesOf(o).map((site) => site.name).join(", ") || "none yet"]),
      "No organisations yet."),
    form({ label: "Add an organisation", submitLabel: "Add organisation", inline: true, fields: [
      field("Organisation name", { name: "name", required: true }),
      field("Kind", { name: "kind", type: "select", options: ["trust", "practice", "hub", "agency"].map((k) => [k, k]) }),
      field("ODS code (optional)", { name: "ods_code" })],
    submit: async (v) => {
      const org = await post("/v1/organisations", { bank_id: state.bank, name: v.name, kind: v.kind, ...(v.ods_code ? { ods_code: v.ods_code } : {}) });
      return created(`Added ${org.name}.`);
    } }),
    orgs.length ? form({ label: "Add a site", submitLabel: "Add site", inline: true, fields: [
      field("Organisation", { name: "organisation_id", type: "select", required: true, options: orgs.map((o) => [o.id, o.name]) }),
      field("Site name", { name: "name", required: true }),
      field("Latitude", { name: "latitude", type: "number", step: "any", required: true }),
      field("Longitude", { name: "longitude", type: "number", step: "any", required: true }),
      field("Postcode (optional)", { name: "postcode" })],
    submit: async (v) => {
      const site = await post("/v1/sites", { organisation_id: v.organisation_id, name: v.name, latitude: Number(v.latitude),
        longitude: Number(v.longitude), ...(v.postcode ? { postcode: v.postcode } : {}) });
      return created(`Added ${site.name}.`);
    } }) : null);
}

// "organisation:<id>" / "site:<id>" options for a grant's place, by name.
function places(dir) {
  const orgs = dir.organisations.filter((o) => o.bank_id === state.bank);
  const sites = dir.sites.filter((site) => site.bank_id === state.bank);
  return [["bank:", "The whole bank"], ...orgs.map((o) => [`organisation:${o.id}`, `Organisation: ${o.name}`]),
    ...sites.map((site) => [`site:${site.id}`, `Site: ${siteName(dir, site.id)}`])];
}

function grantOf(place, role) {
  const [scopeType, id] = place.split(":");
  return { role, scope_type: scopeType, scope_id: scopeType === "bank" ? state.bank : id };
}

function placeName(dir, grant) {
  if (grant.scope_type === "bank") return dir.bank[grant.scope_id] ? dir.bank[grant.scope_id].name : "the bank";
  if (grant.scope_type === "organisation") return (dir.organisation[grant.scope_id] || {}).name || short(grant.scope_id);
  if (grant.scope_type === "site") return siteName(dir, grant.scope_id);
  return grant.scope_type;
}

async function users(el, dir) {
  const items = await all(`/v1/users${query({ bank_id: state.bank })}`);
  const grants = (u) => u.roles.map((g) => `${label(g.role)}: ${placeName(dir, g)}`).join("; ");
  const staffAccounts = items.filter((u) => u.active && !u.roles.some((g) => g.role === "worker"));
  clear(el, table("Accounts", ["Name", "Email", "Grants", "Active", ""],
    items.map((u) => [u.name, u.email, grants(u), u.active ? "yes" : "no",
      u.active && !u.roles.some((g) => g.role === "worker") ? action(`Deactivate ${u.email}`, async () => {
        await post(`/v1/users/${u.id}/deactivate`); await users(el, dir);
      }) : ""]), "No accounts yet."),
  form({ label: "Add a staff account", submitLabel: "Add account", fields: [
    field("Name", { name: "name", required: true }), field("Email", { name: "email", type: "email", required: true }),
    field("Password", { name: "password", type: "password", required: true, minlength: 8, autocomplete: "new-password" }),
    field("Role", { name: "role", type: "select", options: ROLES.map((r) => [r, label(r)]) }),
    field("Granted on", { name: "place", type: "select", options: places(dir) })],
  submit: async (v) => {
    await post("/v1/users", { name: v.name, email: v.email, password: v.password, roles: [grantOf(v.place, v.role)] });
    await users(el, dir);
  } }),
  staffAccounts.length ? form({ label: "Replace an account's grants", submitLabel: "Set grants", fields: [
    field("Account", { name: "id", type: "select", required: true, options: staffAccounts.map((u) => [u.id, `${u.name} (${u.email})`]) }),
    field("Role", { name: "role", type: "select", options: ROLES.map((r) => [r, label(r)]) }),
    field("Granted on", { name: "place", type: "select", options: places(dir) })],
  submit: async (v) => {
    await put(`/v1/users/${v.id}/roles`, { roles: [grantOf(v.place, v.role)] });
    await users(el, dir);
  } }) : null);
}

// Priority groups: an organisation's chosen workers, picked by name from the bank's active workers.
async function groups(el, dir) {
  const orgs = dir.organisations.filter((o) => o.bank_id === state.bank && o.kind !== "agency");
  const workers = await all(`/v1/workers${query({ bank_id: state.bank, status: "active" })}`);
  if (!orgs.length) { clear(el, h("p", { class: "empty" }, "Add an organisation first.")); return; }
  clear(el, form({ label: "Create a priority group", submitLabel: "Create group", fields: [
    field("Organisation", { name: "organisation_id", type: "select", required: true, options: orgs.map((o) => [o.id, o.name]) }),
    field("Group name", { name: "name", required: true }),
    field("Workers", { name: "worker_ids", type: "select", multiple: true, size: Math.min(8, Math.max(2, workers.length)),
      options: workers.map((w) => [w.id, `${w.name} · ${w.staff_type} ${w.grade} · ${w.bank_number}`]) },
    "Active workers of the bank; hold Ctrl (or Cmd) to choose several.")],
  submit: async (v) => {
    const group = await post("/v1/priority-groups", { organisation_id: v.organisation_id, name: v.name, worker_ids: v.worker_ids });
    return `Created ${group.name} (${group.worker_ids.length} workers).`;
  } }));
}

function policy(el, dir) {
  const shown = h("div");
  const sites = dir.sites.filter((site) => site.bank_id === state.bank);
  if (!sites.length) { clear(el, h("p", { class: "empty" }, "Add a site first.")); return; }
  clear(el, form({ label: "Show a site's policy", submitLabel: "Show policy", inline: true, fields: [
    field("Site", { name: "site", type: "select", required: true, options: sites.map((site) => [site.id, siteName(dir, site.id)]) })],
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
