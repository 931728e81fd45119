"""Shifts payloads, validated by the service and the gateway alike."""

from marshmallow import fields, validate

from chassis.schemas import (
    Id,
    Money,
    PageQuery,
    QueryBool,
    StrictBool,
    StrictInt,
    StrictSchema,
    Text,
    page_of,
    plausible_time,
)


class Publish(StrictSchema):
    to = fields.String(required=True, validate=validate.OneOf(("priority", "bank")))
    priority_group_id = Id(load_default=None, allow_none=True)
    priority_minutes = StrictInt(load_default=None, allow_none=True,
                                 validate=validate.Range(min=1, max=10080))


class ShiftCreate(StrictSchema):
    site_id = Id(required=True)
    staff_type = Text(max_length=60, required=True)
    grade = Text(max_length=60, required=True)
    specialty = Text(max_length=100, load_default=None, allow_none=True)
    starts_at = fields.AwareDateTime(required=True, validate=plausible_time)
    ends_at = fields.AwareDateTime(required=True, validate=plausible_time)
    break_minutes = StrictInt(load_default=0, validate=validate.Range(min=0))
    hourly_rate = Money(load_default=None, allow_none=True)
    instant_book = StrictBool(load_default=False)
    publish = fields.Nested(Publish, load_default=None, allow_none=True)
    worker_id = Id(load_default=None, allow_none=True)
    justification = Text(max_length=500, load_default=None, allow_none=True, metadata={
        "description": "why a rate above the card is needed (shown to approvers and on rate violations)"})


class Approval(StrictSchema):
    reason = Text(max_length=1000, required=True)


class ShiftRejection(StrictSchema):
    reason = Text(max_length=1000, required=True)


class Cancellation(StrictSchema):
    reason = Text(max_length=1000, required=True)


class Cascade(StrictSchema):
    tier = StrictInt(load_default=1, validate=validate.Range(min=1, max=10))


class Booking(StrictSchema):
    worker_id = Id(required=True)


class Awaiting(StrictSchema):
    """What a shift waits on an approver for: its rate (a violation pending), and/or a release
    asked for (to a priority group or the bank, while pending_approval) or an agency cascade
    (while the shift stays open to the bank)."""

    rate = fields.Boolean()
    release = fields.String(allow_none=True, metadata={"enum": ["priority", "bank", "agency"]})
    priority_group_id = fields.String(allow_none=True)
    tier = fields.Integer(allow_none=True)


class Shift(StrictSchema):
    id = fields.String()
    site_id = fields.String()
    organisation_id = fields.String()
    bank_id = fields.String()
    staff_type = fields.String()
    grade = fields.String()
    specialty = fields.String(allow_none=True)
    status = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    break_minutes = fields.Integer()
    hourly_rate = Money()
    standard_rate = Money()
    rate_band = fields.String()
    rate_violation = fields.Boolean()
    violation_status = fields.String(allow_none=True)
    approved_by = fields.String(allow_none=True)
    approval_reason = fields.String(allow_none=True)
    justification = fields.String(allow_none=True)
    rejected_by = fields.String(allow_none=True)
    rejection_reason = fields.String(allow_none=True)
    instant_book = fields.Boolean()
    release_stage = fields.String(allow_none=True)
    priority_group_id = fields.String(allow_none=True)
    priority_until = fields.DateTime(allow_none=True)
    agency_tier = fields.Integer(allow_none=True)
    worker_id = fields.String(allow_none=True)
    booked_at = fields.DateTime(allow_none=True)
    cancellation_reason = fields.String(allow_none=True)
    cancelled_by = fields.String(allow_none=True)
    late_cancellation = fields.Boolean()
    retrospective = fields.Boolean()
    created_at = fields.DateTime()
    distance_km = fields.Float()
    awaiting = fields.Nested(Awaiting, allow_none=True, metadata={
        "description": "what waits for an approver's decision (POST /approve or /reject); null: nothing"})


ShiftList = page_of(Shift, "ShiftList")


class WorkerShift(Shift):
    """A shift in a worker's own list: booked to it, or applied to (`applied_at`, else null).
    `worker_id` is this worker's id or null: another worker booked on a shift it applied to is
    never named."""

    applied_at = fields.DateTime(allow_none=True)


WorkerShiftList = page_of(WorkerShift, "WorkerShiftList")


STATUSES = ("draft", "pending_approval", "open", "agency", "booked", "completed", "cancelled")


