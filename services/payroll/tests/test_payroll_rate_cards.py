"""Rate cards and standard rates over real RPC, PostgreSQL and RabbitMQ."""

from decimal import Decimal

import pytest

from chassis.errors import Invalid

NO_CARD = {"grade": ["No rate card for this staff type and grade."]}


def card_fields(card):
    return {k: v for k, v in card.items() if k != "updated_at"}


def shift(payroll, starts_at, ends_at, bank_id="bank-1", staff_type="nurse", grade="Band 5"):
    return payroll.standard_rate(bank_id, staff_type, grade, starts_at, ends_at)


# --- rate cards ------------------------------------------------------------------------


def test_a_put_card_is_listed_for_its_bank_only(payroll, rate_card):
    put = payroll.put_rate_card(rate_card())
    assert card_fields(put) == rate_card()
    assert put["updated_at"]
    payroll.put_rate_card(rate_card(grade="Band 6", day_rate="22.5", night_rate=27, weekend_rate="33.10",
                                    bank_holiday_rate=45.25))
    payroll.put_rate_card(rate_card("bank-2", day_rate="99.00"))

    listed = payroll.list_rate_cards("bank-1")["items"]
    assert [card_fields(c) for c in listed] == [
        rate_card(),
        rate_card(grade="Band 6", day_rate="22.50", night_rate="27.00", weekend_rate="33.10",
                  bank_holiday_rate="45.25"),
    ]
    assert listed[0] == put
    assert payroll.list_rate_cards("bank-3") == {"items": []}
    with pytest.raises(Invalid) as missing:
        payroll.list_rate_cards("")
    assert "bank_id" in missing.value.errors


def test_a_put_replaces_the_card_and_publishes_it(payroll, rate_card, event_tap):
    tap = event_tap("payroll.events", "rate_card.*")
    first = payroll.put_rate_card(rate_card())
    second = payroll.put_rate_card(rate_card(day_rate="21.00", bank_holiday_rate="50.00"))

    assert second["day_rate"] == "21.00" and second["bank_holiday_rate"] == "50.00"
    assert second["updated_at"] >= first["updated_at"]
    assert payroll.list_rate_cards("bank-1")["items"] == [second]

    events = tap.messages(timeout=3, count=2)
    assert [e["type"] for e in events] == ["rate_card.updated", "rate_card.updated"]
    assert [e["data"] for e in events] == [first, second]
    assert {(e["producer"], e["version"]) for e in events} == {("payroll", 1)}


def test_a_card_loaded_by_a_caller_may_be_forwarded_as_is(payroll, rate_card):
    """The gateway may forward a loaded body: Decimals cross the RPC serializer as Decimals."""
    card = payroll.put_rate_card(rate_card(day_rate=Decimal("20.5"), night_rate=Decimal("25.00")))
    assert (card["day_rate"], card["night_rate"]) == ("20.50", "25.00")


@pytest.mark.parametrize("field, value", [
    ("day_rate", "-5.00"),
    ("day_rate", -5),
    ("night_rate", "0"),
    ("night_rate", 0),
    ("weekend_rate", "abc"),
    ("weekend_rate", ""),
    ("weekend_rate", " 30.00"),
    ("weekend_rate", "1e3"),
    ("weekend_rate", "1_000"),
    ("bank_holiday_rate", "40.001"),
    ("bank_holiday_rate", 40.005),
    ("bank_holiday_rate", "10000.01"),
    ("bank_holiday_rate", 1e300),
    ("day_rate", "NaN"),
    ("day_rate", "Infinity"),
    ("day_rate", True),
    ("day_rate", None),
    ("day_rate", ["20.00"]),
    ("day_rate", {"amount": "20.00"}),
    ("grade", ""),
    ("grade", "x" * 61),
    ("staff_type", 5),
    ("bank_id", "b" * 37),
])
def test_bad_cards_are_invalid_and_write_nothing(payroll, rate_card, event_tap, field, value):
    tap = event_tap("payroll.events")
    with pytest.raises(Invalid) as bad:
        payroll.put_rate_card(rate_card(**{field: value}))
    assert list(bad.value.errors) == [field]
    assert payroll.list_rate_cards("bank-1") == {"items": []}
    assert tap.messages(timeout=0.5) == []


def test_missing_and_unknown_fields_are_invalid_and_write_nothing(payroll, rate_card):
    missing = rate_card()
    del missing["night_rate"]
    with pytest.raises(Invalid) as bad:
        payroll.put_rate_card(missing)
    assert bad.value.errors == {"night_rate": ["Missing data for required field."]}
    with pytest.raises(Invalid) as bad:
        payroll.put_rate_card(rate_card(overtime_rate="30.00"))
    assert bad.value.errors == {"overtime_rate": ["Unknown field."]}
    with pytest.raises(Invalid):
        payroll.put_rate_card(None)
    assert payroll.list_rate_cards("bank-1") == {"items": []}


def test_a_bad_rate_does_not_touch_an_existing_card(payroll, rate_card):
    card = payroll.put_rate_card(rate_card())
    with pytest.raises(Invalid):
        payroll.put_rate_card(rate_card(day_rate="-1.00"))
    assert payroll.list_rate_cards("bank-1")["items"] == [card]


def test_rates_at_the_bounds_are_accepted(payroll, rate_card):
    card = payroll.put_rate_card(rate_card(day_rate="0.01", night_rate="10000", weekend_rate=7,
                                           bank_holiday_rate="10000.00"))
    assert [card[f] for f in ("day_rate", "night_rate", "weekend_rate", "bank_holiday_rate")] == [
        "0.01", "10000.00", "7.00", "10000.00"]


# --- standard rates --------------------------------------------------------------------


