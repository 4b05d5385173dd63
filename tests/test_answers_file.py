"""One reader of .copier-answers.yml for every command: bad files and values are refused alike."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml
from helpers import runner

from mlops_core.errors import InvalidAnswersFileError, NotAGeneratedProjectError
from mlops_scaffold.cli import app
from mlops_scaffold.project import read_project
from mlops_scaffold.template_store import STORE_URL

needs_infra = pytest.mark.skipif(importlib.util.find_spec("pulumi") is None, reason="needs the infra extra")

GOOD = {
    "_commit": "v0.1.0",
    "_src_path": STORE_URL,
    "project_name": "churn",
    "package_name": "churn",
    "level": 3,
    "framework": "sklearn",
    "ci": "github",
}


def project_with(tmp_path: Path, content: bytes) -> Path:
    project = tmp_path / "churn"
    project.mkdir()
    (project / ".copier-answers.yml").write_bytes(content)
    return project


BAD_FILES = {
    "binary": b"\x00\x01\x02 not yaml \xff",
    "utf16": yaml.safe_dump(GOOD).encode("utf-16"),
    "python-tag": b"project_name: !!python/object/apply:os.system ['echo pwned']\nlevel: 1\n",
    "not-yaml": b"level: [1\n",
    "a-list": b"- 1\n- 2\n",
    "ci-jenkins": yaml.safe_dump(GOOD | {"ci": "jenkins"}).encode(),
    "package-escapes": yaml.safe_dump(GOOD | {"package_name": "../../etc"}).encode(),
    "bad-project-name": yaml.safe_dump(GOOD | {"project_name": "a/b"}).encode(),
    "level-missing": yaml.safe_dump({k: v for k, v in GOOD.items() if k != "level"}).encode(),
    "level-true": yaml.safe_dump(GOOD | {"level": True}).encode(),
}


@pytest.mark.parametrize("content", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_read_project_refuses_bad_answers_files(tmp_path: Path, content: bytes) -> None:
    project = project_with(tmp_path, content)
    for any_template in (False, True):
        with pytest.raises(InvalidAnswersFileError) as caught:
            read_project(project, any_template=any_template)
        assert caught.value.exit_code == 11 and "git checkout" in caught.value.fix


def test_read_project_checks_the_origin_only_for_upgrades(tmp_path: Path) -> None:
    project = project_with(tmp_path, yaml.safe_dump(GOOD | {"_src_path": "gh:someone/else"}).encode())
    with pytest.raises(NotAGeneratedProjectError, match="names another template"):
        read_project(project)
    assert read_project(project, any_template=True).package_name == "churn"


@needs_infra
@pytest.mark.parametrize("content", BAD_FILES.values(), ids=BAD_FILES.keys())
def test_every_command_refuses_a_bad_answers_file_the_same_way(tmp_path: Path, content: bytes) -> None:
    project = project_with(tmp_path, content)
    (tmp_path / "stacks").mkdir()
    for args in (
        ["plan", str(project)],
        ["infra-config", str(project), "--output", str(tmp_path / "stacks")],
        ["status", str(project)],
        ["upgrade", str(project)],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 11, (args, result.output)
        assert "Traceback" not in result.output and "Fix:" in result.output
    assert list((tmp_path / "stacks").iterdir()) == []


@needs_infra
def test_infra_config_refuses_the_ci_repository_plan_refuses(tmp_path: Path) -> None:
    project = project_with(tmp_path, yaml.safe_dump(GOOD).encode())
    (tmp_path / "stacks").mkdir()
    for repository in ("*", "acme/*", "acme/churn:ref:*"):
        planned = runner.invoke(app, ["plan", str(project), "--set", f"ciRepository={repository}"])
        written = runner.invoke(
            app,
            [
                "infra-config",
                str(project),
                "--output",
                str(tmp_path / "stacks"),
                "--ci-repository",
                repository,
            ],
        )
        assert planned.exit_code == written.exit_code == 21, (planned.output, written.output)
        assert "without wildcards" in written.output
    assert list((tmp_path / "stacks").iterdir()) == []


def test_the_missing_sdk_message_keeps_its_brackets(monkeypatch: pytest.MonkeyPatch) -> None:
    """rich must not read `[infra]` as markup; from a clone the command is `pip install -e '.[infra]'`."""
    from mlops_core import resources
    from mlops_scaffold import infra

    def missing() -> None:
        raise infra.InfraDependencyError(missing="the Pulumi SDKs (pulumi)")

    monkeypatch.setattr(infra, "_import_stacks", missing)
    result = runner.invoke(app, ["plan", "--level", "2"])
    assert result.exit_code == 20, result.output
    assert "pip install -e '.[infra]'" in result.output
    monkeypatch.setattr(resources, "source_checkout", lambda: None)
    result = runner.invoke(app, ["plan", "--level", "2"])
    assert "pip install 'mlops-scaffold[infra]'" in result.output


def test_the_missing_sdk_message_of_a_uv_tool_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed as the README says (a uv tool, whose environment pip does not manage)."""
    import sys

    from mlops_scaffold import infra

    def missing() -> None:
        raise infra.InfraDependencyError(missing="the Pulumi SDKs (pulumi)")

    (tmp_path / "uv-receipt.toml").write_text("[tool]\n")
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    monkeypatch.setattr(infra, "_import_stacks", missing)
    result = runner.invoke(app, ["plan", "--level", "2"])
    assert result.exit_code == 20, result.output
    assert "python3 scripts/install.py --extra infra" in result.output and "pip install" not in result.output
