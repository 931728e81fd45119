"""Payroll use cases: rate cards and the standard rate of a shift."""

import sqlalchemy as sa
from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert

from chassis.errors import Invalid
from payroll import bands, schemas
from payroll.models import RateCard

RATE_CARD = schemas.RateCard()
STANDARD_RATE = schemas.StandardRate()

# The card's column holding each band's rate (bands.BANDS).
RATE_COLUMNS = {"day": "day_rate", "night": "night_rate", "weekend": "weekend_rate",
                "bank_holiday": "bank_holiday_rate"}


# --- rate cards ------------------------------------------------------------------------

def rate_card_view(card):
    return RATE_CARD.dump(card)


def put_rate_card(uow, data):
    """Create or replace the card of a bank, staff type and grade (one statement, so concurrent
    puts cannot collide), and publish the card as it now stands."""
    rates = {column: data[column] for column in RATE_COLUMNS.values()}
    card = uow.session.scalars(
        insert(RateCard)
        .values(bank_id=data["bank_id"], staff_type=data["staff_type"], grade=data["grade"], **rates)
        .on_conflict_do_update(index_elements=[RateCard.bank_id, RateCard.staff_type, RateCard.grade],
                               set_={**rates, "updated_at": func.now()})
        .returning(RateCard),
        execution_options={"populate_existing": True},
    ).one()
    view = rate_card_view(card)
    uow.emit("rate_card.updated", view)
    return view


def list_rate_cards(session, bank_id):
    rows = session.scalars(sa.select(RateCard).where(RateCard.bank_id == bank_id)
                           .order_by(RateCard.staff_type, RateCard.grade)).all()
    return {"items": [rate_card_view(card) for card in rows]}


def rates_of(card):
    """Band name -> hourly rate, as bands.py takes them."""
    return {band: getattr(card, column) for band, column in RATE_COLUMNS.items()}


# --- the standard rate -----------------------------------------------------------------

def standard_rate(session, bank_id, staff_type, grade, starts_at, ends_at):
    """The card rate of the band holding most of the shift's minutes (DESIGN.md "Rates")."""
    card = session.get(RateCard, (bank_id, staff_type, grade))
    if card is None:
        raise Invalid("no rate card for this staff type and grade",
                      errors={"grade": ["No rate card for this staff type and grade."]})
    band, rate = bands.standard_rate(starts_at, ends_at, rates_of(card))
    return STANDARD_RATE.dump({
        "bank_id": bank_id, "staff_type": staff_type, "grade": grade, "band": band, "rate": rate,
        "minutes_by_band": bands.minutes_by_band(starts_at, ends_at),
    })
