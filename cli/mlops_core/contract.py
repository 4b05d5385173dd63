"""The SSM parameter contract between generated projects and the Pulumi stacks.

Names come from the template's contract.yml, the one place they are written down; the stacks
publish ``parameter_path(...)`` for each name and the template reads the same names.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import yaml

from mlops_core.resources import template_dir


@dataclass(frozen=True)
class Parameter:
    name: str
    level: int
    env_var: str
    description: str
    framework: str | None = None  # published only for projects of this framework


FRAMEWORKS = ("sklearn", "pytorch")


@cache
def _contract() -> tuple[str, tuple[Parameter, ...]]:
    raw = yaml.safe_load((template_dir() / "contract.yml").read_text(encoding="utf-8"))
    return raw["prefix"], tuple(Parameter(**p) for p in raw["parameters"])


def parameters(level: int | None = None, framework: str | None = None) -> tuple[Parameter, ...]:
    """The parameters a project at ``level`` with ``framework`` needs (all levels, or every
    framework's, when left out)."""
    return tuple(
        p
        for p in _contract()[1]
        if (level is None or p.level <= level) and (framework is None or p.framework in (None, framework))
    )


def parameter_names(level: int | None = None, framework: str | None = None) -> list[str]:
    return [p.name for p in parameters(level, framework)]


def parameter_path(*, project: str, env: str, name: str) -> str:
    """The full SSM name, e.g. /mlops/churn/dev/data-bucket."""
    if name not in {p.name for p in _contract()[1]}:
        raise KeyError(f"{name!r} is not in the SSM contract (templates/project/contract.yml)")
    return _contract()[0].format(project=project, env=env) + name
