from chassis.migrate import run_alembic_env
from chassis.tables import metadata

run_alembic_env(metadata)
