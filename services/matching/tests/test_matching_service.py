"""Matching alone on a real database and broker, fed the events identity, compliance and shifts
would publish (published here as they would be, to their exchanges): who is named when a shift
opens to a group, each exclusion, the ranking, late and repeated facts, and a rebuild that gives
the same answer."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from nameko.amqp.publish import Publisher

from chassis.clock import LONDON
from chassis.errors import NotFound
from chassis.events import events_exchange
from chassis.testing import poll
from matching.service import MatchingService

SOURCES = {"worker": "identity", "site": "identity", "compliance": "compliance", "shift": "shifts",
           "priority_group": "shifts"}
BANK, ORG = "bank-1", "org-1"
SITE = {"site_id": "site-1", "organisation_id": ORG, "bank_id": BANK, "name": "General",
        "latitude": 53.48, "longitude": -2.24, "postcode": None}


def _day_ahead(days, hour, minute=0):
    day = date.today() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


class World:
    """Publishes facts as their producers would, and reads what matching made of them."""

    def __init__(self, config, matching, tap):
        self.publisher = Publisher(config["AMQP_URI"])
        self.matching = matching
        self.tap = tap
        self.seen = []

    def publish(self, event_type, data, occurred_at=None, event_id=None):
        envelope = {"event_id": event_id or str(uuid.uuid4()), "type": event_type, "version": 1,
                    "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
                    "producer": SOURCES[event_type.split(".")[0]], "correlation_id": None, "data": data}
        self.publisher.publish(envelope, exchange=events_exchange(envelope["producer"]),
                               routing_key=event_type)
        return envelope

    # --- identity and compliance ------------------------------------------------------

    def registered(self, worker_id, occurred_at=None, **facts):
        data = {"agency_id": None, "worker_id": worker_id, "user_id": f"user-{worker_id}", "bank_id": BANK,
                "bank_number": "W000001", "name": worker_id, "email": f"{worker_id}@example.org",
                "staff_type": "doctor", "grade": "ST3", "extra_grades": [], "specialty": None,
                "registration_body": None, "registration_number": None, "latitude": 53.45,
                "longitude": -2.2, "max_travel_km": 30.0, "opted_out_of_48h": False, "status": "applied",
                **facts}
        return self.publish("worker.registered", data, occurred_at)

    def status(self, worker_id, status, occurred_at=None):
        event_type = {"active": "worker.activated", "suspended": "worker.suspended"}[status]
        return self.publish(event_type, {"worker_id": worker_id, "bank_id": BANK, "bank_number": "W000001",
                                         "previous_status": "onboarding", "status": status, "reason": None},
                            occurred_at)

    def compliance(self, worker_id, version, cleared=True, cleared_until=None, **extra):
        event_type = "compliance.cleared" if cleared else "compliance.uncleared"
        return self.publish(event_type, {"worker_id": worker_id, "bank_id": BANK,
                                         "status": "cleared" if cleared else "expired",
                                         "missing": [] if cleared else ["dbs"], "version": version,
                                         "cleared_until": cleared_until}, **extra)

    def worker(self, worker_id, cleared_until=None, **facts):
        """A registered, active, cleared worker, once matching knows it so."""
        self.registered(worker_id, **facts)
        self.status(worker_id, "active")
        self.compliance(worker_id, 1, cleared_until=cleared_until)
        self.wait_for_worker(worker_id, status="active", compliance_status="cleared")

    def wait_for_worker(self, worker_id, **expected):
        return self._wait_until(self.matching.worker_view, worker_id, expected)

    def _wait_until(self, view_of, key, expected):
        """Poll matching's view of `key` until it shows `expected`; the view."""
        def known():
            try:
                view = view_of(key)
            except NotFound:
                return None
            return view if all(view[k] == v for k, v in expected.items()) else None

        return poll(known, message=f"matching to know {key} as {expected}")

    def site(self, **facts):
        return self.publish("site.created", {**SITE, **facts})

    # --- shifts -----------------------------------------------------------------------

    @staticmethod
    def fact(shift_id, starts_at, hours=8, status="open", worker_id=None, **facts):
        return {"shift_id": shift_id, "site_id": SITE["site_id"], "organisation_id": ORG, "bank_id": BANK,
                "staff_type": "doctor", "grade": "ST3", "starts_at": starts_at.isoformat(),
                "ends_at": (starts_at + timedelta(hours=hours)).isoformat(), "hourly_rate": "50.00",
                "standard_rate": "50.00", "status": status, "worker_id": worker_id, **facts}

    def published(self, shift_id, starts_at, to="bank", group=None, hours=8, **extra):
        return self.publish("shift.published", {**self.fact(shift_id, starts_at, hours), "to": to,
                                                "priority_group_id": group}, **extra)

    def booked(self, shift_id, worker_id, starts_at, hours=8):
        """A booking of another shift (shifts publishes it booked)."""
        return self.publish("shift.booked", self.fact(shift_id, starts_at, hours, "booked", worker_id))

    def group(self, group_id, worker_ids):
        return self.publish("priority_group.created", {"priority_group_id": group_id, "organisation_id": ORG,
                                                       "bank_id": BANK, "name": "Regulars",
                                                       "worker_ids": worker_ids})

    def wait_for_shift(self, shift_id, **expected):
        return self._wait_until(self.matching.shift_view, shift_id, expected)

    # --- what matching published ------------------------------------------------------

    def named(self, shift_id, timeout=5.0, settle=0.4):
        """Every matching.candidates_ranked for the shift that arrives until `settle` seconds
        pass without one (or `timeout`)."""
        events = []
        deadline = datetime.now(UTC) + timedelta(seconds=timeout)
        while datetime.now(UTC) < deadline:
            arrived = self.tap.messages(timeout=settle)
            self.seen += arrived
            mine = [e for e in arrived if e["data"]["shift_id"] == shift_id]
            events += mine
            if events and not mine:
                break
        return events


