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
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform.ci_identity.oidc import check_repository, check_subject, trust_policy
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


def image_repository(
    parent: pulumi.ComponentResource, name: str, *, repository_name: str, keep_images: int
) -> aws.ecr.Repository:
    """An ECR repository: immutable tags, scan on push, KMS encryption, the newest images kept.

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
        policy=json.dumps(
            {
                "rules": [
                    {
                        "rulePriority": 1,
                        "description": f"Keep the newest {keep_images} images",
                        "selection": {
                            "tagStatus": "any",
                            "countType": "imageCountMoreThan",
                            "countNumber": keep_images,
                        },
                        "action": {"type": "expire"},
                    }
                ]
            }
        ),
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
    subject: str  # the one OIDC token subject this environment's role trusts (oidc.subject)
    provider_arn: pulumi.Input[str]  # the account's OIDC provider for the vendor (platform stack)
    vendor: str = "github"
    keep_images: int = 100

    def __post_init__(self) -> None:
        check_repository(self.repository, vendor=self.vendor)
        check_subject(self.subject)
        check_fields(self, {"keep_images": (lambda v: v >= 1, "keep at least one image")})


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
