"""Repositories are data, never code: a corpus of hostile repositories (tests/hostile_support.py)
through every command that reads one, the way a person runs them.

Each case plants programs that leave a canary file when anything runs them (git configuration,
cookiecutter template expressions, hooks, extensions), or input that stalls or crashes a naive
reader (nesting 100,000 deep, YAML bombs, symlink loops, links to secrets outside, invalid UTF-8, a
50 MB answers file). For every case and command: no canary, no traceback, and either a result or
a one-line error. benchmarks/bench_hostile.py times each command on each case (target: 5 s).

The upgrade side (status, upgrade, the template store) uses the tiny inline template of
test_upgrade_engine.py, so that each upgrade costs about a second.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from assess_support import git_commit_all
from click.testing import Result
from helpers import build_file_tree, git, runner
from hostile_support import CASES, SECRET, build_case, canaries_left, plant_git_programs
from upgrade_support import commit_all, render_at, tiny_template

import mlops_scaffold.project as project_module
import mlops_scaffold.upgrade as upgrade_module
from mlops_scaffold import sandbox, template_store
from mlops_scaffold.assess import assess_many
from mlops_scaffold.assess import fleet as fleet_report
from mlops_scaffold.cli import app
from mlops_scaffold.template_store import build_history_bundle, ensure_version

# Cases whose repository has a commit: adopt gets past its refusals and reads everything.
ADOPTABLE = [name for name in CASES if name not in ("answers-50mb", "worktree-elsewhere")]


def run(*args: str) -> Result:
    """The CLI as a person runs it; no traceback, and an error (if any) is one `Error:` line."""
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args}: {result.exception!r}\n{result.output}"
    )
    assert "Traceback" not in result.output, result.output
    if result.exit_code != 0:
        errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
        assert len(errors) == 1, result.output
    return result


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    root = tmp_path_factory.mktemp("hostile")
    return {name: build_case(name, root) for name in CASES}


# --- assess, and the fleet ----------------------------------------------------------------------------


def test_the_planted_programs_run_under_plain_git(tmp_path: Path) -> None:
    """The control: plain `git status` in a planted repository runs its programs (so the canaries
    of the other tests can appear), and mlops-scaffold's git runner runs none of them."""
    from mlops_scaffold import vcs

    repo, canaries = build_case("git-programs", tmp_path)
    assert vcs.uncommitted_files(repo, repo) == [] and canaries_left(canaries) == []
    subprocess.run(["git", "status"], cwd=repo, capture_output=True, check=False)
    assert {"fsmonitor", "filter-process"} <= set(canaries_left(canaries)), canaries_left(canaries)


@pytest.mark.parametrize("name", list(CASES))
def test_assess_reads_a_hostile_repository_as_data(corpus: dict[str, tuple[Path, Path]], name: str) -> None:
    repo, canaries = corpus[name]
    result = run("assess", str(repo), "--json")
    assert result.exit_code == 0
    notes = " ".join(json.loads(result.stdout)["notes"])
    if name == "deep-data":
        for path in ("configs/deep.json", "configs/deep.toml", "configs/deep.yaml", "notebooks/deep.ipynb"):
            assert path in notes
        assert "Not read (nested deeper than 100 levels)" in notes
    if name == "yaml-bombs":
        assert "configs/loop.yaml" in notes
    if name == "answers-50mb":
        assert "larger than 1 MB" in notes
    if name == "invalid-utf8":
        assert "\\x1b[31mred\\nError: spoofed.json" in notes
    text = run("assess", str(repo))
    assert "\x1b" not in text.output and "\nError: spoofed" not in text.output
    assert canaries_left(canaries) == []