@pytest.fixture
def matching_config(service_config):
    return service_config(MatchingService)


@pytest.fixture
def world(matching_config, run_service, event_tap):
    tap = event_tap("matching.events", "matching.candidates_ranked")
    return World(matching_config, run_service(MatchingService, matching_config), tap)


def _names(events):
    return [c["worker_id"] for e in events for c in e["data"]["candidates"]]


def test_each_exclusion_leaves_out_one_worker_and_the_rest_hear_once_per_stage(world):
    world.site()
    start = _day_ahead(14, 6)  # a 13-hour shift, 06:00-19:00
    world.worker("ada")
    world.worker("extra", grade="ST4", extra_grades=["ST3"])
    world.worker("grade", grade="ST4")
    world.worker("type", staff_type="nurse")
    world.worker("suspended")
    world.status("suspended", "suspended")
    world.worker("lapsing", cleared_until=(start.date() - timedelta(days=1)).isoformat())
    world.worker("far", latitude=53.9)
    world.worker("overlap")
    world.booked("other-1", "overlap", start + timedelta(hours=4))
    world.worker("tired")
    for i in range(6):  # 60 h in the six days before: the 13-hour shift would make 73
        world.booked(f"week-{i}", "tired", start - timedelta(days=6 - i) + timedelta(hours=2), hours=10)
    world.worker("outsider")
    members = ["ada", "extra", "grade", "type", "suspended", "lapsing", "far", "overlap", "tired"]
    world.group("group-1", members)
    world.wait_for_worker("suspended", status="suspended")
    world.wait_for_worker("overlap", bookings=[{"shift_id": "other-1", "status": "booked",
                                                "starts_at": (start + timedelta(hours=4)).isoformat(),
                                                "ends_at": (start + timedelta(hours=12)).isoformat()}])
    poll(lambda: len(world.matching.worker_view("tired")["bookings"]) == 6, message="tired's bookings")

    priority = world.published("target", start, to="priority", group="group-1", hours=13)
    [event] = world.named("target")
    assert event["data"]["stage"] == "priority" and event["data"]["release_event_id"] == priority["event_id"]
    assert sorted(_names([event])) == ["ada", "extra"]
    assert {k: event["data"][k] for k in ("site_id", "organisation_id", "bank_id", "staff_type", "grade",
                                          "hourly_rate")} == {
        "site_id": "site-1", "organisation_id": ORG, "bank_id": BANK, "staff_type": "doctor", "grade": "ST3",
        "hourly_rate": "50.00"}
    assert datetime.fromisoformat(event["data"]["starts_at"]) == start

    # The window ends: the bank hears of it, and only who was not named before.
    bank = world.published("target", start, hours=13)
    [event] = world.named("target")
    assert event["data"]["stage"] == "bank" and event["data"]["release_event_id"] == bank["event_id"]
    assert _names([event]) == ["outsider"] and event["data"]["candidates"][0]["rank"] == 1
    assert sorted(c["worker_id"] for c in world.matching.candidates("target")) == ["ada", "extra", "outsider"]

    # An agency cascade opens it to nobody new; once booked, nobody may take it.
    world.publish("shift.cascaded", {**world.fact("target", start, 13, "agency"), "tier": 1})
    world.wait_for_shift("target", stage="agency", agency_tier=1)
    assert world.named("target", timeout=0.5) == []
    world.booked("target", "ada", start, hours=13)
    world.wait_for_shift("target", status="booked")
    assert world.matching.candidates("target") == []
    assert world.matching.shift_view("target")["named"] == 3


