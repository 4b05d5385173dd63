"""The fleet view: `assess PATH [PATH ...]` and `assess --fleet DIR`, as text, JSON, Markdown and HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from assess_support import LEVEL_1, build_tree, git_commit_all
from helpers import new_project, runner

from mlops_scaffold.assess import assess, fleet_paths
from mlops_scaffold.assess.fleet import display_names, installed_template, lags, rows, to_html, to_markdown
from mlops_scaffold.cli import app

LIBRARY = {
    "pyproject.toml": '[project]\nname = "slugs"\n',
    "src/slugs/__init__.py": "def slugify(text: str) -> str:\n    return text\n",
    "tests/test_slugs.py": "from slugs import slugify\n\n\ndef test_slugify() -> None:\n"
    "    assert slugify('a')\n",
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three repositories: a generated project on an old template version, an ML repo, a library."""
    root = tmp_path_factory.mktemp("fleet")
    project = new_project(root / "churn-model", 1)
    answers = project / ".copier-answers.yml"
    recorded = yaml.safe_load(answers.read_text())
    answers.write_text(answers.read_text().replace(f"_commit: {recorded['_commit']}", "_commit: v0.0.0"))
    git_commit_all(project, "Pretend an old template version")
    git_commit_all(build_tree(root / "fraud | detection", LEVEL_1))  # a '|' to escape in Markdown
    git_commit_all(build_tree(root / "slugs", LIBRARY))
    (root / "notes").mkdir()  # not a git repository: left out, as git repositories are present
    (root / ".cache").mkdir()
    return root


def test_fleet_paths_are_the_git_repositories_of_a_directory(fleet: Path, tmp_path: Path) -> None:
    assert [p.name for p in fleet_paths(fleet)] == ["churn-model", "fraud | detection", "slugs"]
    build_tree(tmp_path / "exported" / "a", {"x.py": ""})
    build_tree(tmp_path / "exported" / "b", {"y.py": ""})
    (tmp_path / "exported" / ".hidden").mkdir()
    assert [p.name for p in fleet_paths(tmp_path / "exported")] == ["a", "b"]  # no git: every folder


def test_template_lag_follows_the_status_rule() -> None:
    assert lags(None, "v1.2.0") is None
    assert lags("v1.1.0", "v1.2.0") is True
    assert lags("v1.2.0", "v1.2.0") is False
    assert lags("v1.3.0", "v1.2.0") is False  # newer than the installed one: not behind


