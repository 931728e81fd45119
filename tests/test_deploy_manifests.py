"""The deployment manifests: docker-compose.yml, deploy/k8s/ and deploy/Dockerfile.

- They run every process `make run` runs (deploy.run.SERVICES), from one image, after the
  migrations (no drift), each with resources, probes and a disruption budget, the gateway's
  probes about the gateway alone, and queue-depth autoscaling on exactly each service's queues.
- They are valid, offline. Kubernetes objects against the Kubernetes API's own types as the
  official client carries them (`kubernetes`, requirements-dev.txt: each model's `attribute_map`
  and `openapi_types`): every field a field of its type by its exact JSON name, every value of
  the field's type, required fields present, quantities and the enumerations of the fields used
  here checked. KEDA's custom resources and the kustomization against deploy/schemas/ (written
  from KEDA's and kustomize's documentation), docker-compose.yml against the Compose
  specification's JSON schema (deploy/schemas/README.md). Each validator is shown to refuse a
  copy with a misspelt field, a wrong type or a wrong value.
- No manifest ships a token signing key or any other credential (README "Configuration").
- The image carries every package the runtime code imports (requirements.txt); the tools are in
  requirements-dev.txt only.
And the probes they run: `chassis.health` and the gateway's `/readyz?deep=0` follow their own
process, not the platform (against the real broker and database).
"""

import ast
import base64
import copy
import difflib
import hashlib
import importlib
import importlib.metadata
import inspect
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes.client.models as k8s
import pytest
import requests
import yaml
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from chassis.config import ConfigError, check_signing_key
from chassis.events import DEAD_LETTER_SUFFIX, retry_exchange, unrouted_name
from chassis.handlers import BroadcastHandler, EventHandler
from deploy.run import SERVICES

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
K8S_DIR = ROOT / "deploy/k8s"
SCHEMAS = ROOT / "deploy/schemas"
BACKENDS = [name for name, _ in SERVICES if name != "gateway"]
RUNNER = ("python", "-m", "chassis.runner")
MIGRATE = ["python", "-m", "deploy.cli", "migrate"]  # every service's database (deploy/cli.py)


def load_compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


def k8s_files():
    return sorted(path for path in K8S_DIR.glob("*.yaml") if path.name != "kustomization.yaml")


def k8s_documents():
    return [document for path in k8s_files() for document in yaml.safe_load_all(path.read_text())
            if document is not None]


def of_kind(documents, kind):
    return {d["metadata"]["name"]: d for d in documents if d["kind"] == kind}


def pod_spec(document):
    return document["spec"]["template"]["spec"]


def the_container(document):
    (container,) = pod_spec(document)["containers"]
    return container


# --- Kubernetes: the API's own types --------------------------------------------------------------

K8S_TYPES = {  # every kind deploy/k8s may hold, with the client's model of it
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Secret"): "V1Secret",
    ("v1", "Service"): "V1Service",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("batch/v1", "Job"): "V1Job",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
    ("autoscaling/v2", "HorizontalPodAutoscaler"): "V2HorizontalPodAutoscaler",
}
CRD_SCHEMAS = {  # custom resources: a schema of ours (deploy/schemas/README.md)
    ("keda.sh/v1alpha1", "ScaledObject"): "keda-scaledobject.json",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "keda-triggerauthentication.json",
}
# resource.Quantity: the client types it as a string; the API takes a number too
QUANTITY_FIELDS = {("V1ResourceRequirements", "limits"), ("V1ResourceRequirements", "requests"),
                   ("V2MetricTarget", "average_value"), ("V2MetricTarget", "value"),
                   ("V1EmptyDirVolumeSource", "size_limit")}
