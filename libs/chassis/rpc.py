"""`@domain_rpc`: an RPC entrypoint whose DomainErrors are the caller's fault, not ours
(logged at info, returned to the caller as themselves)."""

from functools import partial

from nameko.rpc import rpc

from chassis.errors import DomainError

domain_rpc = partial(rpc, expected_exceptions=(DomainError,))
