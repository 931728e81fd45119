"""Seeding: the world's banks made real through the public API, as their people would.

The platform admin (the bootstrap account) creates each bank and its bank manager; the bank
manager creates the organisations, sites, staff accounts, rate cards, compliance requirements,
priority groups and the agency's tier. Workers register themselves; those who will look for
shifts sign in and upload their own documents, the bank office uploads the others' (sent in
by email). The bank manager verifies them (a few are rejected first and sent again) and grants
acting-down grades; compliance clears the workers and identity activates them, by events, and
seeding waits until every cleared worker is `active`."""

import time
from dataclasses import dataclass, field
from datetime import timedelta

from demo.client import ApiError
from demo.world import KINDS, rng

PASSWORD = "demo-password-1"
ACTIVATION_TIMEOUT_SECONDS = 300


@dataclass
class BankHandle:
    """The platform's ids for one bank of the world, and its people signed in."""

    bank: object  # world.Bank
    id: str = ""
    orgs: dict = field(default_factory=dict)  # key -> id
    sites: dict = field(default_factory=dict)  # key -> id
    users: dict = field(default_factory=dict)  # key -> Caller
    workers: dict = field(default_factory=dict)  # key -> {"id", "bank_number", "caller"}
    groups: dict = field(default_factory=dict)  # org key -> priority group id
    site_of_id: dict = field(default_factory=dict)  # site id -> key
    worker_of_id: dict = field(default_factory=dict)  # worker id -> key

    @property
    def names(self):
        return {"sites": self.sites, "orgs": self.orgs}


def seed(api, admin, world, today, progress):
    handles = {bank.key: BankHandle(bank) for bank in world.banks}
    step = progress.task("banks, organisations, sites, staff",
                         sum(1 + len(b.organisations) + len(b.sites) + len(b.users) + len(b.rate_cards)
                             + len(b.requirements) for b in world.banks))
    for handle in handles.values():
        _bank(api, admin, handle, step)
    workers = [(handles[w.bank_key], w) for w in world.workers]
    step = progress.task("workers registered, documents checked", len(workers))
    results = api.map(lambda pair: _onboard(api, world, pair[0], pair[1], today), workers, step)
    for (handle, worker), result in zip(workers, results, strict=True):
        handle.workers[worker.key] = result
        handle.worker_of_id[result["id"]] = worker.key
    _wait_for_activation(handles, progress)
    step = progress.task("priority groups and agency tiers",
                         sum(len(h.bank.priority_groups) + 1 for h in handles.values()))
    for handle in handles.values():
        _groups_and_agency(handle, step)
    return handles


def _bank(api, admin, handle, step):
    bank = handle.bank
    handle.id = admin.create("/v1/banks", {"name": bank.name})["id"]
    step()
    manager = next(u for u in bank.users if u.key == "admin")
    grant = {"role": "bank_admin", "scope_type": "bank", "scope_id": handle.id}
    admin.create("/v1/users", {"email": manager.email, "password": PASSWORD, "name": manager.name,
                               "roles": [grant]})
    step()
    office = handle.users["admin"] = api.user(manager.email, PASSWORD)

    def organisation(org):
        body = {"bank_id": handle.id, "name": org.name, "kind": org.kind}
        if org.ods_code:
            body["ods_code"] = org.ods_code
        return office.create("/v1/organisations", body)["id"]

    for org, org_id in zip(bank.organisations, api.map(organisation, bank.organisations, step), strict=True):
        handle.orgs[org.key] = org_id

    def site(site):
        body = {"organisation_id": handle.orgs[site.org_key], "name": site.name, "latitude": site.latitude,
                "longitude": site.longitude}
        if site.postcode:
            body["postcode"] = site.postcode
        return office.create("/v1/sites", body)["id"]

    for s, site_id in zip(bank.sites, api.map(site, bank.sites, step), strict=True):
        handle.sites[s.key] = site_id
        handle.site_of_id[site_id] = s.key

    def card(card):
        staff_type, grade, day, night, weekend, holiday = card
        office.put("/v1/rate-cards", {"bank_id": handle.id, "staff_type": staff_type, "grade": grade,
                                      "day_rate": f"{day:.2f}", "night_rate": f"{night:.2f}",
                                      "weekend_rate": f"{weekend:.2f}",
                                      "bank_holiday_rate": f"{holiday:.2f}"})

    api.map(card, bank.rate_cards, step)
    api.map(lambda item: office.put("/v1/compliance-requirements", {
        "bank_id": handle.id, "staff_type": item[0], "kinds": item[1]}),
        sorted(bank.requirements.items()), step)

    def scope_id(scope_type, key):
        ids = {"bank": handle.id, "organisation": handle.orgs.get(key), "site": handle.sites.get(key)}
        return ids[scope_type]

    def user(spec):
        office.create("/v1/users", {"email": spec.email, "password": PASSWORD, "name": spec.name, "roles": [
            {"role": role, "scope_type": scope_type, "scope_id": scope_id(scope_type, key)}
            for role, scope_type, key in spec.roles]})
        return spec.key, api.user(spec.email, PASSWORD)

    others = [u for u in bank.users if u.key != "admin"]
    handle.users.update(dict(api.map(user, others, step)))