QUANTITY = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?")
# the values the API accepts for the enumerated fields these manifests use (the models' descriptions)
ENUMS = {
    ("V1Container", "image_pull_policy"): {"Always", "IfNotPresent", "Never"},
    ("V1PodSpec", "restart_policy"): {"Always", "OnFailure", "Never"},
    ("V1SeccompProfile", "type"): {"RuntimeDefault", "Localhost", "Unconfined"},
    ("V1DeploymentStrategy", "type"): {"Recreate", "RollingUpdate"},
    ("V1ServiceSpec", "type"): {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"},
    ("V1ContainerPort", "protocol"): {"TCP", "UDP", "SCTP"},
    ("V1ServicePort", "protocol"): {"TCP", "UDP", "SCTP"},
    ("V1HTTPGetAction", "scheme"): {"HTTP", "HTTPS"},
    ("V1TopologySpreadConstraint", "when_unsatisfiable"): {"DoNotSchedule", "ScheduleAnyway"},
    ("V1PodDisruptionBudgetSpec", "unhealthy_pod_eviction_policy"): {"IfHealthyBudget", "AlwaysAllow"},
    ("V2MetricSpec", "type"): {"ContainerResource", "External", "Object", "Pods", "Resource"},
    ("V2MetricTarget", "type"): {"Utilization", "Value", "AverageValue"},
    ("V2HPAScalingPolicy", "type"): {"Pods", "Percent"},
    ("V2HPAScalingRules", "select_policy"): {"Max", "Min", "Disabled"},
}


def _is_base64(value):
    try:
        base64.b64decode(value, validate=True)
        return True
    except (ValueError, TypeError):
        return False


PRIMITIVES = {
    "str": lambda v: isinstance(v, str),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "bool": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, int | str) and not isinstance(v, bool),  # IntOrString
    "bytes": lambda v: isinstance(v, str) and _is_base64(v),  # Secret.data, ConfigMap.binaryData
    "datetime": lambda v: isinstance(v, str),
}
LIST, DICT = re.compile(r"List\[(.+)\]"), re.compile(r"Dict\[str, (.+)\]")


def _kind(value):
    return {dict: "a mapping", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)


def typed_problems(value, type_name, path, field=None):
    """Why `value` is not a `type_name` (a model of the client or one of its type expressions), as
    messages naming the path; `field` is (model, attribute) of the field holding it."""
    if value is None:
        return [f"{path}: null (leave the field out instead)"]
    if field in QUANTITY_FIELDS and type_name == "str":
        number_or_text = isinstance(value, str | int | float) and not isinstance(value, bool)
        if not number_or_text or not QUANTITY.fullmatch(str(value)):
            return [f"{path}: {value!r} is not a quantity (e.g. 250m, 1, 512Mi)"]
        return []
    if match := LIST.fullmatch(type_name):
        if not isinstance(value, list):
            return [f"{path}: expected a list, not {_kind(value)}"]
        return [problem for i, item in enumerate(value)
                for problem in typed_problems(item, match[1], f"{path}[{i}]", field)]
    if match := DICT.fullmatch(type_name):
        if not isinstance(value, dict):
            return [f"{path}: expected a mapping, not {_kind(value)}"]
        return [problem for key, item in value.items()
                for problem in typed_problems(item, match[1], f"{path}.{key}", field)]
    model = getattr(k8s, type_name, None)
    if model is not None:
        if not isinstance(value, dict):
            return [f"{path}: expected a {type_name} (a mapping), not {_kind(value)}"]
        attribute_of = {json_name: attribute for attribute, json_name in model.attribute_map.items()}
        problems = []
        for key, item in value.items():
            attribute = attribute_of.get(key)
            if attribute is None:
                near = difflib.get_close_matches(str(key), attribute_of, n=1)
                problems.append(f"{path}.{key}: {type_name} has no field {key!r}"
                                + (f" (did you mean {near[0]!r}?)" if near else ""))
            else:
                problems += typed_problems(item, model.openapi_types[attribute], f"{path}.{key}",
                                           (type_name, attribute))
        problems += [f"{path}: {type_name} needs {model.attribute_map[attribute]!r}"
                     for attribute, info in model.model_fields.items()
                     if info.is_required() and model.attribute_map[attribute] not in value]
        return problems
    if not PRIMITIVES[type_name](value):  # KeyError: a type this test has not met yet
        expected = {"object": "an integer or a string", "bytes": "base64 text"}.get(type_name, type_name)
        return [f"{path}: expected {expected}, not {_kind(value)} {value!r}"]
    if field in ENUMS and value not in ENUMS[field]:
        return [f"{path}: {value!r} is not one of {sorted(ENUMS[field])}"]
    return []


def _schema(name):
    return json.loads((SCHEMAS / name).read_text())


def schema_problems(document, schema, path, validator_class=jsonschema.Draft202012Validator,
                    format_checker=None):
    def where(error):
        return path + "".join(f".{p}" if isinstance(p, str) else f"[{p}]" for p in error.absolute_path)

    validator = validator_class(schema, format_checker=format_checker)
    return sorted(f"{where(error)}: {error.message}" for error in validator.iter_errors(document))


