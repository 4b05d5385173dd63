"""Storage: a KMS key and the project's data and artifact buckets, private and encrypted."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform.common import TYPE_PREFIX, Scope, policy_document, publish_parameters, require, statement
from mlops_platform.naming import physical_name


@dataclass(frozen=True)
class StorageArgs:
    scope: Scope
    force_destroy: bool = False  # True lets `pulumi destroy` delete buckets that still hold objects
    noncurrent_version_days: int = 90
    abort_incomplete_upload_days: int = 7
    key_deletion_window_days: int = 30

    def __post_init__(self) -> None:
        require(
            self.noncurrent_version_days >= 1,
            component="StorageArgs",
            field="noncurrent_version_days",
            value=self.noncurrent_version_days,
            reason="must be at least 1 day",
        )
        require(
            self.abort_incomplete_upload_days >= 1,
            component="StorageArgs",
            field="abort_incomplete_upload_days",
            value=self.abort_incomplete_upload_days,
            reason="must be at least 1 day",
        )
        require(
            7 <= self.key_deletion_window_days <= 30,
            component="StorageArgs",
            field="key_deletion_window_days",
            value=self.key_deletion_window_days,
            reason="AWS accepts 7 to 30 days",
        )


class Storage(pulumi.ComponentResource):
    kms_key_arn: pulumi.Output[str]
    data_bucket_name: pulumi.Output[str]
    data_bucket_arn: pulumi.Output[str]
    artifact_bucket_name: pulumi.Output[str]
    artifact_bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope

        key = aws.kms.Key(
            f"{name}-key",
            description=f"mlops-scaffold data and artifacts of {scope.project} ({scope.env})",
            enable_key_rotation=True,
            deletion_window_in_days=args.key_deletion_window_days,
            opts=child,
        )
        aws.kms.Alias(
            f"{name}-key-alias",
            name=f"alias/mlops/{physical_name(scope.project, scope.env)}",
            target_key_id=key.key_id,
            opts=child,
        )

        data = self._bucket(f"{name}-data", key, args)
        artifacts = self._bucket(f"{name}-artifacts", key, args)

        self.kms_key_arn = key.arn
        self.data_bucket_name = data.bucket
        self.data_bucket_arn = data.arn
        self.artifact_bucket_name = artifacts.bucket
        self.artifact_bucket_arn = artifacts.arn
        publish_parameters(
            self,
            component="storage",
            name=name,
            scope=scope,
            values={
                "data-bucket": data.bucket,
                "artifact-bucket": artifacts.bucket,
            },
        )
        self.register_outputs(
            {
                "kms_key_arn": self.kms_key_arn,
                "data_bucket_name": self.data_bucket_name,
                "artifact_bucket_name": self.artifact_bucket_name,
            }
        )

    def _bucket(self, name: str, key: aws.kms.Key, args: StorageArgs) -> aws.s3.Bucket:
        """A bucket with SSE-KMS, versioning, no ACLs, no public access, TLS only and lifecycle rules."""
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(name, force_destroy=args.force_destroy, opts=child)
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
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms",
                        kms_master_key_id=key.arn,
                    ),
                    bucket_key_enabled=True,
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
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=policy_document(
                statement(
                    ["s3:*"],
                    [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")],
                    effect="Deny",
                    condition={"Bool": {"aws:SecureTransport": "false"}},
                    sid="DenyInsecureTransport",
                )
                | {"Principal": "*"}
            ),
            # A bucket policy written before the public access block may be refused as "public".
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="abort-incomplete-uploads",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=args.abort_incomplete_upload_days,
                    ),
                ),
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-old-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=args.noncurrent_version_days,
                    ),
                ),
            ],
            # S3 rejects lifecycle rules for noncurrent versions until versioning is on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        return bucket
