"""The MLOps maturity levels, read from the manifest that the template ships (maturity.yml).

That YAML file is the single source of truth: the template renders MATURITY.md from it, this
module gives it types for the CLI, the generator and the Pulumi stacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from mlops_core.errors import InvalidLevelError, LevelNotBuiltError
from mlops_core.resources import shipped_yaml

CI_VENDORS = ("github", "gitlab")


@dataclass(frozen=True)
class Capability:
    key: str
    title: str
    description: str
    level: int
    # CI vendor (or "*" for any) -> paths in a generated project, any one of which proves it.
    evidence: dict[str, tuple[str, ...]]
    # Required capabilities define the level; the others are recommended practices (see maturity.yml).
    required: bool = True

    def evidence_paths(self, *, package: str, ci: str) -> tuple[str, ...]:
        paths = self.evidence.get(ci, self.evidence.get("*", ()))
        return tuple(p.format(pkg=package) for p in paths)


@dataclass(frozen=True)
class Level:
    number: int
    name: str
    google_level: int
    built: bool
    summary: str
    capabilities: tuple[Capability, ...]

    @property
    def required(self) -> tuple[Capability, ...]:
        return tuple(c for c in self.capabilities if c.required)

    @property
    def recommended(self) -> tuple[Capability, ...]:
        return tuple(c for c in self.capabilities if not c.required)

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.number,
            "name": self.name,
            "google_level": self.google_level,
            "built": self.built,
            "summary": self.summary,
            "capabilities": [
                {"key": c.key, "title": c.title, "description": c.description, "required": c.required}
                for c in self.capabilities
            ],
        }


def _capability(raw: dict[str, Any], level: int) -> Capability:
    evidence = raw["evidence"]
    by_vendor = (
        {"*": tuple(evidence)} if isinstance(evidence, list) else {k: tuple(v) for k, v in evidence.items()}
    )
    required = raw.get("required", True)
    if not isinstance(required, bool):
        raise ValueError(f"maturity.yml: 'required' of capability {raw['key']} must be true or false")
    return Capability(raw["key"], raw["title"], raw["description"], level, by_vendor, required)


@cache
def all_levels() -> tuple[Level, ...]:
    """Every level of the manifest, lowest first."""
    raw = shipped_yaml("maturity.yml")
    return tuple(
        Level(
            number=entry["level"],
            name=entry["name"],
            google_level=entry["google_level"],
            built=entry["built"],
            summary=entry["summary"],
            capabilities=tuple(_capability(c, entry["level"]) for c in entry["capabilities"]),
        )
        for entry in raw["levels"]
    )


def get_level(level: object) -> Level:
    """The level numbered ``level``; InvalidLevelError otherwise.

    Only the documented forms are levels: an int, or a string of ASCII digits and nothing else
    (no spaces, signs, underscores or other scripts' digits, all of which ``int()`` would take).
    """
    numbers = [lv.number for lv in all_levels()]
    if isinstance(level, bool) or not (
        isinstance(level, int) or (isinstance(level, str) and re.fullmatch(r"[0-9]{1,3}", level))
    ):
        raise InvalidLevelError(level=level, levels=numbers)
    number = int(level)
    for candidate in all_levels():
        if candidate.number == number:
            return candidate
    raise InvalidLevelError(level=level, levels=numbers)


def require_built(level: object) -> Level:
    """The level, if the template builds it; LevelNotBuiltError naming what is missing otherwise."""
    chosen = get_level(level)
    if not chosen.built:
        missing = [
            c.title.lower()
            for lv in all_levels()
            if lv.number <= chosen.number and not lv.built
            for c in lv.capabilities
        ]
        raise LevelNotBuiltError(level=chosen.number, name=chosen.name, missing=missing, built=built_levels())
    return chosen


def built_levels() -> list[int]:
    return [lv.number for lv in all_levels() if lv.built]


def capabilities_up_to(level: int) -> list[Capability]:
    """All capabilities a project at ``level`` has (levels are cumulative)."""
    return [c for lv in all_levels() if lv.number <= level for c in lv.capabilities]