def test_a_weekday_day_shift_is_paid_the_day_rate(payroll, rate_card):
    payroll.put_rate_card(rate_card())
    rate = shift(payroll, "2026-12-01T08:00:00+00:00", "2026-12-01T16:00:00+00:00")  # a Tuesday
    assert rate == {
        "bank_id": "bank-1", "staff_type": "nurse", "grade": "Band 5", "band": "day", "rate": "20.00",
        "minutes_by_band": {"bank_holiday": 0, "weekend": 0, "night": 0, "day": 480},
    }


def test_a_saturday_shift_is_paid_the_weekend_rate(payroll, rate_card):
    payroll.put_rate_card(rate_card())
    rate = shift(payroll, "2026-12-05T08:00:00+00:00", "2026-12-05T20:00:00+00:00")
    assert (rate["band"], rate["rate"]) == ("weekend", "30.00")
    assert rate["minutes_by_band"]["weekend"] == 720


def test_a_weekday_night_is_paid_the_night_rate(payroll, rate_card):
    payroll.put_rate_card(rate_card())
    rate = shift(payroll, "2026-12-01T20:00:00+00:00", "2026-12-02T08:00:00+00:00")
    assert (rate["band"], rate["rate"]) == ("night", "25.00")
    assert rate["minutes_by_band"] == {"bank_holiday": 0, "weekend": 0, "night": 600, "day": 120}


def test_a_shift_on_a_bank_holiday_is_paid_the_bank_holiday_rate(payroll, rate_card):
    payroll.put_rate_card(rate_card())
    rate = shift(payroll, "2026-12-25T08:00:00+00:00", "2026-12-25T20:00:00+00:00")
    assert (rate["band"], rate["rate"]) == ("bank_holiday", "40.00")
    # Boxing Day 2026 is a Saturday: its substitute, Monday 28th, is the holiday.
    assert shift(payroll, "2026-12-28T08:00:00+00:00", "2026-12-28T16:00:00+00:00")["band"] == "bank_holiday"


def test_times_are_judged_in_london_whatever_the_offset(payroll, rate_card):
    payroll.put_rate_card(rate_card())
    # 06:00-14:00 UTC in summer is 07:00-15:00 in London: all day, no night.
    rate = shift(payroll, "2026-07-01T06:00:00Z", "2026-07-01T14:00:00Z")
    assert rate["minutes_by_band"] == {"bank_holiday": 0, "weekend": 0, "night": 0, "day": 480}
    # Saturday 00:00-07:00 in Paris is Friday 23:00 to Saturday 06:00 in London: an hour of night.
    rate = shift(payroll, "2026-12-05T00:00:00+01:00", "2026-12-05T07:00:00+01:00")
    assert rate["minutes_by_band"] == {"bank_holiday": 0, "weekend": 360, "night": 60, "day": 0}


def test_a_tie_goes_to_the_higher_rate(payroll, rate_card):
    # 15:00-03:00 on a Tuesday: 6 h of day, 6 h of night.
    payroll.put_rate_card(rate_card())
    payroll.put_rate_card(rate_card(grade="Band 6", day_rate="30.00", night_rate="25.00"))
    starts_at, ends_at = "2026-12-01T15:00:00+00:00", "2026-12-02T03:00:00+00:00"
    night = shift(payroll, starts_at, ends_at)
    assert night["minutes_by_band"] == {"bank_holiday": 0, "weekend": 0, "night": 360, "day": 360}
    assert (night["band"], night["rate"]) == ("night", "25.00")
    day = shift(payroll, starts_at, ends_at, grade="Band 6")
    assert (day["band"], day["rate"]) == ("day", "30.00")


def test_the_standard_rate_follows_the_current_card(payroll, rate_card):
    payroll.put_rate_card(rate_card())
    payroll.put_rate_card(rate_card(day_rate="23.45"))
    assert shift(payroll, "2026-12-01T08:00:00+00:00", "2026-12-01T16:00:00+00:00")["rate"] == "23.45"


def test_no_card_for_the_staff_type_and_grade_is_invalid(payroll, rate_card):
    payroll.put_rate_card(rate_card())
    day = ("2026-12-01T08:00:00+00:00", "2026-12-01T16:00:00+00:00")
    for bank_id, staff_type, grade in (("bank-1", "nurse", "Band 6"), ("bank-1", "doctor", "Band 5"),
                                       ("bank-2", "nurse", "Band 5")):
        with pytest.raises(Invalid) as none:
            shift(payroll, *day, bank_id=bank_id, staff_type=staff_type, grade=grade)
        assert none.value.errors == NO_CARD


@pytest.mark.parametrize("starts_at, ends_at, errors", [
    ("2026-12-01T08:00:00", "2026-12-01T16:00:00+00:00", {"starts_at": ["Not a valid aware datetime."]}),
    ("2026-12-01T08:00:00+00:00", "tomorrow", {"ends_at": ["Not a valid datetime."]}),
    ("2026-12-01T08:00:00+00:00", "2026-12-01T08:00:00+00:00", {"ends_at": ["Must be after starts_at."]}),
    ("2026-12-01T08:00:00+00:00", "2026-12-01T07:00:00+00:00", {"ends_at": ["Must be after starts_at."]}),
    ("2026-12-01T08:00:00+00:00", "2026-12-02T08:01:00+00:00",
     {"ends_at": ["Must be at most 24 hours after starts_at."]}),
    (None, "2026-12-01T16:00:00+00:00", {"starts_at": ["Field may not be null."]}),
])
def test_bad_shift_times_are_invalid(payroll, rate_card, starts_at, ends_at, errors):
    payroll.put_rate_card(rate_card())
    with pytest.raises(Invalid) as bad:
        shift(payroll, starts_at, ends_at)
    assert bad.value.errors == errors