def test_fleet_text_has_one_row_per_repository(fleet: Path) -> None:
    result = runner.invoke(app, ["assess", "--fleet", str(fleet)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    row = {
        name: next(line for line in lines if name in line) for name in ("churn-model", "fraud | det", "slugs")
    }
    scores = r"│ 5/5 │ 5/5 │ 0/5 │ 0/3 │ 0/4 │"
    assert re.search(rf"churn-model\s+│ 1\s+{scores} v0.0.0 \(1 behind\)", row["churn-model"])
    # What closes the gap: its weekly template-upgrade pull request (it has the job), or the command.
    assert "Behind the installed template (1):" in result.output
    assert "merge its template-upgrade pull request (weekly CI job)" in result.output
    assert f"mlops-scaffold upgrade {fleet / 'churn-model'}" in result.output
    assert re.search(r"│ 1\s+│ 3/5 │ 1/5 │", row["fraud | det"]) and "Training" in row["fraud | det"]
    assert re.search(r"slugs\s+│ 0 \(not ML\) │ 2/5 │", row["slugs"]) and "(not an ML" in row["slugs"]


def test_fleet_json_for_dashboards(fleet: Path) -> None:
    paths = [str(fleet / "slugs"), str(fleet / "churn-model")]
    result = runner.invoke(app, ["assess", *paths, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["installed_template"] == installed_template()
    by_name = {repo["name"]: repo for repo in report["repositories"]}
    assert list(by_name) == ["slugs", "churn-model"]  # in the order given
    churn = by_name["churn-model"]
    assert (churn["level"], churn["ml_project"], churn["template_version"], churn["template_lags"]) == (
        1,
        True,
        "v0.0.0",
        True,
    )
    assert churn["scores"] == {"0": "5/5", "1": "5/5", "2": "0/5", "3": "0/3", "4": "0/4"}
    assert churn["template_behind_by"] == 1
    assert churn["template_closed_by"].startswith("merge its template-upgrade pull request")
    assert churn["template_closed_by"].endswith(f"`mlops-scaffold upgrade {fleet / 'churn-model'}`")
    assert churn["top_missing"] == "Upgrade to level 2 (level 2, required)"
    assert churn["assessment"]["plan"]["required"][0]["key"] == "upgrade"
    slugs = by_name["slugs"]
    assert (slugs["ml_project"], slugs["level"], slugs["template_lags"]) == (False, 0, None)
    assert (slugs["template_behind_by"], slugs["template_closed_by"]) == (None, None)


def test_fleet_markdown(fleet: Path) -> None:
    result = runner.invoke(app, ["assess", "--fleet", str(fleet), "--markdown"])
    assert result.exit_code == 0, result.output
    table = [line for line in result.stdout.splitlines() if line.startswith("|")]
    assert table[0] == "| Repository | Level | L0 | L1 | L2 | L3 | L4 | Template | Top missing capability |"
    assert len(table) == 2 + 3
    assert table[2].startswith(
        "| churn-model | 1 (DevOps, no MLOps) | 5/5 | 5/5 | 0/5 | 0/3 | 0/4 | v0.0.0 (1 version behind"
    )
    lagging = result.stdout.split("## Behind the installed template (1)", 1)[1].strip().splitlines()
    assert len(lagging) == 1 and lagging[0].startswith("- churn-model: v0.0.0 (1 version behind")
    assert table[3].startswith("| fraud \\| detection | 1 (DevOps, no MLOps) | 3/5 | 1/5 |")
    assert "| slugs | 0 (not ML) |" in table[4]


def test_fleet_html_is_one_self_contained_file(fleet: Path, tmp_path: Path) -> None:
    out = tmp_path / "fleet.html"
    result = runner.invoke(app, ["assess", "--fleet", str(fleet), "--html", "--output", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<style>" in page
    # Nothing to fetch: no scripts, stylesheets, images, fonts or external links.
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(|src=|href=\"(?!#)", page)
    assert page.count('<tr data-repo="') == 3
    assert "fraud | detection" in page and "&lt;" not in page.split("<body>")[0]
    assert '<span class="lag">1 version behind' in page and '<ul id="lagging"><li>churn-model: ' in page
    # The badges' colours are explained: one legend entry per level, and grey for "not an ML project".
    legend = page.split('<p class="legend">', 1)[1].split("</p>", 1)[0]
    assert all(f'<span class="level l{n}">{n}</span>' in legend for n in range(5)) and "not an ML" in legend
    assert [p.name for p in tmp_path.iterdir()] == ["fleet.html"]  # written whole, no partial file left


def test_html_escapes_what_repositories_contain(tmp_path: Path) -> None:
    repo = build_tree(tmp_path / "<script>alert(1)<script>", LEVEL_1)
    page = to_html(rows([assess(repo)], installed="v1.0.0"))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;script&gt;" in page
    markdown = to_markdown(rows([assess(repo)], installed="v1.0.0"))
    assert "<script>" not in markdown and "| &lt;script&gt;alert(1)&lt;script&gt; |" in markdown


def test_html_anchors_are_unique_for_repositories_with_the_same_folder_name(tmp_path: Path) -> None:
    first = build_tree(tmp_path / "team-a" / "churn", LEVEL_1)
    second = build_tree(tmp_path / "team-b" / "churn", LEVEL_1)
    page = to_html(rows([assess(first), assess(second)], installed="v1.0.0"))
    ids = re.findall(r' id="([^"]*)"', page)
    assert len(ids) == len(set(ids)), ids
    assert all(not re.search(r"\s", i) for i in ids)  # an id holds no whitespace (HTML)
    links = re.findall(r'href="#([^"]*)"', page)
    assert len(links) == 2 and set(links) <= set(ids) and links[0] != links[1]
    # Rows say which is which: the shortest end of each path that tells them apart.
    assert [row.name for row in rows([assess(first), assess(second)], installed="v1.0.0")] == [
        "team-a/churn",
        "team-b/churn",
    ]
    paths = [Path("/x/a/svc"), Path("/y/a/svc"), Path("/z/other")]
    assert display_names(paths) == ["x/a/svc", "y/a/svc", "other"]


def test_a_single_repository_in_markdown_or_html_is_a_fleet_of_one(tmp_path: Path) -> None:
    repo = build_tree(tmp_path / "fraud", LEVEL_1)
    result = runner.invoke(app, ["assess", str(repo), "--markdown"])
    assert result.exit_code == 0, result.output
    assert "# MLOps maturity of 1 repository" in result.stdout and "| fraud |" in result.stdout


def test_fleet_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    cases = [
        (["assess", str(tmp_path), "--json", "--html"], 2, "give one"),
        (["assess", "--fleet", str(tmp_path / "missing")], 2, "Cannot assess the fleet"),
        (["assess", "--fleet", str(tmp_path / "empty")], 35, "holds no repositories"),
        (["assess", str(tmp_path / "empty"), str(tmp_path / "missing")], 2, "Cannot assess"),
        (
            ["assess", str(tmp_path / "empty"), "--html", "--output", str(tmp_path / "no" / "r.html")],
            36,
            "Cannot write",
        ),
    ]
    for args, code, message in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == code, (args, result.output)
        assert message in result.output and "Fix:" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]
