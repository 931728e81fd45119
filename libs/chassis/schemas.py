"""Field types and helpers every boundary schema uses.

marshmallow's own Float, Integer and Boolean accept strings such as "5" or "yes";
at our boundaries a wrong JSON type is a validation error, so these do not.
"""

import base64
import json
import re
from datetime import datetime
from decimal import Decimal

from marshmallow import RAISE, Schema, ValidationError, fields, validate


class StrictNumber(fields.Float):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError("Not a valid number.")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictBool(fields.Boolean):
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("Not a valid boolean.")
        return value


class QueryBool(fields.Boolean):
    """A boolean in a query string: `true` or `false` (and a bool, once validated and forwarded)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise ValidationError('Use "true" or "false".')


def StrictInt(**kwargs):  # noqa: N802 - reads like a field class
    return fields.Integer(strict=True, **kwargs)


def Text(max_length=200, **kwargs):  # noqa: N802
    """A non-blank string of bounded length, stripped of surrounding space."""
    return TrimmedString(validate=validate.Length(min=1, max=max_length), **kwargs)


def check_storable(value):
    """Refuse text PostgreSQL (or UTF-8 anywhere: a password hash, an email) cannot take: NUL
    characters, and unpaired surrogates (JSON may carry "\\ud800", UTF-8 cannot)."""
    if "\x00" in value:
        raise ValidationError("NUL characters are not allowed.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("Text must be valid Unicode (an unpaired surrogate is not).") from None


class SafeString(fields.String):
    """A string PostgreSQL can store (check_storable)."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        check_storable(value)
        return value


class TrimmedString(SafeString):
    def _deserialize(self, value, attr, data, **kwargs):
        return super()._deserialize(value, attr, data, **kwargs).strip()


class Email(fields.Email):
    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Length(max=254))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            check_storable(value)
        return super()._deserialize(value, attr, data, **kwargs).strip().lower()


class Id(SafeString):
    """An opaque id (we mint UUIDs; callers must not rely on that)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("validate", validate.Length(min=1, max=64))
        super().__init__(**kwargs)


def plausible_time(value):
    """Times between 2000 and 2100: beyond them a date is a mistake, and date arithmetic
    near the ends of the calendar would overflow."""
    if not 2000 <= value.year <= 2100:
        raise ValidationError("Must be between the years 2000 and 2100.")


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


def page_of(item_schema, name):
    """The schema of one page of a list (API.md "Lists"): `{items: [item_schema], next_cursor}`,
    named `name` (the name the OpenAPI document gives it)."""
    return type(name, (StrictSchema,), {
        "__doc__": f"A page of {item_schema.__name__} items; next_cursor is null on the last page.",
        "items": fields.List(fields.Nested(item_schema)),
        "next_cursor": fields.String(allow_none=True),
    })


class PageQuery(StrictSchema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    cursor = SafeString(load_default=None)


def encode_cursor(values):
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(cursor):
    """The (created_at, id) an earlier page ended on; Invalid (422) for a forged cursor."""
    from chassis.errors import Invalid

    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created_at, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(last_id, str):
            raise ValueError("id")
        check_storable(last_id)  # a forged id the database could not even compare
        return datetime.fromisoformat(created_at), last_id
    except (ValueError, TypeError, ValidationError, RecursionError) as exc:  # (nested too deep to read)
        raise Invalid("not a valid cursor", errors={"cursor": ["Not a valid cursor."]}) from exc


def load_or_invalid(schema, payload, partial=False):
    """Validate a payload at a service boundary; errors become `Invalid` (422)."""
    from chassis.errors import Invalid

    try:
        return schema.load(payload if payload is not None else {}, partial=partial)
    except ValidationError as exc:
        raise Invalid("invalid payload", errors=exc.messages) from exc


MAX_AMOUNT = Decimal("10000")
_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")


class Money(fields.Decimal):
    """An hourly rate or amount: more than 0, at most 10000, at most 2 decimal places; dumped as "85.50".

    Accepted as a decimal string ("85.50", "85.5", "85"; API.md "Conventions") or a JSON number
    (85.5, read as written, never rounded), and as a Decimal (what the RPC serializer delivers when
    a caller forwards an already loaded body). Refused: booleans, exponents, "NaN"/"Infinity",
    surrounding space, a third decimal place (rejected, not rounded), and numbers of 21 digits or
    more (10**40 would not even round to cents: decimal's InvalidOperation, a 500, not a 422).
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("places", 2)
        kwargs.setdefault("as_string", True)
        kwargs.setdefault("validate", validate.Range(min=Decimal(0), min_inclusive=False, max=MAX_AMOUNT))
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
            raise ValidationError("Not a valid amount.")
        text = value if isinstance(value, str) else str(value)  # a float's str is its shortest repr
        if not _DECIMAL.fullmatch(text):
            raise ValidationError('Not a valid amount: use a decimal such as "85.50".')
        amount = Decimal(text)
        if amount.as_tuple().exponent < -2:
            raise ValidationError("Use at most 2 decimal places.")
        if amount.adjusted() >= 20:
            raise ValidationError("Not a valid amount: far too large.")
        return amount.quantize(Decimal("0.01"))
