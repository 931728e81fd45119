"""Rebuild reporting's read models from its event log: `python -m reporting.rebuild`.

Empties the models (organisations, sites, workers, documents, shifts and their history,
timesheets, payments) and applies every logged event again in `occurred_at` order, printing
progress; one transaction, so the models are replaced at once when it commits and readers see the
old ones until then. Event handlers wait meanwhile and catch up afterwards. Uses
REPORTING_DATABASE_URL or DATABASE_URL, like the service; `python -m chassis.call reporting
rebuild` does the same inside a running reporting process.
"""

import sys

from chassis.eventlog import main
from reporting import use_cases

if __name__ == "__main__":
    sys.exit(main("reporting", use_cases.rebuild))
