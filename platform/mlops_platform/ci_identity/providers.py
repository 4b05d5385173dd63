"""CI OpenID Connect providers (platform tier): one per issuer and account, shared by every project.

IAM refuses a second provider with the same URL in an account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html), so the
platform stack creates each provider once ("create"), or finds one that already exists
("lookup"), or takes its ARN as given; project stacks only read the ARN.

Several environments in one account: the first platform stack (say platform-dev) creates the
providers, every other one (platform-staging, platform-prod) looks them up. A created provider is
kept in the account when its stack is destroyed (retain_on_delete): other environments' CI roles
trust it, and deleting it would break their deploys.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform.ci_identity.oidc import ISSUERS
from mlops_platform.common import TYPE_PREFIX, Scope, check_fields

MODES = ("create", "lookup", "none")


def _valid_mode(value: str) -> bool:
    return value in MODES or value.startswith("arn:")


@dataclass(frozen=True)
class CiOidcArgs:
    scope: Scope
    github: str = "create"  # create | lookup | none | the provider's ARN
    gitlab: str = "create"

    def __post_init__(self) -> None:
        reason = "use create, lookup, none or the ARN of the account's provider"
        check_fields(self, {"github": (_valid_mode, reason), "gitlab": (_valid_mode, reason)})


class CiOidc(pulumi.ComponentResource):
    provider_arns: dict[str, pulumi.Output[str]]  # vendor -> ARN (vendors set to "none" are absent)

    def __init__(self, name: str, args: CiOidcArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:CiOidc", name, None, opts)
        self.provider_arns = {}
        for vendor, mode in (("github", args.github), ("gitlab", args.gitlab)):
            issuer = ISSUERS[vendor]
            if mode == "create":
                self.provider_arns[vendor] = aws.iam.OpenIdConnectProvider(
                    f"{name}-{vendor}",
                    url=issuer.url,
                    client_id_lists=[issuer.audience],
                    # One provider per URL and account is shared by every environment's roles
                    # (see the module docstring): `pulumi destroy` of this stack leaves it.
                    # https://www.pulumi.com/docs/iac/concepts/resources/options/retainondelete/
                    opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True),
                ).arn
            elif mode == "lookup":
                self.provider_arns[vendor] = aws.iam.get_open_id_connect_provider_output(
                    url=issuer.url, opts=pulumi.InvokeOutputOptions(parent=self)
                ).arn
            elif mode != "none":
                self.provider_arns[vendor] = pulumi.Output.from_input(mode)
        self.register_outputs({f"{vendor}_provider_arn": arn for vendor, arn in self.provider_arns.items()})
