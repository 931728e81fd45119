"""Reporting's nameko entrypoints: read models built only from events, and the reports leaders
read over them (API.md "Reports").

Four handlers, one per producer, each taking every type of that producer reporting needs on one
queue (`chassis.handlers`: one quorum queue, not one per type): identity's bank tree and workers,
compliance's clearance and verified documents, every shifts event about a shift, payroll's
approved timesheets and closed pay runs. Each applies its event in one unit of work (claimed in
the inbox first) together with its entry in the event log `python -m reporting.rebuild` replays.
Reporting asks no other service anything and publishes nothing.

Report RPCs take the query (validated again with the gateway's schema), the caller (`actor`,
chassis.auth.Actor as a dict) and the ids its grants cover (`scope_ids`, None only for a platform
grant), both required: access.py decides the part of the bank each caller sees.

Decisions where API.md and DESIGN.md are silent:
- Readers: `leadership` and `bank_admin`, with a grant anywhere in the bank; a bank or platform
  grant sees the whole bank, an organisation grant its sites, a site grant that site (filtered,
  not refused); the sitrep lists the organisations of the caller's part.
- "Posted" is what reporting has heard of: a draft never published publishes no event, so it is in
  no report until it is published, awaits approval of its rate, is booked or cancelled.
- `agency` (fill rate) and agency spend: filled by, or paid to, a worker an agency supplies (its
  `agency_id` as identity last said); everything else is bank.
- `hours_booked`: the scheduled length of filled shifts, breaks included (shifts' events carry no
  break). Spend: approved timesheets (amount, hours), and `paid`/`hours_paid` the part closed pay
  runs paid; by the shift's start for from/to.
- Time to fill: from the first event that offered the shift for cover (published, cascaded, or
  awaiting approval of its rate) to its booking; shifts booked after they started (cover recorded
  afterwards) are not measured.
- Late cancellations: shifts' own `late` flag (a booked shift inside 72 h); notice is the time from
  the cancellation to the start. Group by site, organisation, staff type or booked worker.
- Rate violations: shifts posted above their standard rate, and their premium over it for those
  filled ((hourly_rate - standard_rate) x scheduled hours). Whether one was approved is not in any
  event; GET /v1/rate-violations (shifts) says.
- Sitrep reasons are sentences; "a single booked clinician": a site whose filled shifts starting on a
  London day in the 14 days are all one worker's.
- Utilisation: "registered" counts the bank's workers of the staff type not `left`; a worker counts
  once under each reason it has. Required kinds are those compliance last said were missing; a
  worker compliance never published a status for is judged against all seven (the default): no
  event says what a bank requires.
- Ratios are numbers (4 places); hours and money decimal strings; groups with no shifts in the
  period are left out (the sitrep lists every organisation).
"""

import logging

from chassis.clock import now
from chassis.csvfiles import render
from chassis.errors import NotFound
from chassis.handlers import event_handler
from chassis.rpc import domain_rpc
from chassis.schemas import load_or_invalid
from chassis.service import StaffbankService
from reporting import access, charts, domain, queries, schemas, use_cases

log = logging.getLogger(__name__)


class ReportingService(StaffbankService):
    name = "reporting"

    def _consume(self, event):
        with self.db.unit_of_work() as uow:
            use_cases.consume(uow, event)

    @event_handler("identity", tuple(use_cases.CONSUMED["identity"]))
    def on_identity_event(self, event):
        self._consume(event)

    @event_handler("compliance", tuple(use_cases.CONSUMED["compliance"]))
    def on_compliance_event(self, event):
        self._consume(event)

    @event_handler("shifts", tuple(use_cases.CONSUMED["shifts"]))
    def on_shift_event(self, event):
        self._consume(event)

    @event_handler("payroll", tuple(use_cases.CONSUMED["payroll"]))
    def on_payroll_event(self, event):
        self._consume(event)

    # --- reports ----------------------------------------------------------------------

    def _run(self, report, query, actor, scope_ids):
        if report not in queries.REPORTS:
            raise NotFound(f"no report {report!r}")
        schema, run = queries.REPORTS[report]
        data = load_or_invalid(schema(), query)
        reach = access.reach(actor, scope_ids, data["bank_id"])
        return data, run(self.db.session, reach, data, now())

    @domain_rpc
    def report(self, report, query, actor, scope_ids):
        """One report (fill_rate, fill_rate_series, rate_violations, time_to_fill,
        late_cancellations, spend, sitrep, utilisation: queries.REPORTS): {items: [...]}."""
        return self._run(report, query, actor, scope_ids)[1]

    @domain_rpc
    def export_csv(self, report, query, actor, scope_ids):
        """A report as a CSV download: {filename, content}."""
        data, result = self._run(report, query, actor, scope_ids)
        period = "-".join(str(data[k]) for k in ("from_", "to") if data.get(k)) or now().date().isoformat()
        return {"filename": f"{report.replace('_', '-')}-{period}.csv",
                "content": render(*domain.table(result["items"]))}

    @domain_rpc
    def fill_rate_chart(self, query, actor, scope_ids):
        """The fill-rate series drawn, a line per site: {filename, content} (SVG text)."""
        data = load_or_invalid(schemas.ChartQuery(), query)
        reach = access.reach(actor, scope_ids, data["bank_id"])
        series = queries.fill_rate_series(self.db.session, reach, data, now())
        return {"filename": "fill-rate.svg",
                "content": charts.fill_rate_svg(series["items"], data["interval"])}

    # --- operations -------------------------------------------------------------------

    @domain_rpc
    def shift_view(self, shift_id):
        """What the model holds of a shift: its facts, status history, hours booked, approved, paid."""
        found = queries.shift_view(self.db.session, shift_id)
        if found is None:
            raise NotFound("no such shift")
        return found

    @domain_rpc
    def rebuild(self):
        """Empty the read models and replay the event log (`python -m reporting.rebuild`)."""
        with self.db.unit_of_work() as uow:
            return use_cases.rebuild(uow, progress=lambda done, total: log.info(
                "reporting rebuild: %d/%d events replayed", done, total))
