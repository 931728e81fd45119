"""Matching's pure rules: who may hear of a shift (booking's own rules on the model's facts),
the isolation shortcut against those rules on random schedules, the index's boxes against the
distance it stands for, the ranking, and how late or repeated facts are taken."""

import bisect
import math
import random
from datetime import UTC, date, datetime, timedelta

import pytest

from chassis.clock import LONDON
from matching import domain
from shifts import domain as shift_rules

SITE = (53.48, -2.24)
MONDAY = datetime(2027, 3, 1, tzinfo=LONDON)


def at(day, hour, minute=0):
    return (MONDAY + timedelta(days=day)).replace(hour=hour, minute=minute)


def shift(start=None, hours=8, stage="bank", members=(), status="open", grade="ST3"):
    start = start or at(14, 8)
    return domain.OpenShift(
        shift_id="s1", site_id="site-1", organisation_id="org-1", bank_id="bank-1", staff_type="doctor",
        grade=grade, starts_at=start, ends_at=start + timedelta(hours=hours), hourly_rate="50.00",
        status=status, stage=stage, release_event_id="e1", latitude=SITE[0], longitude=SITE[1],
        priority_group_id="g1" if stage == "priority" else None, priority_members=frozenset(members))


def worker(worker_id="w1", schedule=(), **facts):
    schedule = sorted(schedule)
    base = dict(worker_id=worker_id, user_id=f"u-{worker_id}", status="active", staff_type="doctor",
                grades=("ST3",), opted_out_of_48h=False, compliance_status="cleared",
                cleared_until=None, latitude=53.45, longitude=-2.2, max_travel_km=30.0,
                booked_starts=tuple(s.timestamp() for s, _ in schedule),
                booked_ends=tuple(e.timestamp() for _, e in schedule))
    return domain.Worker(**{**base, **facts})


NOW = at(0, 9)
OFFERED = domain.day_number(NOW.date())  # named today
STALE = domain.day_number(NOW.date() - timedelta(days=domain.FAIRNESS_DAYS))  # named before the window


def named(the_shift, workers):
    return [c["worker_id"] for c in domain.candidates(the_shift, workers, NOW)]


def test_each_exclusion_removes_its_worker():
    open_shift = shift(stage="priority", members={"ada", "extra", "grade", "type", "suspended", "lapsing",
                                                  "far", "overlap", "tired"})
    long_week = tuple((at(7 + i, 8), at(7 + i, 18)) for i in range(6))  # 60 h Mon-Sat
    sunday = shift(start=at(13, 6), hours=13, stage="priority", members=open_shift.priority_members)
    workers = [
        worker("ada"),
        worker("extra", grades=("ST4", "ST3")),  # an extra grade counts
        worker("grade", grades=("ST4",)),
        worker("type", staff_type="nurse"),
        worker("suspended", status="suspended"),
        worker("lapsing", cleared_until=date(2027, 3, 14)),  # a day before the shift's
        worker("far", latitude=53.9),  # about 47 km away, radius 30
        worker("overlap", schedule=((at(14, 12), at(14, 20)),)),
        worker("outsider"),  # not in the priority group
    ]
    assert named(open_shift, workers) == ["ada", "extra"]
    # Over 72 hours in 7 days: 60 h booked, a 13 h Sunday shift makes 73.
    assert named(sunday, [worker("tired", schedule=long_week), worker("ada")]) == ["ada"]
    assert named(shift(start=at(13, 6), hours=12), [worker("tired", schedule=long_week)]) == ["tired"]
    # Once the window ends (published to the bank) the outsider may take it too.
    assert named(shift(), [worker("outsider")]) == ["outsider"]


def test_compliance_is_judged_on_the_shifts_london_day():
    late_evening = shift(start=datetime(2027, 3, 14, 23, 30, tzinfo=UTC))  # 23:30 UTC, the 14th in London
    assert named(late_evening, [worker(cleared_until=date(2027, 3, 14))]) == ["w1"]
    summer = shift(start=datetime(2027, 7, 14, 23, 30, tzinfo=UTC))  # 00:30 BST on the 15th
    assert named(summer, [worker(cleared_until=date(2027, 7, 14))]) == []
    assert named(summer, [worker(compliance_status="pending")]) == []


