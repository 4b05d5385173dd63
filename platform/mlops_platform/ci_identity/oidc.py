"""OpenID Connect trust for CI (pure): which tokens may assume an environment's deploy role.

Each environment's role trusts exactly one token subject, compared with ``StringEquals``:

- GitHub: ``repo:OWNER/REPO:environment:ENV``. A job that names ``environment: ENV`` gets this
  subject, and GitHub runs it only after the environment's protection rules (required reviewers
  for prod) pass, so no branch can assume the prod role and skip the approval.
  https://docs.github.com/en/actions/how-tos/secure-your-work/security-harden-deployments/oidc-in-aws
  Repositories created after 2026-06-18 (or opted in) send immutable subjects with owner and
  repository IDs (https://github.blog/changelog/2026-04-23-immutable-subject-claims-for-github-actions-oidc-tokens):
  give the exact subject with ``mlops:ciSubject``.
- GitLab: GitLab's default subject is ``project_path:GROUP/PROJECT:ref_type:TYPE:ref:REF`` and
  carries no environment (https://docs.gitlab.com/ci/secrets/id_token_authentication/,
  https://docs.gitlab.com/ci/cloud_services/aws/), and STS takes no GitLab environment claim
  either (only ``ref_protected`` and a few others: the service authorization reference below). So
  the ref tells the environments apart. dev and staging trust the protected default branch,
  ``project_path:GROUP/PROJECT:ref_type:branch:ref:main``; prod trusts only protected release
  tags, ``project_path:GROUP/PROJECT:ref_type:tag:ref:v*`` (StringLike, with ``ref_protected``
  true), which the generated pipeline's prod jobs run on and only those allowed to create
  protected ``v*`` tags can start (https://docs.gitlab.com/user/project/protected_tags/). A job
  on ``main`` cannot assume the prod role. That one pattern is the only wildcard a trust may
  hold: the tag's name is part of the subject, and git ref names hold no ``:``
  (https://git-scm.com/docs/git-check-ref-format), so ``*`` matches the tag name only.
  A project whose ID token subject includes more claims sets ``mlops:ciSubject``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlops_platform.errors import InvalidArgsError

_REPOSITORY = re.compile(r"^[A-Za-z0-9_.@-]+(/[A-Za-z0-9_.@-]+)+$")
_SUBJECT = re.compile(r"^[A-Za-z0-9_.@/:=+-]+$")  # no wildcards (* ?), quotes or spaces
# GitLab prod: one project's release tags, the prefix literal and the wildcard at the end only.
_RELEASE_TAGS = re.compile(r"^project_path:[A-Za-z0-9_.@/-]+:ref_type:tag:ref:[A-Za-z0-9_./-]+\*$")
# The tags the generated GitLab pipeline runs its prod jobs on (templates/project/gitlab.jinja,
# on_release_tag): protect them in GitLab so that only release managers can create them.
RELEASE_TAG_PREFIX = "v"


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


def is_release_tags(subject: str) -> bool:
    """Whether ``subject`` is GitLab prod's release-tag pattern (the one trusted with StringLike)."""
    return bool(_RELEASE_TAGS.match(subject))


def check_trusted_subject(subject: str, *, vendor: str) -> str:
    """An exact subject, or for GitLab the release-tag pattern of one project."""
    if vendor == "gitlab" and isinstance(subject, str) and is_release_tags(subject):
        return subject
    return check_subject(subject)


def subject(
    vendor: str, repository: str, *, environment: str, branch: str = "main", release_tags: bool = False
) -> str:
    """The token subject an environment's deploy role trusts. GitLab with ``release_tags`` (prod):
    the protected release tags ``v*``; otherwise the protected branch ``branch``."""
    check_repository(repository, vendor=vendor)
    if vendor == "github":
        return check_subject(f"repo:{repository}:environment:{environment}")
    if release_tags:
        return f"project_path:{check_subject(repository)}:ref_type:tag:ref:{RELEASE_TAG_PREFIX}*"
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
    sub = {f"{issuer.host}:sub": check_trusted_subject(subject, vendor=vendor)}
    condition: dict[str, Any] = {"StringEquals": {f"{issuer.host}:aud": issuer.audience, **extra}}
    if is_release_tags(subject):  # GitLab prod: StringLike, and ref_protected above
        condition["StringLike"] = sub
    else:
        condition["StringEquals"] |= sub
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition,
            }
        ],
    }