def test_candidates_are_ranked_by_prior_work_fairness_and_distance(world):
    world.site()
    world.site(site_id="site-2", latitude=53.3, longitude=-2.1)
    world.worker("near", latitude=53.47, longitude=-2.24)
    world.worker("middle", latitude=53.40, longitude=-2.24)
    world.worker("far", latitude=53.30, longitude=-2.24)
    world.worker("regular", latitude=53.30, longitude=-2.30)
    world.worker("colleague", latitude=53.30, longitude=-2.30)
    past = _day_ahead(-20, 8)
    world.publish("shift.completed", world.fact("done-1", past, 8, "completed", "regular"))
    world.publish("shift.completed", {**world.fact("done-2", past + timedelta(days=1), 8, "completed",
                                                   "colleague"), "site_id": "site-2"})
    world.wait_for_worker("regular", worked_sites=["site-1"])
    world.wait_for_worker("colleague", worked_organisations=[ORG])
    # "near" alone was named for another shift today (its priority group's): offered once lately.
    world.group("near-only", ["near"])
    world.published("elsewhere", _day_ahead(9, 8), to="priority", group="near-only")
    assert _names(world.named("elsewhere")) == ["near"]

    world.published("target", _day_ahead(10, 8))
    [event] = world.named("target")
    ranked = event["data"]["candidates"]
    assert [c["worker_id"] for c in ranked] == ["regular", "colleague", "middle", "far", "near"]
    assert [c["rank"] for c in ranked] == [1, 2, 3, 4, 5]
    assert ranked[0]["worked_at_site"] and ranked[0]["worked_at_organisation"]
    assert not ranked[1]["worked_at_site"] and ranked[1]["worked_at_organisation"]
    assert ranked[0]["user_id"] == "user-regular" and ranked[2]["distance_km"] < ranked[3]["distance_km"]
    assert world.matching.candidates("target") == ranked


def test_facts_arriving_late_out_of_order_or_twice(world):
    start = _day_ahead(12, 8)
    # The release arrives before its site and its group: nobody can be judged yet.
    world.published("target", start, to="priority", group="group-1")
    world.wait_for_shift("target", stage="priority", site_known=False)
    # A worker whose facts arrive backwards: cleared (v2) and active before its registration,
    # then an older compliance fact (v1, not cleared), and a booking before anything else.
    world.booked("other", "ada", start - timedelta(days=3))
    world.compliance("ada", 2, cleared=True)
    world.status("ada", "active", occurred_at=datetime.now(UTC))
    world.registered("ada", occurred_at=datetime.now(UTC) - timedelta(minutes=5))
    world.compliance("ada", 1, cleared=False)
    world.worker("bob")
    view = world.wait_for_worker("ada", staff_type="doctor", status="active", compliance_version=2)
    assert view["compliance_status"] == "cleared" and len(view["bookings"]) == 1
    assert world.named("target", timeout=0.5) == []

    world.site()
    world.wait_for_shift("target", site_known=True)
    assert world.named("target", timeout=0.5) == []  # still in the window of a group not known yet
    group = world.group("group-1", ["ada"])
    [event] = world.named("target")
    assert _names([event]) == ["ada"] and event["data"]["stage"] == "priority"

    # Redelivered facts change nothing and name nobody again.
    world.publish("priority_group.created", group["data"], event_id=group["event_id"])
    world.group("group-1", ["ada"])  # the same fact under a new id: ada was named already
    assert world.named("target", timeout=1) == []
    # A release arriving after a later one (bank before priority) names only the bank's news.
    world.published("late", start, to="bank")
    [event] = world.named("late")
    assert sorted(_names([event])) == ["ada", "bob"]
    world.published("late", start, to="priority", group="group-1")
    assert world.named("late", timeout=1) == []
    world.wait_for_shift("late", stage="bank")


