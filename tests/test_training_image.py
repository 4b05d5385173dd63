"""The training image's way to AWS: from level 2, CI publishes `<training repository>:<commit SHA>`
to each environment's ECR training repository, for pushes to the default branch only, once every
check passed, each job in its own environment with that environment's role (dev, then staging,
then prod behind the environment's protection), through the same push script as level 3's serving
image. The stack's `ci_variables` name exactly the variables those jobs read.

The linters (zizmor, actionlint, the vendors' schemas) and the pinning rules run on these files in
test_cd_security.py; the IAM calls of the jobs are evaluated in tests/infra/test_iam_sufficiency.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

STAGES = ["dev", "staging", "prod"]
ON_MAIN = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
TRAINING_IMAGE_URI = "${{ steps.ecr.outputs.registry }}/${{ vars.ECR_TRAINING_REPOSITORY }}:${{ github.sha }}"
PUSH = 'sh deploy/push-image.sh "$DOCKERFILE" "$IMAGE_REPOSITORY:$CI_COMMIT_SHA"'
BIN = Path(sys.executable).parent

Rendered = Callable[..., Path]


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _steps(job: dict[str, Any], uses: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if step.get("uses", "").startswith(uses)]


# --- GitHub ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [2, 3])
def test_github_publishes_from_main_to_each_environment_in_turn(rendered: Rendered, level: int) -> None:
    project = rendered(level, ci="github")
    jobs = _yaml(project / ".github/workflows/ci.yml")["jobs"]
    previous = None
    for stage in STAGES:
        job = jobs[f"training-image-{stage}"]
        assert job["if"] == ON_MAIN, "pull-request code never gets a role"
        assert job["needs"] == (
            f"training-image-{previous}" if previous else ["check", "integration", "image"]
        )
        assert job["uses"] == "./.github/workflows/training-image.yml"
        assert job["with"] == {"environment": stage}
        assert job["permissions"] == {"contents": "read", "id-token": "write"}
        previous = stage

    workflow = _yaml(project / ".github/workflows/training-image.yml")
    assert list(workflow[True]) == ["workflow_call"], "runs only when CI calls it"  # `on` reads as True
    assert workflow[True]["workflow_call"]["inputs"]["environment"]["required"] is True
    (publish,) = workflow["jobs"].values()
    # The job runs in the environment CI names: its protection rules, variables and OIDC subject
    # (repo:<owner>/<repo>:environment:<env>, the only one that environment's role trusts).
    assert publish["environment"] == "${{ inputs.environment }}"
    assert publish["if"] == "github.ref == 'refs/heads/main'"
    assert publish["permissions"] == {"contents": "read", "id-token": "write"}
    assert publish["concurrency"] == {
        "group": "training-image-${{ inputs.environment }}",
        "cancel-in-progress": False,
    }
    (configure,) = _steps(publish, "aws-actions/configure-aws-credentials@")
    assert configure["with"] == {
        "role-to-assume": "${{ vars.AWS_DEPLOY_ROLE_ARN }}",
        "aws-region": "${{ vars.AWS_REGION }}",
    }
    (push,) = [step for step in publish["steps"] if "push-image.sh" in step.get("run", "")]
    assert push["run"] == 'sh deploy/push-image.sh Dockerfile "$IMAGE_URI"'
    assert push["env"] == {"IMAGE_URI": TRAINING_IMAGE_URI}
    assert publish["steps"].index(configure) < publish["steps"].index(push)
    summary = " ".join(step.get("run", "") for step in publish["steps"])
    assert "pulumi config set mlops:trainingImageTag $GITHUB_SHA --stack $STACK" in summary
    assert _steps(publish, "actions/checkout@")[0]["with"] == {"persist-credentials": False}


def test_github_training_and_deploy_jobs_assume_their_roles_alike(rendered: Rendered) -> None:
    """Level 3's deploy jobs and the training-image job share their credential steps, pins and push script."""
    workflows = rendered(3, ci="github") / ".github/workflows"
    (publish,) = _yaml(workflows / "training-image.yml")["jobs"].values()
    deploy = _yaml(workflows / "deploy.yml")["jobs"]["dev"]
    for action in (
        "actions/checkout@",
        "aws-actions/configure-aws-credentials@",
        "aws-actions/amazon-ecr-login@",
    ):
        assert _steps(publish, action) == _steps(deploy, action), action
    (serving,) = [step for step in deploy["steps"] if "push-image.sh" in step.get("run", "")]
    assert serving["run"] == 'sh deploy/push-image.sh Dockerfile.serve "$IMAGE_URI"'


# --- GitLab ---------------------------------------------------------------------------------------


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """GitLab's `extends`: hashes merge key by key, everything else (lists too) is replaced."""
    merged = dict(base)
    for key, value in override.items():
        both = isinstance(value, dict) and isinstance(merged.get(key), dict)
        merged[key] = _merge(merged[key], value) if both else value
    return merged


