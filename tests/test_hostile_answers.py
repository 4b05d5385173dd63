"""Answers are data, never code or syntax: description, author name/e-mail and any --data value
are escaped for each file they land in (TOML, Python, YAML, Markdown), so hostile values (quotes,
triple quotes, backslashes, newlines, template braces, YAML and Markdown specials) leave every
generated file parseable and importing the package does nothing but define it."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from helpers import new_project, runner

from mlops_scaffold.cli import app

DESCRIPTION = (
    'Quotes " \' and """ a triple quote\n'
    '"""\nimport os; os.system("touch PWNED")\n"""\n'
    "back\\slash \\n {{ 7 * 7 }} {% raw %} ${{ github.token }}\n"
    "- key: value # not: yaml | > & * ! % @ `code` <script>alert(1)</script> [link](x) _e_"
)
AUTHOR = 'O\'Brien, "Bob" \\ {{ author }}\nsecond: line'
EMAIL = "o'brien+ml@example.com"
ANSWERS = {"description": DESCRIPTION, "author_name": AUTHOR, "author_email": EMAIL}
ONE_LINE = " ".join(DESCRIPTION.split())


@pytest.fixture(scope="module", params=[("github", "sklearn"), ("gitlab", "pytorch")])
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    ci, framework = request.param
    data = [arg for key, value in ANSWERS.items() for arg in ("--data", f"{key}={value}")]
    root = tmp_path_factory.mktemp(f"hostile-{ci}") / "hostile"
    return new_project(root, 4, ci=ci, framework=framework, extra=tuple(data))


def _files(project: Path) -> list[Path]:
    return [p for p in sorted(project.rglob("*")) if p.is_file() and ".git" not in p.parts]


def test_every_generated_file_parses(project: Path) -> None:
    parsed = 0
    for path in _files(project):
        text = path.read_text(encoding="utf-8")
        name = path.name
        if name.endswith((".toml", ".lock")):
            tomllib.loads(text)
        elif name.endswith((".yml", ".yaml")):
            yaml.safe_load(text)
        elif name.endswith((".json", ".ipynb")):
            json.loads(text)
        elif name.endswith(".py"):
            ast.parse(text, filename=str(path))
        else:
            continue
        parsed += 1
    assert parsed > 50


def test_answers_arrive_as_data_in_each_language(project: Path) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())["project"]
    assert pyproject["description"] == ONE_LINE  # one line, as packaging metadata requires
    assert pyproject["authors"] == [{"name": " ".join(AUTHOR.split()), "email": EMAIL}]
    assert "49" not in pyproject["description"], "an answer is never evaluated as a template"
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert {key: answers[key] for key in ANSWERS} == ANSWERS  # exactly as given
    readme = (project / "README.md").read_text().splitlines()
    assert readme[2].startswith('Quotes " \' and """ a triple quote')
    assert "\\<script\\>alert(1)\\</script\\>" in readme[2] and "\\{\\{ 7 \\* 7 \\}\\}" in readme[2]
    assert "<script>" not in "".join(readme) and "\\- key" not in readme[2]


def test_no_answer_reaches_code_or_build_files(project: Path) -> None:
    for path in _files(project):
        if path.suffix in (".py", "") or path.name.startswith(("Dockerfile", "Makefile")):
            text = path.read_text(encoding="utf-8")
            assert "PWNED" not in text and "O'Brien" not in text, path


def test_importing_the_package_has_no_side_effects(project: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import hostile; print(hostile.__doc__)"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(project / "src")},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("The hostile package") and not done.stderr
    assert list(tmp_path.iterdir()) == [] and not (project / "PWNED").exists()


@pytest.mark.parametrize("email", ['a"b@example.com', "no-at-sign", "x@y.z\nInjected: 1", "a@b"])
def test_an_address_that_is_not_one_is_refused_and_nothing_is_written(tmp_path: Path, email: str) -> None:
    result = runner.invoke(
        app,
        ["new", str(tmp_path / "p"), "--level", "0", "--defaults", "--data", f"author_email={email}"],
    )
    assert result.exit_code == 2, result.output
    assert "is not an e-mail address" in result.output and "Fix:" in result.output
    assert not (tmp_path / "p").exists()
