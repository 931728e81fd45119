"""Payroll's pure rules: bands, bank holidays, amounts, timesheet pay and its guard, with
hand-computed figures (DESIGN.md "Rates" and "Pay")."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from chassis.clock import LONDON
from payroll.domain import (
    after_approval,
    awaiting,
    band_at,
    bank_holidays,
    easter_sunday,
    flat_amount,
    minutes_by_band,
    needs_second_approval,
    pay_amount,
    pay_elements,
    scheduled_minutes,
    standard_band,
    standard_rate,
    timesheet_errors,
    timesheet_pay,
)

RATES = {"day": Decimal("20.00"), "night": Decimal("25.00"), "weekend": Decimal("30.00"),
         "bank_holiday": Decimal("40.00")}


def at(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=LONDON)


def minutes(**by_band: int) -> dict[str, int]:
    return {"bank_holiday": 0, "weekend": 0, "night": 0, "day": 0, **by_band}


# --- bank holidays -------------------------------------------------------------------------------


def test_easter():
    assert easter_sunday(2025) == date(2025, 4, 20)
    assert easter_sunday(2026) == date(2026, 4, 5)
    assert easter_sunday(2027) == date(2027, 3, 28)
    assert easter_sunday(2038) == date(2038, 4, 25)  # the latest possible
    assert easter_sunday(2285) == date(2285, 3, 22)  # the earliest possible


def test_bank_holidays_2025():
    assert bank_holidays(2025) == {
        date(2025, 1, 1), date(2025, 4, 18), date(2025, 4, 21), date(2025, 5, 5), date(2025, 5, 26),
        date(2025, 8, 25), date(2025, 12, 25), date(2025, 12, 26),
    }


def test_bank_holidays_2026_boxing_day_on_a_saturday_moves_to_monday():
    assert bank_holidays(2026) == {
        date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 4), date(2026, 5, 25),
        date(2026, 8, 31), date(2026, 12, 25), date(2026, 12, 28),
    }


def test_bank_holidays_2027_christmas_and_boxing_day_on_a_weekend():
    assert bank_holidays(2027) == {
        date(2027, 1, 1), date(2027, 3, 26), date(2027, 3, 29), date(2027, 5, 3), date(2027, 5, 31),
        date(2027, 8, 30), date(2027, 12, 27), date(2027, 12, 28),
    }


def test_christmas_on_a_sunday_goes_after_boxing_day():
    holidays = bank_holidays(2022)
    assert date(2022, 12, 26) in holidays and date(2022, 12, 27) in holidays
    assert date(2022, 12, 25) not in holidays


def test_new_year_on_a_weekend():
    assert date(2022, 1, 3) in bank_holidays(2022) and date(2022, 1, 1) not in bank_holidays(2022)
    assert date(2023, 1, 2) in bank_holidays(2023) and date(2023, 1, 1) not in bank_holidays(2023)


def test_bank_holidays_2022_jubilee_and_state_funeral():
    assert bank_holidays(2022) == {
        date(2022, 1, 3), date(2022, 4, 15), date(2022, 4, 18), date(2022, 5, 2), date(2022, 6, 2),
        date(2022, 6, 3), date(2022, 8, 29), date(2022, 9, 19), date(2022, 12, 26), date(2022, 12, 27),
    }


def test_other_one_off_changes():
    assert date(2020, 5, 8) in bank_holidays(2020) and date(2020, 5, 4) not in bank_holidays(2020)
    assert date(2023, 5, 8) in bank_holidays(2023) and len(bank_holidays(2023)) == 9
    assert {date(2012, 6, 4), date(2012, 6, 5)} <= bank_holidays(2012)
    assert date(2012, 5, 28) not in bank_holidays(2012)


def test_the_returned_set_is_the_callers_own():
    bank_holidays(2026).add(date(2026, 7, 1))
    assert date(2026, 7, 1) not in bank_holidays(2026)


# --- bands ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("moment,band", [
    (at(2026, 1, 7, 20, 59), "day"),  # a Wednesday
    (at(2026, 1, 7, 21, 0), "night"),
    (at(2026, 1, 8, 6, 59), "night"),
    (at(2026, 1, 8, 7, 0), "day"),
    (at(2026, 1, 9, 23, 0), "night"),  # Friday night until midnight
    (at(2026, 1, 10, 0, 0), "weekend"),  # Saturday
    (at(2026, 1, 11, 23, 59), "weekend"),  # Sunday
    (at(2026, 1, 12, 0, 0), "night"),  # Monday
    (at(2026, 5, 4, 0, 0), "bank_holiday"),  # early May bank holiday Monday
    (at(2026, 5, 4, 23, 59), "bank_holiday"),
    (at(2026, 5, 5, 0, 0), "night"),
    (at(2026, 12, 26, 12, 0), "weekend"),  # Boxing Day on a Saturday counts only on its substitute
    (at(2026, 12, 28, 12, 0), "bank_holiday"),
    (at(2027, 12, 25, 12, 0), "weekend"),
])
def test_band_at(moment, band):
    assert band_at(moment) == band


def test_band_is_judged_in_london_time():
    assert band_at(datetime(2026, 7, 1, 20, 0, tzinfo=UTC)) == "night"  # 21:00 BST
    assert band_at(datetime(2026, 1, 7, 20, 0, tzinfo=UTC)) == "day"  # 20:00 GMT
    with pytest.raises(ValueError):
        band_at(datetime(2026, 1, 7, 20, 0))


def test_minutes_by_band_across_midnight():
    assert minutes_by_band(at(2026, 1, 7, 20), at(2026, 1, 8, 8)) == minutes(day=120, night=600)


def test_minutes_by_band_from_friday_into_saturday():
    assert minutes_by_band(at(2026, 1, 9, 20), at(2026, 1, 10, 8)) == minutes(day=60, night=180, weekend=480)


def test_minutes_by_band_on_a_bank_holiday_night():
    assert minutes_by_band(at(2026, 5, 4, 20), at(2026, 5, 5, 8)) == minutes(
        bank_holiday=240, night=420, day=60
    )


def test_minutes_by_band_when_the_clocks_go_back():
    assert minutes_by_band(at(2026, 10, 24, 20), at(2026, 10, 25, 8)) == minutes(weekend=780)  # 13 h
    # Sunday into Monday: the hour gained is on the Sunday.
    sunday_into_monday = minutes_by_band(at(2026, 10, 25, 0), at(2026, 10, 26, 8))
    assert sunday_into_monday == minutes(weekend=25 * 60, night=420, day=60)


def test_minutes_by_band_when_the_clocks_go_forward():
    assert minutes_by_band(at(2026, 3, 28, 20), at(2026, 3, 29, 8)) == minutes(weekend=660)  # 11 h
    assert minutes_by_band(at(2026, 3, 27, 20), at(2026, 3, 28, 8)) == minutes(day=60, night=180, weekend=480)


def test_minutes_by_band_over_a_long_weekend():
    # Friday 3 April 2026 (Good Friday) to Tuesday 7 April: bank holiday, weekend, bank holiday, night.
    assert minutes_by_band(at(2026, 4, 3, 0), at(2026, 4, 7, 1)) == minutes(
        bank_holiday=2 * 1440, weekend=2 * 1440, night=60
    )


# --- standard rate -------------------------------------------------------------------------------


def test_standard_band_holds_most_minutes():
    assert standard_band(at(2026, 1, 7, 20), at(2026, 1, 8, 8), RATES) == "night"
    assert standard_band(at(2026, 1, 7, 8), at(2026, 1, 7, 22), RATES) == "day"
    assert standard_rate(at(2026, 1, 9, 20), at(2026, 1, 10, 8), RATES) == ("weekend", Decimal("30.00"))


def test_standard_band_tie_goes_to_the_higher_rate():
    start, end = at(2026, 1, 7, 17), at(2026, 1, 8, 1)  # 4 h day, 4 h night
    assert minutes_by_band(start, end) == minutes(day=240, night=240)
    assert standard_rate(start, end, RATES) == ("night", Decimal("25.00"))
    odd_card = {**RATES, "day": Decimal("26.00")}
    assert standard_rate(start, end, odd_card) == ("day", Decimal("26.00"))
    assert standard_band(start, end) == "night"  # without a card, the higher band


# --- amounts -------------------------------------------------------------------------------------


def test_pay_minute_by_minute_without_a_break():
    # 60 min day, 180 night, 480 weekend
    assert pay_amount(at(2026, 1, 9, 20), at(2026, 1, 10, 8), 0, RATES) == Decimal("335.00")


def test_break_comes_off_the_lowest_paid_band():
    start, end = at(2026, 1, 9, 20), at(2026, 1, 10, 8)
    assert pay_amount(start, end, 30, RATES) == Decimal("325.00")  # 30 of the 60 day minutes
    # 60 day minutes, then 30 of the night minutes
    assert pay_amount(start, end, 90, RATES) == Decimal("302.50")


def test_the_lowest_paid_band_is_by_rate_not_by_band():
    cheap_weekends = {**RATES, "weekend": Decimal("10.00")}
    # 60 min day at 20, 180 night at 25, 480 weekend at 10; the break comes off the weekend.
    assert pay_amount(at(2026, 1, 9, 20), at(2026, 1, 10, 8), 60, cheap_weekends) == Decimal("165.00")


def test_pay_rounds_half_up_once_at_the_end():
    card = {**RATES, "day": Decimal("10.10")}
    assert pay_amount(at(2026, 1, 7, 10), at(2026, 1, 7, 10, 3), 0, card) == Decimal("0.51")  # 0.505
    # Rounded per band this would be 0.17 + 0.17 = 0.34; exactly it is 0.333...
    split = {**RATES, "day": Decimal("10.00"), "night": Decimal("10.00")}
    assert pay_amount(at(2026, 1, 7, 20, 59), at(2026, 1, 7, 21, 1), 0, split) == Decimal("0.33")


def test_pay_refuses_a_break_longer_than_the_shift():
    with pytest.raises(ValueError):
        pay_amount(at(2026, 1, 7, 8), at(2026, 1, 7, 9), 61, RATES)


def test_flat_amount():
    assert flat_amount(Decimal("7.5"), Decimal("31.33")) == Decimal("234.98")  # 234.975
    assert flat_amount(Decimal("0"), Decimal("31.33")) == Decimal("0.00")


# --- what a timesheet pays (hand-computed: day 20.00, night 25.00, weekend 30.00, bank holiday 40.00) --


def test_a_shift_across_the_day_night_boundary():
    # Wednesday 17:00 to 01:00: 240 min day, 240 night; the 30 min break comes off the day (cheaper).
    pay = timesheet_pay(at(2026, 1, 7, 17), at(2026, 1, 8, 1), 30, Decimal("25.00"), Decimal("25.00"), RATES)
    assert pay.basis == "banded"
    assert pay.minutes == {"night": 240, "day": 210}
    assert pay.rates == {"night": Decimal("25.00"), "day": Decimal("20.00")}
    assert (pay.hours, pay.amount) == (Decimal("7.50"), Decimal("170.00"))  # 210/60*20 + 240/60*25


def test_a_shift_into_the_weekend():
    # Friday 20:00 to Saturday 08:00: 60 day, 180 night, 480 weekend; the hour's break takes the day.
    pay = timesheet_pay(at(2026, 1, 9, 20), at(2026, 1, 10, 8), 60, Decimal("30.00"), Decimal("30.00"), RATES)
    assert pay.minutes == {"weekend": 480, "night": 180}
    assert (pay.hours, pay.amount) == (Decimal("11.00"), Decimal("315.00"))  # 180/60*25 + 480/60*30


def test_a_substitute_bank_holiday_and_the_weekend_day_it_replaces():
    # Boxing Day 2026 is a Saturday: Monday 28 December is the bank holiday, the Saturday a weekend.
    monday = timesheet_pay(at(2026, 12, 28, 8), at(2026, 12, 28, 16), 30, Decimal("40.00"),
                           Decimal("40.00"), RATES)
    assert monday.minutes == {"bank_holiday": 450}
    assert monday.amount == Decimal("300.00")  # 450/60*40
    saturday = timesheet_pay(at(2026, 12, 26, 8), at(2026, 12, 26, 16), 30, Decimal("30.00"),
                             Decimal("30.00"), RATES)
    assert saturday.minutes == {"weekend": 450}
    assert saturday.amount == Decimal("225.00")


def test_a_night_from_a_sunday_into_a_substitute_bank_holiday():
    # Christmas 2027 is a Saturday: Monday 27 December is its substitute. Sunday 20:00-24:00 weekend
    # (240), Monday 00:00-08:00 bank holiday (480); the 45 min break comes off the weekend.
    pay = timesheet_pay(at(2027, 12, 26, 20), at(2027, 12, 27, 8), 45, Decimal("40.00"), Decimal("40.00"),
                        RATES)
    assert pay.minutes == {"bank_holiday": 480, "weekend": 195}
    assert (pay.hours, pay.amount) == (Decimal("11.25"), Decimal("417.50"))  # 195/60*30 + 480/60*40


def test_a_shift_posted_at_another_rate_is_paid_flat():
    pay = timesheet_pay(at(2026, 1, 7, 17), at(2026, 1, 8, 1), 30, Decimal("33.33"), Decimal("25.00"), RATES)
    assert pay.basis == "flat" and pay.minutes == {"flat": 450} and pay.rates == {"flat": Decimal("33.33")}
    assert (pay.hours, pay.amount) == (Decimal("7.50"), Decimal("249.98"))  # 249.975, half up
    # Flat needs no card; pay follows the minutes, not the rounded hours: 440 min = 7.33 h.
    odd = timesheet_pay(at(2026, 1, 7, 8), at(2026, 1, 7, 15, 20), 0, Decimal("31.33"), Decimal("25.00"),
                        None)
    assert (odd.hours, odd.amount) == (Decimal("7.33"), Decimal("229.75"))  # 229.7533...


def test_a_break_between_bands_of_one_rate_comes_off_the_lower_band():
    same = {**RATES, "night": Decimal("20.00")}
    pay = timesheet_pay(at(2026, 1, 7, 17), at(2026, 1, 8, 1), 30, Decimal("20.00"), Decimal("20.00"), same)
    assert pay.minutes == {"night": 240, "day": 210}


def test_pay_elements_add_up_to_the_amount():
    pay = timesheet_pay(at(2026, 1, 7, 20, 59), at(2026, 1, 7, 21, 1), 0, Decimal("10.00"), Decimal("10.00"),
                        {**RATES, "day": Decimal("10.00"), "night": Decimal("10.00")})
    assert pay.amount == Decimal("0.33")
    # 0.17 + 0.17 would be 0.34: the penny comes off the element with most minutes (a tie: the higher band)
    assert pay_elements(pay) == [("night", 1, Decimal("10.00"), Decimal("0.16")),
                                 ("day", 1, Decimal("10.00"), Decimal("0.17"))]
    weekend = timesheet_pay(at(2026, 1, 9, 20), at(2026, 1, 10, 8), 60, Decimal("30.00"), Decimal("30.00"),
                            RATES)
    assert pay_elements(weekend) == [("weekend", 480, Decimal("30.00"), Decimal("240.00")),
                                     ("night", 180, Decimal("25.00"), Decimal("75.00"))]


def test_timesheet_pay_refuses_a_break_as_long_as_the_time_worked():
    with pytest.raises(ValueError):
        timesheet_pay(at(2026, 1, 7, 8), at(2026, 1, 7, 9), 61, Decimal("20.00"), Decimal("20.00"), RATES)
    with pytest.raises(ValueError):
        timesheet_pay(at(2026, 1, 7, 8), at(2026, 1, 7, 9), 61, Decimal("21.00"), Decimal("20.00"), None)


# --- the overpayment guard -----------------------------------------------------------------------


@pytest.mark.parametrize("scheduled, paid, second", [
    (480, 600, False),  # 8 h: 25% is 2 h; exactly 2 h over is not more
    (480, 601, True),
    (240, 300, False),  # 4 h: 25% (1 h) is the lesser
    (240, 301, True),
    (720, 840, False),  # 12 h: 2 h is the lesser
    (720, 841, True),
    (480, 300, False),  # under the schedule
])
def test_more_than_25_percent_or_2_hours_over_needs_a_second_approval(scheduled, paid, second):
    assert needs_second_approval(paid, scheduled) is second


def test_scheduled_minutes_leave_out_the_scheduled_break():
    assert scheduled_minutes(at(2026, 1, 7, 8), at(2026, 1, 7, 16), 30) == 450


# --- timesheet states ----------------------------------------------------------------------------


def test_one_approval_approves_unless_the_guard_asks_for_two():
    assert after_approval("submitted", 0, False) == "approved"
    assert after_approval("submitted", 0, True) == "submitted"
    assert after_approval("submitted", 1, True) == "approved"
    for status in ("approved", "rejected"):
        with pytest.raises(ValueError):
            after_approval(status, 0, False)
    assert awaiting("submitted", 0) == "approval"
    assert awaiting("submitted", 1) == "second_approval"
    assert awaiting("approved", 2) is None and awaiting("rejected", 0) is None


def test_claimed_times_must_overlap_the_shift_and_be_over():
    shift = (at(2026, 1, 7, 8), at(2026, 1, 7, 16))
    now = at(2026, 1, 8, 12)
    assert timesheet_errors(at(2026, 1, 7, 7), at(2026, 1, 7, 17), *shift, now) == {}
    assert "started_at" in timesheet_errors(at(2026, 1, 6, 8), at(2026, 1, 6, 16), *shift, now)
    assert "started_at" in timesheet_errors(at(2026, 1, 7, 16), at(2026, 1, 7, 20), *shift, now)
    assert timesheet_errors(at(2026, 1, 7, 8), at(2026, 1, 8, 13), *shift, now) == {
        "ended_at": ["Must not be in the future."]}
