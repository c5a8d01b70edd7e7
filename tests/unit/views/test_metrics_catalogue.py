"""The metrics the code exports are exactly those deploy/metrics.yml promises dashboards and rules."""

from __future__ import annotations

from pathlib import Path

import yaml

from streams.views.catalogue import catalogue, markdown

ROOT = Path(__file__).resolve().parents[3]


def test_code_and_catalogue_agree() -> None:
    promised = {
        m["name"]: m for m in yaml.safe_load((ROOT / "deploy" / "metrics.yml").read_text())["metrics"]
    }
    exported = {doc.name: doc for doc in catalogue()}
    assert set(exported) == set(promised)
    for name, doc in exported.items():
        assert doc.type == promised[name]["type"], name
        assert set(doc.labels) == set(promised[name].get("labels") or {}), name


def test_readme_carries_the_generated_catalogue() -> None:
    assert markdown() in (ROOT / "README.md").read_text()
