// Leadership's page: fill rate over time by site (a chart, and the figures as a table), the
// sitrep as a red/amber/green table, rate violations and spend; each downloadable as CSV.
import { call, get, query } from "./api.js";
import { action, clear, downloadCsv, h, money, percent, section, table } from "./ui.js";

const READING = ["leadership", "bank_admin"];

export async function render(root, { me }) {
  const banks = [...new Set(me.roles.filter((g) => READING.includes(g.role)).map((g) => g.bank_id || (g.scope_type === "bank" ? g.scope_id : null)).filter(Boolean))];
  if (!banks.length) { clear(root, h("p", {}, "You read no bank's reports.")); return; }
  const bank = banks[0];
  const q = (extra = {}) => query({ bank_id: bank, ...extra });
  const csv = (path, name) => action(`Download ${name} as CSV`, () => downloadCsv(path, `${name.toLowerCase().replaceAll(" ", "-")}.csv`));
  const [fill, series, sitrep, violations, spend] = await Promise.all([
    get(`/v1/reports/fill-rate${q({ group_by: "site" })}`), get(`/v1/reports/fill-rate/series${q({ interval: "week" })}`),
    get(`/v1/reports/sitrep${q()}`), get(`/v1/reports/rate-violations${q({ group_by: "site" })}`), get(`/v1/reports/spend${q()}`)]);
  const chart = h("figure", { class: "chart" });
  clear(root,
    section("Fill rate by site",
      chart,
      table("Fill rate by site, all time", ["Site", "Posted", "Filled", "Cancelled", "Fill rate", "Hours booked"],
        fill.items.map((i) => [i.name || i.key, i.posted, i.filled, i.cancelled, percent(i.fill_rate), i.hours_booked]), "No shifts posted yet."),
      table("Fill rate by site and week", ["Week from", "Site", "Posted", "Filled", "Fill rate"],
        series.items.map((i) => [i.period_start, i.name || i.site_id, i.posted, i.filled, percent(i.fill_rate)]), "No weeks yet."),
      csv(`/v1/reports/fill-rate${q({ group_by: "site" })}`, "Fill rate"),
      csv(`/v1/reports/fill-rate/series${q({ interval: "week" })}`, "Fill rate by week")),
    section("Sitrep: the next 14 days",
      table("Sitrep by organisation", ["Organisation", "Status", "Coverage", "Open gaps", "Reasons"],
        sitrep.items.map((i) => [i.name, h("span", { class: `rag ${i.rag}` }, i.rag.toUpperCase()), percent(i.coverage), i.open_gaps, i.reasons.join("; ")]),
        "No organisations yet."),
      csv(`/v1/reports/sitrep${q()}`, "Sitrep")),
    section("Rate violations",
      table("Rate violations by site", ["Site", "Posted", "Violations", "Rate", "Filled", "Premium paid"],
        violations.items.map((i) => [i.name || i.key, i.posted, i.violations, percent(i.violation_rate), i.filled, money(i.premium)]),
        "No rate violations."),
      csv(`/v1/reports/rate-violations${q({ group_by: "site" })}`, "Rate violations")),
    section("Spend",
      table("Spend by organisation", ["Organisation", "Bank", "Agency", "Total", "Hours", "Paid"],
        spend.items.map((i) => [i.name || i.organisation_id, money(i.bank), money(i.agency), money(i.total), i.hours, money(i.paid)]),
        "No approved timesheets yet."),
      csv(`/v1/reports/spend${q()}`, "Spend")));
  // The chart: the platform draws it as SVG; fetched with the token and shown from a blob URL
  // (no token in a URL); the tables above carry the same figures for screen readers.
  try {
    const blob = await call("GET", `/v1/reports/fill-rate/chart${q({ interval: "week" })}`, undefined, { raw: true });
    clear(chart, h("img", { src: URL.createObjectURL(blob), alt: "Fill rate by site and week, as a line chart (the figures are in the tables below)." }),
      h("figcaption", {}, "Fill rate over time by site"));
  } catch (error) {
    clear(chart, h("p", { class: "error", role: "alert" }, error.message));
  }
}
