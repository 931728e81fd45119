"""Compliance use cases: documents, verification, requirements, the expiry sweep.

Locking: anything that may change a worker's overall status locks the worker's
profile row first (SELECT ... FOR UPDATE), so concurrent verifications and sweeps
on several replicas reassess one after the other and each status change (and
its event) happens once.
"""

import logging
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from chassis.db import for_update
from chassis.errors import Conflict, Invalid, NotFound
from chassis.pagination import paginate
from compliance import domain, schemas
from compliance.models import Document, ExpiryNotice, RegistrationNumber, Requirement, WorkerProfile

log = logging.getLogger(__name__)
LONDON = ZoneInfo("Europe/London")

DOCUMENT = schemas.Document()
COMPLIANCE = schemas.Compliance()
ELIGIBILITY = schemas.Eligibility()
REQUIREMENT = schemas.Requirement()


def today():
    return datetime.now(LONDON).date()


# --- profiles --------------------------------------------------------------------------

def save_profile(session, worker):
    """Record (or refresh) what identity says of a worker."""
    session.execute(
        insert(WorkerProfile)
        .values(worker_id=worker["id"], bank_id=worker["bank_id"], staff_type=worker["staff_type"],
                registration_body=worker.get("registration_body"), status="pending", version=0)
        .on_conflict_do_update(
            index_elements=[WorkerProfile.worker_id],
            set_={"staff_type": worker["staff_type"], "registration_body": worker.get("registration_body")},
        )
    )


def profile(session, worker_id, lock=False):
    statement = sa.select(WorkerProfile).where(WorkerProfile.worker_id == worker_id)
    if lock:
        statement = for_update(statement)
    found = session.scalar(statement)
    if found is None:
        raise NotFound("no such worker")
    return found


def required_kinds(session, bank_id, staff_type):
    requirement = session.get(Requirement, (bank_id, staff_type))
    return list(requirement.kinds) if requirement else list(domain.KINDS)


def _documents(session, worker_id):
    rows = session.scalars(sa.select(Document).where(Document.worker_id == worker_id)).all()
    return [domain.Document(kind=d.kind, status=d.status, expires_on=d.expires_on, id=d.id) for d in rows]


def reassess(uow, worker, day):
    """Recompute a (locked) worker's status; publish cleared/lapsed when it crosses that line."""
    assessment = domain.assess(required_kinds(uow.session, worker.bank_id, worker.staff_type),
                               _documents(uow.session, worker.worker_id), day)
    if assessment.status != worker.status:
        was_cleared = worker.status == "cleared"
        worker.status = assessment.status
        worker.version += 1
        if assessment.cleared or was_cleared:
            uow.emit("compliance.cleared" if assessment.cleared else "compliance.uncleared", {
                "worker_id": worker.worker_id, "bank_id": worker.bank_id, "status": assessment.status,
                "missing": assessment.missing, "version": worker.version,
            })
    return assessment


# --- documents -------------------------------------------------------------------------

def document_view(document):
    return DOCUMENT.dump(document)


def _document_event(uow, event_type, document, **extra):
    uow.emit(event_type, {
        "worker_id": document.worker_id, "bank_id": document.bank_id, "document_id": document.id,
        "kind": document.kind, "status": document.status,
        "expires_on": document.expires_on.isoformat() if document.expires_on else None, **extra,
    })


def _claim_registration_number(session, worker, body, number):
    """Take the number for this worker, or refuse if another worker of the bank holds it
    (on a document not rejected: a rejected claim is released, see verify_document)."""
    session.execute(
        insert(RegistrationNumber)
        .values(bank_id=worker.bank_id, body=body, number=number, worker_id=worker.worker_id)
        .on_conflict_do_nothing()
    )
    owner = session.scalar(for_update(sa.select(RegistrationNumber.worker_id).where(
        RegistrationNumber.bank_id == worker.bank_id, RegistrationNumber.body == body,
        RegistrationNumber.number == number)))
    if owner != worker.worker_id:
        raise Conflict(f"{body} number {number} belongs to another worker of this bank")


