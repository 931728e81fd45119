"""Where a request acts, so authorisation can ask "may this principal act there?".

Each route names its allowed roles and, if it acts on something in the bank tree,
where to find it: in the path (unknown -> 404), the body or the query (unknown ->
422). `authorise` resolves those places through identity and checks them against
the principal's grants: the one place the gateway decides access.
"""

from dataclasses import dataclass

from marshmallow import ValidationError

from chassis.auth import SCOPE_TYPES, Scope
from chassis.schemas import check_storable
from gateway.problems import Problem, forbidden, not_found, validation_error


@dataclass(frozen=True)
class PathRef:
    """The resource in the path. `in_part`: roles whose grants on an organisation or site of the
    resource's bank let the request through although they do not cover the resource (the caller
    then holds none of the route's capacities over it): the handler decides what, if anything,
    such a caller sees, and answers 404 when nothing (gateway/routes/identity.py: site staff and
    the public part of a worker who applied to or is booked on their shifts)."""

    name: str
    kind: str
    in_part: tuple = ()

    def targets(self, call):
        value = call.path[self.name]
        if not _storable(value):
            raise not_found()  # no resource has such an id (and no database may be asked of it)
        return [(self.kind, value, self.name)]

    def missing(self, field):
        return not_found()

    def outside(self):
        return not_found()  # do not confirm that another tenant's resource exists

    def reached_in_part(self, principal, scope):
        """True if one of `in_part` is granted on an organisation or site of `scope`'s bank."""
        if not self.in_part or scope.bank_id is None:
            return False
        places = principal.places_in_bank(self.in_part, scope.bank_id)
        return bool(places["organisation"] or places["site"])


@dataclass(frozen=True)
class BodyRef:
    name: str
    kind: str

    def targets(self, call):
        return _ids(self.kind, call.body.get(self.name), self.name)

    def missing(self, field):
        return validation_error({field: ["Does not exist."]})

    def outside(self):
        return forbidden("That resource lies outside your scope.")


@dataclass(frozen=True)
class QueryRef(BodyRef):
    def targets(self, call):
        return _ids(self.kind, call.query.get(self.name), self.name)


@dataclass(frozen=True)
class BankPart(QueryRef):
    """The bank in the query, for what shows each caller its own part of a bank (reports, rate
    violations) or what is the same for the whole bank (its rate cards): one of `roles` granted
    anywhere in the bank reaches it (the service then keeps to the caller's places where it has
    to); otherwise the bank is checked as any id in a query is (unknown 422, another tenant's 403)."""

    roles: tuple = ()

    def targets(self, call):
        found = super().targets(call)
        if found and call.principal is not None and call.principal.reaches_bank(self.roles, found[0][1]):
            return []
        return found


@dataclass(frozen=True)
class GrantRefs:
    """The scopes of role grants in the body (`roles: [{role, scope_type, scope_id}]`)."""

    name: str = "roles"

    def targets(self, call):
        grants = call.body.get(self.name)
        if not isinstance(grants, list):
            return []  # the schema will say what is wrong
        found = []
        for index, grant in enumerate(grants):
            if not isinstance(grant, dict) or grant.get("scope_type") not in SCOPE_TYPES:
                continue
            if grant["scope_type"] == "platform":
                found.append(("platform", None, f"{self.name}.{index}.scope_id"))
            else:
                found += _ids(grant["scope_type"], grant.get("scope_id"), f"{self.name}.{index}.scope_id")
        return found

    def missing(self, field):
        return validation_error({field: ["Does not exist."]})

    def outside(self):
        return forbidden("You may not grant roles outside your scope.")


def split_refs(scope):
    """A route's `scope` (one ref, or a tuple of them: the resource in the path and ids in the
    body) as (path refs, checked first, before the body is read; the others)."""
    refs = scope if isinstance(scope, tuple) else () if scope is None else (scope,)
    return ([ref for ref in refs if isinstance(ref, PathRef)],
            [ref for ref in refs if not isinstance(ref, PathRef)])


def _storable(value):
    """Text a database can be asked about: no NUL, and valid Unicode (no unpaired surrogate)."""
    try:
        check_storable(value)
    except ValidationError:
        return False
    return True


def _ids(kind, value, field):
    """A checkable id: a non-empty string a database can hold (_storable). Anything else is left for
    validation to refuse (422), or names nothing there is (404): no resource has such an id."""
    return [(kind, value, field)] if isinstance(value, str) and value and _storable(value) else []


def _reached_in_part(ref, principal, scope):
    return isinstance(ref, PathRef) and ref.reached_in_part(principal, scope)


def authorise(principal, roles, ref, call, resolve_scope):
    """Raise the right Problem unless `principal` holds one of `roles` where the request acts."""
    if principal is None:
        return []
    if not principal.has_any_role(roles):
        raise forbidden("Your roles do not allow this.")
    if ref is None:
        return []
    scopes = []
    for kind, resource_id, field in ref.targets(call):
        if kind == "platform":
            if not principal.is_platform_admin:
                raise ref.outside()
            scopes.append(Scope())
            continue
        found = resolve_scope(kind, resource_id)
        if found is None:
            raise ref.missing(field)
        scope = Scope.from_dict(found)
        if not principal.may(roles, scope) and not _reached_in_part(ref, principal, scope):
            raise ref.outside()
        scopes.append(scope)
    return scopes


__all__ = ["PathRef", "BodyRef", "QueryRef", "GrantRefs", "authorise", "split_refs", "Problem"]
