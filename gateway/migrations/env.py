from chassis.migrate import run_alembic_env
from gateway.models import metadata

run_alembic_env(metadata)
