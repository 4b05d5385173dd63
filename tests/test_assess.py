"""`mlops-scaffold assess`: the level of any repository, with evidence and a plan for the next one.

Generated projects, hand-made repositories at each level, the level rule and the CLI. The classes
of defects of issue 10 (vendors, word matches, filters, speed, non-ML repositories, the plan) have
their own fixture repositories in test_assess_detectors.py and test_assess_repos.py.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from assess_support import LEVEL_0, LEVEL_1, LEVEL_2, LEVEL_3, LEVEL_4, build_tree, found
from helpers import new_project, runner

from mlops_core.levels import all_levels, built_levels, get_level
from mlops_scaffold.assess import MAX_TEXT_BYTES, assess
from mlops_scaffold.cli import app

RENDERS = [(level, "github") for level in built_levels()] + [(level, "gitlab") for level in (1, 2, 3, 4)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[int, str], Path]:
    """One project per (level, ci), rendered once for the module."""
    root = tmp_path_factory.mktemp("generated")
    return {(lv, ci): new_project(root / f"l{lv}-{ci}" / "churn-model", lv, ci=ci) for lv, ci in RENDERS}


# --- generated projects ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "ci"), RENDERS)
def test_each_generated_level_is_assessed_as_that_level(
    generated: dict[tuple[int, str], Path], level: int, ci: str
) -> None:
    result = assess(generated[level, ci])
    assert (result.level, result.generated, result.generated_level, result.ml_project) == (
        level,
        True,
        level,
        True,
    )
    evidence = found(result)
    for finding in result.findings:
        if finding.level <= level:
            capability = next(c for c in get_level(finding.level).capabilities if c.key == finding.key)
            assert set(capability.evidence_paths(package="churn_model", ci=ci)) & set(evidence[finding.key])
        else:
            assert not finding.found, f"level {level} project shows {finding.key}: {finding.evidence}"
    following = next((lv for lv in all_levels() if lv.number == level + 1), None)
    if following is None:
        assert result.next_level is None and not result.plan.required
    else:
        assert result.next_level == following.number
        assert [s.key for s in result.plan.required] == ["upgrade"]
        assert f"mlops-scaffold upgrade --level {following.number}" in result.plan.required[0].text
    assert all(s.found == s.total for s in result.scores if s.level <= level)


@pytest.mark.parametrize(("level", "ci"), RENDERS)
def test_detectors_alone_place_a_generated_project_at_its_level(
    generated: dict[tuple[int, str], Path], level: int, ci: str, tmp_path: Path
) -> None:
    """Without its answers file (no manifest paths), parsed signals give the same level, nothing more."""
    copy = tmp_path / "churn-model"
    shutil.copytree(generated[level, ci], copy, ignore=shutil.ignore_patterns(".git"))
    (copy / ".copier-answers.yml").unlink()
    result = assess(copy)
    assert (result.level, result.generated) == (level, False)
    for finding in result.findings:
        assert finding.found == (finding.level <= level), (finding.key, finding.evidence)
        assert all(e.why != "named by the level manifest" for e in finding.evidence)
    if level < 4:
        assert not any("mlops-scaffold upgrade" in s.text for s in result.plan.required)


def test_generated_pytorch_project_misses_only_its_lock_which_is_recommended(tmp_path: Path) -> None:
    """PyTorch projects lock with `make lock` (PyTorch's index): a recommended practice, not a level cap."""
    project = new_project(tmp_path / "torch-model", 1, framework="pytorch")
    result = assess(project)
    assert (result.level, result.next_level, result.generated_level) == (1, 2, 1)
    assert [f.key for f in result.missing(1)] == ["locked_dependencies"]
    lost = [s for s in result.plan.recommended if s.key == "locked_dependencies"]
    assert lost and "uv.lock" in lost[0].text and "level 1" in lost[0].text
    assert [f.key for f in result.missing_recommended()] == ["locked_dependencies"]


def test_a_deleted_required_file_lowers_the_level_and_a_recommended_one_does_not(
    generated: dict[tuple[int, str], Path], tmp_path: Path
) -> None:
    project = tmp_path / "churn-model"
    shutil.copytree(generated[1, "github"], project)
    (project / "Dockerfile").unlink()  # recommended at level 1
    result = assess(project)
    assert result.level == 1 and [f.key for f in result.missing(1)] == ["training_image"]
    assert [s.key for s in result.plan.recommended] == ["training_image"]
    assert "Dockerfile" in result.plan.recommended[0].text
    shutil.rmtree(project / ".github")  # CI is required at level 1
    result = assess(project)
    assert result.level == 0 and result.next_level == 1
    assert [s.key for s in result.plan.required] == ["ci"]
    assert "missing although the project is at level 1" in result.plan.required[0].text
    assert any("records level 1" in note for note in result.notes)


# --- the level rule ---------------------------------------------------------------------------------------


def test_the_manifest_classifies_every_capability_and_each_level_has_a_required_one() -> None:
    for level in all_levels():
        assert level.required, f"level {level.number} has no required capability"
        keys = [c.key for c in level.capabilities]
        assert sorted(c.key for c in (*level.required, *level.recommended)) == sorted(keys)
    recommended = {c.key for lv in all_levels() for c in lv.recommended}
    # The scaffold's own habits and nice-to-haves never cap a level.
    assert {"adr", "lineage", "feature_store", "pre_commit", "model_cards"} <= recommended
    assert {"ci", "training_pipeline", "experiment_tracking", "serving", "drift_monitoring"}.isdisjoint(
        recommended
    )


def test_levels_json_marks_required_capabilities() -> None:
    result = runner.invoke(app, ["levels", "--json"])
    assert result.exit_code == 0, result.output
    level_0 = json.loads(result.output)[0]["capabilities"]
    assert {c["key"]: c["required"] for c in level_0}["adr"] is False
    assert {c["key"]: c["required"] for c in level_0}["unit_tests"] is True


def test_scores_count_every_capability_and_the_level_only_required_ones(tmp_path: Path) -> None:
    result = assess(build_tree(tmp_path / "repo", LEVEL_1))
    assert result.level == 1 and result.next_level == 2
    by_level = {s.level: s for s in result.scores}
    assert (by_level[0].found, by_level[0].total) == (3, 5)  # no lineage, no ADRs: recommended
    assert (by_level[0].required_found, by_level[0].required_total) == (3, 3)
    assert (by_level[1].found, by_level[1].required_found) == (1, 1)
    assert {f.key for f in result.missing_recommended()} == {
        "lineage",
        "adr",
        "pre_commit",
        "training_image",
        "task_runner",
        "locked_dependencies",
    }


# --- hand-made repositories at each level -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "level"),
    [(LEVEL_0, 0), (LEVEL_1, 1), (LEVEL_2, 2), (LEVEL_3, 3), (LEVEL_4, 4)],
    ids=["level-0", "level-1", "level-2", "level-3", "level-4"],
)
def test_hand_made_repositories_with_only_required_capabilities(
    tmp_path: Path, files: dict[str, str], level: int
) -> None:
    result = assess(build_tree(tmp_path / "repo", files))
    assert (result.level, result.generated, result.ml_project) == (level, False, True)
    assert all(f.found for f in result.findings if f.required and f.level <= level)
    for key, paths in found(result).items():
        assert all((tmp_path / "repo" / p).is_file() for p in paths), (key, paths)
    if level < 4:
        required_next = {c.key for c in get_level(level + 1).required}
        assert {s.key for s in result.plan.required} == required_next
        assert not any("mlops-scaffold upgrade" in s.text for s in result.plan.required)
    else:
        assert result.next_level is None and not result.plan.required
    assert {s.key for s in result.plan.recommended} == {
        f.key for f in result.findings if not f.found and not f.required and f.level <= min(level + 1, 4)
    }


