"""Each working-time rule (DESIGN.md "Working time at booking") over HTTP: booking a shift
that breaks it is refused naming it, and the boundary case is booked. The worker's whole
schedule counts, across every organisation of the bank. Times are Europe/London."""

from datetime import date, datetime, time, timedelta

import pytest

from chassis.clock import LONDON


def monday_ahead(weeks=2):
    day = date.today() + timedelta(weeks=weeks)
    return day - timedelta(days=day.weekday())


def at(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), LONDON)


@pytest.fixture
def booker(api, hospital, make_bank):
    """booker(worker) -> book(start, end) -> response, posting the shift first (in one of two
    organisations of the bank, alternately: hours count across organisations)."""
    ctx = hospital
    second_org = api.created("/v1/organisations", {"bank_id": ctx["bank"]["id"], "name": "Other Trust",
                                                   "kind": "trust"}, token=ctx["bank_admin"])
    second_site = api.created("/v1/sites", {"organisation_id": second_org["id"], "name": "Other Site",
                                            "latitude": 53.5, "longitude": -2.3}, token=ctx["bank_admin"])
    sites = [ctx["site"]["id"], second_site["id"]]
    counter = iter(range(10_000))

    def for_worker(worker):
        def book(start, end):
            body = {"site_id": sites[next(counter) % 2], "staff_type": "doctor", "grade": "ST3",
                    "starts_at": start.isoformat(), "ends_at": end.isoformat(), "publish": {"to": "bank"}}
            shift = api.created("/v1/shifts", body, token=ctx["bank_admin"])
            return api.post(f"/v1/shifts/{shift['id']}/book", {"worker_id": worker["id"]},
                            token=ctx["bank_admin"])

        return book

    return for_worker


def book_all(book, intervals):
    for start, end in intervals:
        response = book(start, end)
        assert response.status_code == 200, f"{start}-{end}: {response.text}"


def refused(response, rule):
    assert response.status_code == 409, response.text
    assert rule in response.json()["rules"], response.text
    return response.json()


def test_max_shift_13h(active_worker, hospital, booker):
    book = booker(active_worker(hospital, "a@example.org")[0])
    d = monday_ahead()
    assert refused(book(at(d, 8), at(d, 21, 1)), "max-shift-13h")["type"] == "/problems/max-shift-13h"
    assert book(at(d, 8), at(d, 21)).status_code == 200


def test_max_72h_in_7_days(active_worker, hospital, booker):
    book = booker(active_worker(hospital, "a@example.org")[0])
    d = monday_ahead()
    book_all(book, [(at(d + timedelta(days=i), 8), at(d + timedelta(days=i), 18)) for i in range(6)])  # 60 h
    sunday = d + timedelta(days=6)
    refused(book(at(sunday, 6), at(sunday, 19)), "max-72h-in-7-days")  # 73 h
    assert book(at(sunday, 6), at(sunday, 18)).status_code == 200  # exactly 72 h


def test_max_consecutive_nights_and_rest_after_nights(active_worker, hospital, booker):
    book = booker(active_worker(hospital, "a@example.org")[0])
    d = monday_ahead()
    nights = [(at(d + timedelta(days=i), 22), at(d + timedelta(days=i + 1), 6)) for i in range(4)]
    book_all(book, nights)
    fifth = d + timedelta(days=4)
    refused(book(at(fifth, 22), at(fifth + timedelta(days=1), 6)), "max-consecutive-nights")
    last_end = nights[-1][1]
    refused(book(last_end + timedelta(hours=45), last_end + timedelta(hours=50)), "max-consecutive-nights")
    assert book(last_end + timedelta(hours=46), last_end + timedelta(hours=51)).status_code == 200


def test_max_consecutive_long_shifts(active_worker, hospital, booker):
    book = booker(active_worker(hospital, "a@example.org")[0])
    d = monday_ahead()
    book_all(book, [(at(d + timedelta(days=i), 8), at(d + timedelta(days=i), 19)) for i in range(4)])
    friday, saturday = d + timedelta(days=4), d + timedelta(days=5)
    refused(book(at(friday, 8), at(friday, 19)), "max-consecutive-long-shifts")
    refused(book(at(saturday, 8), at(saturday, 12)), "max-consecutive-long-shifts")  # < 48 h rest
    assert book(at(saturday, 19), at(saturday, 23)).status_code == 200  # 48 h after the 4th


def test_max_consecutive_shifts(active_worker, hospital, booker):
    book = booker(active_worker(hospital, "a@example.org")[0])
    d = monday_ahead()
    book_all(book, [(at(d + timedelta(days=i), 8), at(d + timedelta(days=i), 12)) for i in range(7)])
    eighth, ninth = d + timedelta(days=7), d + timedelta(days=8)
    refused(book(at(eighth, 8), at(eighth, 12)), "max-consecutive-shifts")
    refused(book(at(ninth, 11), at(ninth, 15)), "max-consecutive-shifts")  # 47 h after the 7th
    assert book(at(ninth, 12), at(ninth, 16)).status_code == 200  # 48 h


@pytest.mark.parametrize("opted_out", [False, True])
def test_weekly_average_48h_unless_opted_out(api, active_worker, hospital, booker, opted_out):
    worker = active_worker(hospital, "a@example.org")[0]
    if opted_out:
        assert api.patch(f"/v1/workers/{worker['id']}", {"opted_out_of_48h": True},
                         token=hospital["bank_admin"]).status_code == 200
    book = booker(worker)
    d = monday_ahead()
    # Four 12h15 days a week (49 h, rest from Friday) for 17 weeks. After 66 shifts the 119 days
    # hold 808.5 h (47.6 a week); the 67th makes 820.75 h, over 17 x 48 = 816.
    weeks = [[(at(d + timedelta(weeks=w, days=i), 8), at(d + timedelta(weeks=w, days=i), 20, 15))
              for i in range(4)] for w in range(17)]
    shifts = [shift for week in weeks for shift in week]
    book_all(book, shifts[:66])
    over = book(*shifts[66])
    if opted_out:
        assert over.status_code == 200, over.text  # 56 h a week is the limit with an opt-out
        assert book(*shifts[67]).status_code == 200
    else:
        assert refused(over, "weekly-average-48h")["rules"] == ["weekly-average-48h"]
