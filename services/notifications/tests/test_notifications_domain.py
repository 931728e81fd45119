"""Notifications' pure rules: recipients, templates, quiet hours, the digest, retries."""

from datetime import UTC, datetime, time, timedelta

from chassis.auth import Scope
from notifications import domain

PORTAL = "https://staffbank.example/portal/"
SHIFT = {"shift_id": "s1", "site_id": "site-1", "organisation_id": "org-1", "bank_id": "b1",
         "staff_type": "doctor", "grade": "ST3", "starts_at": "2026-07-01T07:00:00+00:00",
         "ends_at": "2026-07-01T19:00:00+00:00", "hourly_rate": "85.5", "standard_rate": "60.00",
         "status": "open", "worker_id": None, "stage": "bank"}
PLACE = domain.Place("site-1", "Main Site", "Royal Trust")


def at(text):
    return datetime.fromisoformat(text)


# --- recipients ------------------------------------------------------------------------

def test_a_role_over_a_site_is_held_through_the_site_its_organisation_its_bank_or_the_platform():
    scope = Scope(bank_id="b1", organisation_id="org-1", site_id="site-1")
    grants = [
        ("on-site", domain.grant("timesheet_approver", "site", "site-1")),
        ("on-org", domain.grant("bank_admin", "organisation", "org-1")),
        ("on-bank", domain.grant("timesheet_approver", "bank", "b1")),
        ("on-platform", domain.grant("timesheet_approver", "platform", None)),
        ("other-site", domain.grant("timesheet_approver", "site", "site-2")),
        ("other-bank", domain.grant("bank_admin", "bank", "b2")),
        ("other-role", domain.grant("rota_coordinator", "site", "site-1")),
    ]
    assert domain.holders(grants, domain.RATE_APPROVERS, scope) == [
        "on-bank", "on-org", "on-platform", "on-site"]
    # a grant on an organisation does not reach the bank's own matters
    assert domain.holders(grants, domain.BANK_ADMINS, domain.bank_scope("b1")) == []
    assert domain.holders(grants, domain.BANK_ADMINS, domain.bank_scope("b2")) == ["other-bank"]


def test_each_person_is_told_once_whatever_roles_reach_them():
    first, again = domain.Message("t", "first", ""), domain.Message("t", "again", "")
    told = domain.once_each([domain.Told("u1", first, "b1"), domain.Told("u2", first, "b1"),
                             domain.Told("u1", again, "b1")])
    assert [(t.user_id, t.message.title) for t in told] == [("u1", "first"), ("u2", "first")]


# --- templates -------------------------------------------------------------------------

def test_a_shift_offer_names_the_site_the_london_day_and_times_the_rate_and_links_the_portal():
    candidate = {"worker_id": "w1", "user_id": "u1", "rank": 2, "distance_km": 3.14159,
                 "worked_at_site": True, "worked_at_organisation": True}
    message = domain.shift_available(SHIFT, PLACE, candidate, PORTAL)
    assert message.type == "shift.available"
    assert message.title == "Open shift: doctor ST3 at Main Site, Wed 1 Jul 2026"
    assert "Wed 1 Jul 2026, 08:00–20:00" in message.body  # British Summer Time
    assert "£85.50/h" in message.body and "3.1 km" in message.body and "worked at this site" in message.body
    assert message.data == {"shift_id": "s1", "site_id": "site-1", "organisation_id": "org-1", "rank": 2,
                            "distance_km": 3.14159, "stage": "bank",
                            "url": "https://staffbank.example/portal/shifts/s1"}


def test_times_crossing_midnight_name_the_end_day():
    assert domain.when("2026-12-01T20:00:00+00:00", "2026-12-02T08:00:00+00:00") == \
        "Tue 1 Dec 2026, 20:00–Wed 2 Dec 08:00"


