"""OpenID Connect trust for CI (pure): which tokens may assume the project's deploy role."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlops_platform.errors import InvalidArgsError

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")


@dataclass(frozen=True)
class OidcIssuer:
    url: str
    audience: str
    subject_format: str  # filled with repository and ref pattern

    @property
    def host(self) -> str:
        return self.url.removeprefix("https://")


ISSUERS = {
    "github": OidcIssuer(
        "https://token.actions.githubusercontent.com", "sts.amazonaws.com", "repo:{repository}:{ref}"
    ),
    "gitlab": OidcIssuer("https://gitlab.com", "https://gitlab.com", "project_path:{repository}:{ref}"),
}


def check_repository(repository: str, *, vendor: str) -> str:
    if vendor not in ISSUERS:
        raise InvalidArgsError(
            component="CiIdentityArgs",
            field="vendor",
            value=vendor,
            reason=f"choose one of {', '.join(ISSUERS)}",
        )
    if not isinstance(repository, str) or not _REPOSITORY.match(repository):
        raise InvalidArgsError(
            component="CiIdentityArgs",
            field="repository",
            value=repository,
            reason="expected 'owner/repository' (GitLab: 'group/sub-group/project'), without wildcards",
            fix="Set it in the stack config, e.g. `pulumi config set mlops:ciRepository acme/churn`.",
        )
    return repository


def subject(vendor: str, repository: str, ref: str = "*") -> str:
    """The token subject pattern the role trusts, e.g. ``repo:acme/churn:*``."""
    return ISSUERS[vendor].subject_format.format(
        repository=check_repository(repository, vendor=vendor), ref=ref
    )


def trust_policy(*, vendor: str, provider_arn: Any, repository: str, ref: str = "*") -> dict[str, Any]:
    """Trust policy for AssumeRoleWithWebIdentity from ``repository``'s CI jobs only."""
    issuer = ISSUERS[vendor]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{issuer.host}:aud": issuer.audience},
                    "StringLike": {f"{issuer.host}:sub": subject(vendor, repository, ref)},
                },
            }
        ],
    }
