"""The level rule and the scores, from the levels manifest (maturity.yml).

Each capability of the manifest is *required* (it defines its level on Microsoft's/Google's scales)
or *recommended* (a practice a project generated at that level also gets). A repository is at the
highest level N whose required capabilities, and those of every level below N, are all present;
level 0 is the floor. Each level also gets a score: found/total over all its capabilities, and the
same over its required ones. Recommended practices never cap a level: they are reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_core.levels import Level, all_levels
from mlops_scaffold.assess.detectors import Evidence


@dataclass(frozen=True)
class Finding:
    key: str
    title: str
    level: int
    required: bool
    found: bool
    evidence: list[Evidence]  # the first few files that prove it
    more: int = 0  # how many more files prove it


@dataclass(frozen=True)
class LevelScore:
    level: int
    name: str
    found: int
    total: int
    required_found: int
    required_total: int

    @property
    def required_complete(self) -> bool:
        return self.required_found == self.required_total

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "name": self.name,
            "score": f"{self.found}/{self.total}",
            "found": self.found,
            "total": self.total,
            "required_found": self.required_found,
            "required_total": self.required_total,
        }


def scores(findings: list[Finding], levels: tuple[Level, ...] | None = None) -> list[LevelScore]:
    """One score per level of the manifest, lowest first."""
    result = []
    for level in levels or all_levels():
        mine = [f for f in findings if f.level == level.number]
        required = [f for f in mine if f.required]
        result.append(
            LevelScore(
                level=level.number,
                name=level.name,
                found=sum(f.found for f in mine),
                total=len(mine),
                required_found=sum(f.found for f in required),
                required_total=len(required),
            )
        )
    return result


def level_reached(level_scores: list[LevelScore]) -> int:
    """The highest level whose required capabilities, and all lower levels' ones, are present."""
    reached = level_scores[0].level if level_scores else 0
    for score in level_scores:
        if not score.required_complete:
            break
        reached = score.level
    return reached
