"""Compliance payloads, validated by the service and the gateway alike."""

from marshmallow import fields, validate

from chassis.schemas import Id, SafeString, StrictSchema, Text, page_of
from compliance.domain import KINDS, REGISTRATION_BODIES


class DocumentSubmission(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    reference = Text(required=True)
    issued_on = fields.Date(load_default=None, allow_none=True)
    expires_on = fields.Date(load_default=None, allow_none=True)
    registration_body = fields.String(load_default=None, allow_none=True,
                                      validate=validate.OneOf(REGISTRATION_BODIES))


class Verification(StrictSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(("verified", "rejected")))
    note = Text(max_length=1000, load_default=None, allow_none=True)


class Document(StrictSchema):
    id = fields.String()
    worker_id = fields.String()
    kind = fields.String()
    reference = fields.String()
    registration_body = fields.String(allow_none=True)
    issued_on = fields.Date(allow_none=True)
    expires_on = fields.Date(allow_none=True)
    status = fields.String()
    note = fields.String(allow_none=True)
    verified_by = fields.String(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


DocumentList = page_of(Document, "DocumentList")


class Expiring(StrictSchema):
    kind = fields.String()
    expires_on = fields.Date()


class Compliance(StrictSchema):
    worker_id = fields.String()
    status = fields.String()
    missing = fields.List(fields.String())
    expiring = fields.List(fields.Nested(Expiring))
    required = fields.List(fields.String())


class RequirementUpdate(StrictSchema):
    bank_id = Id(required=True)
    staff_type = Text(max_length=60, required=True)
    kinds = fields.List(fields.String(validate=validate.OneOf(KINDS)), required=True,
                        validate=validate.Length(min=1, max=50))


class Requirement(StrictSchema):
    bank_id = fields.String()
    staff_type = fields.String()
    kinds = fields.List(fields.String())


class RequirementQuery(StrictSchema):
    bank_id = Id(required=True)


class RequirementList(StrictSchema):
    items = fields.List(fields.Nested(Requirement))


class EligibilityQuery(StrictSchema):
    staff_type = SafeString(required=True, validate=validate.Length(min=1, max=60))
    on = fields.Date(required=True)


class EligibilityDaysQuery(StrictSchema):
    staff_type = SafeString(required=True, validate=validate.Length(min=1, max=60))
    days = fields.List(fields.Date(), required=True, validate=validate.Length(min=1, max=1000))


class Eligibility(StrictSchema):
    worker_id = fields.String()
    staff_type = fields.String()
    on = fields.Date()
    eligible = fields.Boolean()
    reasons = fields.List(fields.String())
