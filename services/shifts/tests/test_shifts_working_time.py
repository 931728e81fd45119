"""Working-time rules at booking (DESIGN.md "Working time at booking"): each rule refused and at its limit."""

from datetime import UTC, date, datetime, timedelta

import pytest

from chassis.clock import LONDON
from shifts.working_time import RULES, Shift, broken_rules, overlaps

MONDAY = date(2026, 6, 1)  # a Monday in summer time, far from any clock change


def at(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON, fold=fold)


def day(n: int) -> date:
    """The n-th day after MONDAY (0 is MONDAY)."""
    return MONDAY + timedelta(days=n)


def lasting(start: datetime, hours: float) -> Shift:
    """A shift of `hours` elapsed time (added in UTC, so right across clock changes)."""
    return Shift(start, start.astimezone(UTC) + timedelta(hours=hours))


def daily(first_day: int, count: int, hour: int, hours: float, minute: int = 0) -> list[Shift]:
    return [lasting(at(day(first_day + i), hour, minute), hours) for i in range(count)]


# --- Shift ---------------------------------------------------------------------------------------


def test_rules_are_named_in_the_api_order():
    assert RULES == (
        "max-shift-13h", "min-rest-11h", "max-72h-in-7-days", "max-consecutive-nights",
        "max-consecutive-long-shifts", "max-consecutive-shifts", "weekly-average-48h",
    )


def test_shift_needs_aware_times_and_a_positive_length():
    with pytest.raises(ValueError):
        Shift(datetime(2026, 6, 1, 8), datetime(2026, 6, 1, 16))
    with pytest.raises(ValueError):
        Shift(at(MONDAY, 16), at(MONDAY, 8))


def test_shift_helpers():
    s = Shift(at(MONDAY, 8), at(MONDAY, 18, 30))
    assert s.hours == 10.5
    assert s.is_long and not s.is_night
    assert not Shift(at(MONDAY, 8), at(MONDAY, 18)).is_long  # exactly 10 h is not long
    assert Shift(at(MONDAY, 0, 30), at(MONDAY, 8)).start_date == MONDAY  # 23:30 UTC the day before


def test_night_needs_three_hours_between_23_and_06():
    assert Shift(at(day(0), 20), at(day(1), 2)).is_night  # 23:00-02:00
    assert not Shift(at(day(0), 20), at(day(1), 1, 59)).is_night
    assert Shift(at(day(1), 3), at(day(1), 12)).is_night  # 03:00-06:00
    assert not Shift(at(day(1), 3, 1), at(day(1), 12)).is_night


def test_overlaps():
    a = Shift(at(MONDAY, 8), at(MONDAY, 16))
    assert overlaps(a, Shift(at(MONDAY, 15), at(MONDAY, 20)))
    assert overlaps(Shift(at(MONDAY, 15), at(MONDAY, 20)), a)
    assert not overlaps(a, Shift(at(MONDAY, 16), at(MONDAY, 20)))  # touching ends


# --- clock changes -------------------------------------------------------------------------------


def test_hours_are_elapsed_across_clock_changes():
    spring = Shift(at(date(2026, 3, 28), 20), at(date(2026, 3, 29), 8))
    autumn = Shift(at(date(2026, 10, 24), 20), at(date(2026, 10, 25), 8))
    assert spring.hours == 11
    assert autumn.hours == 13
    assert spring.is_night and autumn.is_night
    assert spring.is_long and autumn.is_long


def test_a_13_hour_night_when_the_clocks_go_back_is_allowed_but_not_a_minute_more():
    assert broken_rules([], Shift(at(date(2026, 10, 24), 20), at(date(2026, 10, 25), 8))) == []
    too_long = Shift(at(date(2026, 10, 24), 19, 59), at(date(2026, 10, 25), 8))
    assert broken_rules([], too_long) == ["max-shift-13h"]


def test_night_hours_are_elapsed_when_the_clocks_go_forward():
    # 00:00-03:00 on the wall is two real hours on 29 March 2026: not a night.
    assert not Shift(at(date(2026, 3, 29), 0), at(date(2026, 3, 29), 3)).is_night
    assert Shift(at(date(2026, 3, 22), 0), at(date(2026, 3, 22), 3)).is_night


