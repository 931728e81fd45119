"""Notifications over real RPC, PostgreSQL, RabbitMQ and SMTP (aiosmtpd on a free local port):
events published as their producers would, identity stood in for the facts notifications asks
it when no event has brought them yet."""

import uuid
from datetime import timedelta

import eventlet
import pytest
import sqlalchemy as sa
from nameko.amqp.publish import Publisher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import replace_dependencies

from chassis.clock import LONDON, now
from chassis.engines import engine_for
from chassis.errors import Conflict, NotFound
from chassis.events import events_exchange
from chassis.testing import poll
from notifications.service import NotificationsService
from notifications.testing import IdentityStandIn, SmtpSink

BANK, ORG, SITE = "bank-1", "org-1", "site-1"


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def overrides():
    """Config a test changes (a test overrides this fixture)."""
    return {}


@pytest.fixture
def config(service_config, smtp, overrides):
    return service_config(NotificationsService, **{
        "SMTP_PORT": smtp.port, "NOTIFICATION_POLL_SECONDS": 0.1, "NOTIFICATION_RETRY_DELAYS": [0.3] * 3,
        "NOTIFICATION_DIGEST_LIMIT": 5, "PORTAL_URL": "https://portal.example/portal/", **overrides})


@pytest.fixture
def identity():
    """identity stood in: it answers from the identity events the tests publish."""
    return IdentityStandIn()


@pytest.fixture
def start(container_factory, config, identity):
    """start() -> a running notifications replica (identity stood in); call again for another."""

    def run():
        container = container_factory(NotificationsService, config)
        replace_dependencies(container, identity=identity)
        container.start()
        return container

    return run


@pytest.fixture
def notifications(start, config):
    start()
    with ServiceRpcProxy("notifications", config) as proxy:
        yield proxy


@pytest.fixture
def publish(config, identity):
    """publish(source, type, data): as the producer would (identity's facts also become what the
    identity stand-in answers, as identity's own state is ahead of what it publishes)."""
    publisher = Publisher(config["AMQP_URI"])

    def send(source, event_type, data, event_id=None):
        if source == "identity":
            identity.learn(event_type, data)
        event_id = event_id or str(uuid.uuid4())
        publisher.publish(
            {"event_id": event_id, "type": event_type, "version": 1, "occurred_at": now().isoformat(),
             "producer": source, "correlation_id": "corr-1", "data": data},
            exchange=events_exchange(source), routing_key=event_type)
        return event_id

    return send


def known(config, table, count):
    """Wait until notifications' copy of identity holds `count` rows of `table` (events are
    consumed by separate queues, in no promised order)."""
    def counted():
        with engine_for(config["DB_URL"]).connect() as conn:
            return conn.scalar(sa.text(f"SELECT count(*) FROM {table}")) >= count

    poll(counted, message=f"{count} {table}")


@pytest.fixture
def bank(publish, notifications, config):
    """A bank with one organisation and site, as identity announces them."""
    publish("identity", "bank.created", {"bank_id": BANK, "name": "North Bank"})
    publish("identity", "organisation.created",
            {"organisation_id": ORG, "bank_id": BANK, "name": "Royal Trust", "kind": "trust",
             "ods_code": None})
    site = {"site_id": SITE, "organisation_id": ORG, "bank_id": BANK, "name": "Main Site", "latitude": 53.4,
            "longitude": -2.2, "postcode": None}
    publish("identity", "site.created", site)
    for table in ("banks", "organisations", "sites"):
        known(config, table, 1)


@pytest.fixture
def worker(publish):
    """worker(name) -> a registered worker (announced by worker.registered, and known to identity)."""

    def make(name="ada"):
        worker_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
        record = {"worker_id": worker_id, "user_id": user_id, "bank_id": BANK, "bank_number": "W000001",
                  "name": name.title(), "email": f"{name}@example.org", "staff_type": "doctor",
                  "grade": "ST3", "extra_grades": [], "specialty": None, "registration_body": None,
                  "registration_number": None, "latitude": 53.4, "longitude": -2.2, "max_travel_km": 50.0,
                  "opted_out_of_48h": False, "status": "applied", "agency_id": None}
        publish("identity", "worker.registered", record)
        return record

    return make


def actor(user_id):
    return {"user_id": user_id, "capacities": [], "worker_id": None, "agency_ids": []}


