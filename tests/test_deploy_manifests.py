"""Every service `make run` starts is also in docker-compose.yml and deploy/k8s (no drift)."""

from pathlib import Path

import yaml

from deploy.run import SERVICES

ROOT = Path(__file__).resolve().parents[1]


def _commands(containers):
    return {tuple(c["command"]) for c in containers}


def test_compose_and_kubernetes_run_every_service_make_run_runs():
    wanted = {("python", "-m", "chassis.runner", spec) for _, spec in SERVICES}
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"].values()
    assert wanted <= _commands(s for s in compose if "command" in s)
    documents = yaml.safe_load_all((ROOT / "deploy/k8s/staffbank.yaml").read_text())
    deployments = [d for d in documents if d["kind"] == "Deployment"]
    assert wanted <= _commands(c for d in deployments for c in d["spec"]["template"]["spec"]["containers"])
