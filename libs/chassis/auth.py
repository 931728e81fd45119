"""Who may do what where: role grants over the bank > organisation > site tree.

Pure: no I/O. The gateway authorises every request with it, and services use it
to scope list queries by the caller's grants (DESIGN.md rule 6).
"""

from dataclasses import dataclass, field

ROLES = (
    "platform_admin",
    "bank_admin",
    "rota_coordinator",
    "timesheet_approver",
    "leadership",
    "worker",
    "agency",
    "hr_system",
)
SCOPE_TYPES = ("platform", "bank", "organisation", "site")

# Staff roles: everyone who works for a bank or its organisations rather than in shifts.
STAFF_ROLES = ("bank_admin", "rota_coordinator", "timesheet_approver", "leadership")
# Who runs a site's shifts, and who approves what they post (API.md "Roles and scope").
COORDINATORS = ("rota_coordinator", "bank_admin")
APPROVERS = ("timesheet_approver", "bank_admin")


@dataclass(frozen=True)
class Grant:
    role: str
    scope_type: str
    scope_id: str | None = None
    bank_id: str | None = None  # the bank the scope lies in (None for the platform)

    def to_dict(self):
        return {"role": self.role, "scope_type": self.scope_type, "scope_id": self.scope_id,
                "bank_id": self.bank_id}


@dataclass(frozen=True)
class Scope:
    """Where a resource lives. Unknown levels are None (a bank has no site)."""

    bank_id: str | None = None
    organisation_id: str | None = None
    site_id: str | None = None
    worker_id: str | None = None  # set for a worker's own resources

    def covered_by(self, grant):
        if grant.scope_type == "platform":
            return True
        if grant.role == "agency" and self.site_id is not None and self.worker_id is None:
            # An agency works for the whole bank: it sees the bank's shifts (those cascaded to
            # its tier, which the shifts service decides), not just its own organisation's.
            return grant.bank_id is not None and grant.bank_id == self.bank_id
        if self.worker_id is not None:
            # A worker belongs to the whole bank: its profile, documents and compliance are reached
            # through a grant on the bank (or the platform, above), never one on an organisation or
            # site (API.md "Roles and scope"). A coordinator still books any worker of the bank: that
            # acts on the shift, whose site the coordinator's grant covers.
            return grant.scope_type == "bank" and grant.scope_id == self.bank_id
        level = {"bank": self.bank_id, "organisation": self.organisation_id, "site": self.site_id}
        return grant.scope_id is not None and level.get(grant.scope_type) == grant.scope_id

    @classmethod
    def from_dict(cls, data):
        return cls(**{key: data.get(key) for key in ("bank_id", "organisation_id", "site_id", "worker_id")})


def worker_bank_ids(scope_ids):
    """The banks whose workers a list filter (`Principal.scope_ids`; None: unrestricted) reaches, as
    `Scope.covered_by` decides for one worker: those granted whole, not those of a granted
    organisation or site."""
    return None if scope_ids is None else set(scope_ids.get("bank") or ())