def shift(shift_id=None, **extra):
    return {"shift_id": shift_id or str(uuid.uuid4()), "site_id": SITE, "organisation_id": ORG,
            "bank_id": BANK, "staff_type": "doctor", "grade": "ST3", "starts_at": "2026-12-01T08:00:00+00:00",
            "ends_at": "2026-12-01T20:00:00+00:00", "hourly_rate": "55.00", "standard_rate": "55.00",
            "status": "booked", "worker_id": None, **extra}


def ranked(*workers, shift_id=None):
    facts = shift(shift_id)
    return {**{k: facts[k] for k in ("shift_id", "site_id", "organisation_id", "bank_id", "staff_type",
                                     "grade", "starts_at", "ends_at", "hourly_rate")},
            "stage": "bank", "release_event_id": str(uuid.uuid4()),
            "candidates": [{"worker_id": w["worker_id"], "user_id": w["user_id"], "rank": n + 1,
                            "distance_km": 2.5, "worked_at_site": False, "worked_at_organisation": False}
                           for n, w in enumerate(workers)]}


def inbox(notifications, user_id, **query):
    return notifications.list_notifications(query, actor(user_id))


def types(notifications, user_id):
    return sorted(n["type"] for n in inbox(notifications, user_id)["items"])


def settle(seconds=0.6):
    """Give a duplicate the time it would need to show up."""
    eventlet.sleep(seconds)


def test_a_booking_is_told_once_in_the_inbox_and_by_email_even_when_redelivered(
        notifications, publish, bank, worker, smtp, event_tap):
    tap = event_tap("notifications.events")
    ada = worker("ada")
    booked = shift(worker_id=ada["worker_id"])
    event_id = publish("shifts", "shift.booked", booked)
    publish("shifts", "shift.booked", booked, event_id=event_id)  # a redelivery

    [mail] = poll(lambda: smtp.to("ada@example.org"), message="the booking email")
    assert mail["Subject"] == "Booked: Main Site, Tue 1 Dec 2026"
    text = smtp.text(mail)
    assert "Main Site (Royal Trust): Tue 1 Dec 2026, 08:00–20:00, at £55.00/h" in text
    assert f"https://portal.example/portal/shifts/{booked['shift_id']}" in text
    settle()
    assert len(smtp.to("ada@example.org")) == 1

    [item] = inbox(notifications, ada["user_id"])["items"]
    assert item["type"] == "shift.booked" and item["read_at"] is None
    assert item["data"]["shift_id"] == booked["shift_id"]
    delivered = [e for e in tap.messages(timeout=2, count=2) if e["type"] == "notification.delivered"]
    assert sorted(e["data"]["channel"] for e in delivered) == ["email", "in_app"]
    assert {e["correlation_id"] for e in delivered} == {"corr-1"}
    assert tap.messages(timeout=0.3) == []

    # reading: one's own only; another person's id is as if it did not exist
    with pytest.raises(NotFound):
        notifications.read_notification(item["id"], actor("someone-else"))
    read = notifications.read_notification(item["id"], actor(ada["user_id"]))
    assert read["read_at"] is not None
    assert notifications.read_notification(item["id"], actor(ada["user_id"]))["read_at"] == read["read_at"]
    assert inbox(notifications, ada["user_id"], unread=True) == {"items": [], "next_cursor": None,
                                                                  "unread_count": 0}
    assert inbox(notifications, "someone-else")["items"] == []


def test_the_inbox_is_newest_first_in_pages(notifications, publish, bank, worker):
    ada = worker("ada")
    for n in range(5):
        publish("matching", "matching.candidates_ranked", ranked(ada, shift_id=f"shift-{n}"))
        poll(lambda n=n: inbox(notifications, ada["user_id"])["unread_count"] == n + 1, message="each offer")
    first = inbox(notifications, ada["user_id"], limit=2)
    second = inbox(notifications, ada["user_id"], limit=2, cursor=first["next_cursor"])
    third = inbox(notifications, ada["user_id"], limit=2, cursor=second["next_cursor"])
    shifts = [i["data"]["shift_id"] for page in (first, second, third) for i in page["items"]]
    assert shifts == [f"shift-{n}" for n in (4, 3, 2, 1, 0)] and third["next_cursor"] is None


