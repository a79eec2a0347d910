"""The Kubernetes manifests in deploy/ are valid for the Kubernetes versions teams run (checked
offline against the JSON schemas that kubernetes-validate bundles) and keep the promises the
README makes: probes on the metrics port, a stop that outlasts the bot's graceful shutdown, a
disruption budget over the same pods, and no secret outside a Secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.config import Settings, variable_name

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
# The oldest release EKS/GKE/AKS still support in standard support, and the newest bundled.
VERSIONS = ["1.30.0", kubernetes_validate.utils.latest_version()]


def _documents() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, document)
        for path in sorted(DEPLOY.rglob("*.yaml"))
        for document in yaml.safe_load_all(path.read_text())
        if document
    ]


def _one(kind: str) -> dict[str, Any]:
    [found] = [document for _, document in _documents() if document["kind"] == kind]
    return found


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_is_valid_for_kubernetes(version: str) -> None:
    documents = _documents()
    assert {d["kind"] for _, d in documents} >= {"Deployment", "PodDisruptionBudget", "ConfigMap", "Secret", "Service"}
    for name, document in documents:
        try:
            kubernetes_validate.validate(document, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{name} ({document['kind']}) is not valid for Kubernetes {version}: {error.message}")


def test_probes_watch_the_metrics_port_and_the_stop_outlasts_the_graceful_shutdown() -> None:
    config = _one("ConfigMap")["data"]
    pod = _one("Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert ports["metrics"] == int(config["METRICS_PORT"])
    probes = {name: container[name]["httpGet"] for name in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert {name: (get["path"], get["port"]) for name, get in probes.items()} == {
        "startupProbe": ("/healthz", "metrics"), "livenessProbe": ("/healthz", "metrics"),
        "readinessProbe": ("/readyz", "metrics"),
    }  # fmt: skip
    grace = float(config["SHUTDOWN_GRACE_SECONDS"])
    assert grace == Settings.model_fields["shutdown_grace_seconds"].default
    assert pod["terminationGracePeriodSeconds"] > grace
    assert container["resources"]["requests"]["cpu"] and container["resources"]["requests"]["memory"]


def test_replicas_are_covered_by_the_disruption_budget() -> None:
    deployment, budget = _one("Deployment"), _one("PodDisruptionBudget")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["replicas"] >= 2 and budget["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()


def test_secrets_come_only_from_the_secret() -> None:
    secret_settings = {
        variable_name(name) for name, field in Settings.model_fields.items() if "SecretStr" in str(field.annotation)
    } | {"REDIS_URL"}  # REDIS_URL carries Redis's password
    assert not secret_settings & set(_one("ConfigMap")["data"])
    [container] = _one("Deployment")["spec"]["template"]["spec"]["containers"]
    from_secret = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert {e["name"] for e in container["env"]} == set(from_secret) and not any("value" in e for e in container["env"])
    secret = _one("Secret")
    assert {ref["name"] for ref in from_secret.values()} == {secret["metadata"]["name"]}
    assert {ref["key"] for ref in from_secret.values()} <= set(secret["stringData"])
    assert set(from_secret) <= secret_settings
