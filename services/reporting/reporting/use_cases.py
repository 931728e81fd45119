"""Reporting's writes: apply each consumed event to the read models, log it, and rebuild the
models from the log.

Each fact is one upsert whose every column follows a rule that does not care about order or
repetition (`first`, `given`, `earliest`, `latest`, `newer_by(stamp)`, `by_rank`): the
database merges a fact into the row under the row's lock, so concurrent handlers and a replay
in any order leave the same rows. A redelivered event never reaches here (the chassis inbox);
the log and the model change commit in the handler's one unit of work.
"""

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from chassis import eventlog
from reporting import domain
from reporting.models import (
    MODEL,
    Document,
    Organisation,
    Payment,
    Shift,
    ShiftStatus,
    Site,
    Timesheet,
    Worker,
    event_log,
)


def consume(uow, event):
    """Apply one consumed event (chassis.handlers.Event) and log it for rebuilds."""
    eventlog.record(uow.session, event_log, eventlog.envelope_of(event))
    APPLY[event.type](uow.session, event)


def rebuild(uow, progress=None):
    """Empty the read models and apply the event log again (`python -m reporting.rebuild`)."""
    session = uow.session
    return eventlog.replay(session, event_log, MODEL,
                           lambda envelope: APPLY[envelope["type"]](session, eventlog.event_of(envelope)),
                           progress=progress)


# --- how a fact merges into a row (old: the row's columns, new: the fact's, `excluded`) -----

def first(old, new, name):
    """Given once (or the same each time): the first value known is kept."""
    return sa.func.coalesce(old[name], new[name])


def given(old, new, name):
    """Set by the one fact that carries it (others bring null)."""
    return sa.func.coalesce(new[name], old[name])


def earliest(old, new, name):
    return sa.func.least(old[name], new[name])  # PostgreSQL's least and greatest ignore nulls


def latest(old, new, name):
    return sa.func.greatest(old[name], new[name])


def newer_by(stamp):
    """Taken from a fact whose `stamp` (occurred_at, version) is newer than the one that set it."""
    def rule(old, new, name):
        newer = sa.and_(new[stamp].is_not(None), sa.or_(old[stamp].is_(None), new[stamp] > old[stamp]))
        return sa.case((newer, new[name]), else_=old[name])
    return rule


def by_rank(rank):
    """Taken from a fact of higher `rank` (a later status)."""
    def rule(old, new, name):
        return sa.case((new[rank] > old[rank], new[name]), else_=old[name])
    return rule


def _merge(session, model, values, rules):
    """Insert the fact's row, or merge it into the existing one column by column by `rules`."""
    statement = insert(model).values(**values)
    old, new = model.__table__.c, statement.excluded
    session.execute(statement.on_conflict_do_update(
        index_elements=list(model.__table__.primary_key.columns),
        set_={name: rule(old, new, name) for name, rule in rules.items()}))


def _add(session, model, values):
    session.execute(insert(model).values(**values).on_conflict_do_nothing())


# --- identity: the bank tree and workers ---------------------------------------------------

def on_organisation_created(session, event):
    data = event.data
    _add(session, Organisation, {"organisation_id": data["organisation_id"], "bank_id": data["bank_id"],
                                 "name": data["name"], "kind": data["kind"]})


def on_site_created(session, event):
    data = event.data
    _add(session, Site, {"site_id": data["site_id"], "organisation_id": data["organisation_id"],
                         "bank_id": data["bank_id"], "name": data["name"], "latitude": data["latitude"],
                         "longitude": data["longitude"]})


REGISTRATION = ("name", "staff_type", "grade", "latitude", "longitude")
PROFILE = ("max_travel_km", "agency_id", "profile_at")
STATUS = ("status", "status_at")
COMPLIANCE = ("compliance_status", "compliance_version", "missing", "cleared_until")
_WORKER_RULES = {"bank_id": given, **{c: given for c in REGISTRATION},
                 **{c: newer_by("profile_at") for c in PROFILE}, **{c: newer_by("status_at") for c in STATUS},
                 **{c: newer_by("compliance_version") for c in COMPLIANCE}}


def _worker(session, worker_id, bank_id, **facts):
    _merge(session, Worker, {"worker_id": worker_id, "bank_id": bank_id, **facts}, _WORKER_RULES)


def on_worker_registered(session, event):
    data, at = event.data, event.occurred_at
    _worker(session, data["worker_id"], data["bank_id"], **{c: data[c] for c in REGISTRATION},
            max_travel_km=data["max_travel_km"], agency_id=data.get("agency_id"), profile_at=at,
            status=data["status"], status_at=at)


def on_worker_updated(session, event):
    data = event.data
    _worker(session, data["worker_id"], data["bank_id"], max_travel_km=data["max_travel_km"],
            agency_id=data.get("agency_id"), profile_at=event.occurred_at)


def on_worker_status(session, event):
    data = event.data
    _worker(session, data["worker_id"], data["bank_id"], status=data["status"], status_at=event.occurred_at)


# --- compliance ------------------------------------------------------------------------------