@dataclass(frozen=True)
class Principal:
    user_id: str
    email: str
    name: str
    grants: tuple = field(default_factory=tuple)
    worker_id: str | None = None

    @property
    def is_platform_admin(self):
        return any(g.role == "platform_admin" for g in self.grants)

    def has_any_role(self, roles):
        return self.is_platform_admin or any(g.role in roles for g in self.grants)

    def may(self, roles, scope):
        """True if one of `roles` is granted on a scope covering `scope`.

        A `worker` grant covers its bank's open resources, but a worker's own
        resources (scope.worker_id set) only for that worker.
        """
        if self.is_platform_admin:
            return True
        for grant in self.grants:
            if grant.role not in roles or not scope.covered_by(grant):
                continue
            if grant.role == "worker" and scope.worker_id is not None:
                if scope.worker_id != self.worker_id:
                    continue
            return True
        return False

    def reaches_bank(self, roles, bank_id):
        """True if one of `roles` is granted on the platform, on the bank or anywhere in it (one of
        its organisations or sites): for what shows each caller its own part of a bank (reports),
        where `scope_ids` then says which part."""
        return self.is_platform_admin or any(
            grant.role in roles and (grant.scope_type == "platform" or grant.bank_id == bank_id)
            for grant in self.grants)

    def bank_ids(self):
        """The banks the caller holds any grant in, sorted; None if granted on the platform."""
        if any(grant.scope_type == "platform" for grant in self.grants):
            return None
        return sorted({grant.bank_id for grant in self.grants if grant.bank_id})

    def places_in_bank(self, roles, bank_id):
        """The organisations and sites of `bank_id` where one of `roles` is granted, as
        {"organisation": sorted ids, "site": sorted ids}: the narrow grants, which reach the bank's
        shifts there but none of its workers whole (`Scope.covered_by`). What staff at those places
        see of a worker who applied to or is booked on one of their shifts is its public part
        (API.md "Roles and scope"; gateway/routes/identity.py)."""
        places = {"organisation": set(), "site": set()}
        for grant in self.grants:
            if grant.role in roles and grant.scope_type in places and grant.bank_id == bank_id:
                places[grant.scope_type].add(grant.scope_id)
        return {kind: sorted(ids) for kind, ids in places.items()}

    def scope_ids(self, roles):
        """For list filters: None if unrestricted, else {'bank': ids, 'organisation': ids, 'site': ids}."""
        if self.is_platform_admin:
            return None
        ids = {"bank": set(), "organisation": set(), "site": set()}
        for grant in self.grants:
            if grant.role in roles:
                if grant.scope_type == "platform":
                    return None
                ids[grant.scope_type].add(grant.scope_id)
        return ids

    def to_dict(self):
        return {
            "id": self.user_id,
            "email": self.email,
            "name": self.name,
            "roles": [g.to_dict() for g in self.grants],
            "worker_id": self.worker_id,
        }

    @classmethod
    def from_dict(cls, data):
        return cls(
            user_id=data["id"],
            email=data["email"],
            name=data["name"],
            grants=tuple(Grant(**g) for g in data.get("roles", [])),
            worker_id=data.get("worker_id"),
        )


@dataclass(frozen=True)
class Actor:
    """Who acts on a resource, and in which capacities, as the gateway established them.

    A route declares its capacities by name (`capacities={"site": ("rota_coordinator",
    "bank_admin"), "worker": ("worker",)}`); the gateway grants each one the caller holds over
    the resource in the path (chassis.auth.Principal.may) and passes the Actor to the service.
    The service then applies the rules of each capacity in one module of its own (e.g.
    `shifts/access.py`: "a worker books only itself, on an instant-book shift"). An RPC that
    acts for a caller takes the Actor as a required argument, so a missing one is refused,
    never read as "unrestricted" (DESIGN.md rule 8).
    """

    user_id: str
    capacities: frozenset = frozenset()
    worker_id: str | None = None
    agency_ids: tuple = ()  # the agency organisations the caller acts for, in the resource's bank

    def acts_as(self, capacity):
        return capacity in self.capacities

    def to_dict(self):
        return {"user_id": self.user_id, "capacities": sorted(self.capacities),
                "worker_id": self.worker_id, "agency_ids": list(self.agency_ids)}

    @classmethod
    def from_dict(cls, data):
        """The Actor an RPC was given; Forbidden when there is none (never "anyone")."""
        from chassis.errors import Forbidden

        if not isinstance(data, dict) or not data.get("user_id"):
            raise Forbidden("no caller: this call acts for someone and must say who")
        return cls(user_id=data["user_id"], capacities=frozenset(data.get("capacities") or ()),
                   worker_id=data.get("worker_id"), agency_ids=tuple(data.get("agency_ids") or ()))

    @classmethod
    def of(cls, principal, capacities, scope=None):
        """The capacities (name -> roles) `principal` holds over `scope` (or anywhere, if None)."""
        held = frozenset(
            name for name, roles in capacities.items()
            if (principal.may(roles, scope) if scope is not None else principal.has_any_role(roles))
            and (name != "worker" or principal.worker_id is not None)
        )
        bank_id = scope.bank_id if scope is not None else None
        agencies = tuple(sorted({g.scope_id for g in principal.grants if g.role == "agency"
                                 and (bank_id is None or g.bank_id == bank_id)}))
        return cls(principal.user_id, held, principal.worker_id, agencies)
