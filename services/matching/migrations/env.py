from chassis.migrate import run_alembic_env
from matching.models import metadata

run_alembic_env(metadata)
