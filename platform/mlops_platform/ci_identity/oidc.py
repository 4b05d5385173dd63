"""OpenID Connect trust for CI (pure): which tokens may assume an environment's deploy role.

Each environment's role trusts exactly one token subject, compared with ``StringEquals``:

- GitHub: ``repo:OWNER/REPO:environment:ENV``. A job that names ``environment: ENV`` gets this
  subject, and GitHub runs it only after the environment's protection rules (required reviewers
  for prod) pass, so no branch can assume the prod role and skip the approval.
  https://docs.github.com/en/actions/how-tos/secure-your-work/security-harden-deployments/oidc-in-aws
  Repositories created after 2026-06-18 (or opted in) send immutable subjects with owner and
  repository IDs (https://github.blog/changelog/2026-04-23-immutable-subject-claims-for-github-actions-oidc-tokens):
  give the exact subject with ``mlops:ciSubject``.
- GitLab: ``project_path:GROUP/PROJECT:ref_type:branch:ref:BRANCH`` (GitLab's default subject
  carries no environment; the deploy jobs run on the protected default branch).
  https://docs.gitlab.com/ci/secrets/id_token_authentication/ and
  https://docs.gitlab.com/ci/cloud_services/aws/
  A project whose ID token subject includes more claims sets ``mlops:ciSubject``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlops_platform.errors import InvalidArgsError

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.@-]+(/[A-Za-z0-9_.@-]+)+$")
_SUBJECT = re.compile(r"^[A-Za-z0-9_.@/:=+-]+$")  # no wildcards (* ?), quotes or spaces


@dataclass(frozen=True)
class OidcIssuer:
    url: str
    audience: str

    @property
    def host(self) -> str:
        return self.url.removeprefix("https://")


ISSUERS = {
    "github": OidcIssuer("https://token.actions.githubusercontent.com", "sts.amazonaws.com"),
    "gitlab": OidcIssuer("https://gitlab.com", "https://gitlab.com"),
}


def check_vendor(vendor: str) -> str:
    if vendor not in ISSUERS:
        raise InvalidArgsError(
            component="CiIdentityArgs",
            field="vendor",
            value=vendor,
            reason=f"choose one of {', '.join(ISSUERS)}",
        )
    return vendor


def check_repository(repository: str, *, vendor: str) -> str:
    check_vendor(vendor)
    if not isinstance(repository, str) or not _REPOSITORY.match(repository):
        raise InvalidArgsError(
            component="CiIdentityArgs",
            field="repository",
            value=repository,
            reason="expected 'owner/repository' (GitLab: 'group/sub-group/project'), without wildcards",
            fix="Set it in the stack config, e.g. `pulumi config set mlops:ciRepository acme/churn`.",
        )
    return repository


def check_subject(subject: str) -> str:
    if not isinstance(subject, str) or not _SUBJECT.match(subject):
        raise InvalidArgsError(
            component="CiIdentityArgs",
            field="subject",
            value=subject,
            reason="a token subject is matched exactly: no wildcards ('*', '?'), spaces or quotes",
            fix="Give the full subject, e.g. repo:acme/churn:environment:prod.",
        )
    return subject


def subject(vendor: str, repository: str, *, environment: str, branch: str = "main") -> str:
    """The one token subject an environment's deploy role trusts."""
    check_repository(repository, vendor=vendor)
    if vendor == "github":
        return check_subject(f"repo:{repository}:environment:{environment}")
    return check_subject(f"project_path:{repository}:ref_type:branch:ref:{branch}")


def trust_policy(*, vendor: str, provider_arn: Any, subject: str, environment: str) -> dict[str, Any]:
    """Trust policy for AssumeRoleWithWebIdentity from that one subject, for our audience only.

    Besides ``sub`` and ``aud``, STS takes some provider claims as condition keys
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html):
    a GitHub token must also name the environment (``token.actions.githubusercontent.com:environment``,
    which still holds when GitHub's immutable subjects change the ``sub`` format), and a GitLab
    token must come from a protected ref (``gitlab.com:ref_protected``).
    """
    issuer = ISSUERS[check_vendor(vendor)]
    extra = (
        {f"{issuer.host}:environment": environment}
        if vendor == "github"
        else {f"{issuer.host}:ref_protected": "true"}
    )
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{issuer.host}:aud": issuer.audience,
                        f"{issuer.host}:sub": check_subject(subject),
                        **extra,
                    },
                },
            }
        ],
    }
