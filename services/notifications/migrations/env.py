from chassis.migrate import run_alembic_env
from notifications.models import metadata

run_alembic_env(metadata)
