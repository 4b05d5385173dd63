"""One private S3 bucket with everything the policy pack asks of a bucket, for every component.

Encrypted (SSE-KMS with a given key, or SSE-S3), versioned, no ACLs, every kind of public access
blocked, TLS only, incomplete uploads and old versions expired, and its server access logs sent
to the platform's log bucket (or a documented exception for the log bucket itself).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform.common import policy_document, statement


@dataclass(frozen=True)
class BucketSpec:
    kms_key_arn: pulumi.Input[str] | None  # None: SSE-S3 (the only choice for an access-log target)
    access_log_bucket: pulumi.Input[str] | None  # None only for the log bucket itself
    access_log_prefix: str = ""
    force_destroy: bool = False
    noncurrent_version_days: int = 90
    abort_incomplete_upload_days: int = 7
    expire_days: int | None = None  # expire current objects too (log buckets)
    expire_prefixes: Mapping[str, int] = field(default_factory=dict)  # prefix -> days, for scratch data
    policy_statements: Sequence[dict[str, Any]] = ()  # besides the TLS-only deny
    tags: Mapping[str, str] = field(default_factory=dict)


def private_bucket(parent: pulumi.ComponentResource, name: str, spec: BucketSpec) -> aws.s3.Bucket:
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(name, force_destroy=spec.force_destroy, tags=dict(spec.tags) or None, opts=child)
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=child,
    )
    public_access = aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
        sse_algorithm="aws:kms" if spec.kms_key_arn is not None else "AES256",
        kms_master_key_id=spec.kms_key_arn,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.id,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=default,
                bucket_key_enabled=spec.kms_key_arn is not None,
            )
        ],
        opts=child,
    )
    versioning = aws.s3.BucketVersioning(
        f"{name}-versioning",
        bucket=bucket.id,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
        opts=child,
    )
    aws.s3.BucketPolicy(
        f"{name}-tls-only",  # the name of its first version, which held the TLS-only deny alone
        bucket=bucket.id,
        policy=policy_document(
            statement(
                ["s3:*"],
                [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                effect="Deny",
                condition={"Bool": {"aws:SecureTransport": "false"}},
                sid="DenyInsecureTransport",
            )
            | {"Principal": "*"},
            *[_with_bucket(s, bucket) for s in spec.policy_statements],
        ),
        # A bucket policy written before the public access block may be refused as "public".
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[public_access]),
    )
    if spec.access_log_bucket is not None:
        # AWS FSBP S3.9: server access logging, to the platform's log bucket.
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
        aws.s3.BucketLogging(
            f"{name}-access-logs",
            bucket=bucket.id,
            target_bucket=spec.access_log_bucket,
            target_prefix=spec.access_log_prefix,
            opts=child,
        )
    rules = [
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="abort-incomplete-uploads",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                days_after_initiation=spec.abort_incomplete_upload_days,
            ),
        ),
        aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire-old-versions",
            status="Enabled",
            filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                noncurrent_days=spec.noncurrent_version_days,
            ),
        ),
    ]
    if spec.expire_days is not None:
        rules.append(
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-objects",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=spec.expire_days),
            )
        )
    for prefix, days in sorted(spec.expire_prefixes.items()):
        # A rule added to the one lifecycle configuration is an in-place update of that resource.
        # https://docs.aws.amazon.com/AmazonS3/latest/userguide/intro-lifecycle-rules.html
        rules.append(
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id=f"expire-{prefix.strip('/').replace('/', '-')}",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=prefix),
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
            )
        )
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle",
        bucket=bucket.id,
        rules=rules,
        # S3 rejects lifecycle rules for noncurrent versions until versioning is on.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[versioning]),
    )
    return bucket


def _with_bucket(template: dict[str, Any], bucket: aws.s3.Bucket) -> dict[str, Any]:
    """Statements name their resources relative to the bucket: "" is the bucket, "/x/*" a prefix."""
    resources = [pulumi.Output.concat(bucket.arn, suffix) for suffix in template["Resource"]]
    return template | {"Resource": resources}