def kubernetes_problems(document):
    """Why `document` is not a valid object of its apiVersion and kind ([] if it is)."""
    if not isinstance(document, dict):
        return [f"not an object: {_kind(document)}"]
    key = (document.get("apiVersion"), document.get("kind"))
    name = f"{key[1]} {(document.get('metadata') or {}).get('name')}"
    if key in K8S_TYPES:
        problems = typed_problems(document, K8S_TYPES[key], name)
    elif key in CRD_SCHEMAS:
        problems = schema_problems(document, _schema(CRD_SCHEMAS[key]), name)
        problems += typed_problems(document.get("metadata", {}), "V1ObjectMeta", f"{name}.metadata")
        behavior = (((document.get("spec") or {}).get("advanced") or {})
                    .get("horizontalPodAutoscalerConfig") or {}).get("behavior")
        if behavior is not None:
            problems += typed_problems(behavior, "V2HorizontalPodAutoscalerBehavior",
                                       f"{name}.spec.advanced.horizontalPodAutoscalerConfig.behavior")
    else:
        return [f"{name}: no schema for apiVersion {key[0]!r}, kind {key[1]!r} "
                "(tests/test_deploy_manifests.py K8S_TYPES, CRD_SCHEMAS)"]
    if not isinstance(document.get("metadata"), dict) or not document["metadata"].get("name"):
        problems.append(f"{name}: metadata.name is required")
    return problems


def test_every_kubernetes_manifest_is_valid():
    problems = [f"{path.name}: {problem}" for path in k8s_files()
                for document in yaml.safe_load_all(path.read_text()) if document is not None
                for problem in kubernetes_problems(document)]
    assert problems == []


def test_the_kustomization_lists_every_manifest_and_is_valid():
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    assert schema_problems(kustomization, _schema("kustomization.json"), "kustomization") == []
    assert sorted(kustomization["resources"]) == sorted(path.name for path in k8s_files())
    images = {c["image"].partition(":")[0] for d in k8s_documents() if "template" in d.get("spec", {})
              for c in pod_spec(d)["containers"]}
    assert images == {entry["name"] for entry in kustomization["images"]}  # one image, set in one place


def _deployment(name="identity"):
    return copy.deepcopy(of_kind(k8s_documents(), "Deployment")[name])


def _rename(mapping, old, new):
    mapping[new] = mapping.pop(old)


@pytest.mark.parametrize("mutate, expected", [
    (lambda d: _rename(the_container(d), "readinessProbe", "readinessprobe"),
     "V1Container has no field 'readinessprobe' (did you mean 'readinessProbe'?)"),
    (lambda d: _rename(the_container(d)["ports"][0], "containerPort", "container_port"),
     "V1ContainerPort has no field 'container_port'"),  # the client's own models would take this name
    (lambda d: _rename(d["spec"], "selector", "selecter"), "V1DeploymentSpec needs 'selector'"),
    (lambda d: the_container(d).pop("name"), "V1Container needs 'name'"),
    (lambda d: the_container(d)["ports"][0].update(containerPort="9400"), "expected int, not a string"),
    (lambda d: the_container(d)["env"][0].update(value=8080), "expected str, not an integer"),
    (lambda d: the_container(d).update(imagePullPolicy="IfNotPresnt"), "is not one of"),
    (lambda d: the_container(d)["resources"]["limits"].update(memory="1 Gi"), "is not a quantity"),
    (lambda d: the_container(d)["livenessProbe"].update(exec=["python"]), "expected a V1ExecAction"),
    (lambda d: pod_spec(d).update(containers=None), "null"),
])
def test_the_kubernetes_validation_refuses_a_mutated_copy(mutate, expected):
    deployment = _deployment()
    assert kubernetes_problems(deployment) == []
    mutate(deployment)
    problems = kubernetes_problems(deployment)
    assert any(expected in problem for problem in problems), problems


def _trigger(scaled_object):
    return scaled_object["spec"]["triggers"][0]


