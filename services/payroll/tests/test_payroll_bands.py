"""Pay bands, bank holidays and amounts (DESIGN.md "Rates" and "Pay")."""

from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from payroll.bands import (
    band_at,
    bank_holidays,
    easter_sunday,
    flat_amount,
    minutes_by_band,
    pay_amount,
    standard_band,
    standard_rate,
)

LONDON = ZoneInfo("Europe/London")
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
