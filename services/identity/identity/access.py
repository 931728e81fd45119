"""Who may change an account: what identity checks per caller beyond the gateway's route
declarations.

The gateway decides role and scope as for creating an account (API.md "Identity": only grants within
the caller's scope): a `bank_admin` over the place the account sits at (`queries.user_place`: the
narrowest place holding all its grants, so nobody takes away a grant they could not have given),
and over the scope of every grant it gives (`GrantRefs`). What depends on the account itself is
here. The RPCs take the caller as a `chassis.auth.Actor`; a missing one is refused
(`Actor.from_dict`), never read as "anyone" (DESIGN.md rule 8).
"""

from chassis.errors import Forbidden


def check_may_change(actor, user, what):
    """Nobody changes their own roles or deactivates their own account: an administrator could
    otherwise lock the platform out (the last platform admin), and rights are given and taken by
    someone else, as timesheets are approved."""
    if actor.user_id == user.id:
        raise Forbidden(f"nobody may {what} their own account")
