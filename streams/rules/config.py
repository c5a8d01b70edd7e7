"""Thresholds of every rule, validated: a misspelt name or a warning above its critical level fails at start."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True


class BelowParConfig(_Rule):
    warning_discount: float = Field(2.0, gt=0)
    critical_discount: float = Field(5.0, gt=0)
    resolve_discount: float = Field(1.5, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.resolve_discount <= self.warning_discount <= self.critical_discount:
            raise ValueError(
                "below_par needs resolve_discount <= warning_discount <= critical_discount, got "
                f"{self.resolve_discount}, {self.warning_discount}, {self.critical_discount}"
            )
        return self


class RulesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    below_par: BelowParConfig = BelowParConfig()

    @classmethod
    def load(cls, path: Path | None) -> RulesConfig:
        if path is None:
            return cls()
        with path.open("rb") as fh:
            return cls.model_validate(tomllib.load(fh))
