"""`mlops-scaffold new`: golden file lists, answers, and every refusal leaving nothing behind."""

from __future__ import annotations

import itertools
import json
import os
import re
import stat
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from helpers import git, new_project, runner, snapshot, tree_files

from mlops_scaffold.cli import app
from mlops_scaffold.generate import generate
from mlops_scaffold.template_store import STORE_URL

LEVEL_0 = {
    ".copier-answers.yml",
    ".gitignore",
    ".python-version",
    "MATURITY.md",
    "README.md",
    "configs/train.yaml",
    "data/README.md",
    "data/raw/churn.csv",
    "docs/adr/0000-template.md",
    "docs/adr/0001-project-layout.md",
    "docs/adr/0002-tooling.md",
    "docs/adr/0003-lineage-record.md",
    "docs/adr/README.md",
    "models/README.md",
    "notebooks/eda.ipynb",
    "pyproject.toml",
    "src/{pkg}/__init__.py",
    "src/{pkg}/config.py",
    "src/{pkg}/data.py",
    "src/{pkg}/evaluate.py",
    "src/{pkg}/features.py",
    "src/{pkg}/lineage.py",
    "src/{pkg}/lineage.schema.json",
    "src/{pkg}/metrics.py",
    "src/{pkg}/model.py",
    "src/{pkg}/py.typed",
    "src/{pkg}/train.py",
    "tests/conftest.py",
    "tests/test_data.py",
    "tests/test_lineage.py",
    "tests/test_train.py",
}
LEVEL_1 = {
    ".dockerignore",
    ".pre-commit-config.yaml",
    "Dockerfile",
    "Makefile",
    "ci/template_upgrade.py",
    "docs/adr/0004-ci-and-containers.md",
}
LEVEL_2 = {
    "configs/pipeline.yaml",
    "deploy/push-image.sh",
    "deploy/training-job.json",
    "docs/adr/0005-training-pipeline.md",
    "feature_repo/definitions.py",
    "feature_repo/feature_store.yaml",
    "src/{pkg}/aws_errors.py",
    "src/{pkg}/devstack.py",
    "src/{pkg}/localstack.py",
    "src/{pkg}/feature_store.py",
    "src/{pkg}/pipeline.py",
    "src/{pkg}/settings.py",
    "src/{pkg}/storage.py",
    "src/{pkg}/tracking.py",
    "src/{pkg}/validation.py",
    "tests/test_aws_errors.py",
    "tests/test_lifecycle_localstack.py",
    "tests/test_localstack.py",
    "tests/test_pipeline.py",
    "tests/test_settings.py",
    "tests/test_tracking.py",
    "tests/test_validation.py",
}
# Level 2 per framework: PyTorch trains with torchrun, on several AWS Batch nodes too;
# scikit-learn tunes configurations in parallel (joblib here, an AWS Batch array job on AWS).
LEVEL_2_FRAMEWORK = {
    "pytorch": {
        "deploy/training-job-multinode.json",
        "src/{pkg}/launch.py",
        "tests/test_distributed.py",
    },
    "sklearn": {"configs/tune.yaml", "src/{pkg}/tune.py", "tests/test_tune.py"},
}
CI_FILES = {
    "github": {".github/workflows/ci.yml", ".github/workflows/template-upgrade.yml"},
    "gitlab": {".gitlab-ci.yml"},
}
TRAINING_IMAGE_FILES = {
    "github": {".github/workflows/training-image.yml"},
    "gitlab": {".gitlab/training-image.yml"},
}
LEVEL_3 = {
    "Dockerfile.serve",
    "src/{pkg}/deploy.py",
    "src/{pkg}/promotion.py",
    "src/{pkg}/serve.py",
    "tests/test_deploy.py",
    "tests/test_promotion.py",
    "tests/test_serve.py",
    "tests/test_serving_localstack.py",
}
DEPLOY_FILES = {"github": {".github/workflows/deploy.yml"}, "gitlab": {".gitlab/deploy.yml"}}
LEVEL_4 = {
    "src/{pkg}/alerts.py",
    "src/{pkg}/capture.py",
    "src/{pkg}/drift.py",
    "src/{pkg}/drift_report.py",
    "src/{pkg}/model_card.py",
    "src/{pkg}/retrain.py",
    "tests/test_alerts.py",
    "tests/test_capture.py",
    "tests/test_drift.py",
    "tests/test_monitoring_localstack.py",
    "tests/test_retrain.py",
}


