"""Access logs (platform tier): one bucket per account and environment for S3 server access logs
(``s3-access/``) and VPC flow logs (``vpc-flow-logs/``) of every project.

S3 delivers server access logs only to a bucket encrypted with SSE-S3, not SSE-KMS
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html), and
the bucket must grant the log delivery services in its policy, each for this account only.
It does not log its own access: that would log every log delivery (a documented exception).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from mlops_platform.buckets import BucketSpec, private_bucket
from mlops_platform.common import TYPE_PREFIX, Scope, check_fields, exception_tag, statement

ACCESS_LOG_PREFIX = "s3-access/"
FLOW_LOG_PREFIX = "vpc-flow-logs/"


@dataclass(frozen=True)
class AccessLogsArgs:
    scope: Scope
    retention_days: int = 365
    force_destroy: bool = False

    def __post_init__(self) -> None:
        check_fields(self, {"retention_days": (lambda v: v >= 1, "keep logs at least one day")})


class AccessLogs(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]

    def __init__(self, name: str, args: AccessLogsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:AccessLogs", name, None, opts)
        scope = args.scope
        account = {"aws:SourceAccount": scope.account_id}
        bucket = private_bucket(
            self,
            f"{name}-bucket",
            BucketSpec(
                kms_key_arn=None,
                access_log_bucket=None,
                force_destroy=args.force_destroy,
                expire_days=args.retention_days,
                noncurrent_version_days=1,
                policy_statements=(
                    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html#grant-log-delivery-permissions-general
                    statement(
                        ["s3:PutObject"],
                        [f"/{ACCESS_LOG_PREFIX}*"],
                        condition={"StringEquals": account},
                        sid="S3ServerAccessLogs",
                    )
                    | {"Principal": {"Service": "logging.s3.amazonaws.com"}},
                    # https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html
                    statement(
                        ["s3:PutObject"],
                        [pulumi.Output.concat(f"/{FLOW_LOG_PREFIX}AWSLogs/", scope.account_id, "/*")],
                        condition={
                            "StringEquals": {**account, "s3:x-amz-acl": "bucket-owner-full-control"},
                            "ArnLike": {"aws:SourceArn": scope.arn("logs", "*")},
                        },
                        sid="VpcFlowLogsWrite",
                    )
                    | {"Principal": {"Service": "delivery.logs.amazonaws.com"}},
                    statement(
                        ["s3:GetBucketAcl", "s3:ListBucket"],
                        [""],
                        condition={
                            "StringEquals": account,
                            "ArnLike": {"aws:SourceArn": scope.arn("logs", "*")},
                        },
                        sid="VpcFlowLogsCheck",
                    )
                    | {"Principal": {"Service": "delivery.logs.amazonaws.com"}},
                ),
                tags=exception_tag("s3-bucket-access-logging", "the access log bucket does not log itself"),
            ),
        )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn})
