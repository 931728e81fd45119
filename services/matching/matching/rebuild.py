"""Rebuild matching's read model from its event log: `python -m matching.rebuild`.

Empties the model tables (workers, the reach index, sites, shifts, groups, offers) and applies
every logged event again in `occurred_at` order, printing progress; one transaction, so the
model is replaced at once when it commits, and readers see the old one until then. Event
handlers wait meanwhile (they hold the model lock shared) and catch up afterwards. Uses
MATCHING_DATABASE_URL or DATABASE_URL, like the service; `python -m chassis.call matching
rebuild` does the same inside a running matching process.
"""

import sys

from chassis.clock import now
from chassis.eventlog import main
from matching import use_cases

if __name__ == "__main__":
    sys.exit(main("matching", lambda uow, progress: use_cases.rebuild(uow, now(), progress=progress)))