def test_levels_are_cumulative(tmp_path: Path) -> None:
    """Tracking, serving and CI without tests or a training entry point stay level 0."""
    files = {
        **LEVEL_1,
        "churn/train.py": "",
        "tests/test_train.py": "",
        "serve.py": "import sklearn\nfrom fastapi import FastAPI\n\napp = FastAPI()\n",
        "track.py": "import mlflow\n",
    }
    result = assess(build_tree(tmp_path / "repo", files))
    assert result.level == 0 and result.next_level == 1
    assert {"ci", "serving", "experiment_tracking"} <= set(found(result))
    assert [s.key for s in result.plan.required] == ["entry_points", "unit_tests"]


def test_tools_environments_and_tests_are_not_evidence(tmp_path: Path) -> None:
    files = {
        ".venv/lib/python3.12/site-packages/mlflow/__init__.py": "import mlflow\n",
        "node_modules/x/Dockerfile": "FROM pytorch/pytorch\n",
        "env2/pyvenv.cfg": "home = /usr\n",
        "env2/lib/fastapi_app.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        "tests/test_tracking.py": "import mlflow\n\ndef test_x() -> None:\n    assert mlflow.__name__\n",
        "docs/notes.md": "We should add drift monitoring and import mlflow one day.\n",
    }
    result = assess(build_tree(tmp_path / "repo", files))
    assert set(found(result)) == {"unit_tests"}
    assert not result.ml_project


# --- odd layouts -------------------------------------------------------------------------------------------