def _job(pipeline: dict[str, Any], name: str) -> dict[str, Any]:
    """A job as GitLab runs it: its `extends` chain resolved."""
    job = pipeline[name]
    parents = job.get("extends", [])
    resolved: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        resolved = _merge(resolved, _job(pipeline, parent))
    return _merge(resolved, {key: value for key, value in job.items() if key != "extends"})


def _gitlab_pipeline(project: Path) -> dict[str, Any]:
    """.gitlab-ci.yml with its local includes, as GitLab merges them."""
    root = _yaml(project / ".gitlab-ci.yml")
    pipeline: dict[str, Any] = {}
    for include in root.get("include", []):
        pipeline |= _yaml(project / include["local"])
    return pipeline | {key: value for key, value in root.items() if key != "include"}


@pytest.mark.parametrize("level", [2, 3])
def test_gitlab_publishes_from_the_protected_default_branch_to_each_environment(
    rendered: Rendered, level: int
) -> None:
    project = rendered(level, ci="gitlab")
    pipeline = _gitlab_pipeline(project)
    assert pipeline["stages"][:3] == ["check", "build", "publish"]
    # Pushes to the protected default branch only (what the rule says: test_cd_security.py).
    condition = pipeline[".deploy-rules"]["rules"][0]["if"]
    previous = None
    for stage in STAGES:
        job = _job(pipeline, f"training-image-{stage}")
        assert job["stage"] == "publish"
        assert job["environment"] == {"name": stage, "action": "prepare"}  # its environment's variables
        assert job["needs"] == (
            [f"training-image-{previous}"]
            if previous and stage != "prod"  # prod runs in a release tag's pipeline, without staging
            else ["lint", "typecheck", "unit", "integration", "build-image"]
        )
        assert all(need in pipeline for need in job["needs"])
        assert job["id_tokens"] == {"AWS_ID_TOKEN": {"aud": "https://gitlab.com"}}
        variables = job["variables"]
        assert variables["AWS_ROLE_ARN"] == "$AWS_DEPLOY_ROLE_ARN"  # scoped per environment
        assert (variables["DOCKERFILE"], variables["IMAGE_REPOSITORY"]) == (
            "Dockerfile",
            "$ECR_TRAINING_REPOSITORY",
        )
        assert job["script"][0] == PUSH
        assert "pulumi config set mlops:trainingImageTag $CI_COMMIT_SHA" in job["script"][1]
        if stage == "prod":  # protected release tags v*, which prod's role trusts (not the branch)
            (rule,) = job["rules"]
            assert rule["when"] == "manual" and job["allow_failure"] is False
            assert (
                "$CI_COMMIT_TAG =~ /^v/" in rule["if"] and '$CI_COMMIT_REF_PROTECTED == "true"' in rule["if"]
            )
        else:
            assert job["rules"] == [{"if": condition}]
        previous = stage


def test_gitlab_serving_images_use_the_same_push_template(rendered: Rendered) -> None:
    pipeline = _gitlab_pipeline(rendered(3, ci="gitlab"))
    training, serving = _job(pipeline, "training-image-dev"), _job(pipeline, "serving-image-dev")
    assert serving["before_script"] == training["before_script"]  # OIDC token, ECR login
    assert serving["script"] == [PUSH]
    assert (serving["variables"]["DOCKERFILE"], serving["variables"]["IMAGE_REPOSITORY"]) == (
        "Dockerfile.serve",
        "$ECR_REPOSITORY",
    )
    assert serving["stage"] == "deploy" and serving["environment"] == {"name": "dev", "action": "prepare"}


# --- Levels ----------------------------------------------------------------------------------------


def test_level_1_publishes_nothing_and_holds_no_credentials(rendered: Rendered) -> None:
    github = rendered(1, ci="github")
    workflows = sorted(p.name for p in (github / ".github/workflows").iterdir())
    assert workflows == ["ci.yml", "template-upgrade.yml"]  # the template upgrade holds no cloud access
    assert not any("id-token" in (github / ".github/workflows" / name).read_text() for name in workflows)
    gitlab = rendered(1, ci="gitlab")
    assert not (gitlab / ".gitlab").exists() and "include" not in _yaml(gitlab / ".gitlab-ci.yml")
    assert not (github / "deploy").exists()


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_level_3_keeps_the_training_image_jobs_of_level_2(rendered: Rendered, ci: str) -> None:
    """Levels are additive: level 3 adds serving deploys next to the training-image jobs."""
    two, three = rendered(2, ci=ci), rendered(3, ci=ci)
    if ci == "github":
        jobs2, jobs3 = (_yaml(p / ".github/workflows/ci.yml")["jobs"] for p in (two, three))
        assert set(jobs3) - set(jobs2) == {"deploy"}
        assert all(jobs3[name] == job for name, job in jobs2.items())
        workflow = ".github/workflows/training-image.yml"
        assert (two / workflow).read_text() == (three / workflow).read_text()
    else:
        pipeline2, pipeline3 = _gitlab_pipeline(two), _gitlab_pipeline(three)
        assert all(pipeline3[name] == job for name, job in pipeline2.items() if name != "stages")
        assert pipeline3["stages"] == [*pipeline2["stages"], "deploy"]


