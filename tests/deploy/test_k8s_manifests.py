"""deploy/k8s/ validates against the Kubernetes JSON schemas and hangs together.

Built-in kinds are validated strictly (unknown fields rejected) with kubernetes-validate (PyPI),
which ships the Kubernetes OpenAPI schemas per release. No PyPI package we can install cleanly
ships the prometheus-operator CRD schema, so the ServiceMonitor gets a structural check below
written from the monitoring.coreos.com/v1 CRD (field names and the duration pattern).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from tests.deploy.support import K8S, ROOT, load_yaml, load_yaml_all

KUBERNETES_VERSION = kubernetes_validate.latest_version()
MANIFESTS = sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
# The CRD's pattern for monitoring.coreos.com/v1 Duration.
CRD_DURATION = re.compile(
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)
SERVICEMONITOR_SPEC_FIELDS = {
    "attachMetadata",
    "bodySizeLimit",
    "endpoints",
    "fallbackScrapeProtocol",
    "jobLabel",
    "keepDroppedTargets",
    "labelLimit",
    "labelNameLengthLimit",
    "labelValueLengthLimit",
    "namespaceSelector",
    "nativeHistogramBucketLimit",
    "nativeHistogramMinBucketFactor",
    "podTargetLabels",
    "sampleLimit",
    "scrapeClass",
    "scrapeClassicHistograms",
    "scrapeProtocols",
    "selector",
    "selectorMechanism",
    "targetLabels",
    "targetLimit",
}
SERVICEMONITOR_ENDPOINT_FIELDS = {
    "authorization",
    "basicAuth",
    "bearerTokenFile",
    "bearerTokenSecret",
    "enableHttp2",
    "filterRunning",
    "followRedirects",
    "honorLabels",
    "honorTimestamps",
    "interval",
    "metricRelabelings",
    "noProxy",
    "oauth2",
    "params",
    "path",
    "port",
    "proxyConnectHeader",
    "proxyFromEnvironment",
    "proxyUrl",
    "relabelings",
    "scheme",
    "scrapeTimeout",
    "targetPort",
    "tlsConfig",
    "trackTimestampsStaleness",
}


def _documents() -> list[tuple[Path, dict[str, Any]]]:
    return [(path, doc) for path in MANIFESTS for doc in load_yaml_all(path)]


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    (doc,) = [
        doc for _, doc in _documents() if doc["kind"] == kind and name in (None, doc["metadata"]["name"])
    ]
    return doc


BUILT_IN = [(p, d) for p, d in _documents() if d["apiVersion"] != "monitoring.coreos.com/v1"]


@pytest.mark.parametrize("path,doc", BUILT_IN, ids=[f"{p.name}:{d['kind']}" for p, d in BUILT_IN])
def test_manifest_matches_the_kubernetes_schema(path: Path, doc: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        pytest.fail(f"{path.name}: {error.message} at {list(error.path)}")


def test_schema_validation_rejects_a_broken_manifest() -> None:
    broken = {**_one("Deployment")}
    broken["spec"] = {**broken["spec"], "replica": 2}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    kustomization = load_yaml(K8S / "kustomization.yaml")
    assert sorted(kustomization["resources"]) == sorted(p.name for p in MANIFESTS)


def test_deployment_probes_resources_and_security() -> None:
    deployment = _one("Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    (container,) = pod["containers"]
    assert container["args"] == ["worker"]
    assert {"name": "http-metrics", "containerPort": 6066, "protocol": "TCP"} in container["ports"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http-metrics"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http-metrics"}
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert {"cpu", "memory"} <= set(container["resources"]["limits"])
    security = container["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"]["drop"] == ["ALL"]
    assert (
        deployment["spec"]["selector"]["matchLabels"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )


def test_settings_come_from_the_configmap_and_secrets_from_the_secret() -> None:
    container = _one("Deployment")["spec"]["template"]["spec"]["containers"][0]
    config, secret = _one("ConfigMap", "tranchewatch-config"), _one("Secret")
    assert container["envFrom"] == [{"configMapRef": {"name": config["metadata"]["name"]}}]
    assert config["data"]["TRANCHEWATCH_HTTP_HOST"] == "0.0.0.0"
    assert "TRANCHEWATCH_KAFKA_BOOTSTRAP" in config["data"]
    from_secret = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    assert set(from_secret) == {
        "TRANCHEWATCH_SLACK_WEBHOOK_URL",
        "TRANCHEWATCH_ALERTMANAGER_URL",
        "TRANCHEWATCH_REDIS_URL",
    }
    for name, ref in from_secret.items():
        assert ref["name"] == secret["metadata"]["name"] and ref["key"] in secret["stringData"], name
    assert not set(config["data"]) & set(secret["stringData"]), (
        "a setting is both in the ConfigMap and the Secret"
    )
    for value in secret["stringData"].values():
        assert "REPLACE" in value, "the committed Secret holds placeholders only"


def test_the_positions_file_is_mounted_where_the_setting_points_and_parses() -> None:
    from streams.model.positions import parse_positions

    pod = _one("Deployment")["spec"]["template"]["spec"]
    path = Path(_one("ConfigMap", "tranchewatch-config")["data"]["TRANCHEWATCH_POSITIONS_FILE"])
    positions = _one("ConfigMap", "tranchewatch-positions")
    (volume,) = [v for v in pod["volumes"] if v.get("configMap", {}).get("name") == "tranchewatch-positions"]
    (mount,) = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"]]
    # A directory mount (no subPath): the kubelet refreshes it after an edit, for a SIGHUP reload.
    assert Path(mount["mountPath"]) == path.parent and "subPath" not in mount and mount["readOnly"]
    assert parse_positions(positions["data"][path.name]).portfolios == ["fund-a", "fund-b"]


def test_service_selects_the_pods_and_names_the_port() -> None:
    service, deployment = _one("Service"), _one("Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["name"] == "http-metrics"


def test_pod_disruption_budget_covers_the_workers() -> None:
    pdb, deployment = _one("PodDisruptionBudget"), _one("Deployment")
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
    assert pdb["spec"]["maxUnavailable"] == 1
    assert deployment["spec"]["replicas"] >= 2, "with one replica the PDB would block every drain"


def test_service_monitor_structure() -> None:
    monitor, service = _one("ServiceMonitor"), _one("Service")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert set(monitor) == {"apiVersion", "kind", "metadata", "spec"}
    spec = monitor["spec"]
    assert set(spec) <= SERVICEMONITOR_SPEC_FIELDS, set(spec) - SERVICEMONITOR_SPEC_FIELDS
    assert spec["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert spec["namespaceSelector"]["matchNames"] == [service["metadata"]["namespace"]]
    port_names = {port["name"] for port in service["spec"]["ports"]}
    assert spec["endpoints"]
    for endpoint in spec["endpoints"]:
        assert set(endpoint) <= SERVICEMONITOR_ENDPOINT_FIELDS, set(endpoint) - SERVICEMONITOR_ENDPOINT_FIELDS
        assert endpoint["port"] in port_names
        assert endpoint["path"] == "/metrics"
        for key in ("interval", "scrapeTimeout"):
            assert CRD_DURATION.match(endpoint[key]), f"{key}: {endpoint[key]!r} is not a CRD Duration"
    # The rules in deploy/prometheus/ select job="tranchewatch": the job label must come out so.
    assert service["metadata"]["labels"][spec["jobLabel"]] == "tranchewatch"


def test_every_namespaced_object_is_in_the_namespace() -> None:
    namespace = load_yaml(K8S / "kustomization.yaml")["namespace"]
    for path, doc in _documents():
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == namespace, path.name
    assert (ROOT / "deploy" / "k8s" / "namespace.yaml").exists()
