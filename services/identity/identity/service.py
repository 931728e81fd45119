"""Identity's nameko entrypoints: validate, delegate (writes to use_cases, reads to queries,
login to credentials), return dicts."""

from nameko.dependency_providers import Config
from nameko.timer import timer

from chassis import tokens
from chassis.auth import Actor
from chassis.errors import Forbidden, Invalid
from chassis.handlers import event_handler
from chassis.lifecycle import on_start
from chassis.rpc import domain_rpc
from chassis.schemas import PageQuery, load_or_invalid
from chassis.service import StaffbankService
from identity import credentials, domain, queries, schemas, use_cases


class IdentityService(StaffbankService):
    name = "identity"
    required_config = ("TOKEN_SIGNING_KEY",)  # checked at start (chassis.config.check_config)
    config = Config()

    @staticmethod
    def config_problems(config):
        """Checked at start with required_config: a bootstrap admin password must pass the rules
        every password does (schemas.Password), or the process refuses to start."""
        password = config.get("BOOTSTRAP_ADMIN_PASSWORD")
        problems = schemas.password_problems(password) if password else []
        if not problems:
            return []
        return [f"BOOTSTRAP_ADMIN_PASSWORD is not a usable password: {' '.join(problems)}"]

    @on_start
    def bootstrap_admin(self):
        """API.md: at every start, create BOOTSTRAP_ADMIN_EMAIL as platform_admin if missing."""
        email = self.config.get("BOOTSTRAP_ADMIN_EMAIL")
        password = self.config.get("BOOTSTRAP_ADMIN_PASSWORD")
        if email and password:
            with self.db.unit_of_work() as uow:
                use_cases.ensure_platform_admin(uow, email, password)

    @timer(interval=3600)
    def prune_login_failures(self):
        with self.db.unit_of_work() as uow:
            credentials.prune_login_failures(uow)

    @domain_rpc
    def issue_token(self, payload, client_address=None):
        """`client_address`: where the gateway saw the attempt come from (the per-address limit)."""
        data = load_or_invalid(schemas.LoginRequest(), payload)
        client = load_or_invalid(schemas.LoginClient(), {"client_address": client_address})
        with self.db.unit_of_work() as uow:  # a failure is recorded, then refused below
            attempt = credentials.attempt_login(
                uow, data["email"], data["password"], client["client_address"],
                address_limit=self.config.get("LOGIN_ADDRESS_FAILURE_LIMIT",
                                              domain.DEFAULT_LOGIN_ADDRESS_FAILURE_LIMIT))
        return credentials.token_for(attempt, key=tokens.signing_key(self.config),
                                     ttl_seconds=self.config["TOKEN_TTL_SECONDS"])

    @domain_rpc
    def get_principal(self, user_id):
        return queries.get_principal(self.db.session, user_id)

    @domain_rpc
    def resolve_scope(self, kind, resource_id):
        return queries.resolve_scope(self.db.session, kind, resource_id)

    @domain_rpc
    def get_bank(self, bank_id):
        return queries.get_bank(self.db.session, bank_id)

    @domain_rpc
    def get_organisation(self, organisation_id):
        return queries.get_organisation(self.db.session, organisation_id)

    @domain_rpc
    def get_site(self, site_id):
        return queries.get_site(self.db.session, site_id)

    @domain_rpc
    def role_holders(self, roles, place_ids):
        """Who holds one of `roles` over a place (its site, organisation and bank ids), for a
        service that tells them of something there (notifications)."""
        if not (isinstance(roles, list) and isinstance(place_ids, list)
                and len(roles) + len(place_ids) <= 50):
            raise Invalid("roles and place_ids must be short lists of names and ids")
        return queries.role_holders(self.db.session, [str(r) for r in roles],
                                    [str(i) for i in place_ids if i])

    @domain_rpc
    def create_bank(self, payload):
        data = load_or_invalid(schemas.BankCreate(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.create_bank(uow, data)

    @domain_rpc
    def create_organisation(self, payload):
        data = load_or_invalid(schemas.OrganisationCreate(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.create_organisation(uow, data)

    @domain_rpc
    def create_site(self, payload):
        data = load_or_invalid(schemas.SiteCreate(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.create_site(uow, data)

    @domain_rpc
    def create_user(self, payload):
        data = load_or_invalid(schemas.UserCreate(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.create_user(uow, data)

    @domain_rpc
    def list_banks(self, query, bank_ids):
        """The banks among `bank_ids` (a required list; None only for a caller granted on the
        platform): where the caller holds a grant."""
        data = load_or_invalid(PageQuery(), query)
        if bank_ids is not None and not (isinstance(bank_ids, list)
                                         and all(isinstance(i, str) for i in bank_ids)):
            raise Forbidden("bank_ids must list the caller's banks")
        return queries.list_banks(self.db.session, data, bank_ids)

    @domain_rpc
    def list_organisations(self, query):
        """A bank's organisations (`bank_id` required: the gateway checked the caller reaches it)."""
        data = load_or_invalid(schemas.OrganisationQuery(), query)
        return queries.list_organisations(self.db.session, data)

    @domain_rpc
    def list_sites(self, query):
        """A bank's sites (`bank_id` required, as above), or one organisation's."""
        return queries.list_sites(self.db.session, load_or_invalid(schemas.SiteQuery(), query))

    @domain_rpc
    def list_users(self, query):
        """Accounts with a grant in `query`'s bank (required: the gateway checked the caller's scope
        over it)."""
        data = load_or_invalid(schemas.UserListQuery(), query)
        return queries.list_users(self.db.session, data)

    @domain_rpc
    def set_user_roles(self, user_id, payload, actor):
        actor = Actor.from_dict(actor)
        data = load_or_invalid(schemas.RolesPut(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.set_user_roles(uow, user_id, data, actor)

    @domain_rpc
    def deactivate_user(self, user_id, actor):
        actor = Actor.from_dict(actor)
        with self.db.unit_of_work() as uow:
            return use_cases.deactivate_user(uow, user_id, actor)

    @domain_rpc
    def register_worker(self, payload):
        data = load_or_invalid(schemas.WorkerRegistration(), payload)
        with self.db.unit_of_work() as uow:
            return use_cases.register_worker(uow, data)

    @domain_rpc
    def get_worker(self, worker_id):
        return queries.get_worker(self.db.session, worker_id)

    @domain_rpc
    def get_public_worker(self, worker_id):
        """The public part of a worker (id, name, staff type, grades, bank number, status), for staff
        who may see no more of it (the gateway decides who: gateway/routes/identity.py)."""
        return queries.get_public_worker(self.db.session, worker_id)

    @domain_rpc
    def banks_of_workers(self, worker_ids):
        if not isinstance(worker_ids, list) or len(worker_ids) > 5000:
            raise Invalid("worker_ids must be a list of at most 5000 ids")
        return queries.banks_of_workers(self.db.session, [str(w) for w in worker_ids])

    @domain_rpc
    def list_workers(self, query, scope_ids):
        """`scope_ids` (from Principal.scope_ids) limits the result to the caller's banks."""
        data = load_or_invalid(schemas.WorkerListQuery(), query)
        if scope_ids is not None:
            scope_ids = {kind: set(ids) for kind, ids in scope_ids.items()}
        return queries.list_workers(self.db.session, data, scope_ids)

    @domain_rpc
    def update_worker(self, worker_id, patch):
        data = load_or_invalid(schemas.WorkerPatch(), patch)
        with self.db.unit_of_work() as uow:
            return use_cases.update_worker(uow, worker_id, data)

    @domain_rpc
    def change_worker_status(self, worker_id, status, reason=None):
        data = load_or_invalid(schemas.StatusChange(), {"status": status, "reason": reason})
        with self.db.unit_of_work() as uow:
            return use_cases.change_worker_status(uow, worker_id, data["status"], data["reason"])

    # --- onboarding: compliance's facts move the worker along its status machine -------

    @event_handler("compliance", "compliance.document_submitted")
    def on_document_submitted(self, event):
        self._consume(event)

    @event_handler("compliance", "compliance.cleared")
    def on_compliance_cleared(self, event):
        self._consume(event)

    @event_handler("compliance", "compliance.uncleared")
    def on_compliance_uncleared(self, event):
        self._consume(event)

    @event_handler("compliance", "compliance.lapsed")
    def on_compliance_lapsed(self, event):
        self._consume(event)

    def _consume(self, event):
        with self.db.unit_of_work() as uow:
            use_cases.consume(uow, event)
