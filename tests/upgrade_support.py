"""Helpers for the upgrade tests: realistic owner edits, conflict blocks, older template versions,
and tiny templates built inline (as copier's own tests do) for testing the upgrade engine fast."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from helpers import build_file_tree

from mlops_core.errors import CONFLICT_END, CONFLICT_START
from mlops_core.resources import template_dir
from mlops_scaffold.template_store import STORE_URL

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Owner",
    "GIT_AUTHOR_EMAIL": "owner@example.com",
    "GIT_COMMITTER_NAME": "Owner",
    "GIT_COMMITTER_EMAIL": "owner@example.com",
}


def commit_all(project: Path, message: str) -> None:
    env = {**os.environ, **GIT_IDENTITY}
    for args in (
        ["add", "--all"],
        ["-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "-m", message],
    ):
        subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)


def answers(project: Path) -> dict[str, object]:
    loaded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


@dataclass(frozen=True)
class Edit:
    """A change the owner made; ``text`` must still be in ``path`` after an upgrade."""

    path: str
    text: str
    conflicts_by_design: bool = False


def make_user_edits(project: Path, package: str) -> list[Edit]:
    """What a team does to a generated project in its first months, committed."""
    edits = []

    # A README section rewritten (a section the level templates leave alone).
    readme = project / "README.md"
    text = readme.read_text(encoding="utf-8")
    decisions = "See [docs/adr/](docs/adr/). Record your own decisions the same way."
    assert decisions in text
    ours = "Decisions live in docs/adr/; the churn squad reviews them every sprint."
    text = text.replace(decisions, ours)
    edits.append(Edit("README.md", ours))
    # ... and the maturity line, which every level changes too: a conflict by design.
    level_line = re.search(r"^MLOps maturity: \*\*level \d\*\*", text, re.MULTILINE)
    assert level_line
    owned = ", owned by the churn squad"
    text = text.replace(level_line.group(0), level_line.group(0) + owned, 1)
    edits.append(Edit("README.md", owned, conflicts_by_design=True))
    readme.write_text(text, encoding="utf-8")

    # Code changed in a generated module.
    features = project / "src" / package / "features.py"
    code = features.read_text(encoding="utf-8")
    anchor = '        features["total_charges"] = features["monthly_charges"] * features["tenure_months"]\n'
    assert anchor in code
    added = '        features["is_new_customer"] = (features["tenure_months"] < 6).astype(float)\n'
    features.write_text(code.replace(anchor, anchor + added), encoding="utf-8")
    edits.append(Edit(f"src/{package}/features.py", added.strip()))

    # A new module with its own test, using a new dependency.
    (project / "src" / package / "churn_rules.py").write_text(
        '"""Business rules of the churn squad."""\n\nfrom __future__ import annotations\n\n'
        "import joblib\n\n\n"
        "def cache_dir() -> str:\n    return str(joblib.Memory(location=None).location)\n\n\n"
        "def at_risk(tenure_months: float, monthly_charges: float) -> bool:\n"
        "    return tenure_months < 6 and monthly_charges > 70\n",
        encoding="utf-8",
    )
    (project / "tests" / "test_churn_rules.py").write_text(
        f"from {package}.churn_rules import at_risk\n\n\n"
        "def test_new_expensive_customers_are_at_risk() -> None:\n"
        "    assert at_risk(2, 90.0)\n    assert not at_risk(24, 90.0)\n",
        encoding="utf-8",
    )
    edits.append(Edit(f"src/{package}/churn_rules.py", "def at_risk("))
    edits.append(Edit("tests/test_churn_rules.py", "def test_new_expensive_customers_are_at_risk"))

    # A new dependency.
    pyproject = project / "pyproject.toml"
    toml = pyproject.read_text(encoding="utf-8")
    assert '    "jsonschema>=4.21",\n' in toml
    pyproject.write_text(
        toml.replace('    "jsonschema>=4.21",\n', '    "joblib>=1.3",\n    "jsonschema>=4.21",\n')
    )
    edits.append(Edit("pyproject.toml", '"joblib>=1.3",'))

    # A generated file deleted (one that the next level's template also changes).
    (project / "docs" / "adr" / "0002-tooling.md").unlink()

    commit_all(project, "Our changes")
    return edits


DELETED = "docs/adr/0002-tooling.md"


def conflict_blocks(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split a file into the text outside conflict blocks and the (ours, theirs) sides of each block."""
    outside: list[str] = []
    blocks: list[tuple[str, str]] = []
    side: list[str] | None = None
    ours: list[str] = []
    theirs: list[str] = []
    for line in text.splitlines(keepends=True):
        if line.rstrip() == CONFLICT_START:
            ours, theirs = [], []
            side = ours
        elif side is ours and line.rstrip() == "=======":
            side = theirs
        elif line.rstrip() == CONFLICT_END:
            blocks.append(("".join(ours), "".join(theirs)))
            side = None
        elif side is None:
            outside.append(line)
        else:
            side.append(line)
    return "".join(outside), blocks


