"""API.md "Notifications" over HTTP and SMTP with the real platform (notifications sending to
a local aiosmtpd server): booking and cancellation reach the worker's inbox and mailbox, the
inbox only ever shows the caller's own, preferences, and the bank admin's delivery log."""

from datetime import UTC, date, datetime, timedelta

import pytest

from chassis.testing import poll
from notifications.testing import SmtpSink


@pytest.fixture
def smtp():
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def service_overrides(smtp):
    return {"notifications": {"SMTP_PORT": smtp.port, "NOTIFICATION_POLL_SECONDS": 0.2}}


def _items(api, token, **query):
    response = api.get("/v1/notifications", token=token, params=query)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def _of_type(api, token, notification_type):
    return [n for n in _items(api, token) if n["type"] == notification_type]


def _about_bookings(smtp, address):
    return [m["Subject"] for m in smtp.to(address) if m["Subject"].startswith(("Booked", "Cancelled"))]


def _user_id(api, token):
    return api.get("/v1/me", token=token).json()["id"]


def test_booking_and_cancellation_reach_the_worker_and_nobody_else(api, hospital, make_bank, active_worker,
                                                                   smtp):
    ada, ada_token = active_worker(hospital, "ada@example.org")
    bob, bob_token = active_worker(hospital, "bob@example.org")
    day = date.today() + timedelta(days=10)
    starts_at = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    shift = api.created("/v1/shifts", {
        "site_id": hospital["site"]["id"], "staff_type": "doctor", "grade": "ST3",
        "starts_at": starts_at.isoformat(), "ends_at": (starts_at + timedelta(hours=8)).isoformat(),
        "publish": {"to": "bank"}}, token=hospital["coordinator"])
    coordinator = hospital["coordinator"]
    booked = api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": ada["id"]}, token=coordinator)
    assert booked.status_code == 200, booked.text

    [booking] = poll(lambda: _of_type(api, ada_token, "shift.booked"), message="the booking in ada's inbox")
    assert booking["data"]["shift_id"] == shift["id"] and booking["read_at"] is None
    assert booking["title"].startswith("Booked: North General")
    cancelled = api.post(f"/v1/shifts/{shift['id']}/cancel", {"reason": "ward closed"},
                         token=hospital["coordinator"])
    assert cancelled.status_code == 200, cancelled.text
    [cancellation] = poll(lambda: _of_type(api, ada_token, "shift.cancelled"), message="the cancellation")
    assert "ward closed" in cancellation["body"] and "cancelled by the site" in cancellation["body"]
    newest = _items(api, ada_token)
    assert newest.index(cancellation) < newest.index(booking)  # newest first

    poll(lambda: len(_about_bookings(smtp, "ada@example.org")) == 2, message="both emails to ada")
    assert _about_bookings(smtp, "ada@example.org") == [booking["title"], cancellation["title"]]
    assert _about_bookings(smtp, "bob@example.org") == []

    # The inbox is the caller's own: bob sees nothing of ada's, and cannot read hers.
    assert not [n for n in _items(api, bob_token) if n["data"].get("shift_id") == shift["id"]
                and n["type"] != "shift.available"]
    assert api.post(f"/v1/notifications/{booking['id']}/read", token=bob_token).status_code == 404
    read = api.post(f"/v1/notifications/{booking['id']}/read", token=ada_token)
    assert read.status_code == 200 and read.json()["id"] == booking["id"] and read.json()["read_at"]
    unread = api.get("/v1/notifications", token=ada_token, params={"unread": "true", "limit": 500}).json()
    assert booking["id"] not in [n["id"] for n in unread["items"]]
    assert unread["unread_count"] == len(unread["items"])
    staff_inbox = api.get("/v1/notifications", token=hospital["coordinator"])
    assert staff_inbox.status_code == 200 and booking["id"] not in str(staff_inbox.json())
    assert api.get("/v1/notifications").status_code == 401

    # The bank's delivery log: its admin reads it; another bank's admin and a coordinator may not.
    log = api.get("/v1/notification-deliveries", token=hospital["bank_admin"],
                  params={"bank_id": hospital["bank"]["id"], "user_id": _user_id(api, ada_token)})
    assert log.status_code == 200, log.text
    channels = {(d["type"], d["channel"]) for d in log.json()["items"] if d["status"] == "sent"}
    assert {("shift.booked", "in_app"), ("shift.booked", "email"), ("shift.cancelled", "email")} <= channels
    south = make_bank("South")
    assert api.get("/v1/notification-deliveries", token=south["bank_admin"],
                   params={"bank_id": hospital["bank"]["id"]}).status_code == 403
    assert api.get("/v1/notification-deliveries", token=hospital["coordinator"],
                   params={"bank_id": hospital["bank"]["id"]}).status_code == 403


def test_preferences_are_the_callers_own_and_validated(api, hospital):
    defaults = api.get("/v1/notification-preferences", token=hospital["coordinator"])
    assert defaults.status_code == 200
    assert defaults.json() == {"email": True, "in_app": True, "quiet_hours": None, "sms": False,
                               "push": False}
    wanted = {"email": False, "in_app": True, "quiet_hours": {"start": "22:00", "end": "07:00"}}
    put = api.put("/v1/notification-preferences", wanted, token=hospital["coordinator"])
    assert put.status_code == 200, put.text
    assert put.json() == {**wanted, "sms": False, "push": False}
    assert api.get("/v1/notification-preferences", token=hospital["coordinator"]).json() == put.json()
    assert api.get("/v1/notification-preferences", token=hospital["bank_admin"]).json()["email"] is True
    for bad in ({"email": "yes", "in_app": True}, {"in_app": True},
                {"email": True, "in_app": True, "quiet_hours": {"start": "25:00", "end": "07:00"}},
                {"email": True, "in_app": True, "quiet_hours": {"start": "07:00", "end": "07:00"}},
                {"email": True, "in_app": True, "sound": True}):
        response = api.put("/v1/notification-preferences", bad, token=hospital["coordinator"])
        assert response.status_code == 422, (bad, response.text)
    assert api.get("/v1/notifications", token=hospital["coordinator"],
                   params={"cursor": "not-a-cursor"}).status_code == 422
