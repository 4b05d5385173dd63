"""The template store and the shipped history: every released template version reproducible offline."""

from __future__ import annotations

import importlib.util
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from upgrade_support import commit_all, old_template

from mlops_core.errors import TemplateStoreBusyError, TemplateStoreError
from mlops_core.resources import template_dir
from mlops_scaffold import __version__, template_store
from mlops_scaffold.template_store import (
    HISTORY_BUNDLE,
    available_versions,
    build_history_bundle,
    bundle_tags,
    ensure_version,
    has_ref,
    store_path,
    version_tag,
)

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "build_template_history.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_template_history", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def store_git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=store_path(), capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def fresh_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine whose template store is empty."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


def test_a_fresh_store_imports_the_shipped_history(
    tmp_path: Path, fresh_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = old_template(tmp_path / "old")
    older = old_template(tmp_path / "older")
    (older / "project" / "docs" / "NOTES.md").write_text("The oldest notes.\n")
    bundle = tmp_path / HISTORY_BUNDLE
    assert build_history_bundle([("0.0.0a1", older), ("0.0.0a2", old)], bundle) == ["v0.0.0a1", "v0.0.0a2"]
    monkeypatch.setattr(template_store, "history_bundle", lambda: bundle)

    assert ensure_version() == version_tag()
    assert {"v0.0.0a1", "v0.0.0a2", version_tag()} <= set(store_git("tag", "--list").split())
    assert store_git("show", "v0.0.0a1:project/docs/NOTES.md") == "The oldest notes."
    assert "## Getting started" in store_git("show", "v0.0.0a2:project/README.md.jinja")
    assert "## Quick start" in store_git("show", f"{version_tag()}:project/README.md.jinja")
    assert has_ref("v0.0.0a1") and not has_ref("v0.0.0a9")
    assert available_versions() >= {"v0.0.0a1", "v0.0.0a2", version_tag()}


def test_a_version_already_in_the_store_is_kept(
    tmp_path: Path, fresh_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's own tag rendered this machine's projects: the shipped history never replaces it."""
    local = old_template(tmp_path / "local")
    (local / "project" / "LOCAL.md").write_text("made here\n")
    ensure_version("0.0.0a1", source=local)
    commit = store_git("rev-parse", "v0.0.0a1")
    shipped = tmp_path / HISTORY_BUNDLE
    build_history_bundle([("0.0.0a1", old_template(tmp_path / "shipped"))], shipped)
    monkeypatch.setattr(template_store, "history_bundle", lambda: shipped)
    ensure_version()
    assert store_git("rev-parse", "v0.0.0a1") == commit


def test_snapshots_leave_out_the_history_and_caches(tmp_path: Path, fresh_home: Path) -> None:
    source = Path(
        shutil.copytree(template_dir(), tmp_path / "t", ignore=shutil.ignore_patterns(HISTORY_BUNDLE))
    )
    (source / HISTORY_BUNDLE).write_bytes(b"not part of any version")
    (source / "migrations" / "__pycache__").mkdir(exist_ok=True)
    (source / "migrations" / "__pycache__" / "migrate.cpython-311.pyc").write_bytes(b"\0")
    ensure_version("0.0.0a3", source=source)
    files = store_git("ls-tree", "-r", "--name-only", "v0.0.0a3").splitlines()
    assert "copier.yml" in files and "migrations/migrate.py" in files
    assert HISTORY_BUNDLE not in files and not any("__pycache__" in f for f in files)


def test_a_corrupt_history_is_a_clear_error(
    tmp_path: Path, fresh_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / HISTORY_BUNDLE
    broken.write_bytes(b"this is not a git bundle")
    monkeypatch.setattr(template_store, "history_bundle", lambda: broken)
    with pytest.raises(TemplateStoreError, match="not a readable git bundle") as caught:
        ensure_version()
    assert "Reinstall" in caught.value.fix


def test_script_bundles_every_release_tag_with_a_template(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "docs" / "index.md").write_text("before the template existed\n")
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=repo, check=True)
    commit_all(repo, "Start")
    subprocess.run(["git", "tag", "v0.0.0a0"], cwd=repo, check=True)  # no template at this tag: skipped
    old = old_template(repo / "templates" / "project")
    (old / HISTORY_BUNDLE).write_bytes(b"an older history, never part of a version")
    commit_all(repo, "Template")
    for tag in ("v0.0.0a1", "not-a-release", "vnext"):
        subprocess.run(["git", "tag", tag], cwd=repo, check=True)
    readme = old / "project" / "README.md.jinja"
    readme.write_text(readme.read_text().replace("## Getting started", "## Quick start"))
    commit_all(repo, "Rename the first section")
    subprocess.run(["git", "tag", "v0.0.0a10"], cwd=repo, check=True)  # sorts after a1 as a version
    (old / "project" / "UNRELEASED.md").write_text("after the last tag\n")
    commit_all(repo, "Unreleased work")

    output = tmp_path / "out" / HISTORY_BUNDLE
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--repo", str(repo), "--output", str(output)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert bundle_tags(output) == ["v0.0.0a1", "v0.0.0a10"]

    with_tags = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(output), str(with_tags)], check=True, capture_output=True)

    def files(tag: str) -> list[str]:
        listing = subprocess.run(
            ["git", "ls-tree", "-r", "--name-only", tag],
            cwd=with_tags,
            capture_output=True,
            text=True,
            check=True,
        )
        return listing.stdout.splitlines()

    assert "project/README.md.jinja" in files("v0.0.0a1") and HISTORY_BUNDLE not in files("v0.0.0a1")
    assert "project/UNRELEASED.md" not in files("v0.0.0a10")
    shown = subprocess.run(
        ["git", "show", "v0.0.0a10:project/README.md.jinja"], cwd=with_tags, capture_output=True, text=True
    )
    assert "## Quick start" in shown.stdout


def test_script_without_release_tags_ships_no_history(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=repo, check=True)
    stale = tmp_path / HISTORY_BUNDLE
    stale.write_bytes(b"stale")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--repo", str(repo), "--output", str(stale)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert not stale.exists()


def test_shipped_history_holds_every_earlier_release() -> None:
    """Release Y must ship every release X < Y: rerun scripts/build_template_history.py before tagging."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: no release tags to compare with")
    from packaging.version import Version

    current = Version(Version(__version__).public)
    releases = [tag for version, tag in load_script().release_tags(REPO) if version < current]
    shipped = set(bundle_tags(template_dir() / HISTORY_BUNDLE))
    missing = [tag for tag in releases if tag not in shipped]
    assert not missing, f"history.bundle lacks {missing}: run `python scripts/build_template_history.py`"


def test_a_tag_always_names_the_same_template(tmp_path: Path, fresh_home: Path) -> None:
    """An editable install's template can change under one version: each content gets its own tag."""
    from packaging.version import Version

    first, second = old_template(tmp_path / "first"), old_template(tmp_path / "second")
    (second / "project" / "EDITED.md").write_text("edited under the same version\n")
    for version in ("0.1.dev1+gabc1234", "0.2.0"):
        original = ensure_version(version, source=first)
        assert original == f"v{version}"
        edited = ensure_version(version, source=second)
        assert edited.startswith(f"v{version}{'.' if '+' in version else '+'}t")
        assert Version(edited[1:]).public == Version(version).public
        assert "EDITED.md" not in store_git("ls-tree", "--name-only", "-r", original)
        assert "project/EDITED.md" in store_git("ls-tree", "--name-only", "-r", edited)
        assert ensure_version(version, source=first) == original
        assert ensure_version(version, source=second) == edited


def test_preparing_the_store_copies_only_what_changed(tmp_path: Path, fresh_home: Path) -> None:
    """`new` prepares the store on every run: an unchanged template (about 10 MB) is not copied again,
    and an edit that keeps a file's size is still seen."""
    source = old_template(tmp_path / "t")
    note = source / "project" / "NOTE.md"
    note.write_text("aaaa\n")
    first = ensure_version("0.3.0", source=source)
    stored = store_path() / "project" / "NOTE.md"
    inode = stored.stat().st_ino
    assert ensure_version("0.3.0", source=source) == first
    assert stored.stat().st_ino == inode, "an unchanged file was copied again"
    note.write_text("bbbb\n")
    edited = ensure_version("0.3.0", source=source)
    assert edited != first and store_git("show", f"{edited}:project/NOTE.md") == "bbbb"


# --- a killed process never blocks the store --------------------------------------------------------


def hold_store_lock() -> subprocess.Popen[bytes]:
    """Another process that holds the store's writer lock (as a running mlops-scaffold does)."""
    lock = store_path().parent / "template.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, time\n"
            f"fd = os.open({str(lock)!r}, os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "os.pwrite(fd, f'{os.getpid()}\\n'.encode(), 0)\n"
            "print('held', flush=True)\ntime.sleep(120)\n",
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    return holder


def test_git_locks_a_killed_git_left_in_the_store_are_recovered(fresh_home: Path) -> None:
    ensure_version("0.0.0a5", source=template_dir())
    for leftover in ("index.lock", "HEAD.lock", "refs/heads/main.lock", "refs/tags/v0.0.0a6.lock"):
        (store_path() / ".git" / leftover).write_text("")
    assert ensure_version("0.0.0a6", source=template_dir()) == "v0.0.0a6"
    assert not list((store_path() / ".git").rglob("*.lock"))
    assert has_ref("v0.0.0a5") and has_ref("v0.0.0a6")


def test_a_busy_store_names_its_holder_and_a_killed_holder_blocks_nothing(
    fresh_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_version("0.0.0a5", source=template_dir())
    holder = hold_store_lock()
    try:
        monkeypatch.setattr(template_store, "LOCK_TIMEOUT", 0.5)
        heard: list[str] = []
        with pytest.raises(TemplateStoreBusyError) as caught:
            ensure_version("0.0.0a6", source=template_dir(), on_wait=heard.append)
        assert f"PID {holder.pid}" in caught.value.message and f"PID {holder.pid}" in heard[0]
        assert caught.value.exit_code == 9 and "remove" not in caught.value.fix.lower()
    finally:
        holder.send_signal(signal.SIGKILL)  # dies holding the lock, as a killed mlops-scaffold does
        holder.wait()
    assert ensure_version("0.0.0a6", source=template_dir()) == "v0.0.0a6"


def test_a_store_git_cannot_use_is_never_to_be_deleted(fresh_home: Path) -> None:
    ensure_version("0.0.0a5", source=template_dir())
    (store_path() / ".git" / "HEAD").write_text("garbage\n")
    with pytest.raises(TemplateStoreError) as caught:
        ensure_version("0.0.0a6", source=template_dir())
    fix = caught.value.fix
    assert "Do not delete it" in fix and "move it aside" in fix and f"rm -rf {store_path()}" not in fix
