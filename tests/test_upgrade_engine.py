"""The upgrade engine on a tiny inline template: rollback, interruption, binary files, path clashes,
answers-file comments and scratch directories. Each upgrade here takes about a second."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from helpers import git, runner, snapshot
from upgrade_support import answers, commit_all, render_at, tiny_template, wait_for

import mlops_scaffold.upgrade as upgrade_module
from mlops_core.errors import CONFLICT_END, CONFLICT_START
from mlops_scaffold import scratch, template_store, transaction, vcs
from mlops_scaffold.cli import app
from mlops_scaffold.project import keep_comments
from mlops_scaffold.template_store import ensure_version
from mlops_scaffold.upgrade import upgrade

REPO = Path(__file__).resolve().parents[1]
LEVEL_1_CHANGES = "line one\nlevel 1\nline three\n"
LEVEL_0_CHANGES = "line one\nlevel 0\nline three\n"


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temp_dir: Path) -> Callable[..., Path]:
    """Render projects from the tiny template, released as 1.0.0, which `upgrade` then installs."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    source = tiny_template(tmp_path / "template")
    ensure_version("1.0.0", source=source)
    monkeypatch.setattr(upgrade_module, "__version__", "1.0.0")
    monkeypatch.setattr(template_store, "template_dir", lambda: source)

    def make(name: str = "svc", level: int = 0) -> Path:
        return render_at("v1.0.0", tmp_path / name, level=level)

    return make


