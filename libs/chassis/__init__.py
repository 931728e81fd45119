"""Staffbank chassis: what every service shares.

- `config`     environment-driven settings with documented defaults
- `db`         engines, database creation, migrations, the per-worker unit of work
- `events`     the event envelope and the exchange topology every producer declares
- `outbox`     the outbox table and the relay that publishes it with confirms
- `handlers`   the idempotent, retrying, dead-lettering event handler entrypoint
- `eventlog`   the event log a read model is rebuilt from, and the rebuild
- `deadletters` an operator's command to list, show and replay dead letters
- `brokeraccounts` an operator's command: an HR system's broker account, reading only its own queues
- `context`    correlation ids carried from HTTP through RPC and events into JSON logs
- `auth`       principals, role grants and scope checks (pure)
- `errors`     domain errors that cross RPC as themselves
- `csvfiles`   CSV downloads: one header row, CRLF, no spreadsheet formulas
- `service`    the base every nameko service class extends
- `runner`     `python -m chassis.runner pkg.module:Service` starts a service
"""
