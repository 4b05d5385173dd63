"""One errors module: every exit code has one owner and one meaning, and the README says it."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

from mlops_core import errors
from mlops_core.errors import ScaffoldError, exit_codes

REPO = Path(__file__).resolve().parents[1]


def every_error_class() -> list[type[ScaffoldError]]:
    """Every ScaffoldError subclass of the CLI package and of the infrastructure libraries."""
    packages = ["mlops_scaffold"]
    if importlib.util.find_spec("pulumi") is not None:
        packages += ["mlops_platform", "mlops_stacks"]
    for name in packages:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, f"{name}."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    found: list[type[ScaffoldError]] = []
    pending = [ScaffoldError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_with_an_exit_code_lives_in_the_errors_module() -> None:
    for cls in every_error_class():
        if "exit_code" not in vars(cls):
            continue
        where = f"{cls.__module__}.{cls.__qualname__}"
        assert cls.__module__ == errors.__name__, f"{where} sets an exit code outside errors.py"
        assert cls.__name__ in errors.__all__, f"{where} not in __all__"


def test_exit_codes_are_unique() -> None:
    owners: dict[int, str] = {}
    for cls in every_error_class():
        if "exit_code" in vars(cls):
            name = f"{cls.__module__}.{cls.__qualname__}"
            assert cls.exit_code not in owners, f"{name} and {owners[cls.exit_code]} both use {cls.exit_code}"
            owners[cls.exit_code] = name
    assert set(owners) == set(exit_codes())


@pytest.mark.skipif(importlib.util.find_spec("pulumi") is None, reason="needs the infra extra")
def test_the_infrastructure_libraries_raise_the_errors_modules_classes() -> None:
    from mlops_platform.errors import InvalidArgsError
    from mlops_stacks.config import StackConfigError

    assert (InvalidArgsError, StackConfigError) == (errors.InvalidArgsError, errors.StackConfigError)
    assert (InvalidArgsError.exit_code, StackConfigError.exit_code) == (21, 23)


def test_the_readme_table_is_the_errors_modules() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Errors and exit codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+) \|$", section, re.MULTILINE)
    assert {int(code): meaning for code, meaning in rows} == exit_codes()
    assert [int(code) for code, _ in rows] == sorted(exit_codes()), "keep the table in code order"