def test_the_fleet_report_has_a_row_for_every_hostile_repository(
    corpus: dict[str, tuple[Path, Path]],
) -> None:
    fleet = next(iter(corpus.values()))[0].parent
    result = run("assess", "--fleet", str(fleet), "--json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)["repositories"]
    assert sorted(row["name"] for row in rows) == sorted(CASES)
    assert all(row["error"] is None for row in rows)
    assert all(canaries_left(canaries) == [] for _, canaries in corpus.values())


def test_a_repository_that_fails_is_a_row_with_its_error(
    corpus: dict[str, tuple[Path, Path]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever goes wrong with one repository, the fleet report lists it and assesses the others."""
    import mlops_scaffold.assess as assess_module

    real = assess_module.assess
    broken = corpus["deep-data"][0]

    def failing(path: Path | str) -> object:
        if Path(path) == broken:
            raise RecursionError("maximum recursion depth exceeded\nwhile reading a file")
        return real(path)

    monkeypatch.setattr(assess_module, "assess", failing)
    paths = [corpus[name][0] for name in ("yaml-bombs", "deep-data", "symlinks")]
    results = assess_many(paths)
    assert [r.error for r in results] == [None, "RecursionError: maximum recursion depth exceeded", None]
    assert results[1].verdict.startswith("Not assessed: RecursionError")
    markdown = fleet_report.to_markdown(fleet_report.rows(results))
    assert "(not assessed: RecursionError: maximum recursion depth exceeded)" in markdown
    assert len(results[1].scores) == len(results[0].scores)  # the same columns as every row


# --- adopt, and status/upgrade on a repository that is not a project --------------------------------


@pytest.mark.parametrize("name", ADOPTABLE)
def test_adopt_dry_run_then_adopt_execute_nothing(
    corpus: dict[str, tuple[Path, Path]], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, canaries = corpus[name]
    monkeypatch.chdir(repo)  # where a relative template path from .cruft.json would resolve
    dry = run("adopt", str(repo), "--dry-run", "--level", "0", "--defaults", "--json")
    assert dry.exit_code == 0
    report = json.loads(dry.stdout)
    notes = " ".join(report["notes"])
    assert report["merge_base"] is None
    expected = {
        "cruft-template-path": "SecurityError",  # the template's own expression, sandboxed
        "cruft-context": "SecurityError",  # the recorded context's expression, sandboxed
        "cruft-escape": "leaves the output folder",
        "cruft-relative-path": "is relative, so it was not looked up",
    }.get(name)
    if expected:
        assert expected in notes and "merged without a base" in notes, notes
    assert SECRET not in dry.stdout  # nothing read through the symlinks to outside
    for command in ("status", "upgrade"):
        assert run(command, str(repo)).exit_code == 11  # not a project of ours (yet)
    assert canaries_left(canaries) == []

    adopted = run("adopt", str(repo), "--level", "0", "--defaults", "--json")
    assert adopted.exit_code in (0, 30)  # 30: applied, with conflicts to resolve
    if name == "symlinks":
        assert "docs/adr/README.md" in json.loads(adopted.stdout)["kept"]
        assert list((repo.parent.parent / "outside" / "symlinks-secrets" / "secret-dir").iterdir()) == []
    assert run("status", str(repo)).exit_code == 0
    assert run("upgrade", str(repo), "--level", "1").exit_code == 13  # adopting left uncommitted changes
    assert canaries_left(canaries) == []


def test_a_50_mb_answers_file_is_refused_in_one_line_by_every_command(
    corpus: dict[str, tuple[Path, Path]],
) -> None:
    repo, canaries = corpus["answers-50mb"]
    for args, code in (
        (("status", str(repo)), 11),
        (("upgrade", str(repo)), 11),
        (("adopt", str(repo), "--defaults", "--dry-run"), 32),  # an answers file adopting would replace
    ):
        result = run(*args)
        assert result.exit_code == code, result.output
        if code == 11:
            assert "larger than 1 MB" in result.output
    assert canaries_left(canaries) == []


def test_a_repository_whose_work_tree_is_elsewhere_is_not_used(corpus: dict[str, tuple[Path, Path]]) -> None:
    repo, canaries = corpus["worktree-elsewhere"]
    for args, code in (
        (("adopt", str(repo), "--defaults", "--dry-run"), 12),  # not a git repository we can use
        (("status", str(repo)), 11),
        (("upgrade", str(repo)), 11),
    ):
        assert run(*args).exit_code == code
    assert canaries_left(canaries) == []


def test_a_configuration_git_never_finishes_reading_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An include.path naming a FIFO: git blocks opening it. Each git command has a time limit."""
    from mlops_scaffold import vcs

    repo, canaries = build_case("yaml-bombs", tmp_path)  # any committed repository
    os.mkfifo(repo / ".git" / "never")
    with open(repo / ".git" / "config", "a") as config:
        config.write(f"[include]\n\tpath = {repo / '.git' / 'never'}\n")
    monkeypatch.setattr(vcs, "TIMEOUT", 1.0)
    assert run("adopt", str(repo), "--defaults", "--dry-run").exit_code == 12  # git cannot tell
    assert canaries_left(canaries) == []


def test_a_cookiecutter_template_named_on_the_command_line_is_sandboxed_too(tmp_path: Path) -> None:
    repo, canaries = build_case("cruft-template-path", tmp_path)
    result = run("adopt", str(repo), "--dry-run", "--defaults", "--cookiecutter-template", str(repo / "tpl"))
    assert result.exit_code == 34 and "SecurityError" in result.output
    assert canaries_left(canaries) == []


def test_the_sandbox_bounds_memory_and_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, readme in (
        ("memory", "{{ 'x' * 10000000000 }}"),
        ("time", "{% for a in range(99999) %}{% for b in range(99999) %}{{ a }}{% endfor %}{% endfor %}"),
    ):
        template = build_file_tree(
            tmp_path / name / "template",
            {"cookiecutter.json": '{"repo_name": "x"}', "{{cookiecutter.repo_name}}/README.md": readme},
        )
        monkeypatch.setattr(sandbox, "TIMEOUT", 2.0)
        with pytest.raises(sandbox.SandboxError, match=r"memory|longer than 2 s"):
            sandbox.render_cookiecutter(template, {}, (tmp_path / name / "scratch"), directory=None)


def test_the_sandbox_renders_an_ordinary_template_and_follows_no_link(tmp_path: Path) -> None:
    secret = build_file_tree(tmp_path / "secret", {"key.txt": "SECRET KEY\n"})
    template = build_file_tree(
        tmp_path / "template",
        {
            "cookiecutter.json": json.dumps(
                {"project": "Churn", "slug": "{{ cookiecutter.project|lower }}", "_jinja2_env_vars": {}}
            ),
            "{{cookiecutter.slug}}/README.md": "# {{ cookiecutter.project }} "
            "{{ cookiecutter|jsonify|length > 0 }}\n",
        },
    )
    (template / "{{cookiecutter.slug}}" / "key.txt").symlink_to(secret / "key.txt")
    (template / "{{cookiecutter.slug}}" / "loop").symlink_to(template)
    (tmp_path / "scratch").mkdir()
    project = sandbox.render_cookiecutter(template, {"project": "Fraud"}, tmp_path / "scratch")
    assert project.name == "fraud" and (project / "README.md").read_text() == "# Fraud True\n"
    assert sorted(p.name for p in project.iterdir()) == ["README.md"]


# --- status and upgrade of a project, with the tiny template -----------------------------------------


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temp_dir: Path) -> Callable[..., Path]:
    """Projects rendered from the tiny template, released as 1.0.0, which `upgrade` installs."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    source = tiny_template(tmp_path / "template")
    ensure_version("1.0.0", source=source)
    for module in (upgrade_module, project_module):
        monkeypatch.setattr(module, "__version__", "1.0.0")
    monkeypatch.setattr(template_store, "template_dir", lambda: source)

    def make(name: str = "svc") -> Path:
        return render_at("v1.0.0", tmp_path / name, level=0)

    return make


def test_status_and_upgrade_run_no_program_the_project_configures(
    tiny: Callable[..., Path], tmp_path: Path
) -> None:
    project = tiny()
    (project / ".gitattributes").write_text("* filter=evil diff=evil merge=evil\n")
    commit_all(project, "Attributes")
    canaries = tmp_path / "canaries"
    canaries.mkdir()
    plant_git_programs(project, canaries)
    assert run("status", str(project)).exit_code == 0
    assert run("upgrade", str(project), "--level", "1", "--dry-run").exit_code == 0
    assert run("upgrade", str(project), "--level", "1").exit_code in (0, 10)
    assert (project / "Dockerfile").is_file()
    assert canaries_left(canaries) == []


@pytest.mark.parametrize(
    ("answers", "reason"),
    [
        (
            "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
            + "".join(
                f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
                for p, c in zip("abcdefgh", "bcdefghi", strict=True)
            ),
            "expands to more than",
        ),
        ("deep: " + "[" * 5000 + "]" * 5000 + "\n", "nested deeper than 100 levels"),
        ("loop: &a [*a]\n", "nested deeper than 100 levels"),
        ('_commit: "--upload-pack=x\\nError: spoofed"\n', "which is not a version"),
        (None, "is a symlink"),
    ],
    ids=["yaml-bomb", "deep", "self-alias", "option-as-version", "symlink"],
)
def test_hostile_answers_files_are_refused_in_one_line(
    tiny: Callable[..., Path], tmp_path: Path, answers: str | None, reason: str
) -> None:
    project = tiny()
    answers_file = project / ".copier-answers.yml"
    if answers is None:
        (tmp_path / "elsewhere.yml").write_text(answers_file.read_text())
        answers_file.unlink()
        answers_file.symlink_to(tmp_path / "elsewhere.yml")
    else:
        answers_file.write_text(answers_file.read_text() + answers)
    for command in ("status", "upgrade", "assess"):
        result = run(command, str(project))
        if command == "assess":
            assert result.exit_code == 0 and reason in result.output
        else:
            assert result.exit_code == 11 and reason in result.output, result.output


def _evil_template(root: Path, canary: Path, *tags: str) -> Path:
    """A copier template whose task leaves ``canary``, as a git repository tagged ``tags``."""
    build_file_tree(
        root,
        {
            "copier.yml": f"_subdirectory: project\n_answers_file: .copier-answers.yml\n"
            f"_tasks: ['touch {canary}']\nproject_name: {{type: str}}\nlevel: {{type: int, default: 0}}\n",
            "project/{{_copier_conf.answers_file}}.jinja": "{{ _copier_answers|to_nice_yaml -}}\n",
            "project/README.md": "evil\n",
        },
    )
    git_commit_all(root, "Evil template")
    for tag in tags:
        git(root, "tag", tag)
    return root


def test_upgrade_uses_the_committed_answers_file_not_a_hidden_one(
    tiny: Callable[..., Path], tmp_path: Path
) -> None:
    """A committed answers file naming another template, hidden behind skip-worktree: copier (which
    reads the committed one) would have run that template's tasks with unsafe=True."""
    project = tiny()
    canary = tmp_path / "canary-task-ran"
    evil = _evil_template(tmp_path / "evil", canary, "v1.0.0", "v0.9.0")
    answers_file = project / ".copier-answers.yml"
    ours = answers_file.read_text()
    answers_file.write_text(
        ours.replace("~/.local/share/mlops-scaffold/template", str(evil)).replace("v1.0.0", "v0.9.0")
    )
    commit_all(project, "Another template, committed")
    answers_file.write_text(ours)
    git(project, "update-index", "--skip-worktree", ".copier-answers.yml")
    result = run("upgrade", str(project), "--level", "1")
    assert result.exit_code == 11 and "names another template" in result.output, result.output
    assert not canary.exists()


def test_upgrade_runs_no_template_version_this_tool_did_not_ship(
    tiny: Callable[..., Path], tmp_path: Path
) -> None:
    """A store version that no release shipped (an earlier development build, or a hand-made tag)
    whose copier.yml has tasks: copier would run them, rendering the project's old version."""
    canary = tmp_path / "canary-task-ran"
    _evil_template(tmp_path / "evil", canary)
    shutil.rmtree(tmp_path / "evil" / ".git")
    ensure_version("0.9.0", source=tmp_path / "evil")
    project = tmp_path / "svc"
    import copier

    copier.run_copy(  # as that version's `new` would have (tasks skipped, so copier needs no --trust)
        template_store.STORE_URL, project, vcs_ref="v0.9.0", data={"project_name": "svc"}, defaults=True,
        quiet=True, skip_tasks=True,
    )  # fmt: skip
    subprocess.run(["git", "init", "--quiet"], cwd=project, check=True)
    commit_all(project, "Start at v0.9.0")
    result = run("upgrade", str(project), "--level", "1")
    assert result.exit_code == 15 and "would run commands (_tasks" in result.output, result.output
    assert not canary.exists()


def test_a_store_tag_that_differs_from_the_shipped_history_is_refused(
    tiny: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = tiny_template(tmp_path / "released-0.9.0")
    changed = tiny_template(tmp_path / "changed-0.9.0")
    (changed / "project" / "notes.txt").write_text("Not what the release shipped.\n")
    monkeypatch.setattr(template_store, "history_bundle", lambda: tmp_path / "none.bundle")
    ensure_version("0.9.0", source=changed)  # the store's v0.9.0: other content than the release's
    bundle = tmp_path / "history.bundle"
    build_history_bundle([("0.9.0", shipped)], bundle)
    monkeypatch.setattr(template_store, "history_bundle", lambda: bundle)
    project = render_at("v0.9.0", tmp_path / "old", level=0)
    result = run("upgrade", str(project))
    assert result.exit_code == 15 and "differs from that version in the template history" in result.output
    assert "Fix: " in result.output