def state(project: Path) -> tuple[dict[str, str], str]:
    """Every byte under the project (.git included) and what git says about it."""
    porcelain = git(project, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all")
    return snapshot(project), porcelain


def settled_state(project: Path) -> tuple[dict[str, str], str]:
    state(project)  # let git refresh the index of a freshly written tree before the snapshot
    return state(project)


def owner_edits(project: Path) -> None:
    """A conflicting README edit, a clean edit and a new file, committed."""
    readme = project / "README.md"
    readme.write_text(readme.read_text().replace("**level 0**", "**level 0**, owned by us"))
    (project / "src" / "app.py").write_text("print('hello, churn squad')\n")
    (project / "src" / "rules.py").write_text("LIMIT = 3\n")
    commit_all(project, "Our edits")


def unmerged(project: Path) -> list[str]:
    return sorted(git(project, "diff", "--name-only", "--diff-filter=U").split())


# --- rollback -------------------------------------------------------------------------------------


def fail_on_call(number: int, error: BaseException, original: Callable[..., None]) -> Callable[..., None]:
    calls = []

    def patched(*args: object, **kwargs: object) -> None:
        calls.append(args)
        if len(calls) == number:
            raise error
        original(*args, **kwargs)

    return patched


@pytest.mark.parametrize(
    ("target", "number", "error", "code"),
    [
        ("copy", 2, OSError(28, "No space left on device"), 16),
        ("copy", 3, KeyboardInterrupt(), 130),
        ("index", 1, OSError(5, "Input/output error"), 16),  # after every file was written
    ],
    ids=["disk-full-writing-files", "interrupted-by-an-exception", "index-update"],
)
def test_failure_midway_restores_files_and_index(
    tiny: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    number: int,
    error: BaseException,
    code: int,
) -> None:
    project = tiny()
    owner_edits(project)
    plan = upgrade(project, level=1, dry_run=True)
    assert plan.conflicts == ["README.md"] and len(plan.added + plan.changed) > number
    before = settled_state(project)
    if target == "copy":
        original = transaction.Transaction.copy
        monkeypatch.setattr(transaction.Transaction, "copy", fail_on_call(number, error, original))
    else:
        monkeypatch.setattr(vcs, "set_index_entries", fail_on_call(number, error, vcs.set_index_entries))
    result = runner.invoke(app, ["upgrade", str(project), "--level", "1"])
    assert result.exit_code == code, result.output
    assert "exactly as it was" in result.output
    assert state(project) == before


# --- interruption ---------------------------------------------------------------------------------


def test_ctrl_c_during_the_transaction_lets_it_finish_and_says_so(
    tiny: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tiny()
    owner_edits(project)
    original = transaction.Transaction.copy

    def copy_then_ctrl_c(self: transaction.Transaction, source: Path, rel: str) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # as if the owner pressed Ctrl-C now
        original(self, source, rel)

    monkeypatch.setattr(transaction.Transaction, "copy", copy_then_ctrl_c)
    result = runner.invoke(app, ["upgrade", str(project), "--level", "1"])
    assert result.exit_code == 130, result.output
    output = " ".join(result.output.split())
    assert "the upgrade had been applied" in output and "exactly as it was" not in output
    assert "README.md" in output  # the conflict to resolve
    assert answers(project)["level"] == 1
    assert (project / "Dockerfile").is_file() and (project / "deploy" / "job.json").is_file()
    assert unmerged(project) == ["README.md"]


def test_ctrl_c_right_after_the_transaction_says_the_upgrade_was_applied(
    tiny: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tiny()
    original = upgrade_module._apply

    def apply_then_ctrl_c(*args: object, **kwargs: object) -> list[int]:
        held = original(*args, **kwargs)  # type: ignore[arg-type]
        os.kill(os.getpid(), signal.SIGINT)  # after the transaction gave the signals back
        return held

    monkeypatch.setattr(upgrade_module, "_apply", apply_then_ctrl_c)
    result = runner.invoke(app, ["upgrade", str(project), "--level", "1"])
    assert result.exit_code == 130, result.output
    output = " ".join(result.output.split())
    assert "the upgrade had been applied" in output and "exactly as it was" not in output
    assert answers(project)["level"] == 1


def test_ctrl_c_while_cleaning_up_says_the_upgrade_was_applied_and_the_leftover_is_swept(
    tiny: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, temp_dir: Path
) -> None:
    project = tiny()
    original = scratch.shutil.rmtree

    def interrupted(path: object, *args: object, **kwargs: object) -> None:
        if Path(str(path)).name.startswith("mlops-scaffold-upgrade."):
            raise KeyboardInterrupt
        original(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scratch.shutil, "rmtree", interrupted)
    result = runner.invoke(app, ["upgrade", str(project), "--level", "1"])
    assert result.exit_code == 130, result.output
    assert "the upgrade had been applied" in " ".join(result.output.split())
    assert answers(project)["level"] == 1
    monkeypatch.setattr(scratch.shutil, "rmtree", original)

    (leftover,) = temp_dir.iterdir()
    assert leftover.name.startswith("mlops-scaffold-upgrade.")
    assert scratch.sweep_temp() == []  # too fresh: it might be a run that has not locked it yet
    os.utime(leftover, (time.time() - 60, time.time() - 60))
    assert scratch.sweep_temp() == [leftover] and not leftover.exists()


def test_interrupt_before_the_transaction_changes_nothing_and_leaves_no_scratch(
    tiny: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, temp_dir: Path
) -> None:
    import copier

    project = tiny()
    owner_edits(project)
    before = settled_state(project)

    def interrupted(*_args: object, **_kwargs: object) -> None:
        assert any(temp_dir.iterdir())  # copier works inside our scratch directory
        raise KeyboardInterrupt

    monkeypatch.setattr(copier, "run_update", interrupted)
    result = runner.invoke(app, ["upgrade", str(project), "--level", "1"])
    assert result.exit_code == 130, result.output
    assert "left exactly as it was" in result.output
    assert state(project) == before
    assert list(temp_dir.iterdir()) == []


def killed_run_script(home: Path, temp_dir: Path, marker: Path, source: Path, project: Path) -> str:
    """A separate Python that upgrades ``project`` and hangs inside copier once it wrote ``marker``."""
    return f"""
import os, sys, tempfile, time
os.environ["HOME"] = {str(home)!r}
tempfile.tempdir = {str(temp_dir)!r}
import copier
import mlops_scaffold.upgrade as upgrade_module
from mlops_scaffold import template_store
upgrade_module.__version__ = "1.0.0"
template_store.template_dir = lambda: __import__("pathlib").Path({str(source)!r})
def hang(*args, **kwargs):
    open({str(marker)!r}, "w").close()
    time.sleep(120)
copier.run_update = hang
sys.argv = ["mlops-scaffold", "upgrade", {str(project)!r}, "--level", "1"]
from mlops_scaffold.__main__ import main
main()
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_or_terminated_upgrade_leaves_nothing_that_blocks_the_next(
    tiny: Callable[..., Path], tmp_path: Path, temp_dir: Path, how: signal.Signals
) -> None:
    project = tiny()
    before = settled_state(project)
    marker = tmp_path / "inside-copier"
    script = killed_run_script(tmp_path / "home", temp_dir, marker, tmp_path / "template", project)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    wait_for(marker, process)
    process.send_signal(how)
    _out, err = process.communicate(timeout=60)
    assert state(project) == before
    if how == signal.SIGTERM:  # cleaned up on the way out, and said so
        assert process.returncode == 130, err
        assert b"left exactly as it was" in err and b"Traceback" not in err
        assert list(temp_dir.iterdir()) == []
    else:  # nothing could clean up: the next run does
        (leftover,) = temp_dir.iterdir()
        os.utime(leftover, (time.time() - 60, time.time() - 60))
    result = runner.invoke(app, ["upgrade", str(project), "--level", "1"])
    assert result.exit_code == 0, result.output
    assert answers(project)["level"] == 1
    assert list(temp_dir.iterdir()) == []


def test_a_running_upgrades_scratch_directory_is_never_swept(temp_dir: Path) -> None:
    held = temp_dir / "mlops-scaffold-upgrade.held0000"
    held.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(held)!r}, os.O_RDONLY)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\nprint('held', flush=True)\ntime.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        os.utime(held, (time.time() - 3600, time.time() - 3600))
        assert scratch.sweep_temp() == [] and held.is_dir()
    finally:
        holder.kill()
        holder.wait()
    assert scratch.sweep_temp() == [held]  # its process is gone


def test_clones_of_the_store_that_older_releases_left_in_the_temp_dir_are_swept(
    temp_dir: Path, isolated_home: Path
) -> None:
    from mlops_scaffold.template_store import store_path

    def clone(name: str, url: str, age: float) -> Path:
        path = temp_dir / f"copier._vcs.clone.{name}"
        (path / ".git").mkdir(parents=True)
        (path / ".git" / "config").write_text(f'[remote "origin"]\n\turl = {url}\n')
        os.utime(path, (time.time() - age, time.time() - age))
        return path

    ours = clone("old00000", str(store_path()), age=2 * 3600)
    recent = clone("new00000", str(store_path()), age=60)  # maybe a plain `copier copy` running now
    foreign = clone("other000", "https://example.com/template.git", age=2 * 3600)
    assert scratch.sweep_temp() == [ours]
    assert recent.is_dir() and foreign.is_dir()


# --- binary files ---------------------------------------------------------------------------------


def test_a_generated_file_the_owner_resaved_as_utf16_keeps_the_owners_bytes(
    tiny: Callable[..., Path],
) -> None:
    """The template does not change notes.txt: the owner's UTF-16 version stays, with no conflict."""
    project = tiny()
    ours = (project / "notes.txt").read_text().encode("utf-16")
    (project / "notes.txt").write_bytes(ours)
    commit_all(project, "Notes in UTF-16")
    result = runner.invoke(app, ["upgrade", str(project), "--level", "1"])
    assert result.exit_code == 0, result.output
    assert (project / "notes.txt").read_bytes() == ours
    assert "notes.txt" not in git(project, "status", "--porcelain")


def test_a_binary_file_both_changed_is_a_conflict_that_keeps_the_owners_bytes(
    tiny: Callable[..., Path],
) -> None:
    project = tiny()
    ours = ("\ufeff" + LEVEL_0_CHANGES + "our line\n").encode("utf-16-le")
    (project / "changes.txt").write_bytes(ours)
    (project / "src" / "app.py").write_text("print('hello, churn squad')\n")
    commit_all(project, "Our changes, saved by an editor that writes UTF-16")
    result = runner.invoke(app, ["upgrade", str(project), "--level", "1"])
    assert result.exit_code == 10, result.output
    output = " ".join(result.output.split())
    assert "changes.txt" in output and "binary" in output and "git show :3:changes.txt" in output
    assert (project / "changes.txt").read_bytes() == ours
    assert unmerged(project) == ["changes.txt"]
    assert git(project, "show", ":1:changes.txt") == LEVEL_0_CHANGES
    assert git(project, "show", ":3:changes.txt") == LEVEL_1_CHANGES
    assert (project / "src" / "app.py").read_text() == "print('hello, churn squad')\n"
    assert answers(project)["level"] == 1


def test_latin1_bytes_the_owner_added_survive_the_text_merge(tiny: Callable[..., Path]) -> None:
    """copier's text patch drops bytes that are not UTF-8; the upgrade merges those files itself."""
    project = tiny()
    ours = "d\u00e9j\u00e0 vu, r\u00e9sum\u00e9\n".encode("latin-1")
    for name in ("notes.txt", "changes.txt"):  # the template leaves the first alone, changes the second
        (project / name).write_bytes((project / name).read_bytes() + ours)
    commit_all(project, "Notes written by a Latin-1 editor")
    result = runner.invoke(app, ["upgrade", str(project), "--level", "1"])
    assert result.exit_code == 0, result.output
    assert (project / "notes.txt").read_bytes().endswith(ours)
    assert (project / "changes.txt").read_bytes() == LEVEL_1_CHANGES.encode() + ours
    assert unmerged(project) == []


# --- path-type clashes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "have", "needs"),
    [("deploy", "file", "directory"), ("Dockerfile", "directory", "file")],
)
def test_a_path_whose_type_the_new_level_changes_is_refused_by_name(
    tiny: Callable[..., Path], temp_dir: Path, path: str, have: str, needs: str
) -> None:
    project = tiny()
    if have == "file":
        (project / path).write_text("our deploy notes\n")
    else:
        (project / path).mkdir()
        (project / path / "notes.md").write_text("our container notes\n")
    commit_all(project, f"Our {path}")
    before = settled_state(project)
    for dry_run in ([], ["--dry-run"]):
        result = runner.invoke(app, ["upgrade", str(project), "--level", "1", *dry_run])
        assert result.exit_code == 17, result.output
        output = " ".join(result.output.split())
        assert f"'{path}' is a {have}, the template needs a {needs}" in output
        assert "Fix:" in output and "Traceback" not in output
        assert state(project) == before
    assert list(temp_dir.iterdir()) == []


@pytest.mark.parametrize(
    ("ignored", "named"),
    [
        ("Dockerfile", "Dockerfile"),  # a file the new level adds
        ("deploy", "deploy"),  # a file where the new level adds a directory
        ("deploy/job.json", "deploy/job.json"),  # a file inside a directory the new level adds
        ("Dockerfile/", "Dockerfile"),  # a directory where the new level adds a file
    ],
)
def test_an_ignored_file_where_the_new_level_adds_one_is_refused_by_name(
    tiny: Callable[..., Path], temp_dir: Path, ignored: str, named: str
) -> None:
    """Ignored files are not in git: an upgrade that wrote over them would lose them for good."""
    project = tiny()
    (project / ".gitignore").write_text(f"{ignored.split('/')[0]}\n")
    commit_all(project, "Ignore our own container notes")
    target = project / ignored
    if ignored.endswith("/"):
        target.mkdir()
        target = target / "notes.md"
    target.parent.mkdir(exist_ok=True)
    target.write_text("our own, ignored by git\n")
    before = settled_state(project)
    for dry_run in ([], ["--dry-run"]):
        result = runner.invoke(app, ["upgrade", str(project), "--level", "1", *dry_run])
        assert result.exit_code == 17, result.output
        output = " ".join(result.output.split())
        assert f"'{named}'" in output and "not tracked by git" in output
        assert "Fix:" in output and "Traceback" not in output
        assert state(project) == before
    assert target.read_text() == "our own, ignored by git\n"
    assert list(temp_dir.iterdir()) == []


def test_an_ignored_folder_the_new_level_adds_files_to_is_fine(tiny: Callable[..., Path]) -> None:
    project = tiny()
    (project / ".gitignore").write_text("deploy/*.local\n")
    commit_all(project, "Ignore local deploy settings")
    (project / "deploy").mkdir()
    (project / "deploy" / "job.local").write_text("our local settings\n")
    result = runner.invoke(app, ["upgrade", str(project), "--level", "1"])
    assert result.exit_code == 0, result.output
    assert (project / "deploy" / "job.json").is_file()
    assert (project / "deploy" / "job.local").read_text() == "our local settings\n"


# --- the answers file's comments ------------------------------------------------------------------


def test_comments_in_the_answers_file_survive_an_upgrade(tiny: Callable[..., Path]) -> None:
    project = tiny()
    answers_file = project / ".copier-answers.yml"
    text = answers_file.read_text()
    text = text.replace(
        "level: 0\n", "# Level 1 once the CI is in place.\nlevel: 0  # agreed with the platform team\n"
    )
    answers_file.write_text(text + "# Reviewed by the churn squad.\n")
    commit_all(project, "Our notes in the answers file")
    result = runner.invoke(app, ["upgrade", str(project), "--level", "1"])
    assert result.exit_code == 0, result.output
    upgraded = answers_file.read_text()
    assert "# Level 1 once the CI is in place.\nlevel: 1  # agreed with the platform team\n" in upgraded
    assert upgraded.endswith("# Reviewed by the churn squad.\n")
    assert upgraded.count("do not edit by hand") == 1
    assert answers(project)["level"] == 1


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("# head\na: 1\nb: 2\n", "# head\na: 1\nb: 3\n", "# head\na: 1\nb: 3\n"),  # nothing of ours
        ("a: 1\n# why b\nb: 2  # two\n", "a: 1\nb: 3\n", "a: 1\n# why b\nb: 3  # two\n"),
        ("a: 1\n# gone with c\nc: 2\n", "a: 1\nd: 2\n", "a: 1\nd: 2\n# gone with c\n"),  # a renamed key
        ("a: 'x # y'\n", "a: 'x # z'\n", "a: 'x # z'\n"),  # '#' inside a value is no comment
        ("a: 1\n# the end\n", "a: 2\n", "a: 2\n# the end\n"),
    ],
)
def test_keep_comments(before: str, after: str, expected: str) -> None:
    assert keep_comments(before, after) == expected
    assert yaml.safe_load(keep_comments(before, after)) == yaml.safe_load(after)


# --- dry runs -------------------------------------------------------------------------------------


def test_dry_run_of_the_tiny_template_lists_exactly_what_the_upgrade_does(tiny: Callable[..., Path]) -> None:
    project = tiny()
    owner_edits(project)
    before = settled_state(project)
    planned = runner.invoke(app, ["upgrade", str(project), "--level", "1", "--dry-run", "--json"])
    assert planned.exit_code == 0, planned.output
    assert state(project) == before
    plan = json.loads(planned.stdout)
    assert plan["added"] == ["Dockerfile", "deploy/job.json"]
    assert plan["changed"] == [".copier-answers.yml", "changes.txt"]
    assert plan["conflicts"] == ["README.md"]
    done = upgrade(project, level=1)
    assert (done.added, done.changed, done.conflicts) == (plan["added"], plan["changed"], plan["conflicts"])
    readme = (project / "README.md").read_text()
    assert CONFLICT_START in readme and CONFLICT_END in readme and "owned by us" in readme
