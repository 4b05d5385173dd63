"""Shared fixtures: an isolated HOME (the template store lives there), one LocalStack for the whole
run (shared by pytest-xdist workers), PyTorch's CPU index stand-in, and a timing summary per tier."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from filelock import FileLock
from helpers import new_project
from hypothesis import settings
from localstack import LocalStack, ensure_localstack, health
from pytorch_index import PytorchCpuIndex, find_torch_wheel

# Property-based tests (test_upgrade_properties.py): a few examples in the normal suite, the same
# ones every run (derandomized: CI stays reproducible), and hundreds of fresh random ones on
# demand with `--hypothesis-profile=long` (or HYPOTHESIS_PROFILE=long).
settings.register_profile("fast", max_examples=5, deadline=None, derandomize=True)
settings.register_profile("long", max_examples=300, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))


# --- HOME ---------------------------------------------------------------------------------------


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


# --- Rendered projects: each combination once per session --------------------------------------------


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``rendered(level, framework=..., ci=..., python=..., name=...)``: a project rendered once per
    session (per xdist worker) with `mlops-scaffold new --defaults`. Treat it as read-only; a test
    that changes files works on ``shutil.copytree(...)`` of it."""
    cache: dict[tuple[object, ...], Path] = {}
    root = tmp_path_factory.mktemp("rendered")

    def get(
        level: int,
        *,
        framework: str = "sklearn",
        ci: str = "github",
        python: str = "3.11",
        name: str = "churn-model",
    ) -> Path:
        key = (level, framework, ci, python, name)
        if key not in cache:
            cache[key] = new_project(
                root / "-".join(map(str, key)) / name, level, framework=framework, ci=ci, python=python
            )
        return cache[key]

    return get


# --- LocalStack: one per run ---------------------------------------------------------------------
#
# Without xdist the session fixture starts LocalStack (or uses LOCALSTACK_ENDPOINT) and stops it.
# With xdist, the first worker that needs one starts it under a file lock in the run's shared
# temporary directory and records it there; the others reuse it; the controller stops it when the
# whole run is over (pytest_sessionfinish below), so no worker stops it under another's feet.

_STATE = "localstack.json"


def _shared_dir(tmp_path_factory: pytest.TempPathFactory, worker: str) -> Path:
    base = tmp_path_factory.getbasetemp()
    return base.parent if worker != "master" else base


@pytest.fixture(scope="session")
def localstack(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Iterator[LocalStack]:
    if worker_id == "master":
        stack = ensure_localstack()
        yield stack
        stack.stop()
        return
    shared = _shared_dir(tmp_path_factory, worker_id)
    state = shared / _STATE
    with FileLock(str(shared / f"{_STATE}.lock")):
        if state.is_file():
            recorded = json.loads(state.read_text())
            assert health(recorded["endpoint"]), f"the run's LocalStack stopped answering: {recorded}"
            stack = LocalStack(endpoint=recorded["endpoint"])
        else:
            stack = ensure_localstack()
            recorded = {
                "endpoint": stack.endpoint,
                "pid": stack.process.pid if stack.process else None,
                "workdir": str(stack.workdir) if stack.workdir else None,
            }
            state.write_text(json.dumps(recorded))
    yield stack  # a LocalStack started here is stopped by the controller at the end of the run


def pytest_sessionfinish(session: pytest.Session) -> None:
    """On the xdist controller: stop the LocalStack a worker started for this run."""
    config = session.config
    if not hasattr(config, "workerinput") and config.pluginmanager.hasplugin("xdist"):
        factory = getattr(config, "_tmp_path_factory", None)
        if factory is None:
            return
        state = factory.getbasetemp() / _STATE
        if state.is_file():
            recorded = json.loads(state.read_text())
            if recorded.get("pid"):
                from localstack import stop_process

                stop_process(recorded["pid"], recorded.get("workdir"))
            state.unlink()


# --- PyTorch's CPU index -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pytorch_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PytorchCpuIndex]:
    """download.pytorch.org/whl/cpu served from the CPU wheel on this machine (see pytorch_index.py)."""
    wheel = find_torch_wheel()
    assert wheel is not None and wheel.is_file(), (
        "PyTorch's CPU wheel (torch-2.13.0+cpu) was not found: set MLOPS_TEST_TORCH_WHEEL to its path "
        "or put it in a pip find-links directory; PyTorch projects are locked against it."
    )
    index = PytorchCpuIndex(wheel, tmp_path_factory.mktemp("pytorch-index"))
    yield index
    index.close()


# --- Scheduling and timing per tier ----------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the slow tiers first: with xdist, the longest tests then start on every worker at once and
    the many short ones fill the gaps at the end, instead of one long test finishing last alone."""
    order = {"localstack": 0, "slow": 1, "fast": 2}
    items.sort(key=lambda item: order[_tier(item)])


def _tier(item: pytest.Item) -> str:
    marks = {mark.name for mark in item.iter_markers()}
    if "localstack" in marks:
        return "localstack"
    return "slow" if "slow" in marks else "fast"


_durations: dict[str, float] = defaultdict(float)
_counts: dict[str, int] = defaultdict(int)
_started = time.monotonic()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    report.user_properties.append(("tier", _tier(item)))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    tier = dict(report.user_properties).get("tier")
    if tier:
        _durations[str(tier)] += report.duration
        if report.when == "call":
            _counts[str(tier)] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if hasattr(terminalreporter.config, "workerinput") or not _counts:
        return
    terminalreporter.section("time per tier (test time summed over workers)")
    for tier in ("fast", "slow", "localstack"):
        if _counts.get(tier):
            terminalreporter.write_line(
                f"{tier:>10}: {_counts[tier]:4d} tests  {_durations[tier] / 60:6.1f} min"
            )
    terminalreporter.write_line(f"{'wall':>10}: {(time.monotonic() - _started) / 60:6.1f} min")


# --- Scratch directories --------------------------------------------------------------------------------


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty temp directory private to the test (where scratch and staging directories go)."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path
