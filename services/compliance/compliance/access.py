"""Who may read or change a worker's documents and compliance, and a bank's requirements: the checks
this service makes itself, beside the gateway's route declarations (DESIGN.md rule 8: the edge is
not the only wall).

The gateway (gateway/routes/compliance.py) decides role and scope per route and hands every RPC that
acts for a caller two required arguments:

- `actor`: the caller as a `chassis.auth.Actor` (a dict), with the capacities it holds over the
  worker (or bank) in the path:
    `admin`   bank_admin (or platform_admin) over it;
    `worker`  the worker itself (`actor.worker_id`);
- `scope_ids`: the ids the caller's bank_admin grants cover per level, {"bank": [...],
  "organisation": [...], "site": [...]} (`chassis.auth.Principal.scope_ids`), or None for a platform
  grant only.

Here the service applies them to what only it knows for sure, the worker's bank as compliance holds
it: a worker's documents and compliance are reached by the worker itself, or by an admin whose
grants cover the worker's whole bank (`chassis.auth.worker_bank_ids`: a grant on one organisation
or site of the bank reaches none of its workers, API.md "Roles and scope"); a bank's requirements by
an admin granted that whole bank. A call with no actor, or with an actor whose capacities or grants
do not reach the worker or bank, is refused with Forbidden (403), never read as "anyone".
"""

from chassis.auth import Actor, worker_bank_ids
from chassis.errors import Forbidden

ADMIN_ROLES = ("bank_admin",)  # whose grants `scope_ids` lists (platform_admin: None)


def caller(actor, scope_ids):
    """The Actor and scope an RPC was given; Forbidden when either is missing or malformed."""
    actor = Actor.from_dict(actor)
    if scope_ids is not None and not isinstance(scope_ids, dict):
        raise Forbidden("no scope: this call acts within the caller's grants and must say which")
    return actor, scope_ids


def _admin_reaches(actor, scope_ids, bank_id):
    """An admin whose grants cover `bank_id` whole (or the platform)."""
    if not actor.acts_as("admin"):
        return False
    banks = worker_bank_ids(scope_ids)
    return banks is None or bank_id in banks


def check_reaches_worker(actor, scope_ids, worker_id, bank_id, *, as_worker=True):
    """The worker itself (when `as_worker`: submitting and reading, not verifying), or an admin of its
    bank (`bank_id`: the worker's bank as compliance knows it)."""
    if as_worker and actor.acts_as("worker") and actor.worker_id is not None and actor.worker_id == worker_id:
        return
    if _admin_reaches(actor, scope_ids, bank_id):
        return
    raise Forbidden("this worker's documents are reached by the worker or its bank's admins")


def check_admin_of_bank(actor, scope_ids, bank_id):
    """A bank's requirements: its admins (granted the whole bank) or the platform's."""
    if not _admin_reaches(actor, scope_ids, bank_id):
        raise Forbidden("a bank's requirements are set and read by its admins")