def golden(level: int, framework: str, ci: str, pkg: str) -> set[str]:
    files = set(LEVEL_0)
    if level >= 1:
        files |= LEVEL_1 | CI_FILES[ci]
        if framework == "sklearn":  # PyTorch locks need PyTorch's index: `make lock` (see ADR 0004)
            files.add("uv.lock")
    if level >= 2:
        files |= LEVEL_2 | LEVEL_2_FRAMEWORK[framework] | TRAINING_IMAGE_FILES[ci]
    if level >= 3:
        files |= LEVEL_3 | DEPLOY_FILES[ci]
    if level >= 4:
        files |= LEVEL_4
    return {f.format(pkg=pkg) for f in files}


MATRIX = list(itertools.product([0, 1, 2, 3, 4], ["sklearn", "pytorch"], ["github", "gitlab"]))


@pytest.mark.parametrize(("level", "framework", "ci"), MATRIX)
def test_new_renders_exactly_the_golden_tree(tmp_path: Path, level: int, framework: str, ci: str) -> None:
    project = new_project(tmp_path / "churn-model", level, framework=framework, ci=ci)
    assert tree_files(project) == golden(level, framework, ci, "churn_model")

    for path in project.rglob("*"):
        if path.is_file() and ".git" not in path.parts:
            text = path.read_text(encoding="utf-8")
            # `${{ ... }}` is GitHub Actions' own expression syntax, not Jinja.
            assert not re.search(r"(?<!\$)\{\{|\{%", text), f"unrendered Jinja in {path}"

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["level"] == level
    assert answers["framework"] == framework
    assert answers.get("ci") == (ci if level >= 1 else None)  # no CI question at level 0
    assert answers["python_version"] == "3.11"
    assert answers["project_name"] == "churn-model"
    assert answers["package_name"] == "churn_model"
    assert answers["_src_path"] == STORE_URL and answers["_src_path"].startswith("~")
    assert answers["_commit"].startswith("v")

    maturity = (project / "MATURITY.md").read_text()
    assert f"level {level}" in maturity
    assert git(project, "status", "--porcelain") == ""
    assert "MLOps level" in git(project, "log", "--format=%s")


def test_answers_record_data_and_name(tmp_path: Path) -> None:
    project = new_project(
        tmp_path / "dir",
        0,
        extra=(
            "--name",
            "fraud_detector",
            "--data",
            "description=Finds fraud",
            "--data",
            "author_name=Risk team",
        ),
    )
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["project_name"] == "fraud_detector"
    assert answers["description"] == "Finds fraud"
    assert answers["author_name"] == "Risk team"
    assert (project / "src" / "fraud_detector" / "train.py").is_file()
    assert 'description = "Finds fraud"' in (project / "pyproject.toml").read_text()


