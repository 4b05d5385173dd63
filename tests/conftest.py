"""Shared fixtures: an isolated HOME (the template store lives there) and project rendering."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from localstack import LocalStack, ensure_localstack

# Property-based tests (test_upgrade_properties.py): a few examples in the normal suite, the same
# ones every run (derandomized: CI stays reproducible), and hundreds of fresh random ones on
# demand with `--hypothesis-profile=long` (or HYPOTHESIS_PROFILE=long).
settings.register_profile("fast", max_examples=5, deadline=None, derandomize=True)
settings.register_profile("long", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


@pytest.fixture(scope="session", autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Keep the template store (~/.local/share/mlops-scaffold) out of the real home directory."""
    home = tmp_path_factory.mktemp("home")
    previous = os.environ.get("HOME")
    os.environ["HOME"] = str(home)
    yield home
    if previous is None:
        del os.environ["HOME"]
    else:
        os.environ["HOME"] = previous


@pytest.fixture(scope="session")
def localstack() -> Iterator[LocalStack]:
    """One LocalStack for the whole session: LOCALSTACK_ENDPOINT's, or one started (and stopped) here."""
    stack = ensure_localstack()
    yield stack
    stack.stop()


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty temp directory private to the test (where scratch and staging directories go)."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path
