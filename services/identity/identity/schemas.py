"""Identity's payloads: what its RPC methods accept and return, and what the
gateway validates HTTP bodies against (one definition, both boundaries)."""

from marshmallow import ValidationError, fields, validate, validates_schema

from chassis.auth import ROLES, SCOPE_TYPES
from chassis.schemas import (
    Email,
    Id,
    PageQuery,
    QueryBool,
    SafeString,
    StrictBool,
    StrictNumber,
    StrictSchema,
    Text,
    page_of,
)
from identity.domain import ORGANISATION_KINDS, WORKER_STATUSES


def _not_blank(password):
    if not password.strip():
        raise ValidationError("Must not be blank or only whitespace.")


# An account's password (registration, POST /v1/users, the bootstrap admin): 8-256 characters, not
# all whitespace.
Password = lambda: SafeString(required=True, load_only=True,  # noqa: E731
                              validate=[validate.Length(min=8, max=256), _not_blank])


def password_problems(password):
    """Why `password` may not be an account's password (the rules of Password), or []."""
    try:
        Password().deserialize(password)
    except ValidationError as exc:
        return exc.messages
    return []


Latitude = lambda **kw: StrictNumber(validate=validate.Range(min=-90, max=90), **kw)  # noqa: E731
Longitude = lambda **kw: StrictNumber(validate=validate.Range(min=-180, max=180), **kw)  # noqa: E731
TravelKm = lambda **kw: StrictNumber(validate=validate.Range(min=0, max=1000), **kw)  # noqa: E731


class LoginRequest(StrictSchema):
    email = SafeString(required=True, validate=validate.Length(min=1, max=254))
    password = SafeString(required=True, load_only=True, validate=validate.Length(max=256))


class LoginClient(StrictSchema):
    """Where a login attempt came from, as the gateway saw it (an IPv4 or IPv6 address)."""

    client_address = SafeString(load_default=None, allow_none=True, validate=validate.Length(min=1, max=45))


class TokenResponse(StrictSchema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()


class BankCreate(StrictSchema):
    name = Text(required=True)


class Bank(StrictSchema):
    id = fields.String()
    name = fields.String()


class OrganisationCreate(StrictSchema):
    bank_id = Id(required=True)
    name = Text(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(ORGANISATION_KINDS))
    ods_code = Text(max_length=20, load_default=None, allow_none=True)


class Organisation(StrictSchema):
    id = fields.String()
    bank_id = fields.String()
    name = fields.String()
    kind = fields.String()
    ods_code = fields.String(allow_none=True)


class SiteCreate(StrictSchema):
    organisation_id = Id(required=True)
    name = Text(required=True)
    latitude = Latitude(required=True)
    longitude = Longitude(required=True)
    postcode = Text(max_length=10, load_default=None, allow_none=True)


class Site(StrictSchema):
    id = fields.String()
    organisation_id = fields.String()
    bank_id = fields.String()
    name = fields.String()
    latitude = fields.Float()
    longitude = fields.Float()
    postcode = fields.String(allow_none=True)


BankList = page_of(Bank, "BankList")


class OrganisationQuery(PageQuery):
    bank_id = Id(required=True)
    kind = fields.String(load_default=None, validate=validate.OneOf(ORGANISATION_KINDS))


OrganisationList = page_of(Organisation, "OrganisationList")


class SiteQuery(PageQuery):
    bank_id = Id(required=True)
    organisation_id = Id(load_default=None)


SiteList = page_of(Site, "SiteList")


class RoleGrant(StrictSchema):
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    scope_type = fields.String(required=True, validate=validate.OneOf(SCOPE_TYPES))
    scope_id = Id(load_default=None, allow_none=True)
    bank_id = fields.String(dump_only=True, allow_none=True)


Roles = lambda: fields.List(fields.Nested(RoleGrant), required=True, validate=validate.Length(max=50))  # noqa: E731


class UserCreate(StrictSchema):
    email = Email(required=True)
    password = Password()
    name = Text(required=True)
    roles = Roles()


class RolesPut(StrictSchema):
    """PUT /v1/users/{id}/roles: the account's roles from now on (its worker grant stays)."""

    roles = Roles()


class User(StrictSchema):
    id = fields.String()
    email = fields.String()
    name = fields.String()
    roles = fields.List(fields.Nested(RoleGrant))
    worker_id = fields.String(allow_none=True)


class UserAccount(User):
    """An account as its bank admins manage it: a user and whether it may still log in."""

    active = fields.Boolean()
    deactivated_at = fields.DateTime(allow_none=True)


class UserListQuery(PageQuery):
    bank_id = Id(required=True)
    role = fields.String(load_default=None, validate=validate.OneOf(ROLES))
    active = QueryBool(load_default=None)


UserList = page_of(UserAccount, "UserList")


class WorkerRegistration(StrictSchema):
    bank_id = Id(required=True)
    email = Email(required=True)
    password = Password()
    name = Text(required=True)
    staff_type = Text(max_length=60, required=True)
    grade = Text(max_length=60, required=True)
    specialty = Text(max_length=100, load_default=None, allow_none=True)
    registration_body = Text(max_length=20, load_default=None, allow_none=True)
    registration_number = Text(max_length=40, load_default=None, allow_none=True)
    latitude = Latitude(required=True)
    longitude = Longitude(required=True)
    max_travel_km = TravelKm(load_default=None, allow_none=True)
    opted_out_of_48h = StrictBool(load_default=False)

    @validates_schema
    def registration_pairs(self, data, **kwargs):
        if bool(data.get("registration_body")) != bool(data.get("registration_number")):
            raise ValidationError(
                "registration_body and registration_number go together", "registration_number"
            )


class WorkerPatch(StrictSchema):
    extra_grades = fields.List(Text(max_length=60), validate=validate.Length(max=20))
    agency_id = Id(allow_none=True)  # the agency organisation supplying this worker, or null
    opted_out_of_48h = StrictBool()
    max_travel_km = TravelKm()


class Worker(StrictSchema):
    id = fields.String()
    user_id = fields.String()
    bank_id = fields.String()
    bank_number = fields.String()
    email = fields.String()
    name = fields.String()
    status = fields.String()
    staff_type = fields.String()
    grade = fields.String()
    extra_grades = fields.List(fields.String())
    specialty = fields.String(allow_none=True)
    registration_body = fields.String(allow_none=True)
    registration_number = fields.String(allow_none=True)
    latitude = fields.Float()
    longitude = fields.Float()
    max_travel_km = fields.Float()
    opted_out_of_48h = fields.Boolean()
    agency_id = fields.String(allow_none=True)
    created_at = fields.DateTime()


class WorkerPublic(StrictSchema):
    """The public part of a worker (API.md "Roles and scope"): what staff at a site see of a worker
    who applied to or is booked on their shifts. No email, home location, registration or travel
    preferences: those are reached only through a grant on the worker's bank."""

    id = fields.String()
    name = fields.String()
    staff_type = fields.String()
    grade = fields.String()
    extra_grades = fields.List(fields.String())
    bank_number = fields.String()
    status = fields.String()


class WorkerListQuery(PageQuery):
    bank_id = Id(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(WORKER_STATUSES))
    staff_type = SafeString(load_default=None, validate=validate.Length(max=60))


WorkerList = page_of(Worker, "WorkerList")


class StatusChange(StrictSchema):
    status = fields.String(required=True, validate=validate.OneOf(WORKER_STATUSES))
    reason = Text(max_length=500, load_default=None, allow_none=True)