def _release_registration_number(session, document):
    """A rejected registration frees its number unless the worker holds it on another document."""
    number = domain.registration_number(document.reference)
    still_held = any(
        domain.registration_number(d.reference) == number
        for d in session.scalars(sa.select(Document).where(
            Document.worker_id == document.worker_id, Document.kind == "professional_registration",
            Document.registration_body == document.registration_body, Document.status != "rejected",
            Document.id != document.id))
    )
    if not still_held:
        session.execute(sa.delete(RegistrationNumber).where(
            RegistrationNumber.bank_id == document.bank_id,
            RegistrationNumber.body == document.registration_body,
            RegistrationNumber.number == number, RegistrationNumber.worker_id == document.worker_id))


def submit_document(uow, worker_id, data, actor_id, day):
    errors = domain.check_dates(data.get("issued_on"), data.get("expires_on"), day)
    if errors:
        raise Invalid("invalid document dates", errors=errors)
    worker = profile(uow.session, worker_id, lock=True)
    body = None
    if data["kind"] == "professional_registration":
        body = domain.registration_body(data.get("registration_body") or worker.registration_body)
        if body is None:
            raise Invalid("the registration body is needed", errors={"registration_body": [
                f"Required for professional_registration: one of {', '.join(domain.REGISTRATION_BODIES)}."]})
        number = domain.registration_number(data["reference"])
        if not number:
            raise Invalid("no registration number",
                          errors={"reference": ["Must hold the registration number."]})
        _claim_registration_number(uow.session, worker, body, number)
    document = Document(
        worker_id=worker_id, bank_id=worker.bank_id, kind=data["kind"], reference=data["reference"],
        registration_body=body, issued_on=data.get("issued_on"), expires_on=data.get("expires_on"),
        status="submitted", submitted_by=actor_id,
    )
    uow.session.add(document)
    if worker.first_document_at is None:
        worker.first_document_at = datetime.now(UTC)
    uow.session.flush()
    _document_event(uow, "compliance.document_submitted", document)
    return document_view(document)


def verify_document(uow, document_id, outcome, note, actor_id, day):
    worker_id = uow.session.scalar(sa.select(Document.worker_id).where(Document.id == document_id))
    if worker_id is None:
        raise NotFound("no such document")
    worker = profile(uow.session, worker_id, lock=True)  # the profile first, as everywhere
    document = uow.session.scalar(for_update(sa.select(Document).where(Document.id == document_id)))
    domain.verify(document.status, outcome)
    if outcome == "verified" and document.expires_on is not None and document.expires_on < day:
        raise Conflict("an expired document cannot be verified")
    document.status = outcome
    if outcome == "rejected" and document.kind == "professional_registration":
        _release_registration_number(uow.session, document)
    document.note = note
    document.verified_by = actor_id
    document.verified_at = datetime.now(UTC)
    uow.session.flush()
    _document_event(uow, f"compliance.document_{outcome}", document)
    reassess(uow, worker, day)
    return document_view(document)


def list_documents(session, worker_id, limit, cursor=None):
    profile(session, worker_id)
    rows, next_cursor = paginate(session, sa.select(Document).where(Document.worker_id == worker_id),
                                 Document.created_at, Document.id, limit, cursor)
    return {"items": [document_view(d) for d in rows], "next_cursor": next_cursor}


def resolve_document(session, document_id):
    row = session.execute(
        sa.select(Document.bank_id, Document.worker_id).where(Document.id == document_id)).first()
    return {"bank_id": row.bank_id, "worker_id": row.worker_id} if row else None


# --- views -----------------------------------------------------------------------------

def compliance_view(session, worker_id, day):
    worker = profile(session, worker_id)
    required = required_kinds(session, worker.bank_id, worker.staff_type)
    assessment = domain.assess(required, _documents(session, worker_id), day)
    return COMPLIANCE.dump({"worker_id": worker_id, "status": assessment.status,
                            "missing": assessment.missing, "expiring": assessment.expiring,
                            "required": required})


