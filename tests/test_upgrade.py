"""`mlops-scaffold upgrade` and `status` on the real template: owners' edits survive every level pair.

Level pairs come from `built_levels()`. Every direct pair runs for the default answers, and one
stepwise path over all levels runs for the default answers and for PyTorch + GitLab, with the
owner's edits checked after each step, so every adjacent pair is covered for both. The upgrade
engine itself (rollback, interruption, binary files, path clashes, answers-file comments) is
tested on a tiny inline template in test_upgrade_engine.py, and at random in
test_upgrade_properties.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from helpers import git, new_project, runner, snapshot, tree_files
from project_envs import UV_CACHE, make, run, user_env
from upgrade_support import (
    DELETED,
    Edit,
    answers,
    assert_edits_kept,
    commit_all,
    make_user_edits,
    old_template,
    render_at,
)

import mlops_scaffold.upgrade as upgrade_module
from mlops_core.errors import (
    CONFLICT_END,
    CONFLICT_START,
    TemplateBehindError,
    UpgradeConflictsError,
    UpgradeFailedError,
)
from mlops_core.levels import all_levels, built_levels, capabilities_up_to
from mlops_scaffold import template_store, transaction
from mlops_scaffold.cli import app
from mlops_scaffold.locking import shipped_lock
from mlops_scaffold.project import is_behind, releases_behind, status
from mlops_scaffold.template_store import STORE_URL, ensure_version, version_tag
from mlops_scaffold.upgrade import UpgradeResult, upgrade

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "churn_model"
OWNED = ", owned by the churn squad"


BUILT = built_levels()
# Every upward pair of built levels, directly; and the one stepwise path through all of them.
DIRECT = [[a, b] for a in BUILT for b in BUILT if a < b]
STEPWISE = BUILT if list(range(BUILT[0], BUILT[-1] + 1)) == BUILT else []
PATHS = DIRECT  # PATHS[0] is the lowest direct pair, used by the tests below


@pytest.fixture
def base_project(rendered: Callable[..., Path]) -> Callable[..., Path]:
    """A project per (level, framework, ci), rendered once per session (conftest's ``rendered``);
    tests work on copies."""

    def get(level: int, framework: str = "sklearn", ci: str = "github") -> Path:
        return rendered(level, framework=framework, ci=ci)

    return get


def copy_of(base: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(base, tmp_path / "churn-model", symlinks=True))


def status_porcelain(project: Path) -> str:
    return git(project, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all")


def state(project: Path) -> tuple[dict[str, str], str]:
    """Every byte under the project (.git included) and what git says about it."""
    return snapshot(project), status_porcelain(project)


def resolve_as_owner(project: Path, conflicts: list[str]) -> None:
    """Resolve like an owner: the template's new maturity line with their suffix; elsewhere their side."""
    for path in conflicts:
        resolved: list[str] = []
        ours: list[str] = []
        side = None
        for line in (project / path).read_text(encoding="utf-8").splitlines(keepends=True):
            marker = line.rstrip()
            if marker == CONFLICT_START:
                side, ours = "ours", []
            elif marker == "=======" and side == "ours":
                side = "theirs"
            elif marker == CONFLICT_END:
                if not any(OWNED in o for o in ours):
                    resolved.extend(ours)
                side = None
            elif side == "ours":
                ours.append(line)
            elif side == "theirs":
                if any(OWNED in o for o in ours) and line.startswith("MLOps maturity: **level "):
                    end = line.index("**", len("MLOps maturity: **")) + 2
                    resolved.append(line[:end] + OWNED + line[end:])
            else:
                resolved.append(line)
        (project / path).write_text("".join(resolved), encoding="utf-8")


def upgrade_along(
    project: Path, path: list[int], check: Callable[[UpgradeResult], None] | None = None
) -> UpgradeResult:
    """Upgrade level by level along ``path``, resolving and committing between steps like an owner;
    ``check`` sees the project after each step."""
    result = None
    for level in path[1:]:
        if result is not None:
            resolve_as_owner(project, result.conflicts)
            commit_all(project, f"Upgrade to level {result.to_level}")
        result = upgrade(project, level=level)
        assert (result.from_level, result.to_level) == (path[path.index(level) - 1], level)
        if check is not None:
            check(result)
    assert result is not None
    return result


def check_upgraded(
    project: Path, result: UpgradeResult, edits: list[Edit], start: int, framework: str
) -> None:
    final = result.to_level
    assert_edits_kept(project, edits, result.conflicts, final)
    recorded = answers(project)
    assert recorded["level"] == final
    assert recorded["_commit"] == ensure_version()
    assert recorded["_src_path"] == STORE_URL, "the answers file must name no machine-specific path"
    # What the new levels add is there (PyTorch projects lock with `make lock`, see test_levels).
    for capability in capabilities_up_to(final):
        if capability.level > start and not (
            capability.key == "locked_dependencies" and framework == "pytorch"
        ):
            paths = capability.evidence_paths(package=PACKAGE, ci=str(recorded["ci"]))
            assert any((project / p).exists() for p in paths), f"{capability.key} missing after upgrade"
    # Conflicts are recorded in the index like a merge's, so `git status` shows them as unmerged.
    assert sorted(git(project, "diff", "--name-only", "--diff-filter=U").split()) == result.conflicts
    assert "README.md" in result.conflicts
    assert DELETED not in result.added + result.changed


@pytest.mark.parametrize("path", DIRECT, ids=["-".join(map(str, p)) for p in DIRECT])
def test_direct_upgrade_keeps_every_owner_edit(
    tmp_path: Path, base_project: Callable[..., Path], path: list[int]
) -> None:
    project = copy_of(base_project(path[0]), tmp_path)
    edits = make_user_edits(project, PACKAGE)
    result = upgrade(project, level=path[1])
    check_upgraded(project, result, edits, path[0], "sklearn")


@pytest.mark.skipif(len(STEPWISE) < 3, reason="needs three consecutive built levels")
@pytest.mark.parametrize(("framework", "ci"), [("sklearn", "github"), ("pytorch", "gitlab")])
def test_stepwise_upgrade_keeps_every_owner_edit_at_each_step(
    tmp_path: Path, base_project: Callable[..., Path], framework: str, ci: str
) -> None:
    project = copy_of(base_project(STEPWISE[0], framework, ci), tmp_path)
    edits = make_user_edits(project, PACKAGE)
    steps: list[int] = []

    def check(result: UpgradeResult) -> None:
        check_upgraded(project, result, edits, STEPWISE[0], framework)
        steps.append(result.to_level)

    upgrade_along(project, STEPWISE, check)
    assert steps == STEPWISE[1:]


# Running an upgraded project's own suite costs minutes (an environment per target level), so it
# runs once per target level (directly from the lowest level) and along the whole stepwise path;
# test_upgrade_keeps_every_owner_edit checks every pair, direct and stepwise, for the edits.
SUITE_PATHS = [[BUILT[0], b] for b in BUILT[1:]]
if len(STEPWISE) > 2:
    SUITE_PATHS.append(STEPWISE)


@pytest.mark.slow
@pytest.mark.parametrize("path", SUITE_PATHS, ids=["-".join(map(str, p)) for p in SUITE_PATHS])
def test_upgraded_project_passes_its_own_tests(
    tmp_path: Path, base_project: Callable[..., Path], path: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", user_env()["PATH"])  # uv on PATH: the upgrade regenerates uv.lock
    monkeypatch.setenv("UV_CACHE_DIR", str(UV_CACHE))
    project = copy_of(base_project(path[0]), tmp_path)
    edits = make_user_edits(project, PACKAGE)
    result = upgrade_along(project, path)
    check_upgraded(project, result, edits, path[0], "sklearn")
    # What the README asks of the owner next: resolve, sync, test. The upgrade locked their joblib.
    assert "<<<<<<<" not in (project / "uv.lock").read_text() and "uv.lock" not in result.conflicts
    resolve_as_owner(project, result.conflicts)
    if "pyproject.toml" in result.conflicts:  # then the notes ask for `uv lock`
        run(["uv", "lock"], project)
    run(["uv", "sync", "--locked"], project)
    out = make(project, "test")
    assert " passed" in out and "failed" not in out


def add_joblib(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('"jsonschema>=4.21",', '"joblib>=1.3",\n    "jsonschema>=4.21",'))


def test_upgrade_regenerates_the_lock_and_never_merges_it(
    tmp_path: Path, base_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The owner added a dependency and re-locked; the new level changes the template's lock too. A
    text merge of the two locks is conflict blocks; the upgrade merges pyproject.toml and runs `uv lock`."""
    monkeypatch.setenv("PATH", user_env()["PATH"])  # uv on PATH, as on a user's machine
    monkeypatch.setenv("UV_CACHE_DIR", str(UV_CACHE))
    project = copy_of(base_project(1), tmp_path)
    add_joblib(project)
    run(["uv", "lock", "--offline"], project)
    commit_all(project, "Our dependency")

    result = upgrade(project, level=2)
    lock = (project / "uv.lock").read_text(encoding="utf-8")
    assert "<<<<<<<" not in lock and ">>>>>>>" not in lock
    assert "uv.lock" not in result.conflicts and "uv.lock" in result.changed
    assert "uv.lock" not in git(project, "diff", "--name-only", "--diff-filter=U")
    own = next(p for p in tomllib.loads(lock)["package"] if p["name"] == "churn-model")
    assert {"joblib", "mlflow", "feast"} <= {d["name"] for d in own["dependencies"]}  # yours and level 2's
    run(["uv", "lock", "--check", "--offline"], project)  # it is the lock of the merged pyproject.toml
    assert any("uv.lock was regenerated with `uv lock`" in note for note in result.notes), result.notes


def test_a_conflicted_pyproject_leaves_the_template_lock_and_says_to_relock(
    tmp_path: Path, base_project: Callable[..., Path]
) -> None:
    project = copy_of(base_project(1), tmp_path)
    pyproject = project / "pyproject.toml"
    text = pyproject.read_text()
    line = 'module = ["sklearn.*", "joblib.*"]'
    assert line in text  # a line level 2 changes
    pyproject.write_text(text.replace(line, 'module = ["sklearn.*", "ours.*"]'))
    (project / "uv.lock").write_text((project / "uv.lock").read_text() + "\n# our re-lock\n")
    commit_all(project, "Our edits")

    result = upgrade(project, level=2)
    assert "pyproject.toml" in result.conflicts and "uv.lock" not in result.conflicts
    lock = (project / "uv.lock").read_text(encoding="utf-8")
    assert lock == shipped_lock(2, "3.11").read_text().replace('"lock-template-project"', '"churn-model"')
    assert any("resolve the conflicts in pyproject.toml, then run `uv lock`" in n for n in result.notes)


def test_dry_run_shows_the_upgrade_and_changes_nothing(
    tmp_path: Path, base_project: Callable[..., Path]
) -> None:
    start, target = PATHS[0]
    project = copy_of(base_project(start), tmp_path)
    make_user_edits(project, PACKAGE)
    before = state(project)

    result = runner.invoke(app, ["upgrade", str(project), "--level", str(target), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    planned = json.loads(result.stdout)
    assert planned["dry_run"] is True
    assert state(project) == before

    done = upgrade(project, level=target)
    for key in ("added", "changed", "removed", "conflicts"):
        assert planned[key] == getattr(done, key), key
    assert "README.md" in planned["conflicts"] and ".copier-answers.yml" in planned["changed"]


def test_cli_reports_conflicts_with_their_own_exit_code(
    tmp_path: Path, base_project: Callable[..., Path]
) -> None:
    start, target = PATHS[0]
    project = copy_of(base_project(start), tmp_path)
    make_user_edits(project, PACKAGE)
    result = runner.invoke(app, ["upgrade", str(project), "--level", str(target)])
    assert result.exit_code == UpgradeConflictsError.exit_code == 10, result.output
    assert "README.md" in result.output and "conflict" in result.output
    assert "Fix:" in result.output
    assert "Next steps:" in result.output and "make help" in result.output  # what level 1 added
    assert "git status" in result.output and "infra-config" not in result.output  # no AWS below level 2

    # Resolved and committed, the same command has nothing left to do.
    resolve_as_owner(project, ["README.md"])
    commit_all(project, "Upgraded")
    again = runner.invoke(app, ["upgrade", str(project), "--level", str(target), "--json"])
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["up_to_date"] is True


def test_next_steps_name_what_the_new_levels_added(tmp_path: Path) -> None:
    def steps(start: int, end: int, conflicts: list[str]) -> list[str]:
        result = UpgradeResult(tmp_path, start, end, "v1", "v2", False, changed=["x"], conflicts=conflicts)
        return [step.command for step in upgrade_module.next_steps(result, "churn-model")]

    one_to_three = steps(1, 3, [])
    assert "git status" not in one_to_three and one_to_three[1:3] == ["uv sync", "make test"]
    assert {"make pipeline", "make promote", "make serve"} <= set(one_to_three)
    assert "make drift" not in one_to_three and "make help" not in one_to_three  # level 1 was there
    assert f"mlops-scaffold infra-config {tmp_path} --env dev" in one_to_three
    assert one_to_three.index("pulumi up --stack platform-dev") < one_to_three.index(
        "pulumi up --stack churn-model-dev"
    )
    three_to_four = steps(3, 4, ["README.md"])
    assert "git status" in three_to_four and "make drift" in three_to_four
    assert "pulumi up --stack churn-model-dev" in three_to_four
    assert "pulumi up --stack platform-dev" not in three_to_four  # there since level 2
    same_level = steps(2, 2, [])
    assert not any(s.startswith(("pulumi", "mlops-scaffold infra", "make pipeline")) for s in same_level)


def test_upgrade_without_edits_matches_a_fresh_project(
    tmp_path: Path, base_project: Callable[..., Path]
) -> None:
    """An untouched project upgraded to level N has exactly the files of a new level-N project."""
    start, target = PATHS[0]
    project = copy_of(base_project(start), tmp_path)
    result = upgrade(project, level=target)
    assert result.conflicts == [] and result.removed == []
    fresh = base_project(target)
    assert tree_files(project) == tree_files(fresh)
    for path in tree_files(fresh):
        assert (project / path).read_bytes() == (fresh / path).read_bytes(), path


def test_project_in_a_subdirectory_of_a_repository(tmp_path: Path) -> None:
    start, target = PATHS[0]
    monorepo = tmp_path / "mono"
    new_project(monorepo / "services" / "churn-model", start, extra=("--no-git",))
    (monorepo / "README.md").write_text("Our monorepo\n")
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=monorepo, check=True)
    commit_all(monorepo, "Monorepo")
    project = monorepo / "services" / "churn-model"
    result = upgrade(project, level=target)
    assert answers(project)["level"] == target and result.added
    assert all((project / p).exists() for p in result.added)
    assert (monorepo / "README.md").read_text() == "Our monorepo\n"


# --- template versions ----------------------------------------------------------------------------


def test_project_from_an_older_release_upgrades_offline_on_a_new_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Release X renders a project; release Y upgrades it on a machine that never ran X, offline."""
    old_version = "0.0.0a1"
    # This repository at release X: its templates/project is an older template, tagged.
    repo = tmp_path / "repo"
    old = old_template(repo / "templates" / "project")
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=repo, check=True)
    commit_all(repo, "Release")
    subprocess.run(["git", "tag", f"v{old_version}"], cwd=repo, check=True)
    # Release Y's build ships the history of every earlier release.
    bundle = tmp_path / "history.bundle"
    script = REPO / "scripts" / "build_template_history.py"
    built = subprocess.run(
        [sys.executable, str(script), "--repo", str(repo), "--output", str(bundle)],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, built.stderr
    assert template_store.bundle_tags(bundle) == [f"v{old_version}"]

    # The machine that ran release X.
    monkeypatch.setenv("HOME", str(tmp_path / "machine-x"))
    ensure_version(old_version, source=old)
    project = render_at(f"v{old_version}", tmp_path / "churn-model", level=0)
    assert "## Getting started" in (project / "README.md").read_text()
    (project / "docs" / "NOTES.md").write_text("Notes that an older template shipped.\nOur own notes.\n")
    edits = make_user_edits(project, PACKAGE)

    # Another machine, with release Y only: no network, no store, only the shipped bundle.
    monkeypatch.setenv("HOME", str(tmp_path / "machine-y"))
    monkeypatch.setenv("GIT_ALLOW_PROTOCOL", "file")
    monkeypatch.setattr(template_store, "history_bundle", lambda: bundle)
    before = status(project)
    assert (before.behind, before.template_available, before.template_version) == (
        True,
        True,
        f"v{old_version}",
    )

    # A failure removing NOTES.md, after the other files were written, restores them all.
    status_porcelain(project)
    untouched = state(project)
    with monkeypatch.context() as patch:
        original = transaction.Transaction.remove

        def failing(self: transaction.Transaction, rel: str) -> None:
            if rel == "docs/NOTES.md":
                raise OSError("disk error")
            original(self, rel)

        patch.setattr(transaction.Transaction, "remove", failing)
        with pytest.raises(UpgradeFailedError):
            upgrade(project)
    assert state(project) == untouched

    result = upgrade(project)  # the same level, the installed template version
    assert (result.from_level, result.to_level) == (0, 0)
    assert (result.from_version, result.to_version) == (f"v{old_version}", ensure_version())
    readme = (project / "README.md").read_text()
    assert "## Quick start" in readme and "## Getting started" not in readme
    assert "docs/adr/README.md" in result.added
    # The owner edited NOTES.md, which the new template dropped: copier removes it (as it does
    # every file a template stops generating); its content stays in git history.
    assert "docs/NOTES.md" in result.removed
    assert "Our own notes." in git(project, "show", "HEAD:docs/NOTES.md")
    assert answers(project)["_commit"] == ensure_version()
    for edit in edits:
        if not edit.conflicts_by_design:
            assert edit.text in (project / edit.path).read_text(), edit
    assert not (project / DELETED).exists()
    assert status(project).behind is False


def test_fleet_dry_run_says_what_each_repository_would_change_and_which_would_conflict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ensure_version("0.0.0a1", source=old_template(tmp_path / "old-template"))
    fleet = tmp_path / "fleet"
    render_at("v0.0.0a1", fleet / "churn", level=0)
    edited = render_at("v0.0.0a1", fleet / "fraud", level=0)
    readme = edited / "README.md"
    readme.write_text(readme.read_text().replace("## Getting started", "## Getting started, our way"))
    commit_all(edited, "Our heading")
    render_at(ensure_version(), fleet / "current", level=0)
    dirty = render_at("v0.0.0a1", fleet / "dirty", level=0)
    (dirty / "notes.txt").write_text("not committed\n")
    (fleet / "library").mkdir()
    subprocess.run(["git", "init", "--quiet"], cwd=fleet / "library", check=True)
    before = {path.name: state(path) for path in fleet.iterdir()}

    result = runner.invoke(app, ["upgrade", "--fleet", str(fleet), "--dry-run", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert {name: row["state"] for name, row in rows.items()} == {
        "churn": "would upgrade",
        "current": "up to date",
        "dirty": "cannot upgrade",  # uncommitted changes
        "fraud": "would conflict",
        "library": "cannot upgrade",  # not on the template
    }
    assert rows["churn"]["upgrade"]["added"] == ["docs/adr/README.md"]
    assert rows["fraud"]["upgrade"]["conflicts"] == ["README.md"]
    assert "notes.txt" in rows["dirty"]["error"] and "adopt" in rows["library"]["error"]
    assert {path.name: state(path) for path in fleet.iterdir()} == before, "a dry run changes nothing"

    text = runner.invoke(app, ["upgrade", "--fleet", str(fleet), "--dry-run"])
    assert text.exit_code == 0, text.output
    assert "1 would upgrade, 1 would conflict, 1 up to date, 2 cannot upgrade" in text.output
    assert "v0.0.0a1 -> " in text.output and "README.md" in text.output
    refused = runner.invoke(app, ["upgrade", "--fleet", str(fleet)])
    assert refused.exit_code == 2 and "--dry-run" in refused.output


def test_a_development_build_whose_template_changed_upgrades_from_the_right_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editable install keeps its version while its template changes: each content keeps a tag."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    first = ensure_version(source=old_template(tmp_path / "before-edit"))
    assert first == version_tag()
    project = render_at(first, tmp_path / "churn-model", level=0)

    result = upgrade(project)  # the same version number, the edited template
    assert result.from_version == first and result.to_version.startswith(
        f"{first}{'.' if '+' in first else '+'}t"
    )
    readme = (project / "README.md").read_text()
    assert "## Quick start" in readme and "## Getting started" not in readme
    assert "docs/adr/README.md" in result.added and result.conflicts == []


def test_status_of_a_fresh_project(base_project: Callable[..., Path]) -> None:
    start = built_levels()[0]
    result = runner.invoke(app, ["status", str(base_project(start)), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["level"] == start and report["behind"] is False and report["ahead"] is False
    assert report["template_version"] == report["installed_version"] == ensure_version()
    assert report["template_available"] is True and report["uncommitted"] == []
    following = next(lv for lv in all_levels() if lv.number == start + 1)
    assert report["next_level"] == following.number
    assert [c["key"] for c in report["next_capabilities"]] == [c.key for c in following.capabilities]
    text = runner.invoke(app, ["status", str(base_project(start))])
    assert (
        text.exit_code == 0 and "up to date" in text.output and following.capabilities[0].title in text.output
    )


def test_status_check_exit_code_says_whether_the_project_is_behind(
    tmp_path: Path, base_project: Callable[..., Path]
) -> None:
    project = copy_of(base_project(built_levels()[0]), tmp_path)
    installed = ensure_version()
    current = runner.invoke(app, ["status", str(project), "--check"])
    assert current.exit_code == 0, current.output
    assert current.output.strip() == (
        f"churn-model: template {installed}, newest {installed} (the installed mlops-scaffold's): up to date"
    )

    answers_file = project / ".copier-answers.yml"
    for ref, code, state in [("v0.0.0", TemplateBehindError.exit_code, "behind"), ("v99.0.0", 0, "ahead")]:
        answers_file.write_text(re.sub(r"(?m)^_commit: .*$", f"_commit: {ref}", answers_file.read_text()))
        checked = runner.invoke(app, ["status", str(project), "--check"])
        assert checked.exit_code == code, checked.output
        assert f"churn-model: template {ref}, newest {installed} " in checked.output.splitlines()[0]
        assert ("behind by 1 template version" in checked.output) is (state == "behind")
        assert ("Fix:" in checked.output) is (state == "behind")
        machine = runner.invoke(app, ["status", str(project), "--check", "--json"])
        assert machine.exit_code == code and json.loads(machine.stdout)["check"] == state
    assert TemplateBehindError.exit_code == 19


def test_releases_behind_counts_the_template_versions_in_between() -> None:
    known = {"v0.1.0", "v0.2.0", "v0.2.1", "v0.3.0", "v0.4.0"}
    assert releases_behind("v0.1.0", "v0.3.0", known) == 3  # 0.2.0, 0.2.1, 0.3.0
    assert releases_behind("v0.3.0", "v0.3.0", known) == 0
    assert releases_behind("v0.4.0", "v0.3.0", known) == 0  # ahead
    assert releases_behind("v0.3.0", "v0.3.0+tabc", known) == 1  # a newer build of the same version
    assert (is_behind("v0.1.0", "v0.3.0"), is_behind("v0.4.0", "v0.3.0")) == (True, False)


# --- migrations -----------------------------------------------------------------------------------


def inline_template(root: Path, version: int) -> Path:
    """A small template with the real migration machinery; version 2 renames an answer and moves a file."""
    real = yaml.safe_load((REPO / "templates" / "project" / "copier.yml").read_text())
    team = "team" if version == 1 else "owner_team"
    config = {
        "_subdirectory": "project",
        "_templates_suffix": ".jinja",
        "_answers_file": ".copier-answers.yml",
        "_migrations": real["_migrations"],
        "project_name": {"type": "str"},
        "level": {"type": "int", "default": 0},
        team: {"type": "str", "default": "ML team"},
    }
    (root / "migrations").mkdir(parents=True)
    (root / "copier.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    shutil.copy(REPO / "templates" / "project" / "migrations" / "migrate.py", root / "migrations")
    changes = (
        []
        if version == 1
        else [
            {
                "version": "2.0.0",
                "rename_answers": {"team": "owner_team"},
                "move_files": {"docs/guide.md": "docs/handbook/guide.md"},
            }
        ]
    )
    (root / "migrations" / "changes.yml").write_text(yaml.safe_dump({"changes": changes}))
    project = root / "project"
    (project / "docs").mkdir(parents=True)
    (project / "{{_copier_conf.answers_file}}.jinja").write_text("{{ _copier_answers|to_nice_yaml -}}\n")
    (project / "README.md.jinja").write_text(f"# {{{{ project_name }}}}\n\nOwned by {{{{ {team} }}}}.\n")
    guide = project / "docs" / ("guide.md" if version == 1 else "handbook/guide.md")
    guide.parent.mkdir(parents=True, exist_ok=True)
    guide.write_text("# Guide\n\nStep one.\n\nStep two.\n")
    return root


def test_migrations_carry_renamed_answers_and_moved_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ensure_version("1.0.0", source=inline_template(tmp_path / "v1", 1))
    project = render_at("v1.0.0", tmp_path / "svc", level=0, team="Churn squad")
    assert answers(project)["team"] == "Churn squad"
    guide = project / "docs" / "guide.md"
    guide.write_text(guide.read_text().replace("Step one.", "Step one, as the churn squad does it."))
    commit_all(project, "Our guide")

    # Version 2.0.0 of the tool ships template 2, which renamed `team` and moved the guide.
    monkeypatch.setattr(upgrade_module, "__version__", "2.0.0")
    monkeypatch.setattr(template_store, "template_dir", lambda: tmp_path / "v2")
    inline_template(tmp_path / "v2", 2)
    result = upgrade(project)

    recorded = answers(project)
    assert recorded["owner_team"] == "Churn squad" and "team" not in recorded
    assert recorded["_commit"] == "v2.0.0"
    assert (project / "README.md").read_text() == "# svc\n\nOwned by Churn squad.\n"
    assert not guide.exists()
    moved = (project / "docs" / "handbook" / "guide.md").read_text()
    assert "Step one, as the churn squad does it." in moved, "the owner's edit followed the file"
    assert "docs/handbook/guide.md" in result.added + result.changed + result.conflicts
    assert "docs/guide.md" in result.removed


def test_migration_script_picks_the_changes_between_two_versions(tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "templates" / "project" / "migrations"))
    try:
        import migrate
    finally:
        sys.path.pop(0)
    from packaging.version import Version

    changes = [{"version": v} for v in ("0.2.0", "0.3.0", "0.10.0", "1.0.0")]
    picked = migrate.pending(changes, Version("0.2.0"), Version("0.10.0"))
    assert [c["version"] for c in picked] == ["0.3.0", "0.10.0"]
    shipped = yaml.safe_load((REPO / "templates" / "project" / "migrations" / "changes.yml").read_text())
    for change in shipped["changes"]:
        Version(str(change["version"]))
        assert set(change) <= {"version", "rename_answers", "move_files"}


# --- refusals leave everything as it was ----------------------------------------------------------


def make_dirty(project: Path) -> None:
    (project / "README.md").write_text("edited, not committed\n")
    (project / "scratch.py").write_text("x = 1\n")


def make_newer(project: Path) -> None:
    text = (project / ".copier-answers.yml").read_text()
    (project / ".copier-answers.yml").write_text(re.sub(r"(?m)^_commit: .*$", "_commit: v999.0.0", text))
    commit_all(project, "From the future")


def make_unknown_version(project: Path) -> None:
    text = (project / ".copier-answers.yml").read_text()
    (project / ".copier-answers.yml").write_text(re.sub(r"(?m)^_commit: .*$", "_commit: v0.0.0a9", text))
    commit_all(project, "From a build this machine never had")


def make_foreign(project: Path) -> None:
    text = (project / ".copier-answers.yml").read_text()
    (project / ".copier-answers.yml").write_text(text.replace(STORE_URL, "gh:someone/other-template"))
    commit_all(project, "Another template")


REFUSALS = [
    # (name, start level, preparation, extra args, exit code, words in the message)
    ("dirty", 0, make_dirty, ["--level", "1"], 13, ["uncommitted", "README.md", "scratch.py"]),
    ("unknown-level", 0, None, ["--level", "9"], 4, ["Level '9' does not exist"]),
    ("not-a-number", 0, None, ["--level", "one"], 4, ["does not exist"]),
    ("level-downgrade", 1, None, ["--level", "0"], 14, ["downgrade", "level 1"]),
    ("version-downgrade", 0, make_newer, [], 14, ["downgrade", "v999.0.0"]),
    ("version-unknown", 0, make_unknown_version, [], 15, ["v0.0.0a9", "cannot"]),
    ("foreign-template", 0, make_foreign, [], 11, ["another template"]),
]


@pytest.mark.parametrize(
    ("start", "prepare", "args", "code", "words"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_refusals_leave_the_project_byte_for_byte_unchanged(
    tmp_path: Path,
    base_project: Callable[..., Path],
    start: int,
    prepare: Callable[[Path], None] | None,
    args: list[str],
    code: int,
    words: list[str],
) -> None:
    if start not in built_levels():
        pytest.skip(f"level {start} is not built")
    project = copy_of(base_project(start), tmp_path)
    if prepare:
        prepare(project)
    status_porcelain(project)  # let git settle the copied index before taking the snapshot
    before = state(project)
    for dry_run in ([], ["--dry-run"]):
        result = runner.invoke(app, ["upgrade", str(project), *args, *dry_run])
        assert result.exit_code == code, result.output
        assert "Fix:" in result.output
        for word in words:
            assert word.lower() in result.output.lower(), (word, result.output)
        assert state(project) == before


def test_level_not_built_yet_is_refused(
    tmp_path: Path, base_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manifest marking the top level unbuilt (as in a release that has not built it yet)."""
    from dataclasses import replace

    from mlops_core import levels

    project = copy_of(base_project(built_levels()[0]), tmp_path)
    unbuilt = all_levels()[-1].number
    manifest = tuple(replace(lv, built=False) if lv.number == unbuilt else lv for lv in all_levels())
    monkeypatch.setattr(levels, "all_levels", lambda: manifest)
    status_porcelain(project)
    before = state(project)
    result = runner.invoke(app, ["upgrade", str(project), "--level", str(unbuilt)])
    assert result.exit_code == 5, result.output
    assert "not available yet" in result.output
    assert state(project) == before


def test_not_a_project_and_not_git_are_refused(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("hello\n")
    before = snapshot(plain)
    for target, code in ((plain, 11), (tmp_path / "missing", 11), (plain / "notes.txt", 11)):
        result = runner.invoke(app, ["upgrade", str(target), "--level", "1"])
        assert result.exit_code == code, result.output
        assert "not a project generated by mlops-scaffold" in result.output
    assert snapshot(plain) == before

    no_git = new_project(tmp_path / "no-git", 0, extra=("--no-git",))
    before = snapshot(no_git)
    result = runner.invoke(app, ["upgrade", str(no_git), "--level", "1"])
    assert result.exit_code == 12, result.output
    assert "git init" in result.output
    assert snapshot(no_git) == before

    # status reports on both without refusing what it can describe.
    assert runner.invoke(app, ["status", str(plain)]).exit_code == 11
    report = runner.invoke(app, ["status", str(no_git), "--json"])
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["uncommitted"] is None
    assert "not a git repository" in runner.invoke(app, ["status", str(no_git)]).output
    assert snapshot(no_git) == before


# --- failures -------------------------------------------------------------------------------------


def test_copier_failure_changes_nothing(
    tmp_path: Path, base_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import copier
    from copier.errors import UserMessageError

    start, target = PATHS[0]
    project = copy_of(base_project(start), tmp_path)
    status_porcelain(project)
    before = state(project)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise UserMessageError("simulated failure")

    monkeypatch.setattr(copier, "run_update", broken)
    result = runner.invoke(app, ["upgrade", str(project), "--level", str(target)])
    assert result.exit_code == 16, result.output
    assert "simulated failure" in result.output
    assert state(project) == before


def test_a_level_0_project_chooses_its_ci_vendor_when_it_moves_up(
    tmp_path: Path, base_project: Callable[..., Path]
) -> None:
    """Level 0 asks no CI question, so moving to level 1 takes it from --data (or the default, said)."""
    project = copy_of(base_project(0), tmp_path)
    assert "ci" not in answers(project)
    plain = upgrade(project, level=1, dry_run=True)
    assert ".github/workflows/ci.yml" in plain.added
    assert any("--data ci=gitlab" in note for note in plain.notes), plain.notes

    result = runner.invoke(app, ["upgrade", str(project), "--level", "1", "--data", "ci=gitlab", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert ".gitlab-ci.yml" in report["added"] and not any(p.startswith(".github/") for p in report["added"])
    assert not any("--data ci=gitlab" in note for note in report["notes"])
    assert answers(project)["ci"] == "gitlab"


def test_upgrade_refuses_unknown_data_keys_and_the_level(
    tmp_path: Path, base_project: Callable[..., Path]
) -> None:
    project = copy_of(base_project(0), tmp_path)
    status_porcelain(project)
    before = state(project)
    cases = [
        (["--level", "1", "--data", "colour=blue"], 7, "'colour' is not a question"),
        (["--level", "1", "--data", "level=3"], 2, "Use --level N"),  # the level has its own option
        (["--data", "level=4"], 2, "Use --level N"),
    ]
    for args, code, message in cases:
        result = runner.invoke(app, ["upgrade", str(project), *args])
        assert result.exit_code == code, result.output
        assert message in result.output and "Fix:" in result.output
    assert state(project) == before