def test_odd_layouts_do_not_crash(tmp_path: Path) -> None:
    repo = build_tree(tmp_path / "repo", {"README.md": "odd\n", "model.onnx": "x"})
    (repo / "loop").symlink_to(repo, target_is_directory=True)  # a symlink loop
    (repo / "dangling.py").symlink_to(repo / "nowhere.py")  # a broken symlink
    (tmp_path / "outside.py").write_text("def test_elsewhere() -> None: ...\n")
    (repo / "test_outside.py").symlink_to(tmp_path / "outside.py")  # never read through
    os.mkfifo(repo / "test_pipe.py")  # would block a reader forever
    (repo / "test_binary.py").write_bytes(b"\x00\xff\xfe\x80\n" * 100 + b"def test_bytes() -> None: ...\n")
    (repo / "test_big.py").write_text("def test_big() -> None: ...\n" + "#" * MAX_TEXT_BYTES)  # not read
    (repo / "test_ok.py").write_text("def test_ok() -> None:\n    assert len('ok') == 2\n")
    os.makedirs(repo / os.fsdecode(b"caf\xe9"))  # a folder name that is not UTF-8
    (repo / os.fsdecode(b"caf\xe9") / os.fsdecode(b"train_\xff.py")).write_text("def main() -> None: ...\n")
    deep = repo.joinpath(*[f"d{i}" for i in range(60)])
    deep.mkdir(parents=True)
    (deep / "train.Dockerfile").write_text("FROM python:3.12\n")
    (repo / "broken.yml").write_text("a: [b\n  c: {{\n")
    (repo / "nested.py").write_text("x = " + "(" * 5000 + ")" * 5000 + "\n")  # too deep for the parser

    result = assess(repo)
    evidence = found(result)
    assert result.level == 0
    assert evidence["unit_tests"] == ["test_ok.py"]  # binary, piped, linked and oversized files are not
    assert evidence["training_image"] == ["/".join(f"d{i}" for i in range(60)) + "/train.Dockerfile"]
    assert evidence["entry_points"] == ["caf\ufffd/train_\ufffd.py"]
    (repo / "[red]x[").mkdir()
    (repo / "[red]x[" / "train.py").write_text("def main() -> None: ...\n")  # not rich markup either
    cli = runner.invoke(app, ["assess", str(repo), "--json"])
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout)["level"] == 0
    text = runner.invoke(app, ["assess", str(repo)], terminal_width=200)
    assert text.exit_code == 0, text.output
    assert "[red]x[/train.py" in text.output


def test_empty_directory_is_not_an_ml_project(tmp_path: Path) -> None:
    result = assess(tmp_path)
    assert (result.level, result.ml_project, result.next_level) == (0, False, None)
    assert not found(result) and not result.plan.required


def test_what_is_not_a_directory_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file.txt").write_text("x")
    for target in (tmp_path / "file.txt", tmp_path / "missing"):
        result = runner.invoke(app, ["assess", str(target)])
        assert result.exit_code == 2, result.output
        assert "Cannot assess" in result.output and "Fix:" in result.output


# --- the CLI ----------------------------------------------------------------------------------------------


def test_cli_prints_evidence_scores_and_the_plan(tmp_path: Path) -> None:
    repo = build_tree(tmp_path / "repo", LEVEL_1)
    result = runner.invoke(app, ["assess", str(repo)])
    assert result.exit_code == 0, result.output
    assert "MLOps level 1 (DevOps, no MLOps)" in result.output
    assert "L0 3/5" in result.output and "L1 1/5" in result.output
    assert ".github/workflows/ci.yml" in result.output
    assert "To reach level 2 (Automated training), required:" in result.output
    assert "Training pipeline:" in result.output and "Recommended practices missing:" in result.output
    report = json.loads(runner.invoke(app, ["assess", str(repo), "--json"]).stdout)
    assert report["level"] == 1 and report["next_level"] == 2 and report["ml_project"] is True
    assert report["scores"][0] == {
        "level": 0,
        "name": "No MLOps",
        "score": "3/5",
        "found": 3,
        "total": 5,
        "required_found": 3,
        "required_total": 3,
    }
    ci = next(f for f in report["findings"] if f["key"] == "ci")
    assert ci["found"] is True and ci["required"] is True
    assert ci["evidence"][0] == {
        "path": ".github/workflows/ci.yml",
        "why": "CI configuration (GitHub Actions)",
        "tool": "github",
    }
    assert [s["key"] for s in report["plan"]["required"]] == ["training_pipeline", "experiment_tracking"]
    assert {m["key"] for m in report["missing_recommended"]} >= {"adr", "lineage"}
    assert report["stack"]["ci"] == ["github"]


def test_cli_writes_the_report_to_a_file(tmp_path: Path) -> None:
    repo = build_tree(tmp_path / "repo", LEVEL_0)
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["assess", str(repo), "--json", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["level"] == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".report")] == []