def test_two_replicas_send_each_email_once(start, notifications, publish, bank, worker, smtp):
    start()  # a second replica: both consume the events and both run a sender
    team = [worker(f"w{n}") for n in range(12)]
    offer = ranked(*team)
    event_id = publish("matching", "matching.candidates_ranked", offer)
    publish("matching", "matching.candidates_ranked", offer, event_id=event_id)  # redelivered
    publish("matching", "matching.candidates_ranked", {**offer, "release_event_id": "again"})  # named again
    for member in team:
        publish("shifts", "shift.booked", shift(worker_id=member["worker_id"]))

    poll(lambda: len(smtp.messages) >= 24, message="an offer and a booking for each")
    settle(1.0)
    wanted = sorted(f"w{n}@example.org" for n in range(12) for _ in ("offer", "booking"))
    assert sorted(m["To"] for m in smtp.messages) == wanted
    for member in team:
        assert types(notifications, member["user_id"]) == ["shift.available", "shift.booked"]


@pytest.mark.parametrize("overrides", [{"NOTIFICATION_RETRY_DELAYS": [0.3] * 8}])
def test_a_send_that_fails_while_smtp_is_down_is_retried_when_it_is_back(
        notifications, publish, bank, worker, smtp):
    ada = worker("ada")
    smtp.stop()
    publish("shifts", "shift.booked", shift(worker_id=ada["worker_id"]))

    def log():
        return notifications.list_deliveries({"bank_id": BANK, "channel": "email"})["items"]

    [pending] = poll(lambda: [d for d in log() if d["attempts"] >= 2], message="failed attempts")
    assert pending["status"] == "pending" and "ConnectionRefused" in pending["last_error"]
    smtp.start()  # back, on the same port
    poll(lambda: smtp.to("ada@example.org"), message="the email once SMTP is back")
    [sent] = poll(lambda: [d for d in log() if d["status"] == "sent"], message="marked sent")
    assert sent["sent_at"] is not None and sent["address"] == "ada@example.org"
    settle()
    assert len(smtp.to("ada@example.org")) == 1


@pytest.mark.parametrize("overrides", [{"NOTIFICATION_RETRY_DELAYS": [0.2]}])
def test_a_send_that_keeps_failing_is_marked_failed_and_an_operator_sends_it_again(
        notifications, publish, bank, worker, smtp):
    ada = worker("ada")
    smtp.stop()
    publish("shifts", "shift.booked", shift(worker_id=ada["worker_id"]))
    [failed] = poll(lambda: notifications.list_deliveries({"bank_id": BANK, "status": "failed"})["items"],
                    message="the delivery given up")
    assert failed["attempts"] == 2 and failed["channel"] == "email" and failed["next_attempt_at"] is None
    assert notifications.resolve_scope("delivery", failed["id"]) == {"bank_id": BANK}
    assert notifications.list_deliveries({"bank_id": "another-bank"})["items"] == []

    smtp.start()
    settle(0.4)
    assert smtp.messages == []  # failed is final until someone sends it again
    again = notifications.resend_delivery(failed["id"], actor("operator"))
    assert again["status"] == "pending" and again["attempts"] == 0
    poll(lambda: smtp.to("ada@example.org"), message="the email sent again")
    with pytest.raises(Conflict):
        notifications.resend_delivery(failed["id"], actor("operator"))


def test_an_address_the_server_refuses_is_failed_at_once_and_sms_goes_by_its_adapter(
        notifications, publish, bank, worker, smtp):
    ada = worker("ada")
    smtp.refused.add("ada@example.org")
    notifications.put_preferences({"email": True, "in_app": False, "sms": True}, actor(ada["user_id"]))
    publish("shifts", "shift.booked", shift(worker_id=ada["worker_id"]))

    def log():
        return {d["channel"]: d for d in notifications.list_deliveries({"bank_id": BANK})["items"]}

    poll(lambda: log().get("email", {}).get("status") == "failed", message="the refused email given up")
    assert log()["email"]["attempts"] == 1 and "550" in log()["email"]["last_error"]  # no retry
    assert log()["sms"]["status"] == "sent" and "in_app" not in log()


