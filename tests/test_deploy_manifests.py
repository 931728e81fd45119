"""Every service `make run` starts is also in docker-compose.yml and deploy/k8s (no drift), and no
manifest ships a token signing key: each requires one from the operator (README "Configuration")."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chassis.config import ConfigError, check_signing_key
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


# --- the token signing key: never shipped, required where it is used ----------------------------

KEY = "TOKEN_SIGNING_KEY"
NEEDS_KEY = {"identity", "gateway"}  # the processes whose class lists it in `required_config`


def _literal_keys(node):
    """Every literal value given to TOKEN_SIGNING_KEY anywhere in a parsed manifest."""
    if isinstance(node, dict):
        if node.get("name") == KEY and "value" in node:
            yield node["value"]
        for name, value in node.items():
            if name == KEY and isinstance(value, str):
                yield value
            yield from _literal_keys(value)
    elif isinstance(node, list):
        for item in node:
            yield from _literal_keys(item)


def test_the_services_that_need_the_key_are_the_ones_that_require_it():
    from gateway.service import GatewayService
    from identity.service import IdentityService

    assert {cls.name for cls in (GatewayService, IdentityService) if KEY in cls.required_config} == NEEDS_KEY


def test_compose_requires_a_key_and_ships_none():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in NEEDS_KEY:
        # `${VAR:?message}`: compose refuses to start without it, and there is no default
        assert re.fullmatch(r"\$\{TOKEN_SIGNING_KEY:\?[^}]+\}", compose[name]["environment"][KEY])
    for value in _literal_keys(compose):
        assert value.startswith("${TOKEN_SIGNING_KEY:?"), value


def test_kubernetes_reads_the_key_from_a_secret_it_does_not_ship():
    documents = list(yaml.safe_load_all((ROOT / "deploy/k8s/staffbank.yaml").read_text()))
    assert list(_literal_keys(documents)) == []
    for document in documents:
        if document["kind"] in ("Secret", "ConfigMap"):
            assert KEY not in {**document.get("data", {}), **document.get("stringData", {})}
    shipped = {d["metadata"]["name"] for d in documents if d["kind"] == "Secret"}
    deployments = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Deployment"}
    for name in NEEDS_KEY:
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        (ref,) = [e["valueFrom"]["secretKeyRef"] for e in container.get("env", []) if e["name"] == KEY]
        assert ref["name"] not in shipped and not ref.get("optional", False)  # required, made by the operator


def test_no_manifest_holds_a_usable_key():
    """Whatever a manifest or image holds that looks like a key is refused at start (chassis.config)."""
    text = "\n".join((ROOT / path).read_text()
                     for path in ("docker-compose.yml", "deploy/k8s/staffbank.yaml", "deploy/Dockerfile"))
    for candidate in re.findall(rf"{KEY}\s*[:=]\s*(\S+)", text):
        if not candidate.startswith(("${", "&", "*")):
            with pytest.raises(ConfigError):
                check_signing_key(candidate)


def test_make_run_refuses_a_placeholder_key_before_starting_anything():
    env = dict(os.environ, TOKEN_SIGNING_KEY="change-me-to-a-long-random-secret-of-32-plus-chars")
    finished = subprocess.run([sys.executable, "-m", "deploy.run"], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60)
    assert finished.returncode == 78, finished.stdout + finished.stderr
    assert "cannot start: TOKEN_SIGNING_KEY looks like a placeholder" in finished.stderr
    assert "processes starting" not in finished.stdout
