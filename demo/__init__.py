"""`make demo`: a realistic bank seeded and run for several weeks through the public API only.

On top of a running platform (`make run`), `python -m demo` signs in as the bootstrap admin
and, through the gateway's HTTP API and nothing else, builds two banks (`demo/world.py`: a
collaborative bank of three hospital trusts with doctors of every grade and a dozen
specialties; a primary-care bank of practices in ten areas with workers of 26 staff types),
onboards every worker (registration, documents, verification, activation), then simulates the
weeks (`demo/simulate.py`): cover worked and recorded, posting rounds with release to priority
groups and the bank, shift offers read, applications, bookings and the working-time refusals
the platform answers, cancellations (late ones too), an agency cascade, timesheets with their
approvals and a pay run. It ends by printing the platform's fill-rate and sitrep reports,
checking every figure against its own ledger of what it sent (`demo/ledger.py`), and writing
the fill-rate chart. Each phase's time is printed.

Decisions:

- Time. The platform books only shifts that have not started, and a timesheet needs a shift
  that has ended; the clock is real and a demo lasts minutes. So the past weeks are recorded the
  way API.md provides for cover already worked: retrospective shifts (`worker_id`, past start),
  booked and completed at once under the same working-time checks, followed by timesheets,
  approvals and a pay run. The coming weeks (from tomorrow) are posted and filled live in
  posting rounds, each standing for a few days of a coordinator's cycle; priority windows last
  the platform's minimum, one minute. Only shifts that ended before today began are history,
  and only shifts from tomorrow are live, so the time of day changes nothing.
- Size. Every worker costs the platform about 0.7 s of this 2-core machine before it can work
  (argon2 password hashing at registration and sign-in, seven documents sent and verified,
  compliance and identity events), and every shift posted is offered to each worker who may
  take it. So `default` is one sixteenth of the deployments DESIGN.md names (175 doctors at the
  three hospitals, 25 practices in the ten areas with 62 workers) and finishes in under ten
  minutes here; `full` (2,800 doctors, 400 practices, 1,000 workers, ~33,000 shifts) takes
  hours; `small` is the test's; `--size` also takes a scale factor of `full` (e.g. 0.125).
- Same seed, same figures: see `demo/simulate.py` (no choice depends on timing). The calendar
  is today's, so runs on another day differ (weekends, bank holidays); names and emails carry a
  per-run tag so that the demo can run again on the same platform.
- The bootstrap admin's credentials come from BOOTSTRAP_ADMIN_EMAIL / BOOTSTRAP_ADMIN_PASSWORD
  (as `make run` takes them), else README's example (admin@example.org / change-me-now).
- Most workers who use the app turn shift-offer emails off (in-app only); the rest keep email.
- Reports come only from the platform (`demo/reports.py`): without a reporting service the demo
  says so and stops rather than print figures of its own.
"""
