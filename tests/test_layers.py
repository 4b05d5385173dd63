"""The packages lean one way: the CLI, the platform and the stacks import the domain (mlops_core),
the stacks import the platform, and nothing below the CLI imports the CLI (mlops_scaffold).

So a platform repository (`mlops-scaffold platform init`) runs the stacks on the platform and the
domain alone. Every import is checked, those inside functions too (read from the syntax tree).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIRST_PARTY = ("mlops_core", "mlops_scaffold", "mlops_platform", "mlops_stacks")

# package -> (its folder, the first-party packages it must never import)
LAYERS = {
    "mlops_core": (ROOT / "cli" / "mlops_core", {"mlops_scaffold", "mlops_platform", "mlops_stacks"}),
    "mlops_platform": (ROOT / "platform" / "mlops_platform", {"mlops_scaffold", "mlops_stacks"}),
    "mlops_stacks": (ROOT / "stacks" / "mlops_stacks", {"mlops_scaffold"}),
    "policy": (ROOT / "policy", {"mlops_scaffold", "mlops_stacks"}),
}


def imported_packages(source: Path) -> set[str]:
    """The top-level first-party packages a module imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        found |= {name.split(".")[0] for name in names if name.split(".")[0] in FIRST_PARTY}
    return found


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_no_package_imports_a_layer_above_it(package: str) -> None:
    folder, forbidden = LAYERS[package]
    modules = sorted(folder.rglob("*.py"))
    assert modules, folder
    wrong = {
        str(module.relative_to(ROOT)): sorted(imported_packages(module) & forbidden)
        for module in modules
        if imported_packages(module) & forbidden
    }
    assert not wrong, f"{package} must not import {sorted(forbidden)}: {wrong}"


def test_the_stacks_run_without_the_cli_installed() -> None:
    """The stack program imports with mlops_scaffold made unimportable (as if it were not there)."""
    code = (
        "import sys; sys.modules['mlops_scaffold'] = None\n"
        "import mlops_stacks.program, mlops_stacks.config, mlops_platform.policy.pack\n"
        "from mlops_core.levels import get_level; get_level(4)\n"
        "assert 'mlops_scaffold' not in {m.split('.')[0] for m in sys.modules if sys.modules[m]}\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
