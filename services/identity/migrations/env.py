from chassis.migrate import run_alembic_env
from identity.models import metadata

run_alembic_env(metadata)
