"""The index statement on a real database: what it reads, counts and leaves out (the bookings
that cannot matter, by width_bucket on the sorted starts; the recent offers; the workers it
already knows booking would refuse) gives exactly the answer booking's rules give on every
worker of the index, read whole (domain.candidates)."""

import random
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from test_matching_domain import NOW, OFFERED, SITE, _random_schedule, at, shift

from chassis.engines import engine_for
from chassis.runner import migrations_dir
from matching import domain, queries
from matching.models import GroupMember, Reach
from matching.service import MatchingService


def _row(rng, n, start):
    if rng.random() < 0.5:
        schedule = _random_schedule(rng, start)
    else:  # sparse: a few bookings days or weeks away
        schedule = [(b, b + timedelta(hours=rng.choice([8, 12]))) for b in [
            start + timedelta(days=rng.choice([-1, 1]) * rng.uniform(3, 40)) for _ in range(rng.randrange(4))
        ]]
    schedule.sort()
    grades = sorted(rng.sample(["ST3", "ST4", "ST5"], rng.choice([1, 1, 2])))
    return {"worker_id": f"w{n:03d}", "user_id": f"u{n:03d}", "bank_id": "bank-1",
            "staff_type": rng.choice(["doctor"] * 5 + ["nurse"]), "grades": grades,
            "latitude": SITE[0] + rng.uniform(-0.6, 0.6), "longitude": SITE[1] + rng.uniform(-0.9, 0.9),
            "max_travel_km": rng.choice([None, 10.0, 25.0, 30.0, 50.0, 80.0, 300.0]),
            "opted_out_of_48h": rng.random() < 0.3, "status": rng.choice(["active"] * 9 + ["suspended"]),
            "compliance_status": rng.choice(["cleared"] * 9 + ["expired"]),
            "cleared_until": rng.choice([None, None, (start + timedelta(days=rng.randrange(-5, 5))).date()]),
            "worked_sites": rng.choice([[], [], ["site-1"], ["site-2"]]),
            "worked_organisations": rng.choice([[], ["org-1"], ["org-2"]]),
            "booked_starts": [s.timestamp() for s, _ in schedule],
            "booked_ends": [e.timestamp() for _, e in schedule],
            "offered_days": sorted(OFFERED - rng.randrange(12) for _ in range(rng.randrange(5)))}


def _worker(row, the_shift):
    """The row read whole, as domain.candidates takes it."""
    return domain.Worker(
        row["worker_id"], row["user_id"], row["status"], row["staff_type"], tuple(row["grades"]),
        row["opted_out_of_48h"], row["compliance_status"], row["cleared_until"], row["latitude"],
        row["longitude"], row["max_travel_km"], the_shift.site_id in row["worked_sites"],
        the_shift.organisation_id in row["worked_organisations"], tuple(row["booked_starts"]),
        tuple(row["booked_ends"]), tuple(row["offered_days"]))


def test_the_statement_names_whom_booking_rules_name_of_the_whole_index(make_database, monkeypatch):
    engine = engine_for(make_database("matching_statement", migrations_dir(MatchingService)))
    rng = random.Random(16)
    named, sent = 0, {"bookings": 0, "none": 0}
    eligible_candidates = domain.eligible_candidates

    def counted(the_shift, rows, when):
        for row in rows:
            sent["none" if domain.Eligible._make(row).bookings is None else "bookings"] += 1
        return eligible_candidates(the_shift, rows, when)

    monkeypatch.setattr(domain, "eligible_candidates", counted)
    with Session(engine) as session:
        for round_ in range(12):
            start = at(rng.randrange(1, 30), rng.choice([7, 8, 19, 20, 23]))
            rows = [_row(rng, n, start) for n in range(200)]
            session.execute(sa.delete(Reach))
            session.execute(sa.delete(GroupMember))
            session.execute(sa.insert(Reach), [
                {**row, "grade": grade, "reach_km": domain.reach_class(row["max_travel_km"])}
                for row in rows for grade in row["grades"]])
            members = sorted(r["worker_id"] for r in rows if rng.random() < 0.5)
            session.execute(sa.insert(GroupMember), [{"group_id": "g1", "worker_id": w} for w in members])
            stage = ["bank", "priority", "agency"][round_ % 3]
            the_shift = shift(start=start, hours=rng.choice([8, 10, 12, 13]), stage=stage, members=members,
                              status="agency" if stage == "agency" else "open",
                              grade=rng.choice(["ST3", "ST4"]))
            whole = [_worker(row, the_shift) for row in rows]
            expected = domain.candidates(the_shift, whole, NOW)
            assert queries.candidates(session, the_shift, NOW) == expected, round_  # domain.Eligible rows
            some = [row["worker_id"] for row in rows[:40]]
            assert queries.candidates(session, the_shift, NOW, only=some) == domain.candidates(
                the_shift, whole[:40], NOW), round_
            named += len(expected)
        session.rollback()
    assert named > 50 and min(sent.values()) > 50, (named, sent)
