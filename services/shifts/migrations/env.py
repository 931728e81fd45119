from chassis.migrate import run_alembic_env
from shifts.models import metadata

run_alembic_env(metadata)
