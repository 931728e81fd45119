#!/usr/bin/env bash
# Make sure a PostgreSQL server and a RabbitMQ broker (with its management API,
# which nameko's test fixtures use to make a vhost per test) answer on 127.0.0.1.
# Starts what is installed but stopped; never installs (that is .ci/run's job).
# Skipped entirely when TEST_AMQP_URI / TEST_DATABASE_URL point elsewhere or when
# Docker is available (tests then use testcontainers).
set -euo pipefail

wait_for() {  # wait_for <what> <seconds> <command...>
  local what=$1 secs=$2; shift 2
  for _ in $(seq 1 "$secs"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  echo "ensure-infra: $what did not come up within ${secs}s" >&2; return 1
}

if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    echo "ensure-infra: starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
    wait_for PostgreSQL 30 pg_isready -h 127.0.0.1 -p 5432 -q
  else
    echo "ensure-infra: no PostgreSQL on 127.0.0.1:5432 and none installed (set TEST_DATABASE_URL)" >&2; exit 1
  fi
fi

if ! (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null; then
  if command -v rabbitmq-server >/dev/null; then
    echo "ensure-infra: starting RabbitMQ"
    rabbitmq-server -detached || true
    wait_for RabbitMQ 60 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672'
  else
    echo "ensure-infra: no RabbitMQ on 127.0.0.1:5672 and none installed (set TEST_AMQP_URI)" >&2; exit 1
  fi
fi

if ! curl -sf -u guest:guest http://127.0.0.1:15672/api/overview >/dev/null 2>&1; then
  echo "ensure-infra: enabling the RabbitMQ management plugin"
  rabbitmq-plugins enable rabbitmq_management >/dev/null
  wait_for "RabbitMQ management API" 60 curl -sf -u guest:guest http://127.0.0.1:15672/api/overview
fi
