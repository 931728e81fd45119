"""Notifications' rules, pure Python (no I/O): who hears of what, what each message says, and
when an outbound message may go (channels, quiet hours, the digest, retries with backoff).

Times: instants are aware datetimes; what a person reads (dates, times, quiet hours) is
Europe/London (API.md "Conventions")."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from chassis.auth import APPROVERS, Grant, Scope
from chassis.clock import LONDON

IN_APP, EMAIL, SMS, PUSH = "in_app", "email", "sms", "push"
CHANNELS = (IN_APP, EMAIL, SMS, PUSH)
OUTBOUND = (EMAIL, SMS, PUSH)  # sent by the sender loop; in-app is delivered by the commit itself
# withdrawn: never sent, because the worker left the bank before it went
PENDING, SENT, FAILED, WITHDRAWN = "pending", "sent", "failed", "withdrawn"
DELIVERY_STATUSES = (PENDING, SENT, FAILED, WITHDRAWN)
LEFT_THE_BANK = "not sent: the worker has left the bank"

# Shift offers are what comes in bursts: past the hourly limit they wait for one digest email.
DIGESTIBLE = frozenset({"shift.available"})
DEFAULT_DIGEST_LIMIT = 5
DEFAULT_DIGEST_WINDOW = timedelta(hours=1)
DEFAULT_RETRY_DELAYS = (30.0, 120.0, 600.0, 3600.0)  # seconds between attempts, then failed

# Who is told, by role over the resource (chassis.auth grant semantics).
RATE_APPROVERS = APPROVERS  # approve a rate-violating shift (API.md "Roles and scope")
TIMESHEET_APPROVERS = ("timesheet_approver",)  # only they approve timesheets (payroll/access.py)
LEADERSHIP = ("leadership",)
SITE_COORDINATORS = ("rota_coordinator",)
BANK_ADMINS = ("bank_admin",)

KIND_LABELS = {
    "identity": "proof of identity", "right_to_work": "right to work check",
    "professional_registration": "professional registration", "dbs": "DBS check",
    "occupational_health": "occupational health clearance", "references": "references",
    "mandatory_training": "mandatory training",
}


# --- recipients ------------------------------------------------------------------------

def holders(grants, roles, scope):
    """The users holding one of `roles` over `scope`: a grant on the site, its organisation,
    its bank or the platform (chassis.auth.Scope.covered_by). `grants` are (user_id, Grant)."""
    return sorted({user_id for user_id, grant in grants
                   if grant.role in roles and scope.covered_by(grant)})


def site_scope(facts):
    """Where an event about a shift or timesheet happens (its data carries the three ids)."""
    return Scope(bank_id=facts["bank_id"], organisation_id=facts["organisation_id"], site_id=facts["site_id"])


def bank_scope(bank_id):
    return Scope(bank_id=bank_id)


def grant(role, scope_type, scope_id):
    return Grant(role=role, scope_type=scope_type, scope_id=scope_id)


# --- what a person reads ---------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """What the operator sets (chassis.config: PORTAL_URL, NOTIFICATION_DIGEST_LIMIT, ...)."""

    portal_url: str = "http://127.0.0.1:8080/portal/"
    digest_limit: int = DEFAULT_DIGEST_LIMIT
    digest_window: timedelta = DEFAULT_DIGEST_WINDOW
    retry_delays: tuple = DEFAULT_RETRY_DELAYS


@dataclass(frozen=True)
class Place:
    """Where a shift or timesheet happens, as people call it."""

    site_id: str
    site_name: str | None = None
    organisation_name: str | None = None

    @property
    def label(self):
        if self.site_name and self.organisation_name:
            return f"{self.site_name} ({self.organisation_name})"
        return self.site_name or "your site"

    @property
    def short(self):
        return self.site_name or "your site"


@dataclass(frozen=True)
class Message:
    """One notification's content: what the inbox shows and the email says."""

    type: str
    title: str
    body: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Told:
    """A message for one person. `source_key` says what makes it the same message twice: by
    default the event it comes from; for a shift offer, the shift (one offer per shift)."""

    user_id: str
    message: Message
    bank_id: str | None
    source_key: str | None = None


def once_each(told):
    """One message per person (the first), whatever roles make them hear of it twice."""
    seen, kept = set(), []
    for item in told:
        if item.user_id not in seen:
            seen.add(item.user_id)
            kept.append(item)
    return kept


def portal_link(portal_url, path):
    return portal_url.rstrip("/") + "/" + path.lstrip("/")


def _instant(value):
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def london(value):
    return _instant(value).astimezone(LONDON)


