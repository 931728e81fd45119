"""`@domain_rpc`: an RPC entrypoint whose DomainErrors are the caller's fault, not ours
(nameko logs them as expected; the caller gets them back as themselves)."""

from nameko.rpc import rpc

from chassis.errors import DomainError


def domain_rpc(fn):
    # nameko's decorator drops keyword arguments when applied directly to a function,
    # so build the configured decorator first.
    return rpc(expected_exceptions=(DomainError,))(fn)