def test_empty_existing_directory_is_filled(tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    project = new_project(tmp_path / "here", 0)
    assert (project / "pyproject.toml").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["here"]  # no staging directory left over


def test_no_git_option(tmp_path: Path) -> None:
    project = new_project(tmp_path / "nogit", 0, extra=("--no-git",))
    assert not (project / ".git").exists()
    # The staging directory becomes the project: with the mode any directory the user makes gets,
    # not mkdtemp's 0700 (before, a shared workspace's teammates could not read the project).
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(project.stat().st_mode) == 0o777 & ~umask


def test_json_output(tmp_path: Path) -> None:
    result = runner.invoke(app, ["new", str(tmp_path / "j"), "--level", "1", "--defaults", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["level"] == 1 and payload["package_name"] == "j"
    assert len(payload["git_commit"]) == 40


def test_python_api_without_cli(tmp_path: Path) -> None:
    messages: list[str] = []
    result = generate(
        tmp_path / "api", level=1, data={"framework": "pytorch", "ci": "gitlab"}, on_progress=messages.append
    )
    assert result.level == 1 and result.answers["framework"] == "pytorch"
    assert (result.path / ".gitlab-ci.yml").is_file()
    assert messages and any("Rendering" in m for m in messages)


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["--level", "1", "--name", "2fast"], 3, "cannot be a project name"),
        (["--level", "1", "--name", "with space"], 3, "cannot be a project name"),
        (["--level", "1", "--name", "class"], 3, "keyword"),
        (["--level", "1", "--name", "json"], 3, "shadow"),
        (["--level", "7"], 4, "Level '7' does not exist"),
        (["--level", "-1"], 4, "does not exist"),
        (["--level", "one"], 4, "Level 'one' does not exist"),
        (["--level", "1", "--data", "colour=blue"], 7, "'colour' is not a question"),
        (["--level", "1", "--data", "novalue"], 2, "KEY=VALUE"),
        (["--level", "1", "--framework", "tensorflow"], 2, "framework"),
        (["--level", "1", "--ci", "jenkins"], 2, "ci"),
        (["--level", "1", "--python", "3.9"], 2, "python_version"),
        (["--level", "1", "--data", "package_name=Bad-Name"], 3, "cannot be a project name"),
    ],
)
def test_bad_input_fails_cleanly_and_writes_nothing(
    tmp_path: Path, args: list[str], exit_code: int, message: str
) -> None:
    dst = tmp_path / "parent" / "proj"
    result = runner.invoke(app, ["new", str(dst), "--defaults", *args])
    assert result.exit_code == exit_code, result.output
    assert message in " ".join(result.output.split())
    assert "Fix:" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "parent").exists()


def test_level_not_built_names_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every level is built now; a manifest marking level 4 unbuilt shows the refusal."""
    from mlops_core import levels

    manifest = tuple(replace(lv, built=False) if lv.number == 4 else lv for lv in levels.all_levels())
    monkeypatch.setattr(levels, "all_levels", lambda: manifest)
    dst = tmp_path / "p"
    result = runner.invoke(app, ["new", str(dst), "--level", "4", "--defaults"])
    assert result.exit_code == 5, result.output
    output = " ".join(result.output.split())
    assert "Level 4 (Full automated operations) is not available yet" in output
    for missing in ("drift monitoring", "alerts", "automated retraining", "model cards"):
        assert missing in output
    assert "level 3 or lower" in output
    assert not dst.exists()


def test_non_empty_destination_is_left_untouched(tmp_path: Path) -> None:
    dst = tmp_path / "busy"
    dst.mkdir()
    (dst / "notes.txt").write_text("mine")
    before = snapshot(dst)
    result = runner.invoke(app, ["new", str(dst), "--level", "0", "--defaults"])
    assert result.exit_code == 6, result.output
    assert "already exists and is not empty" in result.output
    assert snapshot(dst) == before
    assert [p.name for p in tmp_path.iterdir()] == ["busy"]


def test_destination_that_is_a_file_is_refused(tmp_path: Path) -> None:
    dst = tmp_path / "file"
    dst.write_text("")  # empty, and still no place for a project
    result = runner.invoke(app, ["new", str(dst), "--level", "0", "--defaults"])
    assert result.exit_code == 6, result.output
    assert "is a file, not a directory" in result.output and "not empty" not in result.output
    assert dst.read_text() == "" and list(tmp_path.iterdir()) == [dst]


def test_an_empty_directory_that_cannot_be_written_names_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An existing empty directory is filled in place, so it (not its parent) must be writable.
    (Simulated: the suite may run as root, whom a read-only mode does not stop.)"""
    from mlops_scaffold import scratch

    def read_only(directory: Path, name: str) -> object:
        raise PermissionError(13, "Permission denied", str(directory))

    monkeypatch.setattr(scratch, "partial_dir", read_only)
    dst = tmp_path / "mount"
    dst.mkdir()
    result = runner.invoke(app, ["new", str(dst), "--level", "0", "--defaults"])
    assert result.exit_code == 6, result.output
    output = " ".join(result.output.split())
    assert f"Make '{dst}' writable" in output and "its parent" not in output, output
    assert list(dst.iterdir()) == []


