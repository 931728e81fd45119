"""Compliance rules, pure: what a worker's documents add up to on a given day.

A document is valid on day D when it is verified and D is on or before its
`expires_on` (the last valid day; no expiry date means it does not expire).
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from chassis.errors import Conflict, Invalid

KINDS = (
    "identity",
    "right_to_work",
    "professional_registration",
    "dbs",
    "occupational_health",
    "references",
    "mandatory_training",
)
REGISTRATION_BODIES = ("GMC", "NMC", "HCPC", "GPhC", "GDC", "GOC", "GOsC", "GCC", "PSNI", "SWE")
DOCUMENT_STATUSES = ("submitted", "verified", "rejected", "expired")
EXPIRY_WARNING_DAYS = (30, 14, 1)  # notices before expiry; 0 stands for "lapsed"
LAPSED = 0
EXPIRING_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Document:
    kind: str
    status: str
    expires_on: date | None = None
    id: str | None = None


def registration_body(text):
    """The canonical name of a registration body, matched ignoring case; None if unknown."""
    if not text:
        return None
    wanted = text.strip().casefold()
    return next((body for body in REGISTRATION_BODIES if body.casefold() == wanted), None)


def registration_number(reference):
    """A registration number as compared: letters and digits only, upper case."""
    return re.sub(r"[^0-9A-Za-z]", "", reference).upper()


def registration_claim(kind, reference, given_body, profile_body):
    """(body, number) a professional registration claims, (None, None) for other kinds; Invalid
    without a known body (given, else the worker's) or without a number in the reference."""
    if kind != "professional_registration":
        return None, None
    body = registration_body(given_body or profile_body)
    if body is None:
        raise Invalid("the registration body is needed", errors={"registration_body": [
            f"Required for professional_registration: one of {', '.join(REGISTRATION_BODIES)}."]})
    number = registration_number(reference)
    if not number:
        raise Invalid("no registration number", errors={"reference": ["Must hold the registration number."]})
    return body, number


def canonical_kinds(kinds):
    """Required kinds in the canonical order, without repeats."""
    return [kind for kind in KINDS if kind in set(kinds)]


def valid_on(document, day):
    return document.status == "verified" and (document.expires_on is None or document.expires_on >= day)


def lapsed_on(document, day):
    """Expired by the sweep, or verified but past its last valid day."""
    return document.status == "expired" or (
        document.status == "verified" and document.expires_on is not None and document.expires_on < day)


def renewed(document, others):
    """Another document of its kind is still valid the day after this one's last valid day."""
    after = document.expires_on + timedelta(days=1)
    return any(valid_on(other, after) for other in others if other.kind == document.kind)


@dataclass(frozen=True)
class Assessment:
    status: str  # cleared | pending | expired (API.md "Compliance")
    missing: list
    expiring: list
    cleared_until: date | None = None  # cleared: its last cleared day (None: nothing required expires)

    @property
    def cleared(self):
        return self.status == "cleared"


def assess(required_kinds, documents, today):
    """The worker's compliance on `today` (API.md: cleared, pending or expired)."""
    missing = [kind for kind in required_kinds
               if not any(valid_on(d, today) for d in documents if d.kind == kind)]
    lapsed = [kind for kind in missing if any(d.kind == kind and lapsed_on(d, today) for d in documents)]
    horizon = today + timedelta(days=EXPIRING_WINDOW_DAYS)
    expiring = sorted(
        ({"kind": d.kind, "expires_on": d.expires_on} for d in documents
         if valid_on(d, today) and d.expires_on is not None and d.expires_on <= horizon),
        key=lambda item: (item["expires_on"], item["kind"]),
    )
    status = "cleared" if not missing else ("expired" if lapsed else "pending")
    return Assessment(status, missing, expiring, cleared_until(required_kinds, documents, today)
                      if status == "cleared" else None)


def cleared_until(required_kinds, documents, today):
    """The last day every required kind stays covered by a document valid today (the earliest of
    each kind's latest expiry); None when none of them expires. Read models (matching) use it to
    judge a future shift's day without asking compliance."""
    ends = []
    for kind in required_kinds:
        valid = [d for d in documents if d.kind == kind and valid_on(d, today)]
        if any(d.expires_on is None for d in valid):
            continue
        ends.append(max(d.expires_on for d in valid))
    return min(ends) if ends else None


def status_event(previous_status, assessment, previous_cleared_until=None):
    """The fact a change of a worker's status publishes: crossing into or out of cleared
    (pending <-> expired publishes nothing), or a cleared worker's horizon moving (a renewal,
    a requirement dropped); None when there is no such change."""
    if assessment.status == previous_status:
        if assessment.cleared and assessment.cleared_until != previous_cleared_until:
            return "compliance.cleared"
        return None
    if assessment.cleared:
        return "compliance.cleared"
    if previous_status == "cleared":
        return "compliance.uncleared"
    return None


def eligibility_reasons(required_kinds, documents, on_date, worker_staff_type, staff_type):
    """Why a worker may not work `staff_type` on `on_date`; empty when it may."""
    reasons = []
    if worker_staff_type != staff_type:
        reasons.append(f"staff type is {worker_staff_type}, not {staff_type}")
    for kind in required_kinds:
        kind_documents = [d for d in documents if d.kind == kind]
        if any(valid_on(d, on_date) for d in kind_documents):
            continue
        if any(lapsed_on(d, on_date) for d in kind_documents):
            reasons.append(f"{kind} has expired by {on_date.isoformat()}")
        else:
            reasons.append(f"{kind} is not verified")
    return reasons


def verify(current_status, outcome, expires_on=None, today=None):
    """Only a submitted document can be verified or rejected, once; an expired one cannot be verified."""
    if current_status != "submitted":
        raise Conflict(f"a {current_status} document cannot be {outcome}")
    if outcome == "verified" and expires_on is not None and expires_on < today:
        raise Conflict("an expired document cannot be verified")
    return outcome


def sweep_horizon(today):
    """The last expiry date a sweep on `today` looks at: the earliest notice is 30 days before."""
    return today + timedelta(days=max(EXPIRY_WARNING_DAYS))


def notice_due(expires_on, today):
    """The notice a verified document is due on `today`: the tightest of 30/14/1 days
    that has been reached, LAPSED once past its last valid day, or None."""
    if expires_on is None:
        return None
    days_left = (expires_on - today).days
    if days_left < 0:
        return LAPSED
    reached = [days for days in EXPIRY_WARNING_DAYS if days_left <= days]
    return min(reached) if reached else None


def check_dates(issued_on, expires_on, today):
    """Validation errors (field -> messages) for a document's dates."""
    errors = {}
    if expires_on is not None and expires_on < today:
        errors["expires_on"] = ["Must not be in the past."]
    if issued_on is not None and expires_on is not None and expires_on < issued_on:
        errors.setdefault("expires_on", []).append("Must not be before issued_on.")
    if issued_on is not None and issued_on > today:
        errors["issued_on"] = ["Must not be in the future."]
    return errors
