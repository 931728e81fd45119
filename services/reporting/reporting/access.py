"""Who sees which part of a bank's reports, beyond the gateway's route declarations, and why.

The gateway lets `leadership` and `bank_admin` read reports of a bank they hold that role
anywhere in (a grant on the platform, the bank, or one of its organisations or sites:
`chassis.auth.Principal.reaches_bank`); an unknown bank is 422, a bank they have nothing in 403.
It hands over the caller (an `Actor` holding the `reader` capacity) and the ids its grants of
those roles cover (`scope_ids`, None only for a platform grant). What only this service can
apply is the part each caller sees (DESIGN.md rule 6): a bank-wide grant (or the platform's)
sees every site; leadership of one trust (an organisation grant) sees that organisation's sites,
and a grant on a site that site: every figure counts only the shifts, timesheets and sites in
that part, and the sitrep lists only the organisations in it. Workers belong to the whole bank,
so utilisation counts every worker of the bank, at the sites the caller sees.

Both arguments are required: a missing caller or scope is refused, never read as "everything"
(DESIGN.md rule 8).
"""

from dataclasses import dataclass

from chassis.auth import Actor
from chassis.errors import Forbidden

READERS = ("leadership", "bank_admin")
CAPACITIES = {"reader": READERS}


@dataclass(frozen=True)
class Reach:
    """The part of one bank a caller's reports cover: all of it, or some organisations and sites."""

    bank_id: str
    everything: bool = False
    organisation_ids: tuple = ()
    site_ids: tuple = ()


def reach(actor, scope_ids, bank_id):
    """The caller's part of `bank_id`. `actor`: the gateway's Actor (as a dict); `scope_ids`: the
    ids per level ({"bank": [...], "organisation": [...], "site": [...]}) its reader grants cover,
    or None for a platform grant."""
    actor = Actor.from_dict(actor)
    if not actor.acts_as("reader"):
        raise Forbidden("only leadership and bank admins read reports")
    if scope_ids is not None and not isinstance(scope_ids, dict):
        raise Forbidden("no scope: reports are read within the caller's grants")
    if scope_ids is None or bank_id in (scope_ids.get("bank") or ()):
        return Reach(bank_id, everything=True)
    organisations, sites = tuple(scope_ids.get("organisation") or ()), tuple(scope_ids.get("site") or ())
    if not organisations and not sites:
        raise Forbidden("that bank lies outside your scope")
    return Reach(bank_id, organisation_ids=organisations, site_ids=sites)
