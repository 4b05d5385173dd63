"""Names of the things the stacks create, derived from the project and environment (pure).

Most resources use Pulumi auto-naming (a random suffix keeps replacements safe); only names that
a project must know before the resource exists, or that AWS requires, are fixed here.
"""

from __future__ import annotations

import hashlib
import re

from mlops_platform.errors import InvalidArgsError

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9-]*$")


def slug(value: str) -> str:
    """Lower case, '_' and '.' become '-': the form AWS names accept almost everywhere."""
    return re.sub(r"[^a-z0-9-]", "-", value.lower()).strip("-")


def check_identifier(value: str, *, component: str, field: str) -> str:
    """``value`` if it is a usable project or environment name, else InvalidArgsError naming ``field``."""
    if not isinstance(value, str) or not _IDENTIFIER.match(slug(value)) or len(value) > 40:
        raise InvalidArgsError(
            component=component,
            field=field,
            value=value,
            reason="use 1-40 letters, digits, '-' or '_', starting with a letter",
        )
    return value


def physical_name(project: str, env: str, suffix: str = "", *, max_length: int = 63) -> str:
    """``{project}-{env}[-{suffix}]`` in slug form, shortened with a stable hash when too long."""
    name = "-".join(part for part in (slug(project), slug(env), slug(suffix)) if part)
    if len(name) <= max_length:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: max_length - 9].rstrip('-')}-{digest}"


def endpoint_name(project: str, env: str) -> str:
    """The SageMaker endpoint name (published before the endpoint exists, so it is fixed).

    At most 46 characters, so that models and endpoint configurations named after it
    (``{endpoint}-pulumi-{8 hex}``, ``{endpoint}-v{version}-...``) fit SageMaker's 63 and the CI
    deploy role's rights on ``{endpoint}-*`` cover all of them.
    """
    return physical_name(project, env, max_length=46)


def metric_namespace(project: str, env: str) -> str:
    """The CloudWatch namespace the project's drift job publishes its scores to."""
    return f"MLOps/{slug(project)}/{slug(env)}"


def feast_project(package_name: str) -> str:
    """Feast project names are Python identifiers; Feast names its DynamoDB tables ``{project}.{view}``."""
    return re.sub(r"[^a-z0-9_]", "_", package_name.lower())


def is_pinned_image(uri: str) -> bool:
    """True for ``REGISTRY/REPOSITORY:TAG`` (TAG not ``latest``) or ``REGISTRY/REPOSITORY@sha256:DIGEST``;
    an image without either means ``latest``. A registry port (``host:5000/...``) is no tag."""
    if "/" not in uri or any(c.isspace() for c in uri):
        return False
    if "@" in uri:
        return re.fullmatch(r"[^@]+@sha256:[0-9a-f]{64}", uri) is not None
    name = uri.rsplit("/", 1)[1]
    tag = name.split(":", 1)[1] if ":" in name else ""
    return re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag) is not None and tag != "latest"


# s3://BUCKET/models/.../NAME.tar.gz: where a project's pipeline registers its model packages
# (``models/<run>/model.tar.gz`` in the artifact bucket), the one prefix the endpoint's role reads.
_MODEL_PACKAGE = re.compile(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/models/\S+\.tar\.gz")


def is_model_package_url(url: str) -> bool:
    """True for ``s3://BUCKET/models/.../*.tar.gz`` (a bucket name as S3 allows it)."""
    return isinstance(url, str) and _MODEL_PACKAGE.fullmatch(url) is not None
