"""Where the files this package ships (the copier template and its data) live on disk."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def template_dir() -> Path:
    """The copier template: inside the wheel, or at the repository root in a source checkout."""
    for candidate in (
        _PACKAGE_DIR / "templates" / "project",
        _PACKAGE_DIR.parents[1] / "templates" / "project",
    ):
        if (candidate / "copier.yml").is_file():
            return candidate
    raise FileNotFoundError(
        "The mlops-scaffold template is missing from this installation; reinstall mlops-scaffold."
    )


@cache
def source_checkout() -> Path | None:
    """The repository root when mlops-scaffold runs from a clone (an editable install); else None."""
    root = _PACKAGE_DIR.parents[1]
    pyproject = root / "pyproject.toml"
    try:
        is_ours = pyproject.is_file() and 'name = "mlops-scaffold"' in pyproject.read_text(encoding="utf-8")
    except OSError:
        return None
    return root if is_ours and (root / "cli" / "mlops_scaffold").is_dir() else None


def shipped_yaml(name: str) -> Any:
    """A YAML file of the template (copier.yml, maturity.yml, ...), parsed with libyaml's safe
    loader where PyYAML has it (several times faster than the pure-Python one)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load((template_dir() / name).read_text(encoding="utf-8"), Loader=loader)