def test_cancellation_says_who_cancelled_why_and_whether_it_was_late():
    shift = {**SHIFT, "worker_id": "w1", "reason": "ward closed", "cancelled_by": "site", "late": True}
    to_worker = domain.shift_cancelled(shift, PLACE, PORTAL)
    assert to_worker.title == "Cancelled: Main Site, Wed 1 Jul 2026"
    assert "cancelled by the site" in to_worker.body and "ward closed" in to_worker.body
    assert "late cancellation" in to_worker.body
    to_site = domain.shift_cancelled({**shift, "cancelled_by": "worker", "late": False}, PLACE, PORTAL,
                                     to_site=True)
    assert to_site.title.startswith("Worker cancelled") and "needs cover" in to_site.body


def test_rate_violation_asks_approvers_and_informs_leadership():
    approver = domain.rate_violation(SHIFT, PLACE, PORTAL, approver=True)
    leader = domain.rate_violation(SHIFT, PLACE, PORTAL, approver=False)
    assert approver.type == leader.type == "shift.rate_violation"
    assert "awaits your approval" in approver.title and "£60.00/h" in approver.body
    assert leader.title == "Rate violation: £85.50/h at Main Site"
    assert leader.data["hourly_rate"] == "85.5" and leader.data["standard_rate"] == "60.00"


def test_timesheet_and_document_messages_carry_their_ids_and_facts():
    timesheet = {"timesheet_id": "t1", "shift_id": "s1", "worker_id": "w1", "site_id": "site-1",
                 "hours": "11.50", "amount": "983.25", "reason": "wrong times"}
    approved = domain.timesheet_approved(timesheet, PLACE, PORTAL)
    assert approved.title == "Timesheet approved: 11.50 h, £983.25"
    assert approved.data == {"timesheet_id": "t1", "shift_id": "s1", "site_id": "site-1",
                             "url": PORTAL + "timesheets/t1"}
    assert "wrong times" in domain.timesheet_rejected(timesheet, PLACE, PORTAL).body
    document = {"worker_id": "w1", "document_id": "d1", "kind": "dbs", "expires_on": "2026-12-14",
                "days_before": 14, "status": "expired"}
    mine = domain.document_expiring(document, PORTAL)
    assert mine.title == "Your DBS check expires in 14 days" and "Mon 14 Dec 2026" in mine.body
    admins = domain.document_lapsed(document, PORTAL, worker_name="Ada")
    assert admins.title == "Ada's DBS check has lapsed" and "suspended" in admins.body
    assert admins.data["document_id"] == "d1" and admins.data["url"] == PORTAL + "workers/w1/compliance"


def test_welcomes_carry_getting_started_tips():
    welcome = domain.worker_activated({"worker_id": "w1", "previous_status": "onboarding"}, PORTAL, "North")
    assert welcome.title == "Welcome to North: you can now take shifts"
    assert welcome.body.count("\n- ") == len(domain.WORKER_TIPS)
    again = domain.worker_activated({"worker_id": "w1", "previous_status": "suspended"}, PORTAL)
    assert again.title == "You can take shifts again"
    practice = domain.practice_joined({"organisation_id": "o1", "bank_id": "b1", "name": "Elm Practice",
                                       "kind": "practice"}, PORTAL)
    assert practice.title == "Elm Practice joined the bank" and "rate cards" in practice.body


def test_an_email_is_the_message_with_its_link_and_a_way_to_change_preferences():
    subject, text = domain.email_text(domain.Message("shift.booked", "Booked", "You are booked.",
                                                     {"url": PORTAL + "shifts/s1"}), PORTAL)
    assert subject == "Booked"
    assert text.startswith("You are booked.\n\nOpen it: https://staffbank.example/portal/shifts/s1")
    assert text.endswith(PORTAL + "notification-preferences")
    offers = [domain.Message("shift.available", f"Open shift {n}", "body", {"url": f"u{n}"}) for n in (1, 2)]
    subject, text = domain.digest_text(offers, PORTAL)
    assert subject == "2 open shifts for you" and "Open shift 1" in text and "u2" in text


