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


# The replicated Redis overlay: deploy/k8s/redis-replicated (the base plus Redis, Sentinel, a config patch).
REPLICATED = K8S / "redis-replicated"
REPLICATED_MANIFESTS = sorted(
    p for p in REPLICATED.glob("*.yaml") if p.name not in ("kustomization.yaml", "worker-config.yaml")
)
REPLICATED_DOCS = [(path, doc) for path in REPLICATED_MANIFESTS for doc in load_yaml_all(path)]


def _replicated(kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for _, d in REPLICATED_DOCS if d["kind"] == kind and d["metadata"]["name"] == name]
    return dict(doc)


@pytest.mark.parametrize(
    "path,doc",
    REPLICATED_DOCS,
    ids=[f"{p.name}:{d['kind']}:{d['metadata']['name']}" for p, d in REPLICATED_DOCS],
)
def test_replicated_manifest_matches_the_kubernetes_schema(path: Path, doc: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        pytest.fail(f"{path.name}: {error.message} at {list(error.path)}")
    assert doc["metadata"]["namespace"] == load_yaml(REPLICATED / "kustomization.yaml")["namespace"]


def test_replicated_kustomization_builds_on_the_base() -> None:
    kustomization = load_yaml(REPLICATED / "kustomization.yaml")
    assert kustomization["resources"][0] == "../"
    assert sorted(kustomization["resources"][1:]) == sorted(p.name for p in REPLICATED_MANIFESTS)
    assert kustomization["patches"] == [{"path": "worker-config.yaml"}]
    patch = load_yaml(REPLICATED / "worker-config.yaml")
    base = _one("ConfigMap", "tranchewatch-config")
    assert (patch["kind"], patch["metadata"]["name"]) == ("ConfigMap", base["metadata"]["name"])


def test_replicated_redis_is_a_primary_and_two_replicas_and_three_sentinels() -> None:
    redis, sentinel = _replicated("StatefulSet", "redis"), _replicated("StatefulSet", "redis-sentinel")
    assert redis["spec"]["replicas"] == 3 and sentinel["spec"]["replicas"] == 3
    for statefulset in (redis, sentinel):
        service = _replicated("Service", statefulset["spec"]["serviceName"])
        assert service["spec"]["clusterIP"] == "None", "pods need stable names: a headless service"
        labels = statefulset["spec"]["template"]["metadata"]["labels"]
        assert statefulset["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert service["spec"]["selector"].items() <= labels.items()
        pdb = _replicated("PodDisruptionBudget", statefulset["metadata"]["name"])
        assert pdb["spec"]["maxUnavailable"] == 1
        pod = statefulset["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        (container,) = pod["containers"]
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert container["readinessProbe"] and container["livenessProbe"]
        passwords = {
            e["name"]: e["valueFrom"]["secretKeyRef"]
            for e in container["env"]
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        assert passwords["REDIS_PASSWORD"] == {"name": "tranchewatch-redis", "key": "password"}
    assert redis["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    secret = _replicated("Secret", "tranchewatch-redis")
    assert "REPLACE" in secret["stringData"]["password"]


def test_replicated_scripts_keep_every_node_durable_and_quorum_a_majority() -> None:
    scripts = _replicated("ConfigMap", "redis-replicated-scripts")["data"]
    redis_sh, sentinel_sh = scripts["redis.sh"], scripts["sentinel.sh"]
    for flag in ("--appendonly yes", "--appendfsync always", "--maxmemory-policy noeviction", "--replicaof"):
        assert flag in redis_sh, flag
    assert "REDIS_PASSWORD" in redis_sh and "--requirepass" not in redis_sh, "the password goes in a file"
    (monitor,) = re.findall(r"sentinel monitor (\S+) \$primary 6379 (\d+)", sentinel_sh)
    service, quorum = monitor
    sentinels = _replicated("StatefulSet", "redis-sentinel")["spec"]["replicas"]
    assert int(quorum) == sentinels // 2 + 1
    assert service == "tw-primary" and f"get-master-addr-by-name {service}" in scripts["primary.sh"]


def test_replicated_workers_go_through_every_sentinel_with_min_replicas() -> None:
    from streams.settings import Settings

    data = load_yaml(REPLICATED / "worker-config.yaml")["data"]
    base = _one("ConfigMap", "tranchewatch-config")["data"]
    env = base | data
    settings = Settings(**{k.removeprefix("TRANCHEWATCH_").lower(): v for k, v in env.items()})
    namespace = load_yaml(REPLICATED / "kustomization.yaml")["namespace"]
    sentinel = _replicated("StatefulSet", "redis-sentinel")
    expected = [
        (f"redis-sentinel-{i}.{sentinel['spec']['serviceName']}.{namespace}.svc.cluster.local", 26379)
        for i in range(sentinel["spec"]["replicas"])
    ]
    assert settings.sentinel_addresses() == expected
    assert settings.redis_sentinel_service == "tw-primary"
    redis_replicas = _replicated("StatefulSet", "redis")["spec"]["replicas"] - 1
    assert 1 <= settings.redis_min_replicas < redis_replicas, "durable, yet one replica down does not stop it"