class WorkerShiftQuery(PageQuery):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    from_ = fields.AwareDateTime(data_key="from", load_default=None, validate=plausible_time)
    to = fields.AwareDateTime(load_default=None, validate=plausible_time)


class ShiftQuery(PageQuery):
    site_id = Id(load_default=None)
    organisation_id = Id(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(
        ("draft", "pending_approval", "open", "agency", "booked", "completed", "cancelled")))
    from_ = fields.AwareDateTime(data_key="from", load_default=None, validate=plausible_time)
    to = fields.AwareDateTime(load_default=None, validate=plausible_time)
    awaiting = QueryBool(load_default=None, metadata={
        "description": "true: only shifts waiting for an approver (a rate, a release or a cascade)"})


class AvailableQuery(StrictSchema):
    max_distance_km = fields.Float(load_default=None, validate=validate.Range(min=0, max=1000))
    site_id = Id(load_default=None)
    worked_before = QueryBool(load_default=False, metadata={
        "description": "true: only sites where this worker has completed a shift"})
    from_ = fields.AwareDateTime(data_key="from", load_default=None, validate=plausible_time)
    to = fields.AwareDateTime(load_default=None, validate=plausible_time)


class PolicyUpdate(StrictSchema):
    approval_before_release = StrictBool()
    instant_book_allowed = StrictBool()
    priority_minutes = StrictInt(validate=validate.Range(min=1, max=10080))
    cascade_hours_before = StrictInt(allow_none=True, validate=validate.Range(min=1, max=720))
    agency_cascade_needs_approval = StrictBool()


class Policy(StrictSchema):
    site_id = fields.String()
    approval_before_release = fields.Boolean()
    instant_book_allowed = fields.Boolean()
    priority_minutes = fields.Integer()
    cascade_hours_before = fields.Integer(allow_none=True)
    agency_cascade_needs_approval = fields.Boolean()


class PriorityGroupCreate(StrictSchema):
    organisation_id = Id(required=True)
    name = Text(required=True)
    worker_ids = fields.List(Id(), required=True, validate=validate.Length(max=5000))


class PriorityGroup(StrictSchema):
    id = fields.String()
    organisation_id = fields.String()
    bank_id = fields.String()
    name = fields.String()
    worker_ids = fields.List(fields.String())


PriorityGroupList = page_of(PriorityGroup, "PriorityGroupList")


class PriorityGroupQuery(PageQuery):
    organisation_id = Id(load_default=None)


class ApplicantMatch(StrictSchema):
    """How matching ranks an applicant among the page's applicants, as it ranks whom to tell of the
    shift: worked at the site, then at its organisation, then the least offered lately, then the
    nearest (README: Matching). No distance: site staff see the public part of a worker only, and a
    distance from their site would say where it lives."""

    rank = fields.Integer()
    worked_at_site = fields.Boolean()
    worked_at_organisation = fields.Boolean()


class ApplicationSchema(StrictSchema):
    id = fields.String()
    shift_id = fields.String()
    worker_id = fields.String()
    created_at = fields.DateTime()
    match = fields.Nested(ApplicantMatch, allow_none=True, metadata={
        "description": "GET /v1/shifts/{id}/applications only: the applicant's rank among this page's "
                       "applicants (1 is best); null when matching would not offer it the shift now "
                       "(no longer eligible or in reach, or the shift is no longer open)"})


ApplicationList = page_of(ApplicationSchema, "ApplicationList")


class RateViolation(StrictSchema):
    shift_id = fields.String()
    site_id = fields.String()
    organisation_id = fields.String()
    staff_type = fields.String()
    grade = fields.String()
    hourly_rate = Money()
    standard_rate = Money()
    status = fields.String()
    approved_by = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    justification = fields.String(allow_none=True)
    rejected_by = fields.String(allow_none=True)
    rejected_at = fields.DateTime(allow_none=True)


RateViolationList = page_of(RateViolation, "RateViolationList")


class RateViolationQuery(PageQuery):
    bank_id = Id(load_default=None)




class AgencyTierUpdate(StrictSchema):
    tier = StrictInt(required=True, validate=validate.Range(min=1, max=10))


class AgencyTierSchema(StrictSchema):
    organisation_id = fields.String()
    bank_id = fields.String()
    tier = fields.Integer()


class Step(StrictSchema):
    step = fields.String()
    detail = fields.Dict(allow_none=True)
    actor_id = fields.String(allow_none=True)
    at = fields.DateTime()


class StepList(StrictSchema):
    items = fields.List(fields.Nested(Step))
