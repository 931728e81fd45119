"""Events published by identity on `identity.events`."""

from marshmallow import RAISE, Schema, fields


class _Contract(Schema):
    class Meta:
        unknown = RAISE


class BankCreated(_Contract):
    bank_id = fields.Str(required=True)
    name = fields.Str(required=True)


class OrganisationCreated(_Contract):
    organisation_id = fields.Str(required=True)
    bank_id = fields.Str(required=True)
    name = fields.Str(required=True)
    kind = fields.Str(required=True)
    ods_code = fields.Str(allow_none=True, required=True)


class SiteCreated(_Contract):
    site_id = fields.Str(required=True)
    organisation_id = fields.Str(required=True)
    bank_id = fields.Str(required=True)
    name = fields.Str(required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    postcode = fields.Str(allow_none=True, required=True)


class UserCreated(_Contract):
    user_id = fields.Str(required=True)
    email = fields.Str(required=True)
    name = fields.Str(required=True)
    roles = fields.List(fields.Dict(), required=True)


class UserRolesChanged(UserCreated):
    """An account's grants were replaced (PUT /v1/users/{id}/roles): `roles` are all it holds now,
    shaped as in user.created; a grant not listed was taken away."""


class UserDeactivated(_Contract):
    """An account was deactivated: it no longer logs in, its tokens are refused and its grants
    count for nothing. A worker's account leaves the bank with it (worker.left, `worker_id`)."""

    user_id = fields.Str(required=True)
    email = fields.Str(required=True)
    name = fields.Str(required=True)
    worker_id = fields.Str(allow_none=True, required=True)


class WorkerRegistered(_Contract):
    agency_id = fields.Str(allow_none=True, load_default=None)
    worker_id = fields.Str(required=True)
    user_id = fields.Str(required=True)
    bank_id = fields.Str(required=True)
    bank_number = fields.Str(required=True)
    name = fields.Str(required=True)
    email = fields.Str(required=True)
    staff_type = fields.Str(required=True)
    grade = fields.Str(required=True)
    extra_grades = fields.List(fields.Str(), required=True)
    specialty = fields.Str(allow_none=True, required=True)
    registration_body = fields.Str(allow_none=True, required=True)
    registration_number = fields.Str(allow_none=True, required=True)
    latitude = fields.Float(required=True)
    longitude = fields.Float(required=True)
    max_travel_km = fields.Float(required=True)
    opted_out_of_48h = fields.Bool(required=True)
    status = fields.Str(required=True)


class WorkerUpdated(_Contract):
    agency_id = fields.Str(allow_none=True, load_default=None)
    worker_id = fields.Str(required=True)
    bank_id = fields.Str(required=True)
    extra_grades = fields.List(fields.Str(), required=True)
    opted_out_of_48h = fields.Bool(required=True)
    max_travel_km = fields.Float(required=True)


class WorkerStatusChanged(_Contract):
    worker_id = fields.Str(required=True)
    bank_id = fields.Str(required=True)
    bank_number = fields.Str(required=True)
    previous_status = fields.Str(required=True)
    status = fields.Str(required=True)
    reason = fields.Str(allow_none=True, required=True)


IDENTITY_EVENTS = {
    ("bank.created", 1): BankCreated,
    ("organisation.created", 1): OrganisationCreated,
    ("site.created", 1): SiteCreated,
    ("user.created", 1): UserCreated,
    ("user.roles_changed", 1): UserRolesChanged,
    ("user.deactivated", 1): UserDeactivated,
    ("worker.registered", 1): WorkerRegistered,
    ("worker.updated", 1): WorkerUpdated,
    ("worker.onboarding", 1): WorkerStatusChanged,
    ("worker.activated", 1): WorkerStatusChanged,
    ("worker.suspended", 1): WorkerStatusChanged,
    ("worker.left", 1): WorkerStatusChanged,
}
