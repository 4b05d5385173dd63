"""`mlops-scaffold adopt`: existing repositories onto the template, then `upgrade`, no owner byte lost.

Three kinds of repositories, all built here (no network): a cookiecutter-data-science-style
project rendered with the `cookiecutter` package from a small template built in the test, the same
project managed by cruft (.cruft.json naming the template's git repository and commit), and a plain
repository. Each is adopted, its conflicts resolved the way an owner keeping everything would, and
upgraded one level; every line the owner had is still there, in order.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from assess_support import LEVEL_1, build_tree, git_commit_all
from helpers import git, new_project, runner, snapshot

from mlops_core.errors import NotAnMLProjectError
from mlops_scaffold import transaction
from mlops_scaffold import upgrade as upgrade_module
from mlops_scaffold.adopt import (
    OURS_LABEL,
    THEIRS_LABEL,
    adopt,
    find_cookiecutter_origin,
    python_choice,
    three_way_merge,
    two_way_merge,
)
from mlops_scaffold.assess import assess
from mlops_scaffold.cli import app

# --- a cookiecutter-data-science-style template, built here ------------------------------------------

CCDS_CONTEXT = {
    "project_name": "Churn Model",
    "repo_name": "{{ cookiecutter.project_name.lower().replace(' ', '-') }}",
    "module_name": "{{ cookiecutter.repo_name.replace('-', '_') }}",
    "author_name": "Data Team",
    "description": "Predict which customers leave",
    "python_version": "3.11",
}
P = "{{ cookiecutter.repo_name }}"
M = "{{ cookiecutter.module_name }}"
CCDS_FILES = {
    f"{P}/README.md": "# {{ cookiecutter.project_name }}\n\n{{ cookiecutter.description }}\n\n"
    "## Project Organization\n\n```\n├── data\n├── notebooks\n└── {{ cookiecutter.module_name }}\n```\n",
    f"{P}/Makefile": "PYTHON_INTERPRETER = python\n\n## Install Python dependencies\nrequirements:\n"
    "\t$(PYTHON_INTERPRETER) -m pip install -r requirements.txt\n\n## Make dataset\n"
    "data: requirements\n\t$(PYTHON_INTERPRETER) {{ cookiecutter.module_name }}/dataset.py\n",
    f"{P}/pyproject.toml": '[build-system]\nrequires = ["flit_core >=3.2,<4"]\n'
    'build-backend = "flit_core.buildapi"\n\n'
    '[project]\nname = "{{ cookiecutter.module_name }}"\nversion = "0.0.1"\n'
    'description = "{{ cookiecutter.description }}"\n'
    'authors = [{ name = "{{ cookiecutter.author_name }}" }]\n'
    'requires-python = "~={{ cookiecutter.python_version }}"\n',
    f"{P}/requirements.txt": "pandas\nscikit-learn\n",
    f"{P}/{M}/__init__.py": "",
    f"{P}/{M}/config.py": "from pathlib import Path\n\nPROJ_ROOT = Path(__file__).resolve().parents[1]\n",
    f"{P}/{M}/dataset.py": "import pandas as pd\n\n\ndef main() -> None:\n    pd.DataFrame()\n",
    f"{P}/{M}/modeling/__init__.py": "",
    f"{P}/{M}/modeling/train.py": "from sklearn.ensemble import RandomForestClassifier\n\n\n"
    "def main() -> None:\n    RandomForestClassifier().fit([[0]], [0])\n\n\n"
    "if __name__ == '__main__':\n    main()\n",
    f"{P}/notebooks/.gitkeep": "",
    f"{P}/references/.gitkeep": "",
    f"{P}/tests/test_data.py": "def test_code_is_tested() -> None:\n    assert True\n",
}


def owner_edits(project: Path) -> None:
    """What a team does to its project after rendering it, committed."""
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\n## Results\n\nAUC 0.91 on the March holdout.\n")
    train = project / "churn_model" / "modeling" / "train.py"
    train.write_text(
        train.read_text().replace("RandomForestClassifier()", "RandomForestClassifier(n_estimators=300)")
    )
    makefile = project / "Makefile"
    makefile.write_text(
        makefile.read_text() + "\n## Train\ntrain:\n\t$(PYTHON_INTERPRETER) -m churn_model.modeling.train\n"
    )
    (project / "churn_model" / "metrics.py").write_text(
        "def lift(rate: float, base: float) -> float:\n    return rate / base\n"
    )
    gitignore = project / ".gitignore"
    gitignore.write_text("# the team's own\n*.parquet\n" + gitignore.read_text())
    git_commit_all(project, "Owner's edits")


def owner_files(project: Path) -> dict[str, list[str]]:
    """Every file of the owner (git's view at HEAD) with its lines."""
    names = git(project, "ls-files").split()
    return {name: (project / name).read_text().splitlines() for name in names}


def keep_everything(text: str) -> str:
    """Resolve conflict blocks keeping both sides, yours first (base sections of diff3 dropped)."""
    out, section = [], "both"
    for line in text.splitlines(keepends=True):
        if line.startswith(f"<<<<<<< {OURS_LABEL}"):
            section = "ours"
        elif line.startswith("||||||| ") and section == "ours":
            section = "base"
        elif line.startswith("=======") and section in ("ours", "base"):
            section = "theirs"
        elif line.startswith(f">>>>>>> {THEIRS_LABEL}"):
            section = "both"
        elif section != "base":
            out.append(line)
    return "".join(out)


def resolve_and_commit(project: Path, conflicts: list[str]) -> None:
    for name in conflicts:
        path = project / name
        path.write_text(keep_everything(path.read_text()))
    git_commit_all(project, "Adopt mlops-scaffold")


def assert_kept(before: dict[str, list[str]], project: Path) -> None:
    """Every file of the owner still exists and holds all its lines, in order."""
    for name, lines in before.items():
        path = project / name
        assert path.is_file(), f"{name} is gone"
        remaining = iter(path.read_text().splitlines())
        missing = [line for line in lines if not any(line == candidate for candidate in remaining)]
        assert not missing, f"{name} lost {missing[:3]}"


@pytest.fixture(scope="module")
def ccds_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cookiecutter template, as a git repository (cruft records its commit)."""
    template = tmp_path_factory.mktemp("templates") / "cookiecutter-churn"
    gitignore = (new_project(tmp_path_factory.mktemp("ours") / "x", 0) / ".gitignore").read_text()
    # Its .gitignore is an older cut of the one mlops-scaffold writes: the 3-way merge has work to do.
    files = {**CCDS_FILES, f"{P}/.gitignore": "".join(gitignore.splitlines(keepends=True)[:-4])}
    build_tree(template, {"cookiecutter.json": json.dumps(CCDS_CONTEXT, indent=2), **files})
    git_commit_all(template, "Template v1")
    return template


def render(template: Path, output: Path) -> Path:
    from cookiecutter.main import cookiecutter

    output.mkdir(parents=True, exist_ok=True)
    return Path(cookiecutter(str(template), no_input=True, output_dir=str(output)))


# --- the three kinds -----------------------------------------------------------------------------------


def test_adopt_a_cookiecutter_data_science_render_then_upgrade(ccds_template: Path, tmp_path: Path) -> None:
    project = render(ccds_template, tmp_path)
    assert project.name == "churn-model"
    git_commit_all(project, "cookiecutter render")
    owner_edits(project)
    before = owner_files(project)

    origin = find_cookiecutter_origin(project)
    assert origin is not None and origin.source.startswith("cookiecutter replay")
    assert origin.context["module_name"] == "churn_model"

    result = runner.invoke(app, ["adopt", str(project), "--json"])
    assert result.exit_code == 30, result.output  # applied, with conflicts to resolve
    report = json.loads(result.stdout)
    assert (report["assessed_level"], report["level"]) == (0, 0)
    assert report["answers"]["project_name"] == "churn_model"  # pyproject.toml's name wins over the context
    assert report["answer_sources"]["description"] == "pyproject.toml [project]"
    assert report["answer_sources"]["author_name"] == "pyproject.toml [project]"
    assert report["answers"]["python_version"] == "3.11"
    assert report["merge_base"] is not None and str(ccds_template) in report["merge_base"]
    assert ".gitignore" in report["merged"]  # 3-way: your line on top, the template's new lines at the end
    assert {"README.md", "pyproject.toml", "tests/test_data.py"} <= set(report["conflicts"])
    assert "src/churn_model/train.py" in report["added"] and ".copier-answers.yml" in report["added"]
    assert {c["key"] for c in report["capabilities"]} >= {"lineage", "adr"}
    assert any(
        "flat layout" in note and "git mv churn_model src/churn_model" in note for note in report["notes"]
    )
    gitignore = (project / ".gitignore").read_text()
    assert gitignore.startswith("# the team's own\n*.parquet\n") and "<<<<<<<" not in gitignore
    unmerged = git(project, "ls-files", "--unmerged")
    assert "README.md" in unmerged and " 2\tREADME.md" in unmerged and " 3\tREADME.md" in unmerged
    assert_kept(before, project)  # adopting kept everything, conflicts included

    resolve_and_commit(project, report["conflicts"])
    assessed = assess(project)
    assert assessed.generated and assessed.generated_level == 0
    assert "mlops-scaffold upgrade --level 1" in assessed.plan.required[0].text

    upgraded = runner.invoke(app, ["upgrade", str(project), "--level", "1"])
    assert upgraded.exit_code in (0, 10), upgraded.output
    assert yaml.safe_load((project / ".copier-answers.yml").read_text())["level"] == 1
    assert (project / ".github" / "workflows" / "ci.yml").is_file()
    assert_kept(before, project)


def test_adopt_a_cruft_project_with_its_template_as_merge_base(ccds_template: Path, tmp_path: Path) -> None:
    project = render(ccds_template, tmp_path)
    commit = git(ccds_template, "rev-parse", "HEAD").strip()
    context = {"project_name": "Churn Model", "repo_name": "churn-model", "module_name": "churn_model",
               "author_name": "Data Team", "description": "Predict which customers leave",
               "python_version": "3.11", "_template": str(ccds_template)}  # fmt: skip
    cruft = {"template": str(ccds_template), "commit": commit, "checkout": None,
             "context": {"cookiecutter": context}, "directory": None, "skip": []}  # fmt: skip
    (project / ".cruft.json").write_text(json.dumps(cruft, indent=2) + "\n")
    (project / "pyproject.toml").write_text(
        (project / "pyproject.toml").read_text().replace("authors", "maintainers")
    )
    git_commit_all(project, "cruft create")
    owner_edits(project)
    before = owner_files(project)

    result = adopt(project, level=1)
    assert result.merge_base == f"{ccds_template} at {commit[:12]}"
    assert result.answer_sources["author_name"] == "cookiecutter context (.cruft.json)"
    assert result.answers["author_name"] == "Data Team"
    assert ".gitignore" in result.merged
    assert {"README.md", "Makefile"} <= set(result.conflicts)
    makefile = (project / "Makefile").read_text()
    assert "||||||| cookiecutter template" in makefile or f"<<<<<<< {OURS_LABEL}" in makefile
    assert (project / ".cruft.json").read_text() == json.dumps(cruft, indent=2) + "\n"  # yours, untouched
    assert_kept(before, project)

    resolve_and_commit(project, result.conflicts)
    upgraded = upgrade_module.upgrade(project, level=2)
    assert upgraded.to_level == 2 and "src/churn_model/pipeline.py" in upgraded.added
    assert_kept(before, project)


def test_adopt_a_plain_repository_then_upgrade(tmp_path: Path) -> None:
    files = {
        **LEVEL_1,
        "pyproject.toml": '[project]\nname = "fraud-scores"\ndescription = "Card fraud scores"\n'
        'authors = [{name = "Risk ML", email = "risk-ml@example.com"}]\nrequires-python = ">=3.12"\n'
        'dependencies = ["scikit-learn", "xgboost"]\n',
        "README.md": "# Fraud scores\n\nScores card transactions.\n",
        "notebooks/explore.ipynb": json.dumps({"cells": [], "nbformat": 4}),
        "data/raw/transactions.csv": "id,amount\n1,9.5\n",
    }
    repo = build_tree(tmp_path / "fraud", files)
    git_commit_all(repo, "Owner's work")
    before = owner_files(repo)

    dry = runner.invoke(app, ["adopt", str(repo), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would be added" in dry.output and "would be conflict" in dry.output
    assert "project_name=fraud-scores (pyproject.toml [project])" in dry.output  # not eaten as markup
    assert git(repo, "status", "--porcelain") == ""

    result = adopt(repo)
    assert (result.level, result.assessed_level) == (1, 1)
    assert result.answers | {"level": 1} == result.answers
    assert (result.answers["project_name"], result.answers["package_name"]) == ("fraud-scores", "churn")
    assert result.answer_sources["package_name"] == "the repository's package"
    assert result.answers["author_email"] == "risk-ml@example.com"
    assert (result.answers["ci"], result.answer_sources["ci"]) == ("github", ".github/workflows")
    assert result.answers["python_version"] == "3.12"
    assert result.merge_base is None
    assert "data/raw/transactions.csv" not in result.added + result.merged + result.conflicts
    assert {".github/workflows/ci.yml", "README.md", "pyproject.toml"} <= set(result.conflicts)
    assert_kept(before, repo)

    resolve_and_commit(repo, result.conflicts)
    upgraded = runner.invoke(app, ["upgrade", str(repo), "--level", "2", "--json"])
    assert upgraded.exit_code in (0, 10), upgraded.output
    assert "src/churn/pipeline.py" in json.loads(upgraded.stdout)["added"]
    assert_kept(before, repo)
    assert assess(repo).generated_level == 2


# --- refusals, dry runs and failures leave the repository byte-identical ---------------------------------


@pytest.fixture
def plain(tmp_path: Path) -> Path:
    repo = build_tree(tmp_path / "fraud", LEVEL_1)
    git_commit_all(repo)
    return repo


def test_refusals_change_nothing(plain: Path, tmp_path: Path) -> None:
    other = build_tree(
        tmp_path / "other-template",
        {**LEVEL_1, ".copier-answers.yml": "_src_path: gh:org/tmpl\n_commit: v1\n"},
    )
    git_commit_all(other)
    not_git = build_tree(tmp_path / "not-git", LEVEL_1)
    generated = new_project(tmp_path / "generated", 0)
    dirty = build_tree(tmp_path / "dirty", LEVEL_1)
    git_commit_all(dirty)
    (dirty / "churn" / "train.py").write_text("# work in progress\n")
    cases = [
        (["adopt", str(plain), "--level", "9"], plain, 4, "Level '9' does not exist"),
        (["adopt", str(not_git)], not_git, 12, "not in a git repository, and `adopt` needs git"),
        (["adopt", str(dirty)], dirty, 13, "repository has uncommitted changes, which `adopt` could mix"),
        (["adopt", str(generated)], generated, 31, "already on the mlops-scaffold template"),
        (["adopt", str(other)], other, 32, "another copier template (gh:org/tmpl)"),
        (["adopt", str(plain), "--data", "colour=blue"], plain, 7, "'colour' is not a question"),
        (["adopt", str(plain), "--data", "level=2"], plain, 2, "--level N"),
        (["adopt", str(tmp_path / "missing")], plain, 2, "Cannot adopt"),
    ]
    for args, repo, code, message in cases:
        before = snapshot(repo)
        result = runner.invoke(app, args)
        assert result.exit_code == code, (args, result.output)
        assert message in result.output and "Fix:" in result.output, result.output
        assert snapshot(repo) == before, args


def test_dry_run_changes_nothing_and_lists_the_files(plain: Path) -> None:
    before = snapshot(plain)
    result = adopt(plain, dry_run=True)
    assert snapshot(plain) == before
    assert ".copier-answers.yml" in result.added and "src/churn/train.py" in result.added
    assert result.conflicts == [".github/workflows/ci.yml", "pyproject.toml", "tests/test_train.py"]


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()], ids=["error", "interrupt"])
def test_a_failure_while_writing_restores_everything(
    plain: Path, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    before = {k: v for k, v in snapshot(plain).items() if not k.startswith(".git/objects/")}
    copy = transaction.Transaction.copy
    calls = {"n": 0}

    def failing(self: transaction.Transaction, source: Path, rel: str) -> None:
        calls["n"] += 1
        if calls["n"] == 12:
            raise failure
        copy(self, source, rel)

    monkeypatch.setattr(transaction.Transaction, "copy", failing)
    result = runner.invoke(app, ["adopt", str(plain)])
    assert result.exit_code == (130 if isinstance(failure, KeyboardInterrupt) else 33), result.output
    assert "left exactly as it was" in result.output
    after = {k: v for k, v in snapshot(plain).items() if not k.startswith(".git/objects/")}
    assert after == before
    assert git(plain, "status", "--porcelain") == ""


def test_a_file_git_does_not_track_is_left_alone(tmp_path: Path) -> None:
    """An ignored file is not in git: adopt leaves it exactly as it is, and says so."""
    repo = build_tree(tmp_path / "fraud", {**LEVEL_1, ".gitignore": ".python-version\n"})
    git_commit_all(repo)
    (repo / ".python-version").write_text("3.12.1\n")  # pyenv's, ignored; the template has one too
    result = runner.invoke(app, ["adopt", str(repo), "--json"])
    assert result.exit_code in (0, 30), result.output
    report = json.loads(result.stdout)
    assert (repo / ".python-version").read_text() == "3.12.1\n"
    assert ".python-version" in report["kept"]
    assert ".python-version" not in report["added"] + report["merged"] + report["conflicts"]
    assert any(".python-version" in note and "not tracked by git" in note for note in report["notes"])


# --- answers ----------------------------------------------------------------------------------------------


def test_answers_not_found_are_asked_and_data_overrides(tmp_path: Path) -> None:
    repo = build_tree(
        tmp_path / "Churn Work",
        {
            "train.py": "import torch\n\ndef main() -> None: ...\n",
            # 3.10 only: none of the template's versions fits, so the closest (3.11) is only offered.
            "pyproject.toml": '[project]\nrequires-python = "~=3.10.0"\n',
        },
    )
    git_commit_all(repo)
    asked: list[str] = []
    defaults: dict[str, str] = {}

    def ask(key: str, question: str, default: str) -> str:
        asked.append(key)
        defaults[key] = default
        return {"author_email": "me@example.com"}.get(key, default)

    result = adopt(repo, data={"description": "Churn experiments"}, ask=ask, dry_run=True)
    assert asked == ["author_name", "author_email", "python_version"]  # no CI question at level 0
    assert defaults["python_version"] == "3.11" and result.answers["python_version"] == "3.11"
    assert any("~=3.10.0 (pyproject.toml [project]), admits none" in note for note in result.notes)
    assert (
        result.answers["author_email"] == "me@example.com"
        and result.answer_sources["author_email"] == "asked"
    )
    assert (result.answers["description"], result.answer_sources["description"]) == (
        "Churn experiments",
        "--data",
    )
    assert (result.answers["project_name"], result.answers["package_name"]) == ("Churn-Work", "churn_work")
    assert result.answers["framework"] == "pytorch" and "ci" not in result.answers
    assert result.level == 0


def test_the_summary_says_what_the_level_adds(plain: Path) -> None:
    result = runner.invoke(app, ["adopt", str(plain), "--level", "2", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "adopted at level 2 (Automated training; assessed 1)" in result.output
    assert re.search(
        r"Level 2 adds to this repository: .*training pipeline.*experiment tracking", result.output
    )


# --- the merges ---------------------------------------------------------------------------------------------


def test_two_way_merge_keeps_common_lines_once_and_every_difference_in_a_block() -> None:
    ours = b"a\nb\nc\nd\n"
    theirs = b"a\nB\nc\nd\ne\n"
    merged, conflicted = two_way_merge(ours, theirs)
    assert conflicted
    assert merged == (
        b"a\n<<<<<<< yours\nb\n=======\nB\n>>>>>>> mlops-scaffold\nc\nd\n"
        b"<<<<<<< yours\n=======\ne\n>>>>>>> mlops-scaffold\n"
    )
    assert two_way_merge(b"x", b"x\n") == (b"x\n", False)


def test_three_way_merge_is_used_only_when_it_keeps_every_line_of_yours(tmp_path: Path) -> None:
    base = b"one\ntwo\nthree\n"
    merged = three_way_merge(b"mine\none\ntwo\nthree\n", base, b"one\ntwo\nthree\nfour\n", tmp_path)
    assert merged == (b"mine\none\ntwo\nthree\nfour\n", False)
    # The template rewrote a line you kept as the cookiecutter template had it: 3-way would drop it.
    assert three_way_merge(b"one\ntwo\nthree\n", base, b"one\n2\nthree\n", tmp_path) is None


def test_adopt_in_a_subdirectory_of_a_monorepo(tmp_path: Path) -> None:
    mono = build_tree(
        tmp_path / "mono", {"README.md": "# Mono\n", **{f"services/fraud/{k}": v for k, v in LEVEL_1.items()}}
    )
    git_commit_all(mono)
    result = adopt(mono / "services" / "fraud")
    assert (mono / "services" / "fraud" / ".copier-answers.yml").is_file()
    unmerged = git(mono, "ls-files", "--unmerged")
    assert all(
        line.endswith(tuple(f"services/fraud/{c}" for c in result.conflicts))
        for line in unmerged.splitlines()
    )
    assert subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "README.md"], cwd=mono).returncode == 0


def test_answers_from_setup_cfg_poetry_and_python_version(tmp_path: Path) -> None:
    from mlops_scaffold.adopt import infer_answers

    setup_cfg = build_tree(
        tmp_path / "legacy",
        {
            "setup.cfg": "[metadata]\nname = Legacy Scorer\ndescription = Scores things\nauthor = Ops Team\n"
            "author_email = ops@example.com\n[options]\npython_requires = >=3.10\n",
            "scorer/__init__.py": "import lightgbm\n",
        },
    )
    answers, sources, _ = infer_answers(setup_cfg, None)
    assert answers["project_name"] == "Legacy-Scorer" and answers["package_name"] == "scorer"
    assert (answers["author_email"], sources["author_email"]) == ("ops@example.com", "setup.cfg")
    assert answers["python_version"] == "3.11"  # the oldest Python the template offers that it accepts

    poetry = build_tree(
        tmp_path / "poetry-proj",
        {
            "pyproject.toml": '[tool.poetry]\nname = "churn"\ndescription = "Churn"\n'
            'authors = ["Ana Lima <ana@example.com>"]\n[tool.poetry.dependencies]\npython = "^3.12"\n',
            ".python-version": "3.13.1\n",
            ".gitlab-ci.yml": "test:\n  script: [pytest]\n",
        },
    )
    answers, sources, _ = infer_answers(poetry, None)
    assert (answers["author_name"], answers["author_email"]) == ("Ana Lima", "ana@example.com")
    # Every requirement counts: Poetry's ^3.12 and .python-version's 3.13.1 both admit 3.13.
    assert answers["python_version"] == "3.13"
    assert sources["python_version"] == "pyproject.toml [tool.poetry] and .python-version"
    assert (answers["ci"], sources["ci"]) == ("gitlab", ".gitlab-ci.yml")


# --- what adopt refuses to take for an ML project ----------------------------------------------------------


def test_a_repository_assess_finds_no_ml_project_in_is_refused_unless_confirmed_or_forced(
    tmp_path: Path,
) -> None:
    library = build_tree(
        tmp_path / "slugs",
        {
            "pyproject.toml": '[project]\nname = "slugs"\ndependencies = ["regex"]\n',
            "src/slugs/__init__.py": "def slugify(text: str) -> str:\n    return text.lower()\n",
        },
    )
    git_commit_all(library)
    mono = build_tree(
        tmp_path / "mono",
        {
            f"{name}/{k}": v
            for name in ("churn", "fraud")
            for k, v in LEVEL_1.items()
            if not k.startswith(".")
        },
    )
    git_commit_all(mono)
    template = build_tree(tmp_path / "template", {"copier.yml": "_subdirectory: project\n", **LEVEL_1})
    git_commit_all(template)
    for repo, code, said in (
        (library, 37, "says: Not an ML project"),
        (template, 37, "Adopt a project rendered from this template instead"),
        (mono, 37, f"Adopt each project on its own: `mlops-scaffold adopt {mono / 'churn'}`"),
    ):
        before = snapshot(repo)
        result = runner.invoke(app, ["adopt", str(repo), "--defaults"])
        assert result.exit_code == code, result.output
        assert "`adopt` puts the ML project template on" in result.output and said in result.output
        assert "Fix:" in result.output and snapshot(repo) == before
    asked: list[str] = []
    with pytest.raises(NotAnMLProjectError):
        adopt(library, confirm=lambda question: asked.append(question) or False)
    assert asked and asked[0].endswith("Adopt it anyway?") and "Not an ML project" in asked[0]
    dry = adopt(library, dry_run=True)  # a dry run changes nothing: it goes on, with the note
    assert any("needs --force (or a yes on a terminal), as `assess` says: Not an ML" in n for n in dry.notes)
    forced = runner.invoke(app, ["adopt", str(library), "--defaults", "--force", "--json"])
    assert forced.exit_code in (0, 30), forced.output
    assert (library / ".copier-answers.yml").is_file()


# --- the Python version and the dependencies it carries over ---------------------------------------------


def test_the_python_version_respects_the_repositorys_requirement() -> None:
    cases = {
        ">=3.10": "3.11",  # the oldest one offered that it admits
        "^3.12": "3.12",
        "==3.12.*": "3.12",
        ">=3.9,<3.13": "3.11",
        ">3.11.2": "3.11",
        "~=3.13.0": "3.13",
    }
    for spec, expected in cases.items():
        assert python_choice([(spec, "pyproject.toml")]) == (expected, None), spec
    # None offered fits: the closest one, with a note saying what that means.
    for spec, closest in {"~=3.10.0": "3.11", "~3.10": "3.11", ">=3.14": "3.13", "<3.11": "3.11"}.items():
        choice, note = python_choice([(spec, "pyproject.toml [project]")])
        assert choice == closest, spec
        assert note is not None and "admits none of the versions the template offers" in note
        assert f"moves the project to {closest}, the closest one" in note
    # Constraints from several files: what all of them admit.
    assert python_choice([(">=3.11", "pyproject.toml"), ("3.12.4", ".python-version")]) == ("3.12", None)
    assert python_choice([("system", ".python-version")])[0] is None


def test_conda_and_requirements_dependencies_are_carried_into_pyproject(tmp_path: Path) -> None:
    """A repository with no pyproject.toml: requirements.txt, and a conda environment.yml whose
    Python (3.10) the template does not offer."""
    import tomllib

    repo = build_tree(
        tmp_path / "taxi",
        {
            "environment.yml": "name: taxi\nchannels: [conda-forge]\ndependencies:\n"
            "  - python=3.10\n  - pip\n  - cudatoolkit=11.8\n  - conda-forge::lightgbm=4.1\n"
            "  - statsmodels=0.14.1=py310h_0\n"
            "  - pip:\n      - mlflow==2.9.2\n      - azureml-mlflow\n",
            "requirements.txt": "-e .\nxgboost>=2  # boosting\nscikit-learn==1.3.2\n",
            "taxi/__init__.py": "",
            "taxi/train.py": "import lightgbm\n\n\ndef main() -> None:\n"
            "    lightgbm.LGBMRegressor().fit([[0]], [0])\n",
        },
    )
    git_commit_all(repo)
    result = adopt(repo)
    assert "pyproject.toml" in result.added
    assert (result.answers["python_version"], result.answer_sources["python_version"]) == (
        "3.11",
        "the closest version the template offers (environment.yml)",
    )
    assert any("admits none of the versions the template offers" in note for note in result.notes)
    dependencies = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["dependencies"]
    carried = ["xgboost>=2", "lightgbm==4.1.*", "statsmodels==0.14.1", "mlflow==2.9.2", "azureml-mlflow"]
    assert dependencies[-len(carried) :] == carried
    assert "scikit-learn==1.3.2" not in dependencies  # the template's scikit-learn>=1.5 is kept, and said
    notes = " ".join(result.notes)
    assert "carried over from requirements.txt, environment.yml" in notes
    assert "scikit-learn==1.3.2 (requirements.txt: the template's scikit-learn>=1.5 is kept)" in notes
    assert "not carried over (not on PyPI): python=3.10, pip, cudatoolkit=11.8" in notes


# --- uv.lock: regenerated, never merged ----------------------------------------------------------------

TEAM_LOCK = 'version = 1\nrequires-python = ">=3.11"\n\n# the team\'s own lock, made by `uv lock`\n'


def test_adopt_never_merges_uv_lock(tmp_path: Path) -> None:
    """Both sides have a uv.lock: a line merge would be hundreds of conflict blocks. The lock is left
    as it is while pyproject.toml has conflicts, and the note says to run `uv lock` once resolved."""
    repo = build_tree(tmp_path / "fraud", {**LEVEL_1, "uv.lock": TEAM_LOCK})
    git_commit_all(repo)
    result = adopt(repo, level=1, data={"python_version": "3.11"})
    assert "pyproject.toml" in result.conflicts
    assert "uv.lock" not in result.conflicts + result.merged + result.added
    assert (repo / "uv.lock").read_text() == TEAM_LOCK  # no conflict blocks, not a byte changed
    assert any("resolve pyproject.toml, then run `uv lock`" in note for note in result.notes), result.notes


def test_adopt_regenerates_uv_lock_from_a_merged_pyproject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from project_envs import UV_CACHE, run, user_env

    from mlops_scaffold.adopt import _Change, _relock

    monkeypatch.setenv("PATH", user_env()["PATH"])
    monkeypatch.setenv("UV_CACHE_DIR", str(UV_CACHE))
    pyproject = '[project]\nname = "fraud"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = [\n'
    repo = build_tree(tmp_path / "fraud", {"pyproject.toml": pyproject + '    "pyyaml>=6.0",\n]\n'})
    run(["uv", "lock", "--offline"], repo)
    merged = (pyproject + '    "pyyaml>=6.0",\n    "jsonschema>=4.21",\n]\n').encode()
    changes = [_Change("pyproject.toml", "merged", merged, 0o644)]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    notes = _relock(repo, changes, scratch, dry_run=False)
    assert any("uv.lock was regenerated" in note for note in notes), notes
    lock = next(c for c in changes if c.path == "uv.lock")
    assert lock.kind == "merged" and b"<<<<<<<" not in lock.data
    assert b'name = "jsonschema"' in lock.data and b'name = "pyyaml"' in lock.data
    (repo / "pyproject.toml").write_bytes(merged)
    (repo / "uv.lock").write_bytes(lock.data)
    run(["uv", "lock", "--check", "--offline"], repo)  # the lock of the merged pyproject.toml
