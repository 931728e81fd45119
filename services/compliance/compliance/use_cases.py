"""Compliance's writes, each through a unit of work: profiles, documents and verification,
requirements, the expiry sweep. Reads and views are in queries.py.

Locking: anything that may change a worker's overall status locks the worker's
profile row first (SELECT ... FOR UPDATE), so concurrent verifications and sweeps
on several replicas reassess one after the other and each status change (and
its event) happens once.
"""

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from chassis.clock import now
from chassis.db import for_update
from chassis.errors import Conflict, Invalid, NotFound
from compliance import domain, queries
from compliance.models import Document, ExpiryNotice, RegistrationNumber, Requirement, WorkerProfile


def save_profile(uow, worker):
    """Record (or refresh) what identity says of a worker."""
    uow.session.execute(
        insert(WorkerProfile)
        .values(worker_id=worker["id"], bank_id=worker["bank_id"], staff_type=worker["staff_type"],
                registration_body=worker.get("registration_body"), status="pending", version=0)
        .on_conflict_do_update(
            index_elements=[WorkerProfile.worker_id],
            set_={"staff_type": worker["staff_type"], "registration_body": worker.get("registration_body")},
        )
    )


def on_worker_registered(uow, event):
    """identity's worker.registered (a chassis.handlers.Event): the worker's profile."""
    save_profile(uow, {**event.data, "id": event.data["worker_id"]})


def reassess(uow, worker, day):
    """Recompute a (locked) worker's status; publish cleared/uncleared when it crosses that line."""
    assessment = domain.assess(queries.required_kinds(uow.session, worker.bank_id, worker.staff_type),
                               queries.documents(uow.session, worker.worker_id), day)
    event_type = domain.status_event(worker.status, assessment, worker.cleared_until)
    if assessment.status != worker.status or event_type is not None:
        worker.status, worker.cleared_until = assessment.status, assessment.cleared_until
        worker.version += 1
        if event_type is not None:
            uow.emit(event_type, _compliance_facts(worker, assessment))
    return assessment


def _compliance_facts(worker, assessment):
    return {"worker_id": worker.worker_id, "bank_id": worker.bank_id, "status": assessment.status,
            "missing": assessment.missing, "version": worker.version,
            "cleared_until": assessment.cleared_until.isoformat() if assessment.cleared_until else None}


# --- documents -------------------------------------------------------------------------

def _document_event(uow, event_type, document, **extra):
    uow.emit(event_type, {
        "worker_id": document.worker_id, "bank_id": document.bank_id, "document_id": document.id,
        "kind": document.kind, "status": document.status,
        "expires_on": document.expires_on.isoformat() if document.expires_on else None, **extra,
    })


def _holder_of(session, bank_id, body, number, lock=False):
    statement = sa.select(RegistrationNumber.worker_id).where(
        RegistrationNumber.bank_id == bank_id, RegistrationNumber.body == body,
        RegistrationNumber.number == number)
    return session.scalar(for_update(statement) if lock else statement)


def _refuse_if_held(session, worker, body, number):
    """A number another worker of the bank holds (verified) is refused at submission already."""
    holder = _holder_of(session, worker.bank_id, body, number)
    if holder is not None and holder != worker.worker_id:
        raise Conflict(f"{body} number {number} belongs to another worker of this bank")


def _claim_registration_number(session, document):
    """Verifying a registration takes its number for the worker, or is refused if another worker
    of the bank holds it. Claimed on verification, not submission: submitting someone else's
    number squats nothing."""
    body, number = document.registration_body, domain.registration_number(document.reference)
    session.execute(
        insert(RegistrationNumber)
        .values(bank_id=document.bank_id, body=body, number=number, worker_id=document.worker_id)
        .on_conflict_do_nothing()
    )
    if _holder_of(session, document.bank_id, body, number, lock=True) != document.worker_id:
        raise Conflict(f"{body} number {number} belongs to another worker of this bank")


def submit_document(uow, worker_id, data, actor_id, day):
    errors = domain.check_dates(data.get("issued_on"), data.get("expires_on"), day)
    if errors:
        raise Invalid("invalid document dates", errors=errors)
    worker = queries.profile(uow.session, worker_id, lock=True)
    body, number = domain.registration_claim(data["kind"], data["reference"], data.get("registration_body"),
                                             worker.registration_body)
    if number is not None:
        _refuse_if_held(uow.session, worker, body, number)
    document = Document(
        worker_id=worker_id, bank_id=worker.bank_id, kind=data["kind"], reference=data["reference"],
        registration_body=body, issued_on=data.get("issued_on"), expires_on=data.get("expires_on"),
        status="submitted", submitted_by=actor_id,
    )
    uow.session.add(document)
    if worker.first_document_at is None:
        worker.first_document_at = now()
    uow.session.flush()
    _document_event(uow, "compliance.document_submitted", document)
    return queries.document_view(document)


def verify_document(uow, document_id, outcome, note, actor_id, day):
    worker_id = uow.session.scalar(sa.select(Document.worker_id).where(Document.id == document_id))
    if worker_id is None:
        raise NotFound("no such document")
    worker = queries.profile(uow.session, worker_id, lock=True)  # the profile first, as everywhere
    document = uow.session.scalar(for_update(sa.select(Document).where(Document.id == document_id)))
    document.status = domain.verify(document.status, outcome, document.expires_on, day)
    if document.kind == "professional_registration" and outcome == "verified":
        _claim_registration_number(uow.session, document)  # (a rejected one never claimed it)
    document.note = note
    document.verified_by = actor_id
    document.verified_at = now()
    uow.session.flush()
    _document_event(uow, f"compliance.document_{outcome}", document)
    reassess(uow, worker, day)
    return queries.document_view(document)


# --- requirements ----------------------------------------------------------------------

def set_requirement(uow, bank_id, staff_type, kinds, day):
    kinds = domain.canonical_kinds(kinds)
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
    return queries.requirement_view(bank_id, staff_type, kinds)


# --- the expiry sweep ------------------------------------------------------------------

def sweep_document(uow, document_id, day):
    """Send the notice this document is due (once, whichever replica gets there first),
    expire it past its last valid day, and reassess its worker. Returns the notice sent."""
    worker_id = uow.session.scalar(sa.select(Document.worker_id).where(Document.id == document_id))
    worker = queries.profile(uow.session, worker_id, lock=True)
    document = uow.session.get(Document, document_id, populate_existing=True)
    if document.status != "verified":
        return None
    notice = domain.notice_due(document.expires_on, day)
    if notice is None:
        return None
    if notice == domain.LAPSED:
        document.status = "expired"
    elif domain.renewed(document, queries.documents(uow.session, document.worker_id, kind=document.kind,
                                                    but=document.id)):
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
            **_compliance_facts(worker, assessment), "document_id": document.id, "kind": document.kind,
            "expires_on": document.expires_on.isoformat()})
    return notice if sent is not None else None
