"""The bare nameko floor of issue 22: an @http gateway whose POST /post makes one RPC to a backend
that dispatches one event to a listener, each service in its own process (`benchmarks.floor.run`)."""

BARE_ROLES = ("listener", "backend", "gateway")  # benchmarks/floor/services.py
# The floor with the platform's guarantees (benchmarks/floor/kept.py), its consumers first.
KEPT_ROLES = ("kept_listener_1", "kept_listener_2", "kept_listener_3", "kept", "kept_gateway")