@pytest.mark.parametrize("mutate, expected", [
    (lambda s: _rename(s["spec"], "minReplicaCount", "minReplicas"), "'minReplicas' was unexpected"),
    (lambda s: _rename(_trigger(s)["metadata"], "queueName", "queuename"), "'queuename' was unexpected"),
    (lambda s: _trigger(s)["metadata"].update(value=100), "100 is not of type 'string'"),
    (lambda s: _trigger(s)["metadata"].update(mode="QueueLenght"), "'QueueLenght' is not one of"),
    (lambda s: _trigger(s)["metadata"].update(protocol="amqp"), "'http' was expected"),
    (lambda s: _trigger(s).update(type="rabbit"), "'rabbit' is not one of ['rabbitmq']"),
    (lambda s: s["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"].update(
        stabilisationWindowSeconds=60), "V2HPAScalingRules has no field 'stabilisationWindowSeconds'"),
    (lambda s: s["metadata"].update(label={"a": "b"}), "V1ObjectMeta has no field 'label'"),
])
def test_the_keda_validation_refuses_a_mutated_copy(mutate, expected):
    scaled = copy.deepcopy(of_kind(k8s_documents(), "ScaledObject")["matching"])
    assert kubernetes_problems(scaled) == []
    mutate(scaled)
    problems = kubernetes_problems(scaled)
    assert any(expected in problem for problem in problems), problems


def test_the_kustomization_validation_refuses_a_mutated_copy():
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    _rename(kustomization, "resources", "resource")
    assert schema_problems(kustomization, _schema("kustomization.json"), "kustomization")


def test_a_kind_without_a_schema_is_refused():
    assert "no schema for" in kubernetes_problems({"apiVersion": "apps/v1", "kind": "Deploymnet"})[0]


# --- Kubernetes: what the manifests run -----------------------------------------------------------

def test_every_process_make_run_runs_is_a_deployment_of_the_one_image():
    documents = k8s_documents()
    deployments = of_kind(documents, "Deployment")
    assert sorted(deployments) == sorted(name for name, _ in SERVICES)
    for name, spec in SERVICES:
        assert the_container(deployments[name])["command"] == [*RUNNER, spec], name
    images = {c["image"] for d in documents if "template" in d.get("spec", {})
              for c in pod_spec(d)["containers"]}
    assert len(images) == 1, images


def test_the_migration_job_migrates_every_service_before_they_start():
    from deploy.cli import SERVICE_NAMES

    (job,) = of_kind(k8s_documents(), "Job").values()
    assert the_container(job)["command"] == MIGRATE  # no names: every service's database
    assert SERVICE_NAMES == [name for name, _ in SERVICES]
    assert pod_spec(job)["restartPolicy"] in ("Never", "OnFailure") and job["spec"]["backoffLimit"] >= 1
    identity = of_kind(k8s_documents(), "Deployment")["identity"]
    assert the_container(job)["image"] == the_container(identity)["image"]


def _resources_problems(container):
    problems = []
    for kind in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            if resource not in container.get("resources", {}).get(kind, {}):
                problems.append(f"{container['name']}: no {resource} {kind}")
    if not problems:
        for resource in ("cpu", "memory"):
            request, limit = (_quantity(container["resources"][k][resource]) for k in ("requests", "limits"))
            if request > limit:
                problems.append(f"{container['name']}: {resource} request above its limit")
    return problems


def _quantity(text):
    """A resource.Quantity as a number (cores, bytes)."""
    number, suffix = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", str(text)).groups()
    scale = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}[suffix]
    return float(number) * scale


def test_every_container_has_resource_requests_and_limits():
    problems = [problem for d in k8s_documents() if "template" in d.get("spec", {})
                for container in pod_spec(d)["containers"] for problem in _resources_problems(container)]
    assert problems == []