def test_a_shift_not_open_or_already_started_has_no_candidates():
    assert named(shift(status="booked"), [worker()]) == []
    assert named(shift(start=NOW - timedelta(minutes=1)), [worker()]) == []
    assert named(shift(status="agency", stage="agency"), [worker()]) == ["w1"]  # the bank still sees it


def test_the_travel_radius_reaches_the_site_or_not():
    distance = shift_rules.distance_km(53.45, -2.2, *SITE)
    assert named(shift(), [worker(max_travel_km=distance + 0.01)]) == ["w1"]
    assert named(shift(), [worker(max_travel_km=distance - 0.01)]) == []
    assert named(shift(), [worker(max_travel_km=None, latitude=53.9)]) == ["w1"]  # default 50 km


def test_ranking_prefers_prior_work_then_fewest_recent_offers_then_distance():
    workers = [
        worker("near-busy", latitude=53.47, offered_days=(OFFERED,) * 3),
        worker("near-idle", latitude=53.47, offered_days=(STALE,) * 5),
        worker("far-idle", latitude=53.3, offered_days=()),
        worker("org", latitude=53.6, offered_days=(OFFERED,) * 9, worked_at_organisation=True),
        worker("site", latitude=53.6, offered_days=(OFFERED,) * 9, worked_at_site=True,
               worked_at_organisation=True),
    ]
    ranked = domain.candidates(shift(), workers, NOW)
    assert [c["worker_id"] for c in ranked] == ["site", "org", "near-idle", "far-idle", "near-busy"]
    assert [c["rank"] for c in ranked] == [1, 2, 3, 4, 5]
    assert ranked[0] == {"worker_id": "site", "user_id": "u-site", "rank": 1,
                         "distance_km": round(shift_rules.distance_km(53.6, -2.2, *SITE), 2),
                         "worked_at_site": True, "worked_at_organisation": True}
    assert domain.renumber(ranked[2:4]) == [{**ranked[2], "rank": 1}, {**ranked[3], "rank": 2}]
    assert [c["worker_id"] for c in domain.candidates(shift(), workers[::-1], NOW)] == [
        c["worker_id"] for c in ranked]


def test_workers_alike_are_judged_once(monkeypatch):
    calls = []
    original = shift_rules.booking_refusals

    def counted(*args):
        calls.append(args)
        return original(*args)

    monkeypatch.setattr(shift_rules, "booking_refusals", counted)
    workers = [worker(f"w{i}") for i in range(50)] + [
        worker("long-ago", schedule=((at(-200, 8), at(-200, 16)),)),  # beyond FAR: never looked at
        worker("fortnight", schedule=((at(0, 8), at(0, 16)),)),  # within FAR, isolated
        worker("busy", schedule=((at(13, 8), at(13, 16)),))]  # 16 h before: judged on its own
    assert len(named(shift(), workers)) == 53
    assert len(calls) == 2


def _random_schedule(rng, candidate_start):
    bookings = []
    for _ in range(rng.randrange(0, 12)):
        offset = rng.choice([rng.uniform(-3, 3), rng.uniform(-10, 10), rng.uniform(-125, 125)])
        start = candidate_start + timedelta(days=offset)
        start = start.replace(minute=0, second=0, microsecond=0)
        bookings.append((start, start + timedelta(hours=rng.choice([4, 8, 10, 12, 13]))))
    for _ in range(rng.randrange(0, 3)):  # runs of shifts on consecutive days, near the shift
        first, hour, length = rng.randrange(-18, 12), rng.choice([7, 8, 19, 20, 22]), rng.choice([8, 11, 12])
        for day in range(rng.randrange(2, 10)):
            start = (candidate_start + timedelta(days=first + day)).replace(hour=hour, minute=0)
            bookings.append((start, start + timedelta(hours=length)))
    if rng.random() < 0.1:  # a heavy quarter: the 17-week average matters
        for week in range(-16, 16):
            start = candidate_start + timedelta(days=7 * week + 3, hours=1)
            bookings += [(start + timedelta(days=d), start + timedelta(days=d, hours=12)) for d in range(5)]
    return bookings


