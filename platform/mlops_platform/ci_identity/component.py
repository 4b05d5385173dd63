"""CI identity: an OIDC provider and a deploy role for the project's CI, and its ECR repository.

CI never holds long-lived AWS keys: its jobs exchange their OIDC token for the deploy role,
which only the project's repository may assume.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform.ci_identity.oidc import ISSUERS, check_repository, trust_policy
from mlops_platform.common import TYPE_PREFIX, Scope, policy_document, require, statement
from mlops_platform.naming import physical_name


@dataclass(frozen=True)
class CiIdentityArgs:
    scope: Scope
    repository: str  # "owner/repo" whose CI may deploy
    vendor: str = "github"
    ref: str = "*"  # e.g. "ref:refs/heads/main" to trust only the main branch
    existing_oidc_provider_arn: str | None = None  # an account holds one provider per issuer
    keep_images: int = 100

    def __post_init__(self) -> None:
        check_repository(self.repository, vendor=self.vendor)
        require(
            bool(self.ref) and '"' not in self.ref,
            component="CiIdentityArgs",
            field="ref",
            value=self.ref,
            reason="give a subject pattern such as '*' or 'ref:refs/heads/main'",
        )
        require(
            self.existing_oidc_provider_arn is None or self.existing_oidc_provider_arn.startswith("arn:"),
            component="CiIdentityArgs",
            field="existing_oidc_provider_arn",
            value=self.existing_oidc_provider_arn,
            reason="not an ARN",
        )
        require(
            self.keep_images >= 1,
            component="CiIdentityArgs",
            field="keep_images",
            value=self.keep_images,
            reason="keep at least one image",
        )


class CiIdentity(pulumi.ComponentResource):
    repository_url: pulumi.Output[str]
    repository_arn: pulumi.Output[str]
    deploy_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: CiIdentityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:CiIdentity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope

        repository = aws.ecr.Repository(
            f"{name}-images",
            name=physical_name(scope.project, scope.env),
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[
                aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")
            ],
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-images-lifecycle",
            repository=repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": f"Keep the newest {args.keep_images} images",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": args.keep_images,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
            opts=child,
        )

        issuer = ISSUERS[args.vendor]
        provider_arn: pulumi.Input[str]
        if args.existing_oidc_provider_arn:
            provider_arn = args.existing_oidc_provider_arn
        else:
            provider_arn = aws.iam.OpenIdConnectProvider(
                f"{name}-oidc",
                url=issuer.url,
                client_id_lists=[issuer.audience],
                opts=child,
            ).arn
        role = aws.iam.Role(
            f"{name}-deploy-role",
            description=f"CI of {args.repository} deploys {scope.project} ({scope.env})",
            assume_role_policy=pulumi.Output.json_dumps(
                trust_policy(
                    vendor=args.vendor,
                    provider_arn=provider_arn,
                    repository=args.repository,
                    ref=args.ref,
                )
            ),
            max_session_duration=3600,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-deploy-policy",
            role=role.id,
            policy=policy_document(
                # GetAuthorizationToken has no resource-level permissions.
                statement(["ecr:GetAuthorizationToken"], ["*"], sid="EcrLogin"),
                statement(
                    [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:CompleteLayerUpload",
                        "ecr:DescribeImages",
                        "ecr:GetDownloadUrlForLayer",
                        "ecr:InitiateLayerUpload",
                        "ecr:PutImage",
                        "ecr:UploadLayerPart",
                    ],
                    [repository.arn],
                    sid="PushProjectImages",
                ),
                statement(
                    ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
                    [scope.arn("ssm", f"parameter{scope.parameter_prefix}/*")],
                    sid="ReadContract",
                ),
            ),
            opts=child,
        )

        self.repository_url = repository.repository_url
        self.repository_arn = repository.arn
        self.deploy_role_arn = role.arn
        self.register_outputs(
            {
                "repository_url": self.repository_url,
                "deploy_role_arn": self.deploy_role_arn,
            }
        )
