"""The AWS provider the stack passes to every component (components never create one).

An explicit provider does not read the ``aws:*`` stack config by itself, so the keys a stack
file may hold (the AWS example and the LocalStack example in stacks/examples) are mapped here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlops_stacks.config import AnyConfig, StackConfig

# aws:<key> in the stack file -> (aws.Provider argument, kind)
PROVIDER_KEYS: dict[str, tuple[str, str]] = {
    "region": ("region", "str"),
    "profile": ("profile", "str"),
    "accessKey": ("access_key", "str"),
    "secretKey": ("secret_key", "str"),
    "allowedAccountIds": ("allowed_account_ids", "list"),
    "endpoints": ("endpoints", "endpoints"),
    "s3UsePathStyle": ("s3_use_path_style", "bool"),
    "skipCredentialsValidation": ("skip_credentials_validation", "bool"),
    "skipMetadataApiCheck": ("skip_metadata_api_check", "bool"),
    "skipRegionValidation": ("skip_region_validation", "bool"),
    "skipRequestingAccountId": ("skip_requesting_account_id", "bool"),
}


def provider_args(aws_config: Mapping[str, Any], config: AnyConfig) -> dict[str, Any]:
    """Keyword arguments for ``aws.Provider`` from the ``aws:*`` config values (strings or objects)."""
    kwargs: dict[str, Any] = {}
    for key, value in aws_config.items():
        if key not in PROVIDER_KEYS or value is None:
            continue
        argument, kind = PROVIDER_KEYS[key]
        if kind == "bool":
            kwargs[argument] = value if isinstance(value, bool) else str(value).lower() == "true"
        elif kind == "list":
            kwargs[argument] = (
                [str(item) for item in value] if isinstance(value, list) else str(value).split(",")
            )
        elif kind == "endpoints":  # a list of {service: url} objects, as pulumi-aws documents it
            merged: dict[str, str] = {}
            for entry in value if isinstance(value, list) else [value]:
                merged.update({str(service): str(url) for service, url in entry.items()})
            kwargs[argument] = [merged]
        else:
            kwargs[argument] = str(value)
    tags = {"mlops:env": config.env, "managed-by": "mlops-scaffold"}
    if isinstance(config, StackConfig):
        tags |= {"mlops:project": config.project, "mlops:level": str(config.level)}
    else:
        tags["mlops:tier"] = "platform"
    kwargs["default_tags"] = {"tags": tags}
    return kwargs


def read_aws_config() -> dict[str, Any]:
    """The ``aws:*`` values of the running stack (inside a Pulumi program only)."""
    import pulumi

    aws = pulumi.Config("aws")
    values: dict[str, Any] = {}
    for key, (_, kind) in PROVIDER_KEYS.items():
        values[key] = aws.get_object(key) if kind in ("endpoints", "list") else aws.get(key)
    return values