def eligibility(session, worker_id, staff_type, on_date):
    worker = profile(session, worker_id)
    reasons = domain.eligibility_reasons(required_kinds(session, worker.bank_id, staff_type),
                                         _documents(session, worker_id), on_date, worker.staff_type,
                                         staff_type)
    return ELIGIBILITY.dump({"worker_id": worker_id, "staff_type": staff_type, "on": on_date,
                             "eligible": not reasons, "reasons": reasons})


# --- requirements ----------------------------------------------------------------------

def set_requirement(uow, bank_id, staff_type, kinds, day):
    kinds = [kind for kind in domain.KINDS if kind in set(kinds)]  # canonical order, no repeats
    uow.session.execute(
        insert(Requirement).values(bank_id=bank_id, staff_type=staff_type, kinds=kinds)
        .on_conflict_do_update(index_elements=[Requirement.bank_id, Requirement.staff_type],
                               set_={"kinds": kinds})
    )
    workers = uow.session.scalars(
        for_update(sa.select(WorkerProfile).where(WorkerProfile.bank_id == bank_id,
                                                  WorkerProfile.staff_type == staff_type)
                   .order_by(WorkerProfile.worker_id))
    ).all()
    for worker in workers:
        reassess(uow, worker, day)
    return REQUIREMENT.dump({"bank_id": bank_id, "staff_type": staff_type, "kinds": kinds})


def list_requirements(session, bank_id):
    rows = session.scalars(sa.select(Requirement).where(Requirement.bank_id == bank_id)
                           .order_by(Requirement.staff_type)).all()
    return {"items": [REQUIREMENT.dump(r) for r in rows]}


# --- the expiry sweep ------------------------------------------------------------------

def documents_to_sweep(session, day):
    horizon = day + timedelta(days=max(domain.EXPIRY_WARNING_DAYS))
    return session.scalars(
        sa.select(Document.id).where(Document.status == "verified", Document.expires_on <= horizon)
        .order_by(Document.expires_on, Document.id)
    ).all()


def sweep_document(uow, document_id, day):
    """Send the notice this document is due (once, whichever replica gets there first),
    expire it past its last valid day, and reassess its worker. Returns what it did."""
    worker_id = uow.session.scalar(sa.select(Document.worker_id).where(Document.id == document_id))
    worker = profile(uow.session, worker_id, lock=True)
    document = uow.session.get(Document, document_id, populate_existing=True)
    if document.status != "verified":
        return None
    notice = domain.notice_due(document.expires_on, day)
    if notice is None:
        return None
    if notice == domain.LAPSED:
        document.status = "expired"
    elif _renewed(uow.session, document, day):
        return None  # a later valid document of this kind exists: no need to warn
    sent = uow.session.execute(
        insert(ExpiryNotice).values(document_id=document.id, days_before=notice)
        .on_conflict_do_nothing().returning(ExpiryNotice.document_id)
    ).first()
    uow.session.flush()
    if sent is not None and notice != domain.LAPSED:
        _document_event(uow, "compliance.document_expiring", document, days_before=notice)
    assessment = reassess(uow, worker, day)
    if sent is not None and notice == domain.LAPSED:
        uow.emit("compliance.lapsed", {
            "worker_id": worker.worker_id, "bank_id": worker.bank_id, "document_id": document.id,
            "kind": document.kind, "expires_on": document.expires_on.isoformat(),
            "status": assessment.status, "missing": assessment.missing, "version": worker.version,
        })
    return notice if sent is not None else None


def _renewed(session, document, day):
    after = document.expires_on + timedelta(days=1)
    others = session.scalars(sa.select(Document).where(
        Document.worker_id == document.worker_id, Document.kind == document.kind,
        Document.id != document.id)).all()
    return any(domain.valid_on(domain.Document(d.kind, d.status, d.expires_on), after) for d in others)


def as_date(value):
    return value if isinstance(value, date) else date.fromisoformat(value)
