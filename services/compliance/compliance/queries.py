"""Compliance's reads: worker profiles and their documents, requirements, the compliance view,
eligibility, and what the expiry sweep has to look at; views are plain dicts dumped by the
payload schemas."""

import sqlalchemy as sa

from chassis.db import one_or_not_found
from chassis.pagination import paginate
from compliance import domain, schemas
from compliance.models import Document, Requirement, WorkerProfile

document_schema = schemas.Document()
compliance_schema = schemas.Compliance()
eligibility_schema = schemas.Eligibility()
requirement_schema = schemas.Requirement()


def profile(session, worker_id, lock=False):
    """What compliance knows of a worker (locked for update if asked), or NotFound."""
    return one_or_not_found(session, sa.select(WorkerProfile).where(WorkerProfile.worker_id == worker_id),
                            "worker", lock)


def known_bank(session, worker_id):
    """The bank of a worker compliance has heard of, else None."""
    return session.scalar(sa.select(WorkerProfile.bank_id).where(WorkerProfile.worker_id == worker_id))


def required_kinds(session, bank_id, staff_type):
    requirement = session.get(Requirement, (bank_id, staff_type))
    return list(requirement.kinds) if requirement else list(domain.KINDS)


def documents(session, worker_id, kind=None, but=None):
    """A worker's documents as the domain sees them (only of `kind`, and not `but`, if given)."""
    statement = sa.select(Document).where(Document.worker_id == worker_id)
    if kind is not None:
        statement = statement.where(Document.kind == kind)
    if but is not None:
        statement = statement.where(Document.id != but)
    return [domain.Document(kind=d.kind, status=d.status, expires_on=d.expires_on, id=d.id)
            for d in session.scalars(statement)]


# --- documents -------------------------------------------------------------------------

def document_view(document):
    return document_schema.dump(document)


def list_documents(session, worker_id, limit, cursor=None):
    profile(session, worker_id)
    rows, next_cursor = paginate(session, sa.select(Document).where(Document.worker_id == worker_id),
                                 Document.created_at, Document.id, limit, cursor)
    return {"items": [document_view(d) for d in rows], "next_cursor": next_cursor}


def resolve_document(session, document_id):
    row = session.execute(
        sa.select(Document.bank_id, Document.worker_id).where(Document.id == document_id)).first()
    return {"bank_id": row.bank_id, "worker_id": row.worker_id} if row else None


# --- where a worker stands -------------------------------------------------------------

def compliance_view(session, worker_id, day):
    worker = profile(session, worker_id)
    required = required_kinds(session, worker.bank_id, worker.staff_type)
    assessment = domain.assess(required, documents(session, worker_id), day)
    return compliance_schema.dump({"worker_id": worker_id, "status": assessment.status,
                                   "missing": assessment.missing, "expiring": assessment.expiring,
                                   "required": required})


def eligibility(session, worker_id, staff_type, on_date):
    reasons = eligibility_on_days(session, worker_id, staff_type, [on_date])[on_date.isoformat()]
    return eligibility_schema.dump({"worker_id": worker_id, "staff_type": staff_type, "on": on_date,
                                    "eligible": not reasons, "reasons": reasons})


def eligibility_on_days(session, worker_id, staff_type, days):
    """{ISO day: reasons the worker may not work `staff_type` that day ([]: it may)}, from one read
    of its documents and its bank's requirements however many days are asked."""
    worker = profile(session, worker_id)
    required, held = required_kinds(session, worker.bank_id, staff_type), documents(session, worker_id)
    return {day.isoformat(): domain.eligibility_reasons(required, held, day, worker.staff_type, staff_type)
            for day in days}


# --- requirements ----------------------------------------------------------------------

def requirement_view(bank_id, staff_type, kinds):
    return requirement_schema.dump({"bank_id": bank_id, "staff_type": staff_type, "kinds": kinds})


def list_requirements(session, bank_id):
    rows = session.scalars(sa.select(Requirement).where(Requirement.bank_id == bank_id)
                           .order_by(Requirement.staff_type)).all()
    return {"items": [requirement_view(r.bank_id, r.staff_type, r.kinds) for r in rows]}


# --- the expiry sweep ------------------------------------------------------------------

def documents_to_sweep(session, day):
    """Verified documents due a notice or expiry on `day`, soonest first."""
    return session.scalars(
        sa.select(Document.id).where(Document.status == "verified",
                                     Document.expires_on <= domain.sweep_horizon(day))
        .order_by(Document.expires_on, Document.id)
    ).all()
