"""Root conftest: eventlet first, then the chassis's pytest plugin (infra and fixtures)."""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # nameko's plugin no longer does it; must precede every socket

pytest_plugins = ["chassis.testing"]
