"""Infrastructure tests. They need the infra extra (pulumi, pulumi-aws, pulumi-policy):
`pip install -e '.[dev,infra]'`; without it they are not collected."""

from __future__ import annotations

import importlib.util

import pytest

if not all(importlib.util.find_spec(name) for name in ("pulumi", "pulumi_aws", "pulumi_policy")):
    collect_ignore_glob = ["test_*.py"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # pulumi_aws warns about its own deprecated aliases when its modules are imported.
    for item in items:
        if "tests/infra" in str(item.path):
            item.add_marker(pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws"))
