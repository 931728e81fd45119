from chassis.migrate import run_alembic_env
from payroll.models import metadata

run_alembic_env(metadata)