DOCUMENT_RANK = {"verified": 1, "expired": 2}
_DOCUMENT_RULES = {"status": by_rank("status_rank"), "status_rank": latest}


def _document(session, data, status):
    expires_on = data.get("expires_on")
    _merge(session, Document, {"document_id": data["document_id"], "worker_id": data["worker_id"],
                               "kind": data["kind"], "status": status, "status_rank": DOCUMENT_RANK[status],
                               "expires_on": date.fromisoformat(expires_on) if expires_on else None},
           _DOCUMENT_RULES)


def on_document_verified(session, event):
    _document(session, event.data, "verified")


def on_compliance(session, event):
    """cleared, uncleared, lapsed: the worker's compliance as a whole, by version (a lapse also
    expires its document)."""
    data = event.data
    until = data.get("cleared_until")
    _worker(session, data["worker_id"], data["bank_id"], compliance_status=data["status"],
            compliance_version=data["version"], missing=list(data["missing"]),
            cleared_until=date.fromisoformat(until) if until else None)
    if event.type == "compliance.lapsed":
        _document(session, data, "expired")


# --- shifts ----------------------------------------------------------------------------------

WHERE_AND_WHAT = ("bank_id", "organisation_id", "site_id", "staff_type", "grade")  # every event carries them
CANCELLATION = ("cancelled_by", "late_cancellation", "cancellation_reason")
_SHIFT_RULES = {"status": by_rank("status_rank"), "status_rank": latest, "worker_id": first,
                "agency_tier": latest, "posted_at": earliest, "booked_at": earliest,
                "completed_at": earliest, "cancelled_at": earliest, **{c: first for c in CANCELLATION}}


def on_shift_event(session, event):
    """Any event of shifts' about one shift: its facts, how far it got, and its history."""
    data, at, status = event.data, event.occurred_at, event.data["status"]
    moments = {"posted_at": at if status in domain.POSTED_FOR_COVER else None,
               "booked_at": at if event.type == "shift.booked" else None,
               "completed_at": at if event.type == "shift.completed" else None,
               "cancelled_at": at if event.type == "shift.cancelled" else None}
    cancellation = ({"cancelled_by": data["cancelled_by"], "late_cancellation": data["late"],
                     "cancellation_reason": data["reason"]} if event.type == "shift.cancelled" else {})
    _merge(session, Shift, {
        "shift_id": data["shift_id"], **{c: data[c] for c in WHERE_AND_WHAT},
        "starts_at": datetime.fromisoformat(data["starts_at"]),
        "ends_at": datetime.fromisoformat(data["ends_at"]),
        "hourly_rate": Decimal(data["hourly_rate"]), "standard_rate": Decimal(data["standard_rate"]),
        "rate_violation": domain.is_violation(data["hourly_rate"], data["standard_rate"]),
        "status": status, "status_rank": domain.STATUS_RANK[status], "worker_id": data["worker_id"],
        "agency_tier": data.get("tier"), **moments, **cancellation,
    }, _SHIFT_RULES)
    _add(session, ShiftStatus, {"event_id": event.event_id, "shift_id": data["shift_id"], "type": event.type,
                                "status": status, "occurred_at": at})


# --- payroll ---------------------------------------------------------------------------------

def on_timesheet_approved(session, event):
    data = event.data
    _add(session, Timesheet, {
        "timesheet_id": data["timesheet_id"], "shift_id": data["shift_id"], "worker_id": data["worker_id"],
        "bank_id": data["bank_id"], "organisation_id": data["organisation_id"], "site_id": data["site_id"],
        "hours": Decimal(data["hours"]), "amount": Decimal(data["amount"]),
        "approved_at": datetime.fromisoformat(data["approved_at"])})


def on_pay_run_closed(session, event):
    data = event.data
    paid_at = datetime.fromisoformat(data["closed_at"])
    for line in sorted(data["lines"], key=lambda line: line["timesheet_id"]):  # one lock order
        _add(session, Payment, {"timesheet_id": line["timesheet_id"], "pay_run_id": data["pay_run_id"],
                                "shift_id": line["shift_id"], "hours": Decimal(line["hours"]),
                                "amount": Decimal(line["amount"]), "paid_at": paid_at})


# Every event reporting consumes, by producer, and how it is applied.
CONSUMED = {
    "identity": {"organisation.created": on_organisation_created, "site.created": on_site_created,
                 "worker.registered": on_worker_registered, "worker.updated": on_worker_updated,
                 **dict.fromkeys(("worker.onboarding", "worker.activated", "worker.suspended", "worker.left"),
                                 on_worker_status)},
    "compliance": {"compliance.document_verified": on_document_verified,
                   **dict.fromkeys(("compliance.cleared", "compliance.uncleared", "compliance.lapsed"),
                                   on_compliance)},
    "shifts": dict.fromkeys(("shift.rate_violation", "shift.published", "shift.cascaded", "shift.booked",
                             "shift.completed", "shift.cancelled"), on_shift_event),
    "payroll": {"timesheet.approved": on_timesheet_approved, "pay_run.closed": on_pay_run_closed},
}
APPLY = {event_type: apply for applies in CONSUMED.values() for event_type, apply in applies.items()}
