// A rota coordinator's page: a week calendar per site (open, booked, pending shifts), post a shift
// (the rate card's rates shown, a warning with a reason field before a rate violation), release to
// a priority group or the bank, applicants in order, book, cancel, cascade.
import { all, get, post, query } from "./api.js";
import { directory, siteName, sitesFor } from "./directory.js";
import { action, badge, clear, field, form, h, isoFromLocal, label, money, scrollable, section, short, span,
  table, time, values } from "./ui.js";

const COORDINATING = ["rota_coordinator", "bank_admin", "platform_admin"];
const state = { site: null, monday: mondayOf(new Date()) };

function mondayOf(day) {
  const d = new Date(day.getFullYear(), day.getMonth(), day.getDate());
  d.setDate(d.getDate() - ((d.getDay() + 6) % 7));
  return d;
}
const addDays = (d, n) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);
const dayKey = (d) => `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;

export async function render(root, { me }) {
  const grants = me.roles.filter((g) => COORDINATING.includes(g.role));
  const bankId = (grants.find((g) => g.bank_id) || {}).bank_id || (grants.find((g) => g.scope_type === "bank") || {}).scope_id;
  const dir = await directory();
  state.dir = dir;
  const sites = sitesFor(dir, me, COORDINATING);
  if (!state.site || !sites.some((s) => s.id === state.site)) state.site = sites.length ? sites[0].id : null;
  const parts = { week: h("div"), post: h("div"), detail: h("div", { id: "shift-detail" }) };
  clear(root,
    sites.length ? form({ label: "Choose a site", submitLabel: "Show site", inline: true, fields: [
      field("Site", { name: "site", type: "select", value: state.site,
        options: sites.map((s) => [s.id, siteName(dir, s.id)]) }),
    ], submit: async (v) => { state.site = v.site; await week(parts.week, parts.detail); return null; } })
      : h("p", { class: "empty" }, "You coordinate no site yet: a bank admin grants sites."),
    section("Week", parts.week),
    section("Shift", parts.detail),
    section("Post a shift", parts.post));
  const cardBank = bankId || (dir.site[state.site] || {}).bank_id;
  await Promise.all([week(parts.week, parts.detail), postForm(parts.post, cardBank, sites, () => week(parts.week, parts.detail))]);
}

async function week(el, detail) {
  if (!state.site) { clear(el, h("p", {}, "Choose a site.")); return; }
  const from = state.monday, to = addDays(state.monday, 7);
  const shifts = await all(`/v1/shifts${query({ site_id: state.site, from: from.toISOString(), to: to.toISOString() })}`);
  const days = [...Array(7).keys()].map((i) => addDays(from, i));
  const byDay = Object.fromEntries(days.map((d) => [dayKey(d), []]));
  for (const s of shifts) {
    const key = dayKey(new Date(s.starts_at));
    if (byDay[key]) byDay[key].push(s);
  }
  const fmt = new Intl.DateTimeFormat("en-GB", { weekday: "short", day: "numeric", month: "short" });
  const counts = {};
  for (const s of shifts) counts[s.status] = (counts[s.status] || 0) + 1;
  clear(el,
    h("div", { class: "weeknav" },
      h("button", { type: "button", onclick: () => { state.monday = addDays(state.monday, -7); week(el, detail); } }, "Previous week"),
      h("span", { class: "weekof" }, `Week of ${fmt.format(from)}`),
      h("button", { type: "button", onclick: () => { state.monday = addDays(state.monday, 7); week(el, detail); } }, "Next week")),
    h("p", {}, Object.keys(counts).length ? Object.entries(counts).map(([k, n]) => `${n} ${label(k)}`).join(", ") : "No shifts this week."),
    scrollable("Week calendar", h("table", { class: "calendar" },
      h("caption", {}, `Shifts at ${siteName(state.dir, state.site)}`),
      h("thead", {}, h("tr", {}, days.map((d) => h("th", { scope: "col" }, fmt.format(d))))),
      h("tbody", {}, h("tr", {}, days.map((d) => h("td", {}, byDay[dayKey(d)].map((s) =>
        h("button", { type: "button", class: `slot ${s.status}`, onclick: () => showShift(detail, s.id, () => week(el, detail)) },
          `${time(s.starts_at)}–${time(s.ends_at)} ${s.staff_type} ${s.grade} `, badge(s.status))))))))));
}

async function showShift(el, shiftId, refresh) {
  const s = await get(`/v1/shifts/${shiftId}`);
  const again = async () => { await showShift(el, shiftId, refresh); await refresh(); };
  const parts = [h("p", {}, `${span(s)} · ${s.staff_type} ${s.grade} · `, badge(s.status), ` · ${money(s.hourly_rate)}/h`,
    s.rate_violation ? ` (standard ${money(s.standard_rate)}/h: rate violation, ${label(s.violation_status)})` : "",
    s.release_stage ? ` · released to ${s.release_stage}` : "", s.agency_tier ? ` · agency tier ${s.agency_tier}` : "")];
  if (s.status === "draft") {
    parts.push(action("Release to the bank", async () => { await post(`/v1/shifts/${s.id}/publish`, { to: "bank" }); await again(); }));
    const groups = await all(`/v1/priority-groups${query({ organisation_id: s.organisation_id })}`);
    if (groups.length) parts.push(form({ label: "Release to a priority group", submitLabel: "Release to group", inline: true, fields: [
      field("Priority group", { name: "group", type: "select", required: true,
        options: groups.map((g) => [g.id, `${g.name} (${g.worker_ids.length} workers)`]) }),
      field("Window (minutes)", { name: "minutes", type: "number", min: 1, value: 60 }),
    ], submit: async (v) => {
      await post(`/v1/shifts/${s.id}/publish`, { to: "priority", priority_group_id: v.group, priority_minutes: Number(v.minutes) || undefined });
      await again();
    } }));
  }
  if (["open", "agency"].includes(s.status)) {
    // Applicants in matching's order (worked here, then at the organisation, then the least offered
    // lately, then the nearest); those it would not offer the shift to now come last, by when they applied.
    const applicants = (await get(`/v1/shifts/${s.id}/applications?limit=500`)).items;
    applicants.sort((a, b) => (a.match ? a.match.rank : Infinity) - (b.match ? b.match.rank : Infinity)
      || a.created_at.localeCompare(b.created_at));
    const people = await Promise.all(applicants.map((a) => get(`/v1/workers/${a.worker_id}`).catch(() => ({ id: a.worker_id }))));
    const why = (m) => (!m ? "not eligible or out of reach now" : m.worked_at_site ? "has worked here"
      : m.worked_at_organisation ? "has worked at this organisation" : "new here");
    parts.push(table("Applicants, best match first", ["Rank", "Worker", "Bank number", "Why", "Applied", ""],
      applicants.map((a, i) => [a.match ? String(a.match.rank) : "–", people[i].name || short(a.worker_id),
        people[i].bank_number || "", why(a.match), new Date(a.created_at).toLocaleString("en-GB"),
        action(`Book ${people[i].name || short(a.worker_id)}`, async () => { await post(`/v1/shifts/${s.id}/book`, { worker_id: a.worker_id }); await again(); })]),
      "No applicants yet."));
    parts.push(form({ label: "Book a worker by id", submitLabel: "Book worker", inline: true, fields: [
      field("Worker id", { name: "worker_id", required: true }),
    ], submit: async (v) => { await post(`/v1/shifts/${s.id}/book`, { worker_id: v.worker_id }); await again(); } }));
    parts.push(form({ label: "Cascade to agencies", submitLabel: "Cascade", inline: true, fields: [
      field("Agency tier", { name: "tier", type: "number", min: 1, max: 10, value: 1 }),
    ], submit: async (v) => { await post(`/v1/shifts/${s.id}/cascade`, { tier: Number(v.tier) || 1 }); await again(); } }));
  }
  if (!["completed", "cancelled"].includes(s.status)) {
    parts.push(form({ label: "Cancel this shift", submitLabel: "Cancel shift", inline: true, fields: [
      field("Reason for cancelling", { name: "reason", required: true }),
    ], submit: async (v) => { await post(`/v1/shifts/${s.id}/cancel`, { reason: v.reason }); await again(); } }));
  }
  clear(el, ...parts);
  el.scrollIntoView({ block: "nearest" });
}

// The band most of a shift's minutes fall in, as payroll prices it (bank holidays aside: the
// platform decides those): weekend > night (21:00-07:00) > day, in the browser's (London) time.
function likelyBand(start, end) {
  const minutes = { day: 0, night: 0, weekend: 0 };
  for (let t = new Date(start); t < end; t = new Date(t.getTime() + 60000)) {
    const weekend = t.getDay() === 0 || t.getDay() === 6;
    const night = t.getHours() >= 21 || t.getHours() < 7;
    minutes[weekend ? "weekend" : night ? "night" : "day"] += 1;
  }
  return Object.entries(minutes).sort((a, b) => b[1] - a[1])[0][0];
}

async function postForm(el, bankId, sites, refresh) {
  let cards = [];
  const groups = await all("/v1/priority-groups").catch(() => []);
  const cardNote = h("p", { class: "hint", id: "rate-card" });
  if (bankId) {
    try { cards = (await get(`/v1/rate-cards${query({ bank_id: bankId })}`)).items; } catch (error) { cardNote.textContent = `Rate card: ${error.message}`; }
  }
  const warning = h("div", { class: "warning", hidden: true, role: "alert" });
  const reason = field("Reason for the higher rate", { name: "rate_reason", type: "textarea" });
  warning.append(h("p", { class: "warn-text" }), reason);
  const showCard = () => {
    const v = values(formEl);
    const card = cards.find((c) => c.staff_type === v.staff_type && c.grade === v.grade);
    if (!card) {
      if (cards.length || !cardNote.textContent) cardNote.textContent = v.staff_type && v.grade ? `No rate card for ${v.staff_type} ${v.grade}.` : "Choose a staff type and grade to see the rate card.";
      warning.hidden = true;
      return null;
    }
    const start = v.starts_at && new Date(v.starts_at), end = v.ends_at && new Date(v.ends_at);
    const band = start && end && end > start ? likelyBand(start, end) : "day";
    const standard = card[`${band}_rate`];
    cardNote.textContent = `Rate card ${card.staff_type} ${card.grade}: day £${card.day_rate}, night £${card.night_rate}, weekend £${card.weekend_rate}, bank holiday £${card.bank_holiday_rate}. This shift: ${band} rate £${standard}/h.`;
    const over = v.hourly_rate && Number(v.hourly_rate) > Number(standard);
    warning.hidden = !over;
    warning.querySelector(".warn-text").textContent = over
      ? `£${v.hourly_rate}/h is above the ${band} rate £${standard}/h: this is a rate violation. The shift will wait for an approver, and leadership is told. Give the reason.` : "";
    return over;
  };
  const formEl = form({ label: "Post a shift", submitLabel: "Post shift", fields: [
    field("Site", { name: "site_id", type: "select", required: true, value: state.site || "",
      options: sites.map((site) => [site.id, siteName(state.dir, site.id)]) }),
    field("Staff type", { name: "staff_type", required: true }),
    field("Grade", { name: "grade", required: true }),
    field("Specialty (optional)", { name: "specialty" }),
    field("Starts", { name: "starts_at", type: "datetime-local", required: true }),
    field("Ends", { name: "ends_at", type: "datetime-local", required: true }),
    field("Break (minutes)", { name: "break_minutes", type: "number", min: 0, value: 0 }),
    field("Hourly rate (optional, £)", { name: "hourly_rate", type: "number", step: "0.01", min: 0 }, "Empty: the rate card's rate."),
    cardNote, warning,
    field("Workers may book instantly", { name: "instant_book", type: "checkbox" }),
    field("Release", { name: "release", type: "select", value: "bank", options: [["bank", "To the whole bank"], ["priority", "To a priority group first"], ["none", "Keep as draft"]] }),
    field("Priority group (for a priority release)", { name: "priority_group_id", type: "select",
      options: [["", "None"], ...groups.map((g) => [g.id, `${g.name} (${g.worker_ids.length} workers)`])] }),
  ], submit: async (v) => {
    const over = showCard();
    if (over && !v.rate_reason) throw new Error("This rate is above the rate card: give a reason for it first.");
    const body = { site_id: v.site_id, staff_type: v.staff_type, grade: v.grade, starts_at: isoFromLocal(v.starts_at),
      ends_at: isoFromLocal(v.ends_at), break_minutes: Number(v.break_minutes) || 0, instant_book: v.instant_book };
    if (v.specialty) body.specialty = v.specialty;
    if (v.hourly_rate) body.hourly_rate = Number(v.hourly_rate).toFixed(2);
    if (over) body.justification = v.rate_reason;
    if (v.release === "bank") body.publish = { to: "bank" };
    if (v.release === "priority") body.publish = { to: "priority", priority_group_id: v.priority_group_id || null };
    const shift = await post("/v1/shifts", body);
    state.site = shift.site_id;
    state.monday = mondayOf(new Date(shift.starts_at));
    await refresh();
    return `Posted: ${span(shift)}, ${label(shift.status)}${shift.rate_violation ? " (rate violation: waiting for approval)" : ""}.`;
  } });
  formEl.addEventListener("input", showCard);
  clear(el, formEl);
  showCard();
}