def test_the_schedule_judged_gives_the_verdict_of_the_whole_schedule():
    """On random schedules, many crowded near the shift, some heavy enough for the 17-week
    average: booking's verdict on what Schedules.of keeps is its verdict on every booking."""
    rng = random.Random(16)
    seen = {"isolated": 0, "reduced": 0, "whole": 0}
    for _ in range(800):
        start = at(rng.randrange(0, 60), rng.randrange(0, 24))
        end = start + timedelta(hours=rng.choice([6, 8, 10, 12, 13, 14]))
        schedule = _random_schedule(rng, start)
        person = shift_rules.Candidate("active", "doctor", frozenset({"ST3"}), rng.random() < 0.3)

        def verdict(bookings, person=person, start=start, end=end):
            return shift_rules.booking_refusals("open", "doctor", "ST3", start, end, person, True, bookings)

        schedule.sort()
        kept = domain.Schedules(start, end).of([s.timestamp() for s, _ in schedule],
                                               [e.timestamp() for _, e in schedule])
        assert verdict(list(kept)) == verdict(schedule), (start, end, schedule, kept)
        within_far = [b for b in schedule if b[1] > start - domain.FAR and b[0] < end + domain.FAR]
        seen["isolated" if not kept else "whole" if len(kept) == len(within_far) else "reduced"] += 1
        if not kept and within_far:
            assert verdict(within_far) == verdict([])
    assert min(seen.values()) > 50, seen


def _destination(latitude, longitude, km, bearing):
    """The point `km` away along `bearing` (radians) on the sphere of distance_km."""
    angle = km / domain.EARTH_RADIUS_KM
    phi, lam = math.radians(latitude), math.radians(longitude)
    phi2 = math.asin(math.sin(phi) * math.cos(angle) + math.cos(phi) * math.sin(angle) * math.cos(bearing))
    lam2 = lam + math.atan2(math.sin(bearing) * math.sin(angle) * math.cos(phi),
                            math.cos(angle) - math.sin(phi) * math.sin(phi2))
    return math.degrees(phi2), (math.degrees(lam2) + 540) % 360 - 180


def _inside(box, latitude, longitude):
    return box.south <= latitude <= box.north and (
        box.longitudes is None or box.longitudes[0] <= longitude <= box.longitudes[1])


@pytest.mark.parametrize("centre", [(53.48, -2.24), (50.1, -5.5), (-33.9, 151.2), (0.0, 0.0), (69.6, 18.9)])
def test_the_box_holds_every_point_within_its_radius(centre):
    rng = random.Random(str(centre))
    for km in domain.REACH_CLASSES:
        box = domain.bounding_box(*centre, km)
        for _ in range(200):
            point = _destination(*centre, km * rng.uniform(0.0, 1.0), rng.uniform(0, 2 * math.pi))
            assert shift_rules.distance_km(*centre, *point) <= km + 1e-6
            assert _inside(box, *point), (centre, km, point)
        for bearing in (0, math.pi / 2, math.pi, 3 * math.pi / 2):  # the edges themselves
            assert _inside(box, *_destination(*centre, km, bearing))
    assert domain.bounding_box(89.9, 0.0, 50).longitudes is None
    assert domain.bounding_box(10.0, 179.9, 50).longitudes is None


def test_reach_classes():
    assert [domain.reach_class(km) for km in (0, 10, 10.5, 30, None, 50, 51, 999, 1000)] == [
        10, 10, 25, 50, 50, 50, 100, 1000, 1000]


def test_late_and_repeated_facts():
    assert domain.stage_rank("priority") < domain.stage_rank("bank") < domain.stage_rank("agency", 1) \
        < domain.stage_rank("agency", 2)
    earlier, later = at(0, 8), at(0, 9)
    assert domain.newer(later, earlier) and domain.newer(earlier, None)
    assert not domain.newer(earlier, later) and not domain.newer(later, later)
    assert domain.STATUS_RANK["open"] < domain.STATUS_RANK["agency"] < domain.STATUS_RANK["booked"] \
        < domain.STATUS_RANK["completed"] == domain.STATUS_RANK["cancelled"]
    assert domain.cleared_on("cleared", None, date(2030, 1, 1))
    assert domain.cleared_on("cleared", date(2027, 1, 1), date(2027, 1, 1))
    assert not domain.cleared_on("cleared", date(2027, 1, 1), date(2027, 1, 2))
    assert not domain.cleared_on("expired", None, date(2027, 1, 1))