def _quiet_now():
    """Quiet hours around this moment (London wall clock), at least 30 minutes either side."""
    local = now().astimezone(LONDON)
    start, end = local - timedelta(hours=1), local + timedelta(hours=1)
    return {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"}


def test_quiet_hours_hold_email_but_never_the_inbox_and_in_app_off_keeps_offers_out(
        notifications, publish, bank, worker, smtp):
    ada, bob = worker("ada"), worker("bob")
    quiet = _quiet_now()
    assert notifications.put_preferences({"email": True, "in_app": True, "quiet_hours": quiet},
                                         actor(ada["user_id"])) == {
        "email": True, "in_app": True, "quiet_hours": quiet, "sms": False, "push": False}
    notifications.put_preferences({"email": True, "in_app": False}, actor(bob["user_id"]))
    assert notifications.get_preferences(actor("nobody-yet")) == {
        "email": True, "in_app": True, "quiet_hours": None, "sms": False, "push": False}

    publish("matching", "matching.candidates_ranked", ranked(ada, bob))
    poll(lambda: smtp.to("bob@example.org"), message="bob's email (no quiet hours)")
    poll(lambda: types(notifications, ada["user_id"]) == ["shift.available"], message="ada's inbox at once")
    assert types(notifications, bob["user_id"]) == []  # in-app off: nothing in the inbox
    settle()
    assert smtp.to("ada@example.org") == []  # held
    [held] = notifications.list_deliveries({"bank_id": BANK, "user_id": ada["user_id"], "channel": "email"})[
        "items"]
    assert held["status"] == "pending" and held["next_attempt_at"] > now().isoformat()

    notifications.put_preferences({"email": True, "in_app": True}, actor(ada["user_id"]))  # quiet hours off
    poll(lambda: smtp.to("ada@example.org"), message="ada's email once quiet hours are lifted")


@pytest.mark.parametrize("overrides", [{"NOTIFICATION_DIGEST_LIMIT": 2,
                                        "NOTIFICATION_DIGEST_WINDOW_SECONDS": 2}])
def test_a_burst_of_shift_emails_past_the_limit_becomes_one_digest(
        notifications, publish, bank, worker, smtp):
    ada = worker("ada")
    for n in range(5):
        publish("matching", "matching.candidates_ranked", ranked(ada, shift_id=f"shift-{n}"))
    poll(lambda: len(inbox(notifications, ada["user_id"])["items"]) == 5, message="every offer in the inbox")
    poll(lambda: len(smtp.to("ada@example.org")) == 2, message="the first two, one by one")
    settle(0.5)
    assert len(smtp.to("ada@example.org")) == 2  # the rest wait for the window
    poll(lambda: len(smtp.to("ada@example.org")) == 3, timeout=5, message="one digest of the rest")
    singles, digest = smtp.to("ada@example.org")[:2], smtp.to("ada@example.org")[2]
    assert digest["Subject"] == "3 open shifts for you"
    mentioned = [n for n in range(5) for m in singles + [digest] if f"shifts/shift-{n}" in smtp.text(m)]
    assert sorted(mentioned) == [0, 1, 2, 3, 4]  # each shift in exactly one email
    def log():
        return notifications.list_deliveries({"bank_id": BANK, "channel": "email"})["items"]

    # the email arrives just before the sender's commit marks its deliveries sent
    poll(lambda: all(d["status"] == "sent" for d in log()), message="every email delivery marked sent")
    log = log()
    assert len({d["digest_id"] for d in log if d["digest_id"]}) == 1


def test_each_event_reaches_the_people_it_concerns_and_nobody_else(notifications, publish, bank, worker,
                                                                    config):
    staff = {
        "approver": [("timesheet_approver", "site", SITE)], "admin": [("bank_admin", "bank", BANK)],
        "leader": [("leadership", "organisation", ORG)], "coordinator": [("rota_coordinator", "site", SITE)],
        "elsewhere": [("timesheet_approver", "site", "site-2"), ("leadership", "bank", "bank-2"),
                      ("bank_admin", "bank", "bank-2")],
        "both": [("timesheet_approver", "bank", BANK), ("leadership", "platform", None)],
    }
    for name, grants in staff.items():
        publish("identity", "user.created", {"user_id": name, "email": f"{name}@example.org", "name": name,
                                             "roles": [{"role": r, "scope_type": t, "scope_id": i}
                                                       for r, t, i in grants]})
    ada = worker("ada")  # no waiting for user.created: whoever holds a role is asked of identity
    publish("shifts", "shift.rate_violation", shift(hourly_rate="90.00", status="pending_approval"))
    publish("shifts", "shift.cancelled", shift(worker_id=ada["worker_id"], status="cancelled",
                                               reason="unwell", cancelled_by="worker", late=True))
    publish("payroll", "timesheet.submitted", {
        "timesheet_id": "t1", "shift_id": "s1", "worker_id": ada["worker_id"], "bank_number": "W000001",
        "bank_id": BANK, "organisation_id": ORG, "site_id": SITE, "hours": "12.00", "amount": "660.00",
        "started_at": "2026-12-01T08:00:00+00:00", "ended_at": "2026-12-01T20:00:00+00:00",
        "break_minutes": 0, "second_approval_required": False, "resubmission_of": None})
    publish("payroll", "timesheet.rejected", {
        "timesheet_id": "t1", "shift_id": "s1", "worker_id": ada["worker_id"], "bank_number": "W000001",
        "bank_id": BANK, "organisation_id": ORG, "site_id": SITE, "hours": "12.00", "amount": "660.00",
        "reason": "wrong end time", "rejected_at": now().isoformat()})
    publish("compliance", "compliance.lapsed", {
        "worker_id": ada["worker_id"], "bank_id": BANK, "status": "expired", "missing": ["dbs"], "version": 3,
        "cleared_until": None, "document_id": "d1", "kind": "dbs", "expires_on": "2026-11-30"})
    publish("identity", "organisation.created", {"organisation_id": "org-2", "bank_id": BANK,
                                                 "kind": "practice", "name": "Elm", "ods_code": None})
    publish("identity", "worker.activated", {"worker_id": ada["worker_id"], "bank_id": BANK,
                                             "bank_number": "W000001", "previous_status": "onboarding",
                                             "status": "active", "reason": None})
    expected = {
        "approver": ["shift.rate_violation", "timesheet.submitted"],
        "admin": ["compliance.lapsed", "organisation.created", "shift.rate_violation"],
        "leader": ["shift.rate_violation"],
        "coordinator": ["shift.cancelled"],
        "both": ["shift.rate_violation", "timesheet.submitted"],  # told once of the violation
        ada["user_id"]: ["compliance.lapsed", "shift.cancelled", "timesheet.rejected", "worker.activated"],
    }
    for user_id, wanted in expected.items():
        poll(lambda user_id=user_id, wanted=wanted: types(notifications, user_id) == wanted,
             message=f"{user_id}'s notifications")
    assert types(notifications, "elsewhere") == []
    leader = inbox(notifications, "leader")["items"][0]
    assert leader["title"] == "Rate violation: £90.00/h at Main Site"
    admin_lapse = [i for i in inbox(notifications, "admin")["items"] if i["type"] == "compliance.lapsed"][0]
    assert admin_lapse["title"] == "Ada's DBS check has lapsed"
    welcome = [i for i in inbox(notifications, ada["user_id"])["items"] if i["type"] == "worker.activated"][0]
    assert welcome["title"] == "Welcome to North Bank: you can now take shifts"


def test_a_worker_no_event_has_brought_yet_is_asked_of_identity(notifications, publish, bank, identity,
                                                                 smtp):
    worker_id, user_id = "w-late", "u-late"
    identity.workers[worker_id] = {"id": worker_id, "user_id": user_id, "bank_id": BANK,
                                   "email": "late@example.org", "name": "Late"}
    publish("shifts", "shift.booked", shift(worker_id=worker_id))
    poll(lambda: types(notifications, user_id) == ["shift.booked"], message="told via identity's answer")
    poll(lambda: smtp.to("late@example.org"), message="and by email")


def test_what_waits_for_a_worker_who_leaves_is_withdrawn_and_later_news_reaches_only_the_inbox(
        notifications, publish, bank, worker, smtp):
    ada = worker("ada")
    notifications.put_preferences({"email": True, "in_app": True, "quiet_hours": _quiet_now()},
                                  actor(ada["user_id"]))
    publish("shifts", "shift.booked", shift(worker_id=ada["worker_id"]))

    def emails():
        return notifications.list_deliveries({"bank_id": BANK, "channel": "email"})["items"]

    poll(lambda: [d for d in emails() if d["status"] == "pending"], message="the email held by quiet hours")
    publish("identity", "worker.left", {"worker_id": ada["worker_id"], "bank_id": BANK,
                                        "bank_number": "W000001", "previous_status": "active",
                                        "status": "left", "reason": "moved away"})
    [withdrawn] = poll(lambda: [d for d in emails() if d["status"] == "withdrawn"], message="withdrawn")
    assert withdrawn["last_error"] == "not sent: the worker has left the bank"
    with pytest.raises(Conflict):
        notifications.resend_delivery(withdrawn["id"], actor("operator"))

    publish("shifts", "shift.cancelled", shift(worker_id=ada["worker_id"], status="cancelled",
                                               reason="closed", cancelled_by="site", late=False))
    poll(lambda: types(notifications, ada["user_id"]) == ["shift.booked", "shift.cancelled"],
         message="the cancellation in the inbox")
    poll(lambda: len(emails()) == 2, message="its email logged")
    assert {d["status"] for d in emails()} == {"withdrawn"}
    notifications.put_preferences({"email": True, "in_app": True}, actor(ada["user_id"]))  # quiet hours off
    settle()
    assert smtp.to("ada@example.org") == []