def date_label(value):
    """'Tue 1 Dec 2026' for a date (or 'YYYY-MM-DD')."""
    day = value if isinstance(value, date) else date.fromisoformat(value)
    return f"{day:%a} {day.day} {day:%b %Y}"


def day_label(value):
    """The London day of an instant."""
    return date_label(london(value).date())


def when(starts_at, ends_at):
    """'Tue 1 Dec 2026, 08:00–20:00' in London time (the end's day named when it differs)."""
    start, end = london(starts_at), london(ends_at)
    end_text = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%a} {end.day} {end:%b} {end:%H:%M}"
    return f"{day_label(start)}, {start:%H:%M}–{end_text}"


def money(value):
    return f"£{Decimal(str(value)).quantize(Decimal('0.01'))}"


def kind_label(kind):
    return KIND_LABELS.get(kind, kind.replace("_", " "))


def _shift_summary(shift):
    return f"{shift['staff_type']} {shift['grade']}"


def _shift_data(shift, portal_url, **extra):
    return {"shift_id": shift["shift_id"], "site_id": shift["site_id"],
            "organisation_id": shift["organisation_id"], **extra,
            "url": portal_link(portal_url, f"shifts/{shift['shift_id']}")}


def shift_available(shift, place, candidate, portal_url):
    lines = [f"{_shift_summary(shift)} at {place.label}: {when(shift['starts_at'], shift['ends_at'])}.",
             f"Rate {money(shift['hourly_rate'])}/h. {candidate['distance_km']:.1f} km from home."]
    if candidate.get("worked_at_site"):
        lines.append("You have worked at this site before.")
    return Message("shift.available",
                   f"Open shift: {_shift_summary(shift)} at {place.short}, {day_label(shift['starts_at'])}",
                   " ".join(lines),
                   _shift_data(shift, portal_url, rank=candidate["rank"],
                               distance_km=candidate["distance_km"], stage=shift["stage"]))


def shift_booked(shift, place, portal_url):
    return Message("shift.booked", f"Booked: {place.short}, {day_label(shift['starts_at'])}",
                   f"You are booked as {_shift_summary(shift)} at {place.label}: "
                   f"{when(shift['starts_at'], shift['ends_at'])}, at {money(shift['hourly_rate'])}/h.",
                   _shift_data(shift, portal_url))


def shift_cancelled(shift, place, portal_url, to_site=False):
    """To the booked worker; with `to_site`, to the site's coordinators when the worker cancelled."""
    by = "you" if shift["cancelled_by"] == "worker" else "the site"
    late = " It was a late cancellation (inside 72 hours)." if shift["late"] else ""
    if to_site:
        return Message("shift.cancelled",
                       f"Worker cancelled: {place.short}, {day_label(shift['starts_at'])}",
                       f"The booked worker cancelled the {_shift_summary(shift)} shift at {place.label} "
                       f"on {when(shift['starts_at'], shift['ends_at'])}. Reason: {shift['reason']}.{late} "
                       "The shift needs cover.",
                       _shift_data(shift, portal_url, cancelled_by=shift["cancelled_by"]))
    return Message("shift.cancelled", f"Cancelled: {place.short}, {day_label(shift['starts_at'])}",
                   f"Your {_shift_summary(shift)} shift at {place.label} on "
                   f"{when(shift['starts_at'], shift['ends_at'])} was cancelled by {by}. "
                   f"Reason: {shift['reason']}.{late}",
                   _shift_data(shift, portal_url, cancelled_by=shift["cancelled_by"]))


def rate_violation(shift, place, portal_url, approver):
    """To those who may approve it (approver=True) and to leadership, who see every one."""
    facts = (f"A {_shift_summary(shift)} shift at {place.label} on "
             f"{when(shift['starts_at'], shift['ends_at'])} was posted at {money(shift['hourly_rate'])}/h, "
             f"above the standard rate of {money(shift['standard_rate'])}/h.")
    if approver:
        return Message("shift.rate_violation",
                       f"Rate awaits your approval: {money(shift['hourly_rate'])}/h at {place.short}",
                       facts + " It is not released until someone approves it with a reason.",
                       _shift_data(shift, portal_url, hourly_rate=shift["hourly_rate"],
                                   standard_rate=shift["standard_rate"]))
    return Message("shift.rate_violation",
                   f"Rate violation: {money(shift['hourly_rate'])}/h at {place.short}", facts,
                   _shift_data(shift, portal_url, hourly_rate=shift["hourly_rate"],
                               standard_rate=shift["standard_rate"]))


