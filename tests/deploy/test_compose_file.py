"""docker-compose.yml is a valid Compose file and wires the stack as intended.

The schema is the Compose Specification's compose-spec.json as vendored by check-jsonschema
(PyPI) under check_jsonschema/builtin_schemas/vendor/; `docker compose` itself cannot run here.
"""

from __future__ import annotations

import json
import os
import re
from importlib import resources
from typing import Any

import jsonschema
import pytest

from tests.deploy.support import ROOT, load_yaml

COMPOSE = ROOT / "docker-compose.yml"
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}|\$\$")


def _interpolate(value: Any) -> Any:
    """Compose's interpolation with an empty environment: ${X:-default} -> default, $$ -> $."""
    if isinstance(value, str):
        return _VARIABLE.sub(lambda m: "$" if m.group(0) == "$$" else (m.group("default") or ""), value)
    if isinstance(value, list):
        return [_interpolate(v) for v in value]
    if isinstance(value, dict):
        return {k: _interpolate(v) for k, v in value.items()}
    return value


def _validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    # The vendored schema names draft-07 as https://json-schema.org/draft-07/schema, a URL jsonschema does not
    # know (it deprecates guessing the draft): say which one it is.
    assert schema.get("$schema", "").rstrip("#").endswith("json-schema.org/draft-07/schema")
    return jsonschema.Draft7Validator(schema)