def test_night_hours_are_elapsed_when_the_clocks_go_back():
    # 00:00-02:00 on the wall is three real hours on 25 October 2026: a night.
    shift = Shift(at(date(2026, 10, 25), 0), at(date(2026, 10, 25), 2))
    assert shift.hours == 3
    assert shift.is_night
    assert not Shift(at(date(2026, 10, 18), 0), at(date(2026, 10, 18), 2)).is_night


def test_an_ambiguous_hour_is_judged_by_its_fold():
    first = Shift(at(date(2026, 10, 25), 1, 30, fold=0), at(date(2026, 10, 25), 5))
    second = Shift(at(date(2026, 10, 25), 1, 30, fold=1), at(date(2026, 10, 25), 5))
    assert first.hours == 4.5 and second.hours == 3.5


# --- max-shift-13h -------------------------------------------------------------------------------


def test_max_shift_13h():
    assert broken_rules([], lasting(at(MONDAY, 7), 13)) == []
    assert broken_rules([], Shift(at(MONDAY, 7), at(MONDAY, 20, 1))) == ["max-shift-13h"]


# --- min-rest-11h --------------------------------------------------------------------------------


def test_min_rest_11h_after_an_existing_shift():
    booked = [Shift(at(day(0), 8), at(day(0), 18))]
    assert broken_rules(booked, Shift(at(day(1), 5), at(day(1), 10))) == []
    assert broken_rules(booked, Shift(at(day(1), 4, 59), at(day(1), 10))) == ["min-rest-11h"]


def test_min_rest_11h_before_an_existing_shift():
    booked = [Shift(at(day(1), 8), at(day(1), 18))]
    assert broken_rules(booked, Shift(at(day(0), 12), at(day(0), 21))) == []
    assert broken_rules(booked, Shift(at(day(0), 12), at(day(0), 21, 1))) == ["min-rest-11h"]


def test_min_rest_11h_between_two_existing_shifts():
    booked = [Shift(at(day(0), 8), at(day(0), 18)), Shift(at(day(2), 4), at(day(2), 12))]
    assert broken_rules(booked, Shift(at(day(1), 5), at(day(1), 17))) == []  # 11 h either side
    assert broken_rules(booked, Shift(at(day(1), 5), at(day(1), 17, 1))) == ["min-rest-11h"]
    assert broken_rules(booked, Shift(at(day(1), 4, 59), at(day(1), 17))) == ["min-rest-11h"]


# --- max-72h-in-7-days ---------------------------------------------------------------------------


def test_72_hours_in_a_week_allowed_73_refused():
    booked = daily(0, 6, 8, 10)  # Monday to Saturday, 60 h
    assert broken_rules(booked, lasting(at(day(6), 7), 12)) == []
    assert broken_rules(booked, lasting(at(day(6), 7), 13)) == ["max-72h-in-7-days"]


def test_72_hours_with_the_candidate_before_the_existing_shifts():
    booked = daily(1, 6, 8, 10)  # Tuesday to Sunday, 60 h
    assert broken_rules(booked, lasting(at(day(0), 7), 12)) == []
    assert broken_rules(booked, lasting(at(day(0), 6), 13)) == ["max-72h-in-7-days"]


def test_72_hours_counts_the_part_of_a_shift_inside_a_rolling_window():
    booked = daily(0, 6, 8, 12)  # 72 h from Monday 08:00 to Saturday 20:00
    # Starting 168 h after the first shift, every window holds 72 h; an hour earlier, one holds 73.
    assert "max-72h-in-7-days" not in broken_rules(booked, lasting(at(day(7), 8), 4))
    assert "max-72h-in-7-days" in broken_rules(booked, lasting(at(day(7), 7), 4))


def test_a_breach_already_in_the_schedule_does_not_block_a_distant_shift():
    booked = daily(0, 6, 8, 10) + [lasting(at(day(6), 7), 13)]  # 73 h in one week
    assert broken_rules(booked, lasting(at(day(21), 8), 8)) == []


# --- max-consecutive-nights ----------------------------------------------------------------------


