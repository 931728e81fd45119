"""The bare nameko floor of issue 22: an @http gateway whose POST /post makes one RPC to a backend
that dispatches one event to a listener, each service in its own process (`benchmarks.floor.run`)."""
