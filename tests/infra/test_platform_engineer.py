"""What issue 17 asked of the platform engineer's side of the stacks, one test per item; each
docstring says what the code did before and why that failed or cost money."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_platform.ci_identity.component import KEEP_IMAGES, CiIdentityArgs, lifecycle_policy
from mlops_platform.common import Scope
from mlops_platform.errors import InvalidArgsError

from .offline_runs import SERVING_IMAGE, TRAINING_TAG, offline

ROOT = Path(__file__).resolve().parents[2]


def _lifecycle(run: Any, repository: str) -> dict[str, Any]:
    (repo,) = [r for r in run.of_type("aws:ecr/repository:Repository") if r.inputs["name"] == repository]
    (policy,) = [
        p
        for p in run.of_type("aws:ecr/lifecyclePolicy:LifecyclePolicy")
        if p.inputs["repository"] == repo.outputs["name"]
    ]
    return json.loads(policy.inputs["policy"])


# 8: ECR lifecycle ---------------------------------------------------------------------------------
def test_repositories_keep_20_images_and_never_the_one_batch_runs() -> None:
    """Before: both repositories kept the newest 100 images (2.7 GB CUDA images: about $27 a month
    each). Now 20; and since the training repository of dev gets an image for every commit, the
    image the job definition names (mlops:trainingImageTag) could fall out of the newest 20 and
    Batch could no longer pull it: a first rule keeps that tag, which ECR's evaluation order
    protects from the count rule."""
    run = offline(3, servingImage=SERVING_IMAGE)
    training = _lifecycle(run, "demo-dev-training")
    keep_tag, keep_newest = training["rules"]
    assert keep_tag["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": [TRAINING_TAG],
        "countType": "imageCountMoreThan",
        "countNumber": 1,
    }
    assert keep_newest["selection"] == {
        "tagStatus": "any",
        "countType": "imageCountMoreThan",
        "countNumber": 20,
    }
    # ECR: the tagStatus "any" rule has the highest rulePriority; priorities are unique.
    assert (keep_tag["rulePriority"], keep_newest["rulePriority"]) == (1, 2)
    (serving_rule,) = _lifecycle(run, "demo-dev")["rules"]
    assert serving_rule["selection"]["countNumber"] == KEEP_IMAGES == 20
    assert lifecycle_policy(5, ["a", "a"])["rules"][0]["selection"]["tagPatternList"] == ["a"]
    assert len(lifecycle_policy(5, ["a", "a"])["rules"]) == 2


def test_a_kept_tag_is_exact() -> None:
    """A wildcard in a kept tag would keep every image it matches and defeat the count."""
    scope = Scope(project="demo", env="dev", account_id="1", region="us-east-1")
    with pytest.raises(InvalidArgsError, match="keep_tags"):
        CiIdentityArgs(
            scope=scope,
            repository="acme/demo",
            subject="repo:acme/demo:environment:dev",
            provider_arn="p",
            keep_tags=("3f2*",),
        )


# 8: the pulumi-aws pin --------------------------------------------------------------------------
def test_the_infra_extra_admits_no_pulumi_aws_without_the_mlflow_app() -> None:
    """Before: `pulumi-aws>=7,<8` admitted 7.0-7.21, which have no aws.sagemaker.MlflowApp, so a
    fresh install could resolve to one of them and every level-2 stack would fail with an
    AttributeError. 7.22.0 is the first release whose wheel has sagemaker/mlflow_app.py."""
    import tomllib

    from packaging.requirements import Requirement
    from packaging.version import Version

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (aws,) = [
        req
        for line in pyproject["project"]["optional-dependencies"]["infra"]
        if (req := Requirement(line)).name == "pulumi-aws"
    ]
    assert not aws.specifier.contains(Version("7.21.0"))
    assert aws.specifier.contains(Version("7.22.0")) and not aws.specifier.contains(Version("8.0.0"))
    import pulumi_aws

    assert hasattr(pulumi_aws.sagemaker, "MlflowApp")  # the installed one has it


# 4: GitLab prod behind prod's gate ----------------------------------------------------------------
def test_the_gitlab_pipeline_runs_prod_on_exactly_the_tags_prods_role_trusts(rendered: Any) -> None:
    """The stack's prod trust (protected tags RELEASE_TAG_PREFIX*) and the generated pipeline's
    prod rule ($CI_COMMIT_TAG =~ /^PREFIX/, protected) must name the same tags, or prod's jobs
    could not assume the role (or could run on tags the role refuses)."""
    import re

    import yaml

    from mlops_platform.ci_identity.oidc import RELEASE_TAG_PREFIX, subject

    project = rendered(3, ci="gitlab")
    jobs = {
        name: job
        for path in sorted((project / ".gitlab").glob("*.yml"))
        for name, job in yaml.safe_load(path.read_text(encoding="utf-8")).items()
        if name.endswith("-prod")
    }
    assert set(jobs) == {"training-image-prod", "serving-image-prod", "deploy-prod"}
    trusted = subject("gitlab", "group/churn", environment="prod", release_tags=True)
    assert trusted == f"project_path:group/churn:ref_type:tag:ref:{RELEASE_TAG_PREFIX}*"
    for name, job in jobs.items():
        (rule,) = job["rules"]
        (pattern,) = re.findall(r"\$CI_COMMIT_TAG =~ /\^([^/]*)/", rule["if"])
        assert pattern == re.escape(RELEASE_TAG_PREFIX), name
        assert '$CI_COMMIT_REF_PROTECTED == "true"' in rule["if"], name