def test_four_consecutive_nights_allowed_a_fifth_refused():
    booked = daily(0, 4, 22, 9)  # 22:00-07:00, Monday to Thursday nights
    assert broken_rules(booked[:3], booked[3]) == []
    assert broken_rules(booked, lasting(at(day(4), 22), 9)) == ["max-consecutive-nights"]


def test_a_fifth_night_joining_two_runs_is_refused():
    nights = daily(0, 5, 22, 9)
    assert broken_rules(nights[:2] + nights[3:], nights[2]) == ["max-consecutive-nights"]


def test_46_hours_rest_after_a_single_night():
    booked = [Shift(at(day(0), 23), at(day(1), 8))]  # one night, ends Tuesday 08:00
    assert broken_rules(booked, Shift(at(day(3), 6), at(day(3), 14))) == []  # 46 h later
    assert broken_rules(booked, Shift(at(day(3), 5), at(day(3), 14))) == ["max-consecutive-nights"]


def test_46_hours_rest_when_the_night_is_booked_before_an_existing_shift():
    booked = [Shift(at(day(3), 6), at(day(3), 14))]
    assert broken_rules(booked, Shift(at(day(0), 23), at(day(1), 8))) == []
    assert broken_rules(booked, Shift(at(day(0), 23), at(day(1), 9))) == ["max-consecutive-nights"]


def test_46_hours_rest_after_the_last_of_four_nights():
    booked = daily(0, 4, 22, 9)  # the last night ends Friday 07:00
    assert broken_rules(booked, Shift(at(day(6), 5), at(day(6), 13))) == []
    assert broken_rules(booked, Shift(at(day(6), 4), at(day(6), 13))) == ["max-consecutive-nights"]


# --- max-consecutive-long-shifts -----------------------------------------------------------------


def test_four_consecutive_long_shifts_allowed_a_fifth_refused():
    booked = daily(0, 4, 8, 12)
    assert broken_rules(booked[:3], booked[3]) == []
    assert broken_rules(booked, lasting(at(day(4), 8), 12)) == ["max-consecutive-long-shifts"]


def test_48_hours_rest_after_the_fourth_long_shift():
    booked = daily(0, 4, 8, 12)  # the 4th ends Thursday 20:00
    assert broken_rules(booked, Shift(at(day(5), 20), at(day(5), 23))) == []
    assert broken_rules(booked, Shift(at(day(5), 19), at(day(5), 23))) == ["max-consecutive-long-shifts"]
    # A short shift the next day is the next shift too.
    assert broken_rules(booked, lasting(at(day(4), 8), 8)) == ["max-consecutive-long-shifts"]


def test_a_long_shift_booked_before_three_others_needs_48_hours_before_the_next():
    booked = daily(1, 3, 8, 12)  # Tuesday to Thursday
    assert broken_rules(booked, lasting(at(day(0), 8), 12)) == []  # it makes the run, not its end
    later = [*booked, Shift(at(day(5), 19), at(day(5), 23))]  # 47 h after Thursday's long shift
    # Without the Monday the run is three long shifts, which need no rest: the breach is the Monday's.
    assert broken_rules(later, lasting(at(day(0), 8), 12)) == ["max-consecutive-long-shifts"]
    assert broken_rules(later, lasting(at(day(0), 8), 10)) == []


# --- max-consecutive-shifts ----------------------------------------------------------------------


def test_seven_consecutive_shifts_allowed_an_eighth_refused():
    booked = daily(0, 7, 8, 8)
    assert broken_rules(booked[:6], booked[6]) == []
    assert broken_rules(booked, lasting(at(day(7), 8), 8)) == ["max-consecutive-shifts"]


def test_an_eighth_consecutive_shift_booked_first_is_refused():
    booked = daily(1, 7, 8, 8)
    assert broken_rules(booked, lasting(at(day(0), 8), 8)) == ["max-consecutive-shifts"]


def test_48_hours_rest_after_the_seventh_shift():
    booked = daily(0, 7, 8, 8)  # the 7th ends Sunday 16:00
    assert broken_rules(booked, Shift(at(day(8), 16), at(day(8), 20))) == []
    assert broken_rules(booked, Shift(at(day(8), 15), at(day(8), 20))) == ["max-consecutive-shifts"]


