"""`@on_start`: a worker run once when the container starts (bootstrap, seeding)."""

from nameko.extensions import Entrypoint


class OnStart(Entrypoint):
    def start(self):
        self.container.spawn_worker(self, (), {})


on_start = OnStart.decorator