def _documents(seed, worker, today):
    """The documents a worker sends, as (kind, reference, issued_on, expires_on)."""
    r = rng(seed, "documents", worker.key)
    docs = []
    for kind in KINDS:
        if kind in worker.missing:
            continue
        if kind == "professional_registration" and not worker.registration_body:
            continue
        issued = today - timedelta(days=r.randint(30, 900))
        expires = None
        if kind == "identity":
            expires = today + timedelta(days=r.randint(400, 3000))
        elif kind == "right_to_work" and r.random() < 0.3:
            expires = today + timedelta(days=r.randint(200, 1100))
        elif kind == "professional_registration":
            expires = today + timedelta(days=r.randint(60, 365))
        elif kind == "mandatory_training":
            issued = today - timedelta(days=r.randint(5, 330))
            if worker.training_lapses_on_day is not None:
                expires = today + timedelta(days=worker.training_lapses_on_day)
            else:
                expires = today + timedelta(days=r.randint(40, 360))
        reference = {"identity": f"Passport {r.randint(100000000, 999999999)}",
                     "right_to_work": f"Share code W{r.randint(10000000, 99999999)}",
                     "professional_registration": f"{worker.registration_body} {worker.registration_number}",
                     "dbs": f"DBS {r.randint(100000000000, 999999999999)}",
                     "occupational_health": "Fit to work, no restrictions",
                     "references": "Two satisfactory references",
                     "mandatory_training": "Core skills (11 subjects) complete"}[kind]
        docs.append((kind, reference, issued, expires))
    return docs


def _onboard(api, world, handle, worker, today):
    """Register, send documents, have them verified, grant acting-down grades or an agency."""
    body = {"bank_id": handle.id, "email": worker.email, "password": PASSWORD, "name": worker.name,
            "staff_type": worker.staff_type, "grade": worker.grade, "latitude": worker.latitude,
            "longitude": worker.longitude, "max_travel_km": worker.max_travel_km,
            "opted_out_of_48h": worker.opted_out_of_48h}
    if worker.specialty:
        body["specialty"] = worker.specialty
    if worker.registration_body:
        body["registration_body"] = worker.registration_body
        body["registration_number"] = worker.registration_number
    registered = api.anonymous().create("/v1/workers", body)
    caller = api.user(worker.email, PASSWORD) if worker.acts else None
    office = handle.users["admin"]
    uploader = caller or office
    path = f"/v1/workers/{registered['id']}/documents"
    if worker.onboarding != "applied":
        for n, (kind, reference, issued, expires) in enumerate(_documents(world.seed, worker, today)):
            doc = {"kind": kind, "reference": reference, "issued_on": issued.isoformat()}
            if expires:
                doc["expires_on"] = expires.isoformat()
            sent = uploader.create(path, doc)
            if worker.onboarding == "rejected_once" and n == 0:
                office.post(f"/v1/documents/{sent['id']}/verify", {
                    "outcome": "rejected", "note": "The scan is unreadable; please send a clearer copy."})
                sent = uploader.create(path, {**doc, "reference": reference + " (rescanned)"})
            office.post(f"/v1/documents/{sent['id']}/verify", {"outcome": "verified"})
    if caller and rng(world.seed, "preferences", worker.key).random() < 0.7:
        caller.put("/v1/notification-preferences", {"email": False, "in_app": True})  # the app will do
    patch = {}
    if worker.extra_grades:
        patch["extra_grades"] = list(worker.extra_grades)
    if worker.agency:
        patch["agency_id"] = handle.orgs[handle.bank.agency_key]
    if patch:
        office.patch(f"/v1/workers/{registered['id']}", patch)
    return {"id": registered["id"], "bank_number": registered["bank_number"], "caller": caller}


def _wait_for_activation(handles, progress):
    """Compliance clears, identity activates (events): wait until every cleared worker is active."""
    expected = {key: sum(1 for w in h.bank.workers if w.cleared) for key, h in handles.items()}
    step = progress.task("workers activated (compliance -> identity events)", sum(expected.values()))
    deadline = time.monotonic() + ACTIVATION_TIMEOUT_SECONDS
    seen = 0
    while True:
        active = {key: sum(1 for _ in h.users["admin"].pages("/v1/workers", bank_id=h.id, status="active"))
                  for key, h in handles.items()}
        total = sum(active.values())
        if total > seen:
            step(total - seen)
            seen = total
        if all(active[k] >= expected[k] for k in expected):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers never all became active: {active} of {expected}")
        time.sleep(1.0)


def _groups_and_agency(handle, step):
    office = handle.users["admin"]
    for org_key, worker_keys in sorted(handle.bank.priority_groups.items()):
        org = next(o for o in handle.bank.organisations if o.key == org_key)
        group = office.create("/v1/priority-groups", {
            "organisation_id": handle.orgs[org_key], "name": f"{org.name} regulars",
            "worker_ids": [handle.workers[k]["id"] for k in worker_keys]})
        handle.groups[org_key] = group["id"]
        step()
    if handle.bank.agency_key:
        try:
            office.put(f"/v1/agencies/{handle.orgs[handle.bank.agency_key]}/tier", {"tier": 1})
        except ApiError as error:
            raise RuntimeError(f"could not place the agency on tier 1: {error}") from error
    step()
