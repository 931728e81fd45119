# Staffbank: `make run` starts the platform, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint infra dead-letters asyncapi bench soak demo clean

install: $(STAMP)

# runtime (requirements.txt, all the image carries) and development tools (requirements-dev.txt)
$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip<26" "setuptools<82"
	$(BIN)/pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

infra:
	@if [ -z "$${TEST_AMQP_URI:-}$${TEST_DATABASE_URL:-}" ]; then scripts/ensure-infra.sh; fi

run: install infra
	$(BIN)/python -m deploy.run

# axe-core for the portal's accessibility test, from the committed lock file
AXE := tests/a11y/node_modules/axe-core/axe.min.js
$(AXE): tests/a11y/package.json tests/a11y/package-lock.json
	npm ci --prefix tests/a11y --no-audit --no-fund --loglevel=error
	touch $(AXE)

test: install infra $(AXE)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

dead-letters: install
	$(BIN)/python -m deploy.cli dead-letters list

asyncapi: install
	$(BIN)/python -m contracts.asyncapi > contracts/asyncapi.json

# benchmarks/write_path.py starts the whole platform: it holds /tmp/staffbank-platform.lock while it runs
# (one whole-platform run at a time on a machine), so `flock /tmp/staffbank-platform.lock make bench` works too
bench: install infra
	$(BIN)/python -m benchmarks.write_path $(WRITE_PATH_ARGS)
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.matching
	$(BIN)/python -m benchmarks.notification_latency

# The whole lifecycle under load while services are killed, RabbitMQ restarted and a database cut,
# then the ledger (deploy/soak.py): `make soak SOAK_ARGS="--minutes 10"`, or `--short`.
soak: install infra
	$(BIN)/python -m deploy.soak $(SOAK_ARGS)

# A realistic bank seeded and run for weeks through the public API, on top of `make run` (demo/):
# `make demo DEMO_ARGS="--size small --seed 3"` (--size full: 2,800 doctors, 400 practices).
demo: install
	$(BIN)/python -m demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .run