def _timesheet_data(timesheet, portal_url):
    return {"timesheet_id": timesheet["timesheet_id"], "shift_id": timesheet["shift_id"],
            "site_id": timesheet["site_id"],
            "url": portal_link(portal_url, f"timesheets/{timesheet['timesheet_id']}")}


def timesheet_submitted(timesheet, place, portal_url):
    second = (" It is over the scheduled hours by more than the guard allows: two different "
              "approvers must approve it." if timesheet.get("second_approval_required") else "")
    return Message("timesheet.submitted",
                   f"Timesheet awaits approval: {timesheet['hours']} h at {place.short}",
                   f"A timesheet of {timesheet['hours']} h ({money(timesheet['amount'])}) for a shift at "
                   f"{place.label} waits for your approval.{second}",
                   _timesheet_data(timesheet, portal_url))


def timesheet_approved(timesheet, place, portal_url):
    return Message("timesheet.approved",
                   f"Timesheet approved: {timesheet['hours']} h, {money(timesheet['amount'])}",
                   f"Your timesheet for the shift at {place.label} was approved: {timesheet['hours']} h, "
                   f"{money(timesheet['amount'])}. It is paid in the next pay run.",
                   _timesheet_data(timesheet, portal_url))


def timesheet_rejected(timesheet, place, portal_url):
    return Message("timesheet.rejected", f"Timesheet rejected: {place.short}",
                   f"Your timesheet of {timesheet['hours']} h for the shift at {place.label} was rejected. "
                   f"Reason: {timesheet['reason']}. You may submit a corrected timesheet for the shift.",
                   _timesheet_data(timesheet, portal_url))


def _document_data(document, portal_url, worker_page):
    return {"worker_id": document["worker_id"], "document_id": document["document_id"],
            "kind": document["kind"], "expires_on": document.get("expires_on"),
            "url": portal_link(portal_url, f"workers/{document['worker_id']}/compliance" if worker_page
                               else "compliance")}


def document_expiring(document, portal_url, worker_name=None):
    """To the worker (worker_name None) or to its bank's admins."""
    kind, on = kind_label(document["kind"]), date_label(document["expires_on"])
    days = document["days_before"]
    in_days = "tomorrow" if days == 1 else f"in {days} days"
    if worker_name is None:
        return Message("compliance.document_expiring", f"Your {kind} expires {in_days}",
                       f"Your {kind} is valid until {on}. Upload the renewal and have it verified before "
                       "then to keep taking shifts.", _document_data(document, portal_url, False))
    return Message("compliance.document_expiring", f"{worker_name}'s {kind} expires {in_days}",
                   f"{worker_name}'s {kind} is valid until {on}; the worker has been asked to renew it.",
                   _document_data(document, portal_url, True))


def document_lapsed(document, portal_url, worker_name=None):
    kind = kind_label(document["kind"])
    blocked = document["status"] != "cleared"
    if worker_name is None:
        consequence = (" You cannot take shifts until a renewal is verified." if blocked
                       else " Your other documents still cover it.")
        return Message("compliance.lapsed", f"Your {kind} has lapsed",
                       f"Your {kind} was valid until {date_label(document['expires_on'])}.{consequence}",
                       _document_data(document, portal_url, False))
    consequence = " They are suspended from shifts until a renewal is verified." if blocked else ""
    until = date_label(document["expires_on"])
    return Message("compliance.lapsed", f"{worker_name}'s {kind} has lapsed",
                   f"{worker_name}'s {kind} was valid until {until}.{consequence}",
                   _document_data(document, portal_url, True))


WORKER_TIPS = (
    "Set how we reach you (email, in-app, quiet hours) under Notification preferences.",
    "Open shifts you may take are listed under Available shifts, nearest first; "
    "we tell you as soon as one opens to you.",
    "Keep your documents in date: we remind you 30, 14 and 1 days before one expires.",
    "After a shift, submit your timesheet: approved hours are paid in the next pay run.",
)
PRACTICE_TIPS = (
    "Add the practice's sites, with their location, so workers nearby hear of its shifts.",
    "Grant its staff their roles: rota coordinators post shifts, timesheet approvers approve hours.",
    "Set each site's policy: approval before release, instant booking, the priority window.",
    "Check the bank's rate cards cover the staff types and grades the practice posts.",
)


def _tips(tips):
    return "\n".join(f"- {tip}" for tip in tips)


def worker_activated(worker, portal_url, bank_name=None):
    if worker.get("previous_status") == "suspended":
        return Message("worker.activated", "You can take shifts again",
                       "Your checks are all verified again: you can apply for and be booked on shifts.",
                       {"worker_id": worker["worker_id"], "url": portal_link(portal_url, "shifts/available")})
    bank = f" to {bank_name}" if bank_name else ""
    return Message("worker.activated", f"Welcome{bank}: you can now take shifts",
                   "Your checks are verified and you are active. Getting started:\n" + _tips(WORKER_TIPS),
                   {"worker_id": worker["worker_id"], "url": portal_link(portal_url, "shifts/available")})


