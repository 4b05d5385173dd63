"""The levels manifest: one source for the CLI, the template and the README."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import runner, tree_files

from mlops_core.errors import InvalidLevelError
from mlops_core.levels import all_levels, built_levels, capabilities_up_to, get_level
from mlops_scaffold.cli import app

REPO = Path(__file__).resolve().parents[1]


def test_manifest_has_the_five_levels_with_google_mapping() -> None:
    levels = all_levels()
    assert [lv.number for lv in levels] == [0, 1, 2, 3, 4]
    assert [lv.google_level for lv in levels] == [0, 0, 1, 2, 2]
    assert levels[1].name == "DevOps, no MLOps"
    keys = [c.key for c in capabilities_up_to(4)]
    assert len(keys) == len(set(keys)), "capability keys must be unique"
    assert built_levels() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("value", ["x", "", "1.5", 9, -1])
def test_get_level_rejects_what_is_not_a_level(value: object) -> None:
    with pytest.raises(InvalidLevelError):
        get_level(value)


def test_levels_json_prints_all_five_levels() -> None:
    result = runner.invoke(app, ["levels", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [entry["level"] for entry in payload] == [0, 1, 2, 3, 4]
    assert payload[4]["name"] == "Full automated operations"
    assert {c["key"] for c in payload[2]["capabilities"]} >= {"training_pipeline", "experiment_tracking"}
    assert [entry["built"] for entry in payload] == [True, True, True, True, True]


def test_levels_table_names_every_level() -> None:
    result = runner.invoke(app, ["levels"])
    assert result.exit_code == 0, result.output
    for level in all_levels():
        assert level.name in result.output
    assert "Model cards" in result.output


def test_readme_level_table_matches_the_manifest() -> None:
    readme = (REPO / "README.md").read_text()
    rows = re.findall(r"^\| (\d) \| ([^|]+) \| (\d) \| [^|]+ \| (yes|not yet) \|$", readme, re.MULTILINE)
    assert [(int(n), name.strip(), int(g), built == "yes") for n, name, g, built in rows] == [
        (lv.number, lv.name, lv.google_level, lv.built) for lv in all_levels()
    ]


# Files a capability cannot have in a particular rendering, with the reason.
KNOWN_GAPS = {
    ("locked_dependencies", "pytorch"): "`new` locks PyTorch projects with uv, which needs the network; "
    "these renders use --no-lock (test_generated_projects.py checks the lock)"
}


@pytest.mark.parametrize(
    ("level", "framework", "ci"),
    list(itertools.product(built_levels(), ["sklearn", "pytorch"], ["github", "gitlab"])),
)
def test_template_content_agrees_with_manifest(
    rendered: Callable[..., Path], level: int, framework: str, ci: str
) -> None:
    """Each capability's evidence exists exactly when the project's level includes it."""
    project = rendered(level, framework=framework, ci=ci, name="agree")
    files = tree_files(project)
    for capability in capabilities_up_to(4):
        paths = capability.evidence_paths(package="agree", ci=ci)
        present = any(p in files for p in paths)
        if capability.level <= level and (capability.key, framework) not in KNOWN_GAPS:
            assert present, f"level {level} project lacks {capability.key}: none of {paths}"
        else:
            assert not present, f"level {level} project has {capability.key} of level {capability.level}"
    maturity = (project / "MATURITY.md").read_text()
    for capability in capabilities_up_to(level):
        assert capability.title in maturity
    if level < 4:
        nxt = get_level(level + 1)
        assert f"What level {nxt.number} ({nxt.name}) would add" in maturity
    else:
        assert "This is the highest level of the scale." in maturity


def test_template_level_question_reads_the_manifest() -> None:
    copier_yml = (REPO / "templates" / "project" / "copier.yml").read_text()
    assert "include 'maturity.yml'" in copier_yml