# --- quiet hours -----------------------------------------------------------------------

def test_quiet_hours_overnight_hold_until_their_end_in_london_time():
    prefs = domain.Preferences(quiet_start=time(22, 0), quiet_end=time(7, 0))
    # 22:30 BST on 1 June: held until 07:00 BST on 2 June (06:00 UTC)
    assert domain.quiet_until(prefs, at("2026-06-01T21:30:00+00:00")) == at("2026-06-02T06:00:00+00:00")
    # 03:00 GMT in December: until 07:00 the same morning
    assert domain.quiet_until(prefs, at("2026-12-02T03:00:00+00:00")) == at("2026-12-02T07:00:00+00:00")
    assert domain.quiet_until(prefs, at("2026-12-02T12:00:00+00:00")) is None
    assert domain.quiet_until(prefs, at("2026-12-02T07:00:00+00:00")) is None  # the end is not quiet


def test_quiet_hours_within_a_day_and_none_set():
    lunch = domain.Preferences(quiet_start=time(12, 0), quiet_end=time(13, 30))
    assert domain.quiet_until(lunch, at("2026-12-02T12:15:00+00:00")) == at("2026-12-02T13:30:00+00:00")
    assert domain.quiet_until(lunch, at("2026-12-02T11:59:00+00:00")) is None
    assert domain.quiet_until(domain.Preferences(), at("2026-12-02T03:00:00+00:00")) is None


def test_quiet_hours_ending_across_the_clock_change_end_at_the_wall_clock_time():
    prefs = domain.Preferences(quiet_start=time(23, 0), quiet_end=time(7, 0))
    # the night the clocks go forward (29 March 2026): 07:00 BST is 06:00 UTC
    assert domain.quiet_until(prefs, at("2026-03-28T23:30:00+00:00")) == at("2026-03-29T06:00:00+00:00")


def test_only_outbound_channels_the_person_wants_are_used():
    assert domain.Preferences().outbound() == ["email"]
    assert domain.Preferences(email=False, sms=True, push=True).outbound() == ["sms", "push"]


# --- the digest ------------------------------------------------------------------------

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
WINDOW = timedelta(hours=1)


def offers(*ids, held=False):
    return [domain.DueEmail(i, "shift.available", held) for i in ids]


def test_shift_emails_go_one_by_one_under_the_hourly_limit():
    plan = domain.plan_emails(offers("a", "b"), [NOW - timedelta(minutes=5)] * 2, NOW, limit=5, window=WINDOW)
    assert plan == domain.EmailPlan(["a", "b"], [], [])


def test_past_the_limit_shift_emails_wait_for_one_digest_when_the_hour_allows():
    recent = [NOW - timedelta(minutes=50), NOW - timedelta(minutes=10), NOW - timedelta(minutes=5)]
    due = offers("a", "b", "c", "d") + [domain.DueEmail("booked", "shift.booked")]
    plan = domain.plan_emails(due, recent, NOW, limit=5, window=WINDOW)
    assert plan.single == ["booked", "a", "b"]  # other types always go at once
    assert plan.hold == ["c", "d"] and plan.digest == []
    assert plan.hold_until == NOW + timedelta(minutes=10)  # the earliest recent one leaves the hour


def test_held_shift_emails_go_out_together_as_one_digest():
    due = offers("c", "d", held=True) + offers("e")
    plan = domain.plan_emails(due, [NOW] * 5, NOW, limit=5, window=WINDOW)
    assert plan == domain.EmailPlan([], ["c", "d", "e"], [])


def test_failed_sends_back_off_then_give_up():
    delays = (1.0, 5.0)
    assert domain.next_attempt(1, delays, NOW) == NOW + timedelta(seconds=1)
    assert domain.next_attempt(2, delays, NOW) == NOW + timedelta(seconds=5)
    assert domain.next_attempt(3, delays, NOW) is None
