"""A loop that runs in every service container beside its workers: the outbox relay,
notifications' sender. Woken right after a commit that gave it work, otherwise polling;
a failing pass backs off (doubling to 30 s) and never stops the container.

    class Relay(BackgroundLoop, SharedExtension):
        loop_name = "outbox-relay"
        def run_once(self):          # one pass; True if more work is waiting right now
            ...
        def start(self):
            self.start_loop()
"""

import logging
import threading
import time

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30


class BackgroundLoop:
    """Mix into a nameko extension that defines `run_once()`: one pass, returning True when more
    work is waiting at once (the loop then runs again without waiting)."""

    loop_name = "background loop"
    poll_interval = 1.0  # seconds between passes when nobody wakes the loop
    _running = False
    _loop_thread = None

    def start_loop(self):
        self._wake = threading.Event()
        self._running = True
        self._loop_thread = self.container.spawn_managed_thread(self._loop, identifier=self.loop_name)

    def stop_loop(self):
        """Finish the pass under way, then stop."""
        self._running = False
        if self._loop_thread is not None:
            self._wake.set()
            self._loop_thread.wait()

    def kill_loop(self):
        self._running = False
        if self._loop_thread is not None:
            self._loop_thread.kill()

    @property
    def looping(self):
        return self._running

    def wake(self):
        """Called after a commit that gave the loop work: run now, not at the next poll."""
        if self._loop_thread is not None:
            self._wake.set()

    def _loop(self):
        backoff = self.poll_interval
        while self._running:
            self._wake.clear()  # a wake() from here on is kept for the wait below
            try:
                more = self.run_once()
                backoff = self.poll_interval
            except Exception:
                log.exception("%s: a pass failed; retrying in %.1fs", self.loop_name, backoff)
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            if not more:
                self._wake.wait(self.poll_interval)