# --- weekly-average-48h --------------------------------------------------------------------------

SPRING_MONDAY = date(2026, 4, 6)  # 17 weeks from here stay in summer time


def weeks_of(pattern: list[tuple[int, int, float]], weeks: int = 17) -> list[Shift]:
    """`pattern` is (weekday, start hour, hours) per shift of a week, repeated from SPRING_MONDAY."""
    return [
        lasting(at(SPRING_MONDAY + timedelta(weeks=w, days=weekday), hour), hours)
        for w in range(weeks)
        for weekday, hour, hours in pattern
    ]


FORTY_EIGHT = [(0, 8, 12), (1, 8, 12), (2, 8, 12), (3, 8, 12)]
FIFTY_SIX = [(0, 8, 12), (1, 8, 12), (2, 8, 12), (4, 8, 10), (5, 8, 10)]


def test_weekly_average_48_hours_allowed_a_minute_more_refused():
    *booked, last = weeks_of(FORTY_EIGHT)  # 816 h over 17 weeks ending at the last shift's end
    assert broken_rules(booked, last) == []
    assert broken_rules(booked, Shift(last.starts_at, last.ends_at + timedelta(minutes=1))) == [
        "weekly-average-48h"
    ]


def test_weekly_average_56_hours_when_opted_out():
    *booked, last = weeks_of(FIFTY_SIX)  # 952 h: 56 a week
    assert broken_rules(booked, last) == ["weekly-average-48h"]
    assert broken_rules(booked, last, opted_out_of_48h=True) == []
    longer = Shift(last.starts_at, last.ends_at + timedelta(hours=1))
    assert broken_rules(booked, longer, opted_out_of_48h=True) == ["weekly-average-48h"]


def test_weekly_average_counts_only_the_part_of_a_shift_inside_the_17_weeks():
    *booked, last = weeks_of(FORTY_EIGHT)
    period_start = last.ends_at - timedelta(days=119)
    before = Shift(period_start - timedelta(hours=2), period_start - timedelta(hours=1))
    straddling = Shift(period_start - timedelta(hours=1), period_start + timedelta(minutes=1))
    assert broken_rules([before, *booked], last) == []
    assert broken_rules([straddling, *booked], last) == ["weekly-average-48h"]


def test_weekly_average_with_the_candidate_before_existing_shifts():
    booked = weeks_of(FORTY_EIGHT)  # 816 h in the 17 weeks ending at the last shift
    sunday = lasting(at(SPRING_MONDAY + timedelta(days=6), 8), 4)
    # The 17 weeks ending at the Sunday hold only 52 h, but those ending at the last shift would hold 820.
    assert broken_rules(booked, sunday) == ["weekly-average-48h"]
    assert broken_rules(booked, sunday, opted_out_of_48h=True) == []


# --- several rules at once -----------------------------------------------------------------------


def test_every_broken_rule_is_reported_in_order():
    sunday = Shift(at(day(-1), 8), at(day(-1), 18))
    nights = daily(0, 4, 20, 12)  # Monday to Thursday, 20:00-08:00, long nights
    candidate = Shift(at(day(4), 18), at(day(5), 9))  # 15 h, 10 h after the last night
    assert broken_rules(list(reversed([sunday, *nights])), candidate) == [
        "max-shift-13h", "min-rest-11h", "max-72h-in-7-days", "max-consecutive-nights",
        "max-consecutive-long-shifts",
    ]


def test_an_overlapping_shift_leaves_no_rest():
    booked = [Shift(at(MONDAY, 8), at(MONDAY, 16))]
    assert broken_rules(booked, Shift(at(MONDAY, 12), at(MONDAY, 20))) == ["min-rest-11h"]


def test_two_shifts_starting_on_one_day_both_count_towards_consecutive_shifts():
    booked = [Shift(at(day(0), 6), at(day(0), 8)), Shift(at(day(0), 19), at(day(0), 23))]
    booked += daily(1, 5, 10, 4)  # Tuesday to Saturday: seven shifts on six days
    assert broken_rules(booked, lasting(at(day(6), 10), 4)) == ["max-consecutive-shifts"]
    assert broken_rules(booked[1:], lasting(at(day(6), 10), 4)) == []
