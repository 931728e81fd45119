from chassis.migrate import run_alembic_env
from reporting.models import metadata

run_alembic_env(metadata)
