"""Accounts, tokens, the bank tree and workers (identity).

A mixin of GatewayService: each method is one route of API.md, declared with `@route`
(roles, where it acts, schemas); the handler only translates and delegates by RPC."""

import ipaddress

from chassis.auth import ROLES, STAFF_ROLES
from chassis.schemas import PageQuery
from gateway.access import BankPart, BodyRef, GrantRefs, PathRef, QueryRef
from gateway.http import ANY_ROLE, route
from gateway.problems import not_found
from identity import schemas as identity_schemas

# In which capacities a caller reads a worker's whole profile (chassis.auth.Actor): staff granted on
# its bank (or the platform), or the worker itself.
PROFILE = {"profile": STAFF_ROLES, "worker": ("worker",)}


class IdentityRoutes:
    @route("POST", "/v1/auth/token", body=identity_schemas.LoginRequest,
           response=identity_schemas.TokenResponse, tags=["identity"],
           responses={401: "Wrong email or password, or a deactivated account",
                      429: "Too many failed logins for this account or from this address; try again "
                           "later"})
    def issue_token(self, call):
        """Exchange email and password for a bearer token."""
        return self.identity.issue_token(
            call.body, client_address(call.request, self.config.get("LOGIN_TRUSTED_PROXIES", 0)))

    @route("GET", "/v1/me", roles=ANY_ROLE, response=identity_schemas.User, tags=["identity"])
    def me(self, call):
        """The caller's account, role grants and worker id."""
        return call.principal.to_dict()

    @route("POST", "/v1/banks", roles=("platform_admin",), body=identity_schemas.BankCreate,
           response=identity_schemas.Bank, status=201, idempotent=True, tags=["identity"])
    def create_bank(self, call):
        """Create a bank."""
        return self.identity.create_bank(call.body)

    @route("POST", "/v1/organisations", roles=("bank_admin",), body=identity_schemas.OrganisationCreate,
           response=identity_schemas.Organisation, status=201, scope=BodyRef("bank_id", "bank"),
           idempotent=True, tags=["identity"])
    def create_organisation(self, call):
        """Create an organisation (trust, practice, hub or agency) in a bank."""
        return self.identity.create_organisation(call.body)

    @route("POST", "/v1/sites", roles=("bank_admin",), body=identity_schemas.SiteCreate,
           response=identity_schemas.Site, status=201, scope=BodyRef("organisation_id", "organisation"),
           idempotent=True, tags=["identity"])
    def create_site(self, call):
        """Create a site of an organisation."""
        return self.identity.create_site(call.body)

    # The bank's tree (its organisations and sites: names, kinds, places) is read by everyone granted
    # anywhere in the bank, its workers included: it is what their shifts already name, and what the
    # portal's pickers and tables show instead of ids.
    @route("GET", "/v1/banks", roles=ANY_ROLE, query=PageQuery, response=identity_schemas.BankList,
           tags=["identity"])
    def list_banks(self, call):
        """The banks the caller holds a grant in (every bank to a platform grant), oldest first."""
        return self.identity.list_banks(call.query, call.principal.bank_ids())

    @route("GET", "/v1/organisations", roles=ROLES, query=identity_schemas.OrganisationQuery,
           response=identity_schemas.OrganisationList, scope=BankPart("bank_id", "bank", roles=ROLES),
           tags=["identity"])
    def list_organisations(self, call):
        """A bank's organisations (any grant in the bank reads them), oldest first; `kind` filters."""
        return self.identity.list_organisations(call.query)

    @route("GET", "/v1/sites", roles=ROLES, query=identity_schemas.SiteQuery,
           response=identity_schemas.SiteList, scope=BankPart("bank_id", "bank", roles=ROLES),
           tags=["identity"])
    def list_sites(self, call):
        """A bank's sites, or one organisation's (any grant in the bank reads them), oldest first."""
        return self.identity.list_sites(call.query)

    @route("POST", "/v1/users", roles=("bank_admin",), body=identity_schemas.UserCreate,
           response=identity_schemas.User, status=201, scope=GrantRefs("roles"), idempotent=True,
           tags=["identity"])
    def create_user(self, call):
        """Create a staff account with role grants inside the caller's scope."""
        return self.identity.create_user(call.body)

    @route("GET", "/v1/users", roles=("bank_admin",), query=identity_schemas.UserListQuery,
           response=identity_schemas.UserList, scope=QueryRef("bank_id", "bank"), tags=["identity"])
    def list_users(self, call):
        """Accounts with a grant in the bank (staff and workers), oldest first, each with its grants
        there and whether it is active; `role` and `active` filter."""
        return self.identity.list_users(call.query)

    @route("PUT", "/v1/users/{id}/roles", roles=("bank_admin",), body=identity_schemas.RolesPut,
           response=identity_schemas.UserAccount, scope=(PathRef("id", "user"), GrantRefs("roles")),
           tags=["identity"], responses={409: "The account is deactivated"})
    def set_user_roles(self, call):
        """Replace an account's roles (its worker grant stays), under the rules of creating one: the
        account and every grant given lie in the caller's scope; nobody changes their own. A removed
        grant counts for nothing from the next request."""
        changed = self.identity.set_user_roles(call.path["id"], call.body, call.actor_dict)
        self.caches.principals.forget(call.path["id"])  # this client's next request sees it at once
        return changed

    @route("POST", "/v1/users/{id}/deactivate", roles=("bank_admin",), response=identity_schemas.UserAccount,
           scope=PathRef("id", "user"), tags=["identity"])
    def deactivate_user(self, call):
        """The account can no longer log in and its tokens are refused from the next request; a
        worker's account leaves the bank (status left). Nobody deactivates their own."""
        deactivated = self.identity.deactivate_user(call.path["id"], call.actor_dict)
        self.caches.principals.forget(call.path["id"])
        return deactivated

    @route("POST", "/v1/workers", body=identity_schemas.WorkerRegistration, response=identity_schemas.Worker,
           status=201, idempotent=True, tags=["identity"])
    def register_worker(self, call):
        """A worker registers itself with a bank (no token needed)."""
        return self.identity.register_worker(call.body)

    @route("GET", "/v1/workers", roles=STAFF_ROLES, query=identity_schemas.WorkerListQuery,
           response=identity_schemas.WorkerList, tags=["identity"])
    def list_workers(self, call):
        """Workers of the banks the caller is granted on whole (none to staff of one organisation or site)."""
        return self.identity.list_workers(call.query, call.scope_ids(STAFF_ROLES))

    @route("GET", "/v1/workers/{id}", roles=STAFF_ROLES + ("worker",),
           response=(identity_schemas.Worker, identity_schemas.WorkerPublic),
           scope=PathRef("id", "worker", in_part=STAFF_ROLES), capacities=PROFILE, tags=["identity"])
    def get_worker(self, call):
        """A worker's profile: whole, or its public part to staff of one of its shifts' sites.

        Whole (Worker) to the worker itself and to staff granted on its bank or the platform; its
        public part (WorkerPublic: id, name, staff type, grades, bank number, status) to staff granted
        on a site or organisation of the bank where the worker applied to or was booked on a shift
        (API.md "Roles and scope"). Such staff see a worker once it has come to them: its id is then on
        their shift, its applications or its timesheet, whatever the shift became since (a cancelled
        booking still was one). Any other worker is 404 to them, as to staff of another bank."""
        worker_id = call.path["id"]
        if call.actor.acts_as("profile") or call.actor.acts_as("worker"):
            return self.identity.get_worker(worker_id)
        # Let through on a grant on an organisation or site of the worker's bank (PathRef.in_part):
        # shifts, which owns applications and bookings, says whether the worker came to one of them.
        places = call.principal.places_in_bank(STAFF_ROLES, call.scopes[0].bank_id)
        if not self.shifts.worker_has_shift_at(worker_id, places["organisation"], places["site"]):
            raise not_found()
        return self.identity.get_public_worker(worker_id)

    @route("PATCH", "/v1/workers/{id}", roles=("bank_admin",), body=identity_schemas.WorkerPatch,
           response=identity_schemas.Worker, scope=PathRef("id", "worker"), tags=["identity"])
    def update_worker(self, call):
        """Change a worker's extra grades, 48-hour opt-out or travel distance."""
        return self.identity.update_worker(call.path["id"], call.body)


def client_address(request, trusted_proxies):
    """Who sent a request, for identity's per-address login limit: the connection's address, or with
    `trusted_proxies` (LOGIN_TRUSTED_PROXIES) reverse proxies in front, the address the outermost of
    them saw (X-Forwarded-For's entry that many from its end: anything left of it is the client's to
    forge). What is not an IP address counts as the connection's address."""
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    candidate = hops[-trusted_proxies] if 0 < trusted_proxies <= len(hops) else request.remote_addr
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return request.remote_addr