def test_probes_ask_each_process_about_itself():
    deployments = of_kind(k8s_documents(), "Deployment")
    for name in BACKENDS:
        container = the_container(deployments[name])
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            command = container[probe]["exec"]["command"]
            assert command == ["python", "-m", "chassis.health", name], (name, probe)
            assert container[probe]["timeoutSeconds"] > 3 * 4, (name, probe)  # chassis.health's deadlines
    gateway = the_container(deployments["gateway"])
    ports = {port["name"]: port["containerPort"] for port in gateway["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        # the gateway alone: one service down must not take every gateway out of its Service
        assert gateway[probe]["httpGet"]["path"] == "/readyz?deep=0", probe
        assert ports[gateway[probe]["httpGet"]["port"]] == 8080
    for deployment in deployments.values():
        container = the_container(deployment)
        # a minute's outage of the broker or database is ridden out, not turned into restarts (rule 7)
        liveness = container["livenessProbe"]
        assert liveness["periodSeconds"] * liveness["failureThreshold"] >= 120, deployment["metadata"]["name"]


def _selects(selector, labels):
    return all(labels.get(key) == value for key, value in selector["matchLabels"].items())


def test_every_deployment_has_one_disruption_budget_and_one_autoscaler():
    documents = k8s_documents()
    deployments = of_kind(documents, "Deployment")
    budgets = of_kind(documents, "PodDisruptionBudget").values()
    autoscaled = [d["spec"]["scaleTargetRef"]["name"] for d in documents
                  if d["kind"] in ("ScaledObject", "HorizontalPodAutoscaler")]
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert _selects(deployment["spec"]["selector"], labels), name
        assert [b for b in budgets if _selects(b["spec"]["selector"], labels)] != [], name
        assert len([b for b in budgets if _selects(b["spec"]["selector"], labels)]) == 1, name
        assert autoscaled.count(name) == 1, name
        assert "replicas" not in deployment["spec"], f"{name}: an apply would reset its autoscaler's count"
    for budget in budgets:  # and no budget selects the pods of another deployment too
        assert [n for n, d in deployments.items()
                if _selects(budget["spec"]["selector"], d["spec"]["template"]["metadata"]["labels"])] \
            == [budget["metadata"]["name"]]


def handler_queues(spec):
    """The queues of a service's event handlers (`<service>.<method>`, chassis.handlers); not a
    broadcast handler's (the gateway's cache invalidation): each process has its own, deleted with it,
    and nothing waits there for a replica to take."""
    module, _, class_name = spec.partition(":")
    service_cls = getattr(importlib.import_module(module), class_name)
    return service_cls.name, {f"{service_cls.name}.{attribute}"
                              for attribute, member in inspect.getmembers(service_cls)
                              for entrypoint in getattr(member, ENTRYPOINT_EXTENSIONS_ATTR, ())
                              if isinstance(entrypoint, EventHandler)
                              and not isinstance(entrypoint, BroadcastHandler)}


def test_each_service_scales_on_the_backlog_of_exactly_its_own_queues():
    scaled = of_kind(k8s_documents(), "ScaledObject")
    queues = dict(handler_queues(spec) for _, spec in SERVICES)
    assert {name for name, handled in queues.items() if handled} <= set(scaled)  # every event consumer
    assert set(scaled) == set(BACKENDS)  # and payroll on its RPC queue
    handled = {queue for own in queues.values() for queue in own}
    others = (handled | {f"rpc-{name}" for name in queues} | {q + DEAD_LETTER_SUFFIX for q in handled}
              | {unrouted_name(name) for name in queues}
              | {retry_exchange(seconds).name for seconds in (1, 5, 30, 120)})
    for name, document in scaled.items():
        (trigger,) = document["spec"]["triggers"]
        metadata = trigger["metadata"]
        assert (trigger["type"], metadata["useRegex"], metadata["operation"]) == ("rabbitmq", "true", "sum")
        assert metadata["excludeUnacknowledged"] == "true"  # messages no replica has taken yet
        assert not re.search(r"\(\?[=!<]|\\[1-9]", metadata["queueName"])  # no lookaround: PCRE and RE2 alike
        pattern = re.compile(metadata["queueName"])
        own = queues[name] | {f"rpc-{name}"}
        assert {q for q in own if not pattern.fullmatch(q)} == set(), name
        assert {q for q in others - own if pattern.search(q)} == set(), name  # dead letters, others' queues
        assert document["spec"]["minReplicaCount"] >= 2, name  # a budget of one unavailable leaves one


# --- secrets: none shipped, every one required ---------------------------------------------------

KEY = "TOKEN_SIGNING_KEY"
NEEDS_KEY = {"identity", "gateway"}  # the processes whose class lists it in `required_config`
CREDENTIALS = {KEY, "AMQP_URI", "DATABASE_URL", "RABBIT_API_URI", "BOOTSTRAP_ADMIN_PASSWORD", "password"}
OPTIONAL_SECRETS = {"staffbank-bootstrap-admin"}  # identity creates no admin without it


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


def _secret_references(node, path=""):
    """(secret name, key or None, optional, path) of every secretRef, secretKeyRef and KEDA
    secretTargetRef in a parsed manifest."""
    if isinstance(node, dict):
        for name, value in node.items():
            if name in ("secretRef", "secretKeyRef") and isinstance(value, dict):
                yield value["name"], value.get("key"), value.get("optional", False), f"{path}.{name}"
            elif name == "secretTargetRef":
                for ref in value:
                    yield ref["name"], ref["key"], False, f"{path}.{name}"
            else:
                yield from _secret_references(value, f"{path}.{name}")
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _secret_references(item, f"{path}[{i}]")


def test_the_services_that_need_the_key_are_the_ones_that_require_it():
    from gateway.service import GatewayService
    from identity.service import IdentityService

    assert {cls.name for cls in (GatewayService, IdentityService) if KEY in cls.required_config} == NEEDS_KEY


def test_compose_requires_a_key_and_ships_none():
    compose = load_compose()["services"]
    for name in NEEDS_KEY:
        # `${VAR:?message}`: compose refuses to start without it, and there is no default
        assert re.fullmatch(r"\$\{TOKEN_SIGNING_KEY:\?[^}]+\}", compose[name]["environment"][KEY])
    for value in _literal_keys(compose):
        assert value.startswith("${TOKEN_SIGNING_KEY:?"), value
    assert {name for name, service in compose.items() if KEY in service.get("environment", {})} == NEEDS_KEY


def test_kubernetes_ships_no_credential_and_requires_every_secret_it_reads():
    documents = k8s_documents()
    assert list(_literal_keys(documents)) == []
    for document in documents:
        if document["kind"] in ("Secret", "ConfigMap"):
            held = {**document.get("data", {}), **document.get("stringData", {})}
            assert not CREDENTIALS & set(held), document["metadata"]["name"]
    shipped = set(of_kind(documents, "Secret"))
    references = list(_secret_references(documents))
    for name, _, optional, path in references:
        assert name not in shipped, path  # made by the operator (config.yaml), never a placeholder here
        assert optional == (name in OPTIONAL_SECRETS), path
    deployments = of_kind(documents, "Deployment")
    for name in NEEDS_KEY:
        (ref,) = [e["valueFrom"]["secretKeyRef"] for e in the_container(deployments[name]).get("env", [])
                  if e["name"] == KEY]
        assert ref["name"] == "staffbank-token-signing-key"
    assert {name for name, d in deployments.items()
            if any(e["name"] == KEY for e in the_container(d).get("env", []))} == NEEDS_KEY
    instructions = (K8S_DIR / "config.yaml").read_text()  # how to make each Secret, with every key read
    for name, key, _, path in references:
        assert f"secret generic {name}" in instructions, path
        assert key is None or f"{key}=" in instructions, path
    for key in ("AMQP_URI", "DATABASE_URL", "RABBIT_API_URI"):
        assert f"--from-literal={key}=" in instructions
    config_maps = set(of_kind(documents, "ConfigMap"))
    for deployment in deployments.values():
        for source in the_container(deployment).get("envFrom", []):
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config_maps


def test_no_manifest_holds_a_usable_key():
    """Whatever a manifest or image holds that looks like a key is refused at start (chassis.config)."""
    paths = [COMPOSE_FILE, ROOT / "deploy/Dockerfile", *K8S_DIR.glob("*.yaml")]
    text = "\n".join(path.read_text() for path in paths)
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


# --- docker-compose.yml ---------------------------------------------------------------------------

# deploy/schemas/README.md
COMPOSE_SHA256 = "0dc04bd346dcfee1b1419628fff79937bbf076925f298f272a2b490e2b112bac"
COMPOSE_FORMATS = jsonschema.FormatChecker(formats=())


@COMPOSE_FORMATS.checks("duration")
def _go_duration(value):  # compose reads durations as Go does: 1m30s, 500ms
    return not isinstance(value, str) or bool(re.fullmatch(r"(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+", value))


@COMPOSE_FORMATS.checks("ports")
def _ports(value):  # [host_ip:][host_port[-end]:]container_port[-end][/protocol]
    port = r"\d+(-\d+)?"
    return bool(re.fullmatch(rf"((\[?[0-9a-fA-F.:]+\]?):)?({port}:)?{port}(/(tcp|udp|sctp))?", str(value)))


def compose_problems(compose):
    schema = json.loads((SCHEMAS / "compose-spec.json").read_text())
    return schema_problems(compose, schema, "compose", jsonschema.Draft201909Validator, COMPOSE_FORMATS)


def test_the_compose_schema_is_the_one_recorded():
    assert hashlib.sha256((SCHEMAS / "compose-spec.json").read_bytes()).hexdigest() == COMPOSE_SHA256


def test_the_compose_file_is_valid():
    assert compose_problems(load_compose()) == []


@pytest.mark.parametrize("mutate, expected", [
    (lambda c: _rename(c["services"]["matching"], "healthcheck", "healtcheck"),
     "services.matching: 'healtcheck' does not match any of the regexes: '^x-'"),
    (lambda c: c["services"]["matching"]["depends_on"]["migrate"].update(condition="service_completed"),
     "is not valid under any of the given schemas"),
    (lambda c: c["services"]["matching"]["healthcheck"].update(interval="15 s"), "is not a 'duration'"),
    (lambda c: c["services"]["gateway"].update(ports=["127.0.0.1:8080:http"]), "is not valid under any"),
    (lambda c: c["services"]["rabbitmq"].update(volumes="rabbitmq-data:/var/lib/rabbitmq"),
     "is not of type 'array'"),
    (lambda c: c.update(volume={"x": None}), "compose: 'volume' does not match any of the regexes"),
])
def test_the_compose_validation_refuses_a_mutated_copy(mutate, expected):
    compose = load_compose()
    mutate(compose)
    problems = compose_problems(compose)
    assert any(expected in problem for problem in problems), problems


def test_compose_runs_every_process_make_run_runs_after_the_migrations():
    services = load_compose()["services"]
    commands = {tuple(s["command"]): name for name, s in services.items() if "command" in s}
    for name, spec in SERVICES:
        assert commands.get((*RUNNER, spec)) == name
        service = services[name]
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}, name
        assert service["depends_on"]["rabbitmq"] == {"condition": "service_healthy"}, name
        assert service["depends_on"]["postgres"] == {"condition": "service_healthy"}, name
    assert services["migrate"]["command"] == MIGRATE
    assert services["migrate"]["restart"] == "no"
    assert services["notifications"]["environment"]["SMTP_HOST"] == "mail"
    assert services["notifications"]["depends_on"]["mail"] == {"condition": "service_healthy"}
    built = {name: (s.get("image"), json.dumps(s.get("build"), sort_keys=True))
             for name, s in services.items() if "build" in s}
    assert set(built) == {name for name, _ in SERVICES} | {"migrate"}
    assert len(set(built.values())) == 1  # one image


def test_compose_checks_the_health_of_every_long_running_container():
    services = load_compose()["services"]
    for name, service in services.items():
        if name == "migrate":  # one-shot: its exit status is what the others wait for
            continue
        assert service["healthcheck"]["test"][0] == "CMD", name
    for name in BACKENDS:
        assert services[name]["healthcheck"]["test"] == ["CMD", "python", "-m", "chassis.health", name]
    assert "/readyz?deep=0" in services["gateway"]["healthcheck"]["test"][-1]


def test_compose_scales_every_service_and_publishes_only_the_entry_points():
    services = load_compose()["services"]
    assert [name for name, s in services.items() if "container_name" in s] == []
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"gateway", "rabbitmq", "mail"}  # the API, the broker's and the mail UI
    for name in published:
        for port in services[name]["ports"]:
            assert str(port).startswith("127.0.0.1:"), port  # this machine only
    for name in BACKENDS:  # `docker compose up --scale <name>=3`
        assert not {"container_name", "ports", "hostname"} & set(services[name]), name


