"""CI identity (project tier): this environment's deploy role and the training image repository.

CI never holds long-lived AWS keys: a job exchanges its OIDC token for the deploy role of its
environment, which trusts exactly one token subject (see ``oidc``). The role may publish the
training image to this environment's repository (the generated CI's training-image jobs, from
level 2, where AWS Batch runs that image: a stack builds this component from there, level 1's CI
holds no AWS credentials); other components add the rights their deploys need to this role
(serving adds the SageMaker deploy rights at level 3).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform.ci_identity.oidc import check_repository, check_trusted_subject, trust_policy
from mlops_platform.common import PRINCIPAL_TAG, TYPE_PREFIX, Scope, check_fields, policy_document, statement
from mlops_platform.naming import physical_name

DEPLOY_PRINCIPAL = "ci-deploy"
# What `docker push` calls (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-push-iam.html).
PUSH_ACTIONS = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)
# CI publishes an image only when the repository lacks its tag (deploy/push-image.sh in the
# generated project): immutable tags refuse a second push of the same tag, so a re-run of the
# same commit must find its image instead.
# https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html
PUBLISH_ACTIONS = (*PUSH_ACTIONS, "ecr:DescribeImages")


# Images an ECR repository keeps: a CUDA training image is about 2.7 GB, so 100 images cost about
# $27 a month per repository at $0.10/GB-month (https://aws.amazon.com/ecr/pricing/); 20 is about
# $5.40 and still covers weeks of commits and a rollback.
KEEP_IMAGES = 20


def lifecycle_policy(keep_images: int, keep_tags: Sequence[str] = ()) -> dict[str, Any]:
    """The newest ``keep_images`` images, and never the images tagged ``keep_tags`` (the one AWS
    Batch runs), however old.

    A tag's rule comes first and expires only beyond one image with that tag (there is one: tags
    are immutable), and ECR never lets a lower-priority rule expire an image that matches the
    tagging requirements of a higher-priority rule; a rule with tagStatus ``any`` must come last.
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html
    https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html
    """
    rules: list[dict[str, Any]] = [
        {
            "rulePriority": priority,
            "description": f"Keep the image {tag} (AWS Batch runs it)",
            "selection": {
                "tagStatus": "tagged",
                "tagPatternList": [tag],
                "countType": "imageCountMoreThan",
                "countNumber": 1,
            },
            "action": {"type": "expire"},
        }
        for priority, tag in enumerate(dict.fromkeys(keep_tags), start=1)
    ]
    rules.append(
        {
            "rulePriority": len(rules) + 1,
            "description": f"Keep the newest {keep_images} images",
            "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep_images},
            "action": {"type": "expire"},
        }
    )
    return {"rules": rules}


def image_repository(
    parent: pulumi.ComponentResource,
    name: str,
    *,
    repository_name: str,
    keep_images: int,
    keep_tags: Sequence[str] = (),
) -> aws.ecr.Repository:
    """An ECR repository: immutable tags, scan on push, KMS encryption, the newest images kept
    (and the images tagged ``keep_tags``, which something still runs).

    Immutable tags (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html)
    mean every push needs a new tag: CI pushes the git commit SHA, never ``latest``. Encryption
    uses the AWS managed key aws/ecr, which SageMaker and Batch read without key policy changes
    (https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html).
    """
    child = pulumi.ResourceOptions(parent=parent)
    repository = aws.ecr.Repository(
        name,
        name=repository_name,
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
        encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="KMS")],
        opts=child,
    )
    aws.ecr.LifecyclePolicy(
        f"{name}-lifecycle",
        repository=repository.name,
        policy=json.dumps(lifecycle_policy(keep_images, keep_tags)),
        opts=child,
    )
    return repository


PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
# GetAuthorizationToken has no resource-level permissions
# (https://docs.aws.amazon.com/AmazonECR/latest/userguide/security_iam_id-based-policy-examples.html).
ECR_LOGIN = statement(["ecr:GetAuthorizationToken"], ["*"], sid="EcrLogin")


def push_statements(*repository_arns: pulumi.Input[str]) -> list[dict[str, object]]:
    """What CI's image publish calls: log in, look the tag up, push (docker push) when it is absent."""
    return [ECR_LOGIN, statement(list(PUBLISH_ACTIONS), list(repository_arns), sid="PushProjectImages")]


def pull_statements(*repository_arns: pulumi.Input[str]) -> list[dict[str, object]]:
    return [ECR_LOGIN, statement(list(PULL_ACTIONS), list(repository_arns), sid="PullImages")]


@dataclass(frozen=True)
class CiIdentityArgs:
    scope: Scope
    repository: str  # "owner/repo" whose CI may deploy
    subject: str  # the OIDC token subject this environment's role trusts (oidc.subject)
    provider_arn: pulumi.Input[str]  # the account's OIDC provider for the vendor (platform stack)
    vendor: str = "github"
    keep_images: int = KEEP_IMAGES
    # Tags the training repository never expires: the image AWS Batch's job definition names.
    keep_tags: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_repository(self.repository, vendor=self.vendor)
        check_trusted_subject(self.subject, vendor=self.vendor)
        check_fields(
            self,
            {
                "keep_images": (lambda v: v >= 1, "keep at least one image"),
                "keep_tags": (
                    lambda v: all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag) for tag in v),
                    "give exact image tags (a '*' would keep every image it matches)",
                ),
            },
        )


class CiIdentity(pulumi.ComponentResource):
    training_repository_url: pulumi.Output[str]
    training_repository_arn: pulumi.Output[str]
    deploy_role: aws.iam.Role
    deploy_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CiIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:CiIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope

        repository = image_repository(
            self,
            f"{name}-images",
            repository_name=physical_name(scope.project, scope.env, "training"),
            keep_images=args.keep_images,
            keep_tags=args.keep_tags,
        )
        role = aws.iam.Role(
            f"{name}-deploy-role",
            description=f"CI of {args.repository} deploys {scope.project} ({scope.env})",
            assume_role_policy=pulumi.Output.json_dumps(
                trust_policy(
                    vendor=args.vendor,
                    provider_arn=args.provider_arn,
                    subject=args.subject,
                    environment=scope.env,
                )
            ),
            max_session_duration=3600,
            tags={PRINCIPAL_TAG: DEPLOY_PRINCIPAL},
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-deploy-policy",
            role=role.id,
            policy=policy_document(*push_statements(repository.arn)),
            opts=child,
        )

        self.training_repository_url = repository.repository_url
        self.training_repository_arn = repository.arn
        self.deploy_role = role
        self.deploy_role_arn = role.arn
        self.register_outputs(
            {"training_repository_url": self.training_repository_url, "deploy_role_arn": self.deploy_role_arn}
        )