def _schema() -> dict[str, Any]:
    vendor = resources.files("check_jsonschema.builtin_schemas.vendor")
    return dict(json.loads((vendor / "compose-spec.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(load_yaml(COMPOSE))


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return dict(compose["services"])


def test_compose_file_matches_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = _schema()
    assert schema.get("title") == "Compose Specification"
    validator = _validator(schema)
    for document in (compose, _interpolate(compose)):
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_schema_check_rejects_a_broken_file(compose: dict[str, Any]) -> None:
    schema = _schema()
    broken = {**compose, "services": {**compose["services"], "redis": {"image": "redis:7", "heathcheck": {}}}}
    assert list(_validator(schema).iter_errors(broken))


def test_every_service_has_a_health_check(services: dict[str, Any]) -> None:
    assert set(services) == {
        "kafka",
        "kafka-init",
        "redis",
        "worker",
        "prometheus",
        "alertmanager",
        "grafana",
    }
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), f"{name}: no health check"


def test_start_order_uses_conditions(services: dict[str, Any]) -> None:
    wanted = {
        "kafka-init": {"kafka": "service_healthy"},
        "worker": {
            "kafka": "service_healthy",
            "kafka-init": "service_completed_successfully",
            "redis": "service_healthy",
        },
        "prometheus": {"worker": "service_started"},
        "grafana": {"prometheus": "service_healthy"},
    }
    for name, deps in wanted.items():
        got = {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}
        assert got == deps, name


def test_kafka_is_a_kraft_3x_node(services: dict[str, Any]) -> None:
    kafka = services["kafka"]
    assert re.fullmatch(r"apache/kafka:3\.\d+\.\d+", kafka["image"])
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert env["KAFKA_LOG_DIRS"] == "/var/lib/kafka/data"
    assert "kafka-data:/var/lib/kafka/data" in kafka["volumes"]


def test_topics_are_created_with_their_partition_counts(services: dict[str, Any]) -> None:
    script = _interpolate(services["kafka-init"]["command"])[0]
    created = dict(re.findall(r"--topic (\S+) --partitions (\d+)", script))
    assert created == {
        "bond.quotes": "8",
        "abs.deals": "2",
        "issuer.financials": "2",
        "abs.distributions": "2",
        "abs.entities": "1",
        "abs.alerts": "2",
        "tranchewatch.deadletter": "1",
    }
    assert services["kafka-init"]["image"] == services["kafka"]["image"]


def test_redis_persists_with_an_append_only_file(services: dict[str, Any]) -> None:
    redis = services["redis"]
    assert redis["image"].startswith("redis:7")
    assert redis["command"][1:3] == ["--appendonly", "yes"]
    assert "redis-data:/data" in redis["volumes"]
    # The worker refuses any other policy (streams/state/redis_policy.py).
    assert redis["command"][-2:] == ["--maxmemory-policy", "noeviction"]


def test_topics_keep_the_history_a_rebuild_needs(services: dict[str, Any]) -> None:
    script = services["kafka-init"]["command"][0]
    configs = {
        topic: dict(re.findall(r"--config (\S+)=(\S+)", rest))
        for topic, rest in re.findall(r"--topic (\S+) --partitions \d+(.*)", script)
    }
    for topic in ("abs.deals", "issuer.financials", "abs.distributions", "abs.entities", "abs.alerts"):
        assert configs[topic] == {"retention.ms": "-1", "cleanup.policy": "delete"}, topic
    assert int(configs["bond.quotes"]["retention.ms"]) >= 30 * 86_400_000


def test_worker_is_built_and_configured(services: dict[str, Any]) -> None:
    worker = services["worker"]
    assert worker["build"] == {"context": ".", "dockerfile": "deploy/Dockerfile"}
    assert worker["command"] == ["worker"]
    env = worker["environment"]
    assert env["TRANCHEWATCH_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert env["TRANCHEWATCH_REDIS_URL"] == "redis://redis:6379/0"
    assert env["TRANCHEWATCH_HTTP_HOST"] == "0.0.0.0"
    assert env["TRANCHEWATCH_SLACK_WEBHOOK_URL"] == "${TRANCHEWATCH_SLACK_WEBHOOK_URL:-}"
    assert env["TRANCHEWATCH_ALERTMANAGER_URL"] == "http://alertmanager:9093"
    assert "/healthz" in " ".join(worker["healthcheck"]["test"])
    assert "ports" not in worker, "a fixed host port would stop the workers from scaling"


def test_bind_mounts_exist_in_the_repository(services: dict[str, Any]) -> None:
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
    assert os.path.exists(ROOT / "deploy" / "Dockerfile")


def test_pinned_images(services: dict[str, Any]) -> None:
    for name, service in services.items():
        image = service.get("image", "")
        if "build" in service:
            continue
        tag = image.rpartition(":")[2]
        assert tag and tag != "latest" and image.count(":") == 1, f"{name}: pin the image tag ({image})"


def test_alertmanager_runs_the_example_config(services: dict[str, Any]) -> None:
    am = services["alertmanager"]
    assert "./deploy/alertmanager:/etc/alertmanager:ro" in am["volumes"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in am["command"]
    assert (ROOT / "deploy" / "alertmanager" / "alertmanager.yml").is_file()
    assert "alertmanager" not in services["worker"]["depends_on"], (
        "an Alertmanager outage must not stop workers"
    )


# The replicated Redis: deploy/compose.replicated.yml on top of docker-compose.yml.
REPLICATED = ROOT / "deploy" / "compose.replicated.yml"
SENTINELS = ("sentinel-1", "sentinel-2", "sentinel-3")
REPLICAS = ("redis-replica-1", "redis-replica-2")


def _merge(base: Any, override: Any) -> Any:
    """Compose's merge of an override file, as far as this one needs: mappings merge key by key
    (services, environment, depends_on, volumes), anything else (command, entrypoint) is replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: _merge(base[k], v) if k in base else v for k, v in override.items()} | {
            k: v for k, v in base.items() if k not in override
        }
    return override


@pytest.fixture(scope="module")
def replicated(compose: dict[str, Any]) -> dict[str, Any]:
    return dict(_merge(compose, load_yaml(REPLICATED)))


def test_replicated_override_matches_the_compose_specification(replicated: dict[str, Any]) -> None:
    validator = _validator(_schema())
    for document in (load_yaml(REPLICATED), replicated, _interpolate(replicated)):
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_replicated_redis_is_a_primary_two_replicas_and_three_sentinels(replicated: dict[str, Any]) -> None:
    services = replicated["services"]
    assert {"redis", *REPLICAS, *SENTINELS} <= set(services)
    for name in ("redis", *REPLICAS):
        command = services[name]["command"]
        # Any node may become primary: each keeps an fsynced AOF, never evicts, announces its service name.
        assert command[:5] == ["redis-server", "--appendonly", "yes", "--appendfsync", "always"], name
        assert (
            "--maxmemory-policy" in command
            and command[command.index("--maxmemory-policy") + 1] == "noeviction"
        )
        assert command[command.index("--replica-announce-ip") + 1] == name
        assert services[name]["healthcheck"]["test"]
        assert any(str(v).endswith(":/data") for v in services[name]["volumes"]), name
    assert "--replicaof" not in services["redis"]["command"]
    for name in REPLICAS:
        command = services[name]["command"]
        assert command[command.index("--replicaof") + 1 :][:2] == ["redis", "6379"], name
        assert services[name]["depends_on"] == {"redis": {"condition": "service_healthy"}}
    declared = set(replicated["volumes"])
    for name in (*REPLICAS, *SENTINELS):
        for volume in services[name]["volumes"]:
            assert volume.split(":")[0] in declared, f"{name}: volume {volume} not declared"


def test_sentinels_monitor_the_primary_with_a_majority_quorum(replicated: dict[str, Any]) -> None:
    services = replicated["services"]
    for name in SENTINELS:
        sentinel = services[name]
        script = _interpolate(sentinel["command"])[0]
        (monitor,) = re.findall(r"sentinel monitor (\S+) (\S+) (\d+) (\d+)", script)
        service, host, port, quorum = monitor
        assert (service, host, port) == ("tw-primary", "redis", "6379")
        assert int(quorum) == len(SENTINELS) // 2 + 1, "quorum: a majority of the sentinels"
        assert "port 26379" in script and "--sentinel" in script
        assert sentinel["environment"]["SENTINEL_NAME"] == name
        assert "get-master-addr-by-name" in sentinel["healthcheck"]["test"]
        assert sentinel["depends_on"] == {"redis": {"condition": "service_healthy"}}


def test_replicated_worker_goes_through_the_sentinels_with_min_replicas(replicated: dict[str, Any]) -> None:
    from streams.settings import Settings

    worker = replicated["services"]["worker"]
    env = _interpolate(worker["environment"])
    settings = Settings(**{k.removeprefix("TRANCHEWATCH_").lower(): v for k, v in env.items() if v})
    assert settings.sentinel_addresses() == [(name, 26379) for name in SENTINELS]
    script = replicated["services"]["sentinel-1"]["command"][0]
    assert f"sentinel monitor {settings.redis_sentinel_service} " in script
    assert settings.redis_min_replicas == 1, "a failover must not lose what a worker acknowledged"
    assert settings.redis_min_replicas <= len(REPLICAS) - 1, "one replica down must not stop the stream"
    for name in (*SENTINELS, *REPLICAS, "redis", "kafka"):
        assert worker["depends_on"][name]["condition"] == "service_healthy", name


def test_the_single_node_stack_is_unchanged_without_the_override(services: dict[str, Any]) -> None:
    env = services["worker"]["environment"]
    assert not {k for k in env if "SENTINEL" in k or "MIN_REPLICAS" in k}
    assert not set(services) & {*SENTINELS, *REPLICAS}