def test_compose_keeps_the_broker_and_database_in_named_volumes():
    compose = load_compose()
    services, volumes = compose["services"], compose["volumes"]
    rabbitmq, postgres = services["rabbitmq"], services["postgres"]
    assert any(v.split(":")[0] in volumes and v.endswith(":/var/lib/rabbitmq")
               for v in rabbitmq["volumes"])
    assert rabbitmq["hostname"]  # its data lives under rabbit@<hostname>
    assert rabbitmq["image"].endswith("-management")
    assert any(v.split(":")[0] in volumes and v.endswith(":/var/lib/postgresql/data")
               for v in postgres["volumes"])
    for name in ("rabbitmq", "postgres", "mail"):
        tag = services[name]["image"].rpartition(":")[2]
        assert ":" in services[name]["image"] and tag != "latest", name  # pinned


# --- dependencies: what the image carries ---------------------------------------------------------

RUNTIME_CODE = ["libs/chassis", "contracts", "gateway/gateway", "deploy",
                *(f"services/{name}/{name}" for name in BACKENDS)]
NOT_RUNTIME = {"libs/chassis/testing.py",  # the pytest plugin
               "deploy/soak.py"}  # `make soak`
FIRST_PARTY = {"chassis", "contracts", "gateway", "deploy", *BACKENDS}