def resolve_keeping_both(path: Path) -> None:
    """Resolve every conflict block the way an owner keeping both sides would."""
    outside: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.rstrip() not in (CONFLICT_START, "=======", CONFLICT_END):
            outside.append(line)
    path.write_text("".join(outside), encoding="utf-8")


def assert_edits_kept(project: Path, edits: list[Edit], conflicts: list[str], level: int) -> None:
    """Non-conflicting edits are present as made; conflicting ones sit in a marked block."""
    for edit in edits:
        text = (project / edit.path).read_text(encoding="utf-8")
        outside, blocks = conflict_blocks(text)
        if edit.conflicts_by_design:
            assert edit.path in conflicts, f"{edit.path} should be reported as conflicted"
            block = next((b for b in blocks if edit.text in b[0]), None)
            assert block, f"{edit.text!r} is not on our side of a conflict block in {edit.path}"
            assert f"**level {level}**" in block[1], "the template's side of the block has the new level"
        elif edit.text not in outside:
            # A later template may touch the same lines; then the edit must be in a reported block.
            assert edit.path in conflicts and any(edit.text in ours for ours, _ in blocks), (
                f"edit lost in {edit.path}: {edit.text!r}"
            )
    for path in conflicts:
        text = (project / path).read_text(encoding="utf-8")
        assert CONFLICT_START in text and CONFLICT_END in text, f"{path} has no conflict markers"
    assert not (project / DELETED).exists(), "a file the owner deleted came back"


def old_template(dst: Path) -> Path:
    """The current template made into a plausible older version of itself.

    Compared with today's template, the old one titles the README's first section differently,
    lacks docs/adr/README.md and ships docs/NOTES.md, which the current template dropped.
    """
    shutil.copytree(template_dir(), dst, ignore=shutil.ignore_patterns("__pycache__", "history.bundle"))
    readme = dst / "project" / "README.md.jinja"
    text = readme.read_text(encoding="utf-8")
    assert "## Quick start" in text
    readme.write_text(text.replace("## Quick start", "## Getting started"), encoding="utf-8")
    (dst / "project" / "docs" / "adr" / "README.md").unlink()
    (dst / "project" / "docs" / "NOTES.md").write_text("Notes that an older template shipped.\n")
    return dst


def render_at(tag: str, dst: Path, *, level: int, **data: object) -> Path:
    """Render a project from a store tag, as that version's `mlops-scaffold new` did, and commit it."""
    import copier

    copier.run_copy(
        STORE_URL,
        dst,
        vcs_ref=tag,
        data={"project_name": dst.name, "level": level, "python_version": "3.11", **data},
        defaults=True,
        quiet=True,
    )
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=dst, check=True)
    commit_all(dst, f"Start at {tag}")
    return dst


def tiny_template(root: Path) -> Path:
    """A template of a few files whose level 1 adds, changes and leaves files as the real one does.

    Level 1 adds a file (Dockerfile) and a directory (deploy/), changes changes.txt and the
    README's maturity line, and leaves notes.txt alone.
    """
    return build_file_tree(
        root,
        {
            "copier.yml": """\
                _subdirectory: project
                _templates_suffix: .jinja
                _answers_file: .copier-answers.yml
                project_name:
                  type: str
                level:
                  type: int
                  default: 0
                """,
            "project/{{_copier_conf.answers_file}}.jinja": (
                "# Changes here will be overwritten by mlops-scaffold upgrade; do not edit by hand.\n"
                "{{ _copier_answers|to_nice_yaml -}}\n"
            ),
            "project/README.md.jinja": """\
                # {{ project_name }}

                MLOps maturity: **level {{ level }}**

                Read the notes.
                """,
            "project/notes.txt": "Notes that every level generates alike.\nSecond line.\n",
            "project/changes.txt.jinja": "line one\nlevel {{ level }}\nline three\n",
            "project/src/app.py": "print('hello')\n",
            "project/{% if level >= 1 %}Dockerfile{% endif %}.jinja": "FROM python:3.12-slim\n",
            "project/{% if level >= 1 %}deploy{% endif %}/job.json.jinja": '{"level": {{ level }}}\n',
        },
        dedent=True,
    )


def wait_for(path: Path, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Wait until ``process`` (still running) has written ``path``."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"the process never wrote {path}"
        time.sleep(0.05)
