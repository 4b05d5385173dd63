"""Feature store: the Feast offline store location and the online store (DynamoDB) permissions.

Feast creates its own DynamoDB tables (named ``{feast_project}.{feature_view}``) when the
project runs ``feast apply``; this component grants exactly that and publishes where the
offline store lives in the data lake.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform.common import (
    TYPE_PREFIX,
    Scope,
    check_fields,
    kms_use_statement,
    policy_document,
    publish_parameters,
    statement,
)
from mlops_platform.naming import feast_project

# What Feast's DynamoDB online store calls when the pipeline applies the feature definitions and
# materialises (feast/infra/online_stores/dynamodb.py: update, online_write_batch); the generated
# project reads no online features on AWS.
DYNAMODB_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:CreateTable",
    "dynamodb:DeleteTable",
    "dynamodb:DescribeTable",
    "dynamodb:ListTagsOfResource",
)


@dataclass(frozen=True)
class FeatureStoreArgs:
    scope: Scope
    package_name: str  # the project's Python package; Feast's project name derives from it
    data_bucket_name: pulumi.Input[str]
    data_bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    offline_prefix: str = "feature-store/offline"

    def __post_init__(self) -> None:
        check_fields(
            self,
            {
                "package_name": (lambda v: bool(v) and v.isidentifier(), "not a Python package name"),
                "offline_prefix": (
                    lambda v: bool(v) and v.strip("/") == v,
                    "give a prefix without leading or trailing '/'",
                ),
            },
        )


class FeatureStore(pulumi.ComponentResource):
    offline_store_uri: pulumi.Output[str]
    online_table_prefix: str
    access_policy_arn: pulumi.Output[str]

    def __init__(self, name: str, args: FeatureStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:FeatureStore", name, None, opts)
        scope = args.scope
        table_prefix = f"{feast_project(args.package_name)}."
        offline_objects = pulumi.Output.concat(args.data_bucket_arn, "/", args.offline_prefix, "/*")

        access = aws.iam.Policy(
            f"{name}-access",
            description=f"Feast offline and online stores of {scope.project} ({scope.env})",
            policy=policy_document(
                statement(
                    ["s3:GetBucketLocation", "s3:ListBucket"], [args.data_bucket_arn], sid="ListDataLake"
                ),
                statement(["s3:GetObject", "s3:PutObject"], [offline_objects], sid="OfflineStore"),
                statement(
                    list(DYNAMODB_ACTIONS),
                    [scope.arn("dynamodb", f"table/{table_prefix}*")],
                    sid="OnlineStore",
                ),
                kms_use_statement(args.kms_key_arn),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.offline_store_uri = pulumi.Output.concat(
            "s3://", args.data_bucket_name, "/", args.offline_prefix, "/"
        )
        self.online_table_prefix = table_prefix
        self.access_policy_arn = access.arn
        publish_parameters(
            self,
            component="feature_store",
            name=name,
            scope=scope,
            values={
                "feature-store-offline-uri": self.offline_store_uri,
            },
        )
        self.register_outputs(
            {
                "offline_store_uri": self.offline_store_uri,
                "access_policy_arn": self.access_policy_arn,
            }
        )
