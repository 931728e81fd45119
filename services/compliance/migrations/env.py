from chassis.migrate import run_alembic_env
from compliance.models import metadata

run_alembic_env(metadata)
