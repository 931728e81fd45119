"""Events published by shifts on `shifts.events`."""

from marshmallow import RAISE, Schema, fields


class ShiftSummary(Schema):
    """What every event about one shift says of it (also matching's)."""

    class Meta:
        unknown = RAISE

    shift_id = fields.Str(required=True)
    site_id = fields.Str(required=True)
    organisation_id = fields.Str(required=True)
    bank_id = fields.Str(required=True)
    staff_type = fields.Str(required=True)
    grade = fields.Str(required=True)
    starts_at = fields.Str(required=True)
    ends_at = fields.Str(required=True)
    hourly_rate = fields.Str(required=True)


class ShiftFact(ShiftSummary):
    standard_rate = fields.Str(required=True)
    status = fields.Str(required=True)
    worker_id = fields.Str(allow_none=True, required=True)


class ShiftPublished(ShiftFact):
    to = fields.Str(required=True)  # priority | bank
    priority_group_id = fields.Str(allow_none=True, required=True)


class ShiftCascaded(ShiftFact):
    tier = fields.Int(required=True)


class ShiftCancelled(ShiftFact):
    reason = fields.Str(required=True)
    cancelled_by = fields.Str(required=True)  # site | worker
    late = fields.Bool(required=True)  # inside 72 h: counts against the side that cancelled


class PriorityGroupCreated(Schema):
    """priority_group.created: an organisation's group of workers it offers shifts to first."""

    class Meta:
        unknown = RAISE

    priority_group_id = fields.Str(required=True)
    organisation_id = fields.Str(required=True)
    bank_id = fields.Str(required=True)
    name = fields.Str(required=True)
    worker_ids = fields.List(fields.Str(), required=True)


SHIFT_EVENTS = {
    ("priority_group.created", 1): PriorityGroupCreated,
    ("shift.published", 1): ShiftPublished,
    ("shift.rate_violation", 1): ShiftFact,
    ("shift.booked", 1): ShiftFact,
    ("shift.cascaded", 1): ShiftCascaded,
    ("shift.cancelled", 1): ShiftCancelled,
    ("shift.completed", 1): ShiftFact,
}