def practice_joined(organisation, portal_url):
    return Message("organisation.created", f"{organisation['name']} joined the bank",
                   f"The practice {organisation['name']} is now part of the bank. Getting started:\n"
                   + _tips(PRACTICE_TIPS),
                   {"organisation_id": organisation["organisation_id"], "bank_id": organisation["bank_id"],
                    "url": portal_link(portal_url, f"organisations/{organisation['organisation_id']}")})


def email_text(message, portal_url):
    """(subject, text) of the email for one notification."""
    url = message.data.get("url")
    link = f"\n\nOpen it: {url}" if url else ""
    return message.title, f"{message.body}{link}\n\n{_footer(portal_url)}"


def digest_text(messages, portal_url):
    """(subject, text) of one email standing for several shift offers."""
    lines = [f"- {m.title}\n  {m.body}" + (f"\n  {m.data['url']}" if m.data.get("url") else "")
             for m in messages]
    return (f"{len(messages)} open shifts for you",
            "Shifts that opened to you:\n\n" + "\n\n".join(lines) + f"\n\n{_footer(portal_url)}")


def _footer(portal_url):
    return ("-- \nStaffbank. To change what we send you: "
            + portal_link(portal_url, "notification-preferences"))


# --- preferences, quiet hours ------------------------------------------------------------

@dataclass(frozen=True)
class Preferences:
    email: bool = True
    in_app: bool = True
    sms: bool = False
    push: bool = False
    quiet_start: time | None = None
    quiet_end: time | None = None

    def outbound(self):
        """The channels besides the inbox this person wants."""
        return [channel for channel in OUTBOUND if getattr(self, channel)]


def parse_clock(text):
    """'HH:MM' -> time."""
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(preferences, at):
    """If `at` falls in the person's quiet hours (London time), the instant they end; else None.
    A window whose start is after its end runs overnight (22:00–07:00)."""
    start, end = preferences.quiet_start, preferences.quiet_end
    if start is None or end is None or start == end:
        return None
    local = at.astimezone(LONDON)
    now_time = local.time().replace(tzinfo=None)
    if start < end:
        inside, end_day = start <= now_time < end, local.date()
    else:
        inside = now_time >= start or now_time < end
        end_day = local.date() + timedelta(days=1) if now_time >= start else local.date()
    if not inside:
        return None
    # Wall-clock end in London; a time skipped by the spring change resolves forward.
    return datetime.combine(end_day, end, tzinfo=LONDON).astimezone(at.tzinfo)


# --- the digest ------------------------------------------------------------------------

@dataclass(frozen=True)
class DueEmail:
    id: str
    type: str
    held_for_digest: bool = False


@dataclass(frozen=True)
class EmailPlan:
    single: list  # ids to send one by one
    digest: list  # ids to send together in one email now
    hold: list  # ids to hold for the digest
    hold_until: datetime | None = None


def plan_emails(due, recent, at, limit=DEFAULT_DIGEST_LIMIT, window=DEFAULT_DIGEST_WINDOW):
    """What to do with a person's due emails.

    `recent`: when shift emails went to this person within the last `window` (a digest counts
    once). Emails of other types always go one by one. Shift emails go one by one while fewer
    than `limit` went out in the window; past that they are held and go out together as one
    digest when the window allows one more (the earliest recent send plus the window). Held
    emails that are due go out as that digest, with any shift email due beside them.
    """
    single = [d.id for d in due if d.type not in DIGESTIBLE]
    shifts = [d for d in due if d.type in DIGESTIBLE]
    if any(d.held_for_digest for d in shifts):
        return EmailPlan(single, [d.id for d in shifts], [])
    quota = max(0, limit - len(recent))
    now_sent, held = shifts[:quota], shifts[quota:]
    if not held:
        return EmailPlan(single + [d.id for d in now_sent], [], [])
    sent_times = sorted(list(recent) + [at] * len(now_sent))
    return EmailPlan(single + [d.id for d in now_sent], [], [d.id for d in held],
                     sent_times[0] + window if sent_times else at + window)


# --- retries ---------------------------------------------------------------------------

def next_attempt(attempts, delays, at):
    """After `attempts` failed sends, when to try again; None when it is time to give up."""
    if attempts > len(delays):
        return None
    return at + timedelta(seconds=delays[attempts - 1])