def test_no_git_without_git_says_git_is_needed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "no-programs-here"))
    result = runner.invoke(app, ["new", str(tmp_path / "p"), "--level", "0", "--defaults", "--no-git"])
    assert result.exit_code == 22, result.output  # not the template store's 9
    assert "git is not installed" in result.output and "Install git" in result.output
    assert not (tmp_path / "p").exists()


def test_an_answer_outside_the_choices_lists_them(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["new", str(tmp_path / "p"), "--level", "1", "--defaults", "--framework", "jax"]
    )
    assert result.exit_code == 2, result.output
    output = " ".join(result.output.split())
    assert "--framework jax: 'jax' is not a framework the template offers (sklearn or pytorch)." in output
    assert "Fix: Use one of them, e.g. --framework sklearn." in output
    assert "is not in [" not in output  # copier's own message
    assert not (tmp_path / "p").exists()


def test_output_off_a_terminal_is_not_wrapped_and_paths_are_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Piped (CliRunner is no terminal), lines stay whole however long, and `../x` prints resolved."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    name = "a-project-whose-name-alone-is-longer-than-a-line-of-eighty-columns-of-text"
    result = runner.invoke(app, ["new", f"../{name}", "--level", "0", "--defaults", "--no-git"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"Created {name} at MLOps level 0 in {tmp_path / name}" in lines, result.output
    assert any(line.strip().startswith(f"cd {tmp_path / name}  # ") for line in lines), result.output
    assert ".." not in result.output


def test_copier_failure_mid_render_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import copier
    from copier.errors import CopierError

    real_copy = copier.run_copy

    def failing_copy(src: str, dst: Path, **kwargs: object) -> None:
        real_copy(src, dst, **kwargs)  # files are written ...
        raise CopierError("simulated failure after rendering")  # ... then copier fails

    monkeypatch.setattr(copier, "run_copy", failing_copy)
    (tmp_path / "keep").mkdir()
    result = runner.invoke(app, ["new", str(tmp_path / "keep" / "a" / "b"), "--level", "1", "--defaults"])
    assert result.exit_code == 8, result.output
    assert "simulated failure" in result.output
    assert list((tmp_path / "keep").iterdir()) == []


def test_interrupt_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import copier

    def interrupted(src: str, dst: Path, **kwargs: object) -> None:
        (Path(dst) / "half-written.txt").write_text("x")
        raise KeyboardInterrupt

    monkeypatch.setattr(copier, "run_copy", interrupted)
    result = runner.invoke(app, ["new", str(tmp_path / "p"), "--level", "0", "--defaults"])
    assert result.exit_code == 130, result.output
    assert list(tmp_path.iterdir()) == []


def test_unwritable_template_store_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".local").write_text("a file where a directory should be")
    monkeypatch.setenv("HOME", str(home))
    result = runner.invoke(app, ["new", str(tmp_path / "p"), "--level", "0", "--defaults"])
    assert result.exit_code == 9, result.output
    assert "template store" in result.output
    assert not (tmp_path / "p").exists()


def test_unwritable_parent_is_a_clear_error(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked"
    blocked.write_text("a file, so nothing can be created below it")
    result = runner.invoke(app, ["new", str(blocked / "sub" / "p"), "--level", "0", "--defaults"])
    assert result.exit_code == 6, result.output
    assert "Cannot create" in result.output and "Fix:" in result.output
    assert blocked.read_text().startswith("a file")


def test_first_commit_uses_the_users_git_identity(tmp_path: Path, isolated_home: Path) -> None:
    (isolated_home / ".gitconfig").write_text("[user]\n\tname = Ada Lovelace\n\temail = ada@example.com\n")
    try:
        project = new_project(tmp_path / "mine", 0)
        assert git(project, "log", "--format=%an <%ae>").strip() == "Ada Lovelace <ada@example.com>"
    finally:
        (isolated_home / ".gitconfig").unlink()