def pins(path):
    found = {}
    for line in (ROOT / path).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            assert [s.operator for s in requirement.specifier] == ["=="], line  # exact pins only
            found[canonicalize_name(requirement.name)] = line
    return found


def runtime_imports():
    modules = {}
    for base in RUNTIME_CODE:
        for path in sorted((ROOT / base).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if "tests" in path.parts or path.name.startswith("test_") or relative in NOT_RUNTIME:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([alias.name for alias in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in FIRST_PARTY:
                        modules.setdefault(top, relative)
    return modules


def test_the_image_carries_every_package_the_runtime_code_imports():
    runtime = pins("requirements.txt")
    distributions = importlib.metadata.packages_distributions()
    missing = {module: where for module, where in runtime_imports().items()
               if not {canonicalize_name(d) for d in distributions.get(module, [module])} & set(runtime)}
    assert missing == {}, "imported by runtime code, not in requirements.txt"
    needed = {}
    for name in runtime:
        for text in importlib.metadata.requires(name) or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                needed.setdefault(canonicalize_name(requirement.name), name)
    unpinned = {dependency: by for dependency, by in needed.items() if dependency not in runtime}
    assert unpinned == {}, "needed by what requirements.txt pins, not in it"


def test_runtime_and_development_dependencies_are_locked_apart():
    runtime, development = pins("requirements.txt"), pins("requirements-dev.txt")
    assert set(runtime) & set(development) == set()
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    for line in [*runtime.values(), *development.values()]:  # this environment is the locked one
        requirement = Requirement(line)
        assert installed.get(canonicalize_name(requirement.name)) in requirement.specifier, line
    dockerfile = "\n".join(line for line in (ROOT / "deploy/Dockerfile").read_text().splitlines()
                           if not line.startswith("#"))
    assert "-r requirements.txt" in dockerfile and "requirements-dev" not in dockerfile  # runtime only
    makefile = (ROOT / "Makefile").read_text()
    assert "-r requirements.txt -r requirements-dev.txt" in makefile


# --- the probes themselves, against the real broker and database --------------------------------

def _health(service, config, **env):
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("METRICS_PORT", "AMQP_URI") and not key.endswith("DATABASE_URL")}
    environment.update({"AMQP_URI": config["AMQP_URI"], f"{service.upper()}_DATABASE_URL": config["DB_URL"]},
                       **env)
    return subprocess.run([sys.executable, "-m", "chassis.health", service], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=60)


def test_the_probes_follow_their_own_process_not_the_platform(platform):
    base = platform.api.base_url
    shallow = requests.get(base + "/readyz?deep=0", timeout=30)
    assert shallow.status_code == 200, shallow.text
    assert shallow.json()["checks"] == {"gateway": "ok", "broker": "ok"}
    ok = _health("identity", platform.configs["identity"])
    assert ok.returncode == 0, ok
    assert ok.stdout.splitlines() == ["identity: broker ok", "identity: database ok"]

    platform.containers["identity"].stop()
    assert requests.get(base + "/readyz", timeout=30).status_code == 503  # the platform is not ready
    assert requests.get(base + "/readyz?deep=0", timeout=30).status_code == 200  # the gateway still is
    down = _health("identity", platform.configs["identity"])
    assert down.returncode == 1 and "nothing consumes rpc-identity" in down.stderr, down
    assert _health("compliance", platform.configs["compliance"]).returncode == 0

    missing = dict(platform.configs["compliance"], DB_URL=platform.configs["compliance"]["DB_URL"] + "_none")
    no_database = _health("compliance", missing)
    assert no_database.returncode == 1 and "compliance: database unavailable" in no_database.stderr
    no_metrics = _health("compliance", platform.configs["compliance"], METRICS_PORT="1")
    assert no_metrics.returncode == 1 and "compliance: process unavailable" in no_metrics.stderr
