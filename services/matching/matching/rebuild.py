"""Rebuild matching's read model from its event log: `python -m matching.rebuild`.

Empties the model tables (workers, the reach index, sites, shifts, groups, offers) and applies
every logged event again in `occurred_at` order, printing progress; one transaction, so the
model is replaced at once when it commits, and readers see the old one until then. Event
handlers wait meanwhile (they hold the model lock shared) and catch up afterwards. Uses
MATCHING_DATABASE_URL or DATABASE_URL, like the service; `python -m chassis.call matching
rebuild` does the same inside a running matching process.
"""

import sys
import time

from sqlalchemy.orm import Session

from chassis.clock import now
from chassis.config import database_url
from chassis.db import UnitOfWork
from chassis.engines import engine_for
from matching import use_cases


def main():
    engine = engine_for(database_url("matching"))
    started = time.monotonic()

    def progress(done, total):
        print(f"  replayed {done}/{total} events ({done / max(total, 1):.0%}, "
              f"{time.monotonic() - started:.1f}s)", flush=True)

    print("rebuilding matching's read model from its event log", flush=True)
    with Session(engine) as session, UnitOfWork(session, producer="matching") as uow:
        result = use_cases.rebuild(uow, now(), progress=progress)
    print(f"done: {result['events']} events in {time.monotonic() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