def test_a_worker_who_becomes_able_later_hears_then_and_only_then(world):
    world.site()
    start = _day_ahead(12, 8)
    world.worker("ada")
    world.worker("bob")
    world.booked("clash", "bob", start + timedelta(hours=2))
    world.wait_for_worker("bob", bookings=[{"shift_id": "clash", "status": "booked",
                                            "starts_at": (start + timedelta(hours=2)).isoformat(),
                                            "ends_at": (start + timedelta(hours=10)).isoformat()}])
    world.registered("cy")
    world.wait_for_worker("cy", status="applied")
    world.published("later", start + timedelta(days=2))
    assert _names(world.named("later")) == ["ada", "bob"]
    world.published("target", start)
    assert _names(world.named("target")) == ["ada"]

    world.status("cy", "active")
    world.wait_for_worker("cy", status="active")
    assert world.named("target", timeout=0.5) == []  # active, not yet cleared
    world.compliance("cy", 1)
    [event] = world.named("target")  # one fact opens both shifts to cy: one event each
    assert _names([event]) == ["cy"] and event["data"]["candidates"][0]["rank"] == 1
    assert event["data"]["stage"] == "bank"
    later = [e for e in world.seen if e["data"]["shift_id"] == "later"][1:] or world.named("later")
    assert _names(later) == ["cy"]

    # Bob's clashing booking is cancelled: he is free to take it.
    cancelled = world.fact("clash", start + timedelta(hours=2), 8, "cancelled", "bob")
    world.publish("shift.cancelled", {**cancelled, "reason": "unwell", "cancelled_by": "worker",
                                      "late": False})
    assert _names(world.named("target")) == ["bob"]
    world.compliance("cy", 2, cleared_until=(start.date() + timedelta(days=30)).isoformat())
    world.wait_for_worker("cy", compliance_version=2)
    assert world.named("target", timeout=0.5) == []  # named already
    assert world.matching.shift_view("target")["named"] == 3
    assert world.matching.worker_view("cy")["recent_offers"] == 2


def test_rebuilding_from_the_log_gives_the_same_answer(world):
    world.site()
    start = _day_ahead(15, 8)
    for name, latitude in (("ada", 53.45), ("bob", 53.40), ("cy", 53.35)):
        world.worker(name, latitude=latitude)
    world.booked("bobs", "bob", start - timedelta(days=1) + timedelta(hours=10))  # 8 h rest: refused
    world.publish("shift.completed", world.fact("old", _day_ahead(-3, 8), 8, "completed", "cy"))
    world.wait_for_worker("cy", worked_sites=["site-1"])
    world.published("first", start - timedelta(days=2))
    world.named("first")
    world.published("target", start)
    world.named("target")
    world.wait_for_worker("bob", compliance_status="cleared")
    shifts, workers = ("first", "target", "bobs", "old"), ("ada", "bob", "cy")
    before = {s: (world.matching.candidates(s), world.matching.shift_view(s)) for s in shifts}
    views = {w: world.matching.worker_view(w) for w in workers}
    assert [c["worker_id"] for c in before["target"][0]] == ["cy", "ada"]
    assert before["target"][1]["named"] == 2 and views["ada"]["recent_offers"] == 2

    result = world.matching.rebuild()
    assert result["events"] > 15
    assert {s: (world.matching.candidates(s), world.matching.shift_view(s)) for s in shifts} == before
    assert {w: world.matching.worker_view(w) for w in workers} == views
    assert world.named("target", timeout=0.5) == []  # a rebuild names nobody
    world.worker("dee", latitude=53.46)
    assert _names(world.named("target")) == ["dee"]  # and the model carries on after it
