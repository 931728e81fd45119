"""Reports over the read models reporting builds from events (reporting).

A mixin of GatewayService: each method is one route, declared with `@route` (roles, where it
acts, schemas); the handler only translates and delegates by RPC. `leadership` and `bank_admin`
read the reports of a bank they hold that role anywhere in (`BankPart`); which part of the bank
each one sees (all of it, one trust's sites, one site) is reporting's to apply
(`reporting/access.py`), from the ids its grants cover.

Every report answers JSON, or CSV with `?format=csv` (or `Accept: text/csv` when no format is
given): one header row, a column per field (`blocked_by` a column per reason, `reasons` joined
by " | "), UTF-8, as a download. `GET /v1/reports/fill-rate/chart` draws the fill-rate series
(a line per site) as SVG for the portal."""


from werkzeug.wrappers import Response

from gateway.access import BankPart
from gateway.http import route
from gateway.routes.payroll import csv_response
from reporting import schemas as report_schemas
from reporting.access import CAPACITIES, READERS

BANK = BankPart("bank_id", "bank", roles=READERS)
CSV = ("text/csv",)  # every report is also CSV (?format=csv or Accept: text/csv)


class ReportingRoutes:
    def _report(self, report, call):
        args = (call.query, call.actor_dict, call.scope_ids(READERS))
        wanted = call.query.get("format") or (
            "csv" if call.request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv"
            else "json")
        if wanted == "csv":
            return csv_response(self.reporting.export_csv(report, *args))
        return self.reporting.report(report, *args)

    @route("GET", "/v1/reports/fill-rate", roles=READERS, query=report_schemas.GroupedQuery,
           response=report_schemas.FillRateReport, scope=BANK,
           capacities=CAPACITIES, also_as=CSV, tags=["reports"])
    def report_fill_rate(self, call):
        """Fill rate by site, organisation or staff type, for shifts starting from..to: posted, filled
        (booked or completed), cancelled, filled by agency workers, filled / (posted - cancelled),
        hours booked. CSV with format=csv."""
        return self._report("fill_rate", call)

    @route("GET", "/v1/reports/fill-rate/series", roles=READERS, query=report_schemas.SeriesQuery,
           response=report_schemas.SeriesReport, scope=BANK,
           capacities=CAPACITIES, also_as=CSV, tags=["reports"])
    def report_fill_rate_series(self, call):
        """Fill rate by site and period (London day, week from Monday, or month) of shift start, oldest
        first: what the chart draws. CSV with format=csv."""
        return self._report("fill_rate_series", call)

    @route("GET", "/v1/reports/fill-rate/chart", roles=READERS, query=report_schemas.ChartQuery, scope=BANK,
           capacities=CAPACITIES, media_type="image/svg+xml", tags=["reports"])
    def report_fill_rate_chart(self, call):
        """The fill-rate series as an SVG chart, a line per site (the 12 with most shifts posted)."""
        chart = self.reporting.fill_rate_chart(call.query, call.actor_dict, call.scope_ids(READERS))
        return Response(chart["content"], content_type="image/svg+xml; charset=utf-8",
                        headers={"Content-Disposition": f'inline; filename="{chart["filename"]}"'})

    @route("GET", "/v1/reports/sitrep", roles=READERS, query=report_schemas.BankQuery,
           response=report_schemas.SitrepReport, scope=BANK,
           capacities=CAPACITIES, also_as=CSV, tags=["reports"])
    def report_sitrep(self, call):
        """Each organisation's next 14 days as red, amber or green, with coverage, open gaps and the
        reasons (gaps in the next 48 h, days a site has one booked clinician). CSV with format=csv."""
        return self._report("sitrep", call)

    @route("GET", "/v1/reports/spend", roles=READERS, query=report_schemas.PeriodQuery,
           response=report_schemas.SpendReport, scope=BANK,
           capacities=CAPACITIES, also_as=CSV, tags=["reports"])
    def report_spend(self, call):
        """Bank and agency spend by organisation: approved timesheets of shifts starting from..to, their
        hours, and what closed pay runs have paid of them. CSV with format=csv."""
        return self._report("spend", call)

    @route("GET", "/v1/reports/utilisation", roles=READERS, query=report_schemas.BankQuery,
           response=report_schemas.UtilisationReport, scope=BANK,
           capacities=CAPACITIES, also_as=CSV, tags=["reports"])
    def report_utilisation(self, call):
        """Per site and staff type: the bank's workers, how many could take a shift there today, and what
        keeps the others (missing:<kind>, expired:<kind>, not-active, out-of-range). CSV with format=csv."""
        return self._report("utilisation", call)

    @route("GET", "/v1/reports/rate-violations", roles=READERS, query=report_schemas.GroupedQuery,
           response=report_schemas.RateViolationReport, scope=BANK,
           capacities=CAPACITIES, also_as=CSV, tags=["reports"])
    def report_rate_violations(self, call):
        """Shifts posted above their standard rate, by site, organisation or staff type, and the premium
        paid on those filled. CSV with format=csv."""
        return self._report("rate_violations", call)

    @route("GET", "/v1/reports/time-to-fill", roles=READERS, query=report_schemas.GroupedQuery,
           response=report_schemas.TimeToFillReport, scope=BANK,
           capacities=CAPACITIES, also_as=CSV, tags=["reports"])
    def report_time_to_fill(self, call):
        """Hours from a shift's first posting for cover to its booking (mean, median, longest), by site,
        organisation or staff type; shifts booked after they started are not measured. CSV with
        format=csv."""
        return self._report("time_to_fill", call)

    @route("GET", "/v1/reports/late-cancellations", roles=READERS, query=report_schemas.LateCancellationQuery,
           response=report_schemas.LateCancellationReport, scope=BANK, capacities=CAPACITIES,
           also_as=CSV, tags=["reports"])
    def report_late_cancellations(self, call):
        """Cancellations and the late ones (a booked shift inside 72 h of its start) by site,
        organisation, staff type or booked worker, by whom, and the median notice given. CSV with
        format=csv."""
        return self._report("late_cancellations", call)