# --- The contract with the stack ------------------------------------------------------------------


def _variables_read(project: Path, ci: str) -> set[str]:
    """The CI/CD variables the generated CI reads from each environment."""
    if ci == "github":
        text = "".join(p.read_text() for p in (project / ".github/workflows").glob("*.yml"))
        return set(re.findall(r"\bvars\.([A-Z_]+)", text))
    documented, used = set(), ""
    for path in (project / ".gitlab").glob("*.yml"):
        for line in path.read_text().splitlines():
            if match := re.match(r"#   ([A-Z][A-Z_]+)\s{2,}\S", line):
                documented.add(match[1])
            elif not line.lstrip().startswith("#"):
                used += line
    assert all(f"${name}" in used for name in documented), "every documented variable is read"
    return documented


@pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws")  # its own deprecated aliases
@pytest.mark.parametrize("level", [1, 2, 3, 4])
@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_the_ci_reads_exactly_what_the_stack_exports_per_environment(
    rendered: Rendered, level: int, ci: str
) -> None:
    """At every level with CI: a stack exports a variable only for CI jobs that read it, and
    level 1's CI, which holds no AWS credentials, gets a stack with no CI identity at all."""
    pytest.importorskip("pulumi")
    from infra.offline_runs import ci_variables

    exported = set(ci_variables(level, ciVendor=ci, ciRepository="acme/demo"))
    read = _variables_read(rendered(level, ci=ci), ci)
    # AWS_REGION is the stack's region, set by hand (docs/infrastructure.md).
    assert read == (exported | {"AWS_REGION"} if exported else set())


# --- deploy/push-image.sh ----------------------------------------------------------------------------


def _fake(bin_dir: Path, name: str, body: str) -> None:
    path = bin_dir / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "$CALLS"\n{body}\n')
    path.chmod(0o755)


@pytest.fixture
def push_image(
    rendered: Rendered, tmp_path: Path
) -> Callable[..., tuple[subprocess.CompletedProcess[str], list[str]]]:
    """Run the generated script with fake `aws` (answering ``describe``) and `docker` on PATH."""
    script = rendered(2) / "deploy/push-image.sh"

    def run(*args: str, describe: str = "exit 0") -> tuple[subprocess.CompletedProcess[str], list[str]]:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        calls = tmp_path / "calls.log"
        calls.write_text("")
        _fake(bin_dir, "aws", describe)
        _fake(bin_dir, "docker", "exit 0")
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls)}
        done = subprocess.run(
            ["sh", str(script), *args], capture_output=True, text=True, env=env, cwd=tmp_path
        )
        return done, calls.read_text().splitlines()

    return run


IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/churn-model-dev-training:3f2a1c0d"
NOT_FOUND = (
    "echo 'An error occurred (ImageNotFoundException) when calling the DescribeImages operation: "
    "The image with imageId {imageTag:3f2a1c0d} does not exist' >&2; exit 254"
)


def test_push_image_builds_and_pushes_a_new_tag(push_image: Any) -> None:
    done, calls = push_image("Dockerfile", IMAGE, describe=NOT_FOUND)
    assert done.returncode == 0, done.stderr
    assert calls == [
        "aws ecr describe-images --repository-name churn-model-dev-training --image-ids imageTag=3f2a1c0d "
        "--query imageDetails[0].imageDigest --output text",
        f"docker build --file Dockerfile --tag {IMAGE} .",
        f"docker push {IMAGE}",
    ]


def test_push_image_skips_a_tag_the_repository_holds(push_image: Any) -> None:
    done, calls = push_image("Dockerfile.serve", IMAGE, describe="echo sha256:abc")
    assert done.returncode == 0, done.stderr
    assert [c.split()[0] for c in calls] == ["aws"]
    assert "already in the repository (sha256:abc)" in done.stdout


def test_push_image_stops_on_any_other_error(push_image: Any) -> None:
    denied = "echo 'An error occurred (AccessDeniedException) when calling DescribeImages' >&2; exit 254"
    done, calls = push_image("Dockerfile", IMAGE, describe=denied)
    assert done.returncode == 1 and "AccessDeniedException" in done.stderr
    assert [c.split()[0] for c in calls] == ["aws"], "no push on an error that is not 'not found'"


@pytest.mark.parametrize(
    "args", [("Dockerfile",), ("Dockerfile", "churn:tag"), ("Dockerfile", "registry/repo")]
)
def test_push_image_refuses_what_is_not_registry_repository_tag(
    push_image: Any, args: tuple[str, ...]
) -> None:
    done, calls = push_image(*args)
    assert done.returncode == 2 and done.stderr.strip() and calls == []


def test_push_image_passes_shellcheck(rendered: Rendered) -> None:
    script = rendered(2) / "deploy/push-image.sh"
    done = subprocess.run(
        [str(BIN / "shellcheck"), "--shell=sh", str(script)],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", "")},
    )
    assert done.returncode == 0, done.stdout