def _starts_within(starts, lower, upper):
    """How many of the sorted starts lie in (lower, upper]: what the index statement counts with
    width_bucket (the number of items at or below a value)."""
    return bisect.bisect_right(starts, upper) - bisect.bisect_right(starts, lower)


def _surely_isolated(schedules, starts):
    return all(_starts_within(starts, lower, upper) <= most
               for lower, upper, most in schedules.sure_isolation().values())


def test_bookings_the_statement_leaves_out_are_those_that_cannot_matter():
    """Schedules.sure_isolation's ranges: where the statement finds so few starts in each that it
    sends no bookings, Schedules.of would have kept none (its verdict is the one on no bookings);
    and it leaves out most schedules that Schedules.of finds isolated."""
    rng = random.Random(17)
    seen = {"left out": 0, "sent, isolated": 0, "sent, judged": 0}
    for _ in range(2000):
        start = at(rng.randrange(0, 60), rng.randrange(0, 24))
        end = start + timedelta(hours=rng.choice([6, 8, 10, 12, 13, 14, 24]))
        schedule = sorted(_random_schedule(rng, start) if rng.random() < 0.7 else [
            (b, b + timedelta(hours=rng.choice([8, 12, 24])))
            for b in [start + timedelta(days=rng.uniform(-20, 20)) for _ in range(rng.randrange(0, 4))]])
        schedules = domain.Schedules(start, end)
        starts, ends = [s.timestamp() for s, _ in schedule], [e.timestamp() for _, e in schedule]
        kept = schedules.of(starts, ends)
        if _surely_isolated(schedules, starts):
            assert kept == (), (start, end, schedule)
            seen["left out"] += 1
        else:
            seen["sent, isolated" if kept == () else "sent, judged"] += 1
    assert seen["left out"] > 3 * seen["sent, isolated"] and min(seen.values()) > 50, seen


def _eligible(worker, the_shift, since):
    """The worker as the index statement hands it over (if it does: see test_matching_statement)."""
    schedules = domain.Schedules(the_shift.starts_at, the_shift.ends_at)
    left_out = _surely_isolated(schedules, list(worker.booked_starts))
    return domain.Eligible(
        worker.worker_id, worker.user_id, worker.opted_out_of_48h, worker.latitude, worker.longitude,
        worker.max_travel_km, worker.worked_at_site, worker.worked_at_organisation,
        domain.offers_since(worker.offered_days, since),
        None if left_out else [list(worker.booked_starts), list(worker.booked_ends)])


def test_eligible_workers_get_the_answer_every_worker_gets():
    """domain.eligible_candidates (the index statement's rows) names and ranks exactly as
    domain.candidates does the same workers, whether their bookings were sent or not."""
    rng = random.Random(18)
    since = domain.day_number(domain.fairness_since(NOW))
    for n in range(60):
        start = at(rng.randrange(1, 40), rng.choice([7, 8, 19, 20]))
        members = set()
        the_shift = shift(start=start, hours=rng.choice([8, 10, 12, 13]),
                          stage=rng.choice(["bank", "bank", "priority", "agency"]),
                          status=rng.choice(["open", "open", "agency"]))
        workers = []
        for i in range(80):
            schedule = _random_schedule(rng, start)
            worker_id = f"w{n}-{i}"
            if rng.random() < 0.5:
                members.add(worker_id)
            workers.append(worker(
                worker_id, schedule=schedule, opted_out_of_48h=rng.random() < 0.3,
                latitude=SITE[0] + rng.uniform(-0.5, 0.5), longitude=SITE[1] + rng.uniform(-0.8, 0.8),
                max_travel_km=rng.choice([None, 10.0, 25.0, 30.0, 50.0, 80.0]),
                worked_at_site=rng.random() < 0.2, worked_at_organisation=rng.random() < 0.4,
                offered_days=tuple(sorted(OFFERED - rng.randrange(10) for _ in range(rng.randrange(4))))))
        if the_shift.stage == "priority":
            the_shift = shift(start=start, hours=(the_shift.ends_at - start).seconds // 3600,
                              stage="priority", members=members)
        expected = domain.candidates(the_shift, workers, NOW)
        assert domain.eligible_candidates(the_shift, [_eligible(w, the_shift, since) for w in workers],
                                          NOW) == expected
    assert expected  # the last shift names someone
