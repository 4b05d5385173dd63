"""Integration: `pulumi up` and `pulumi destroy` against LocalStack with the Automation API.

Deploys what LocalStack community can host (it has no ECR, Batch or SageMaker): the network,
storage and feature-store components through ``build_stack`` with ``mlops:onlyComponents``, plus
the monitoring component wired to a stand-in state machine. Then it reads the result back with
boto3 and destroys the stack.

It needs the Pulumi CLI with the aws plugin and a LocalStack endpoint (see docs/infrastructure.md),
and skips, saying which is missing, otherwise. It proves only that these components deploy to
LocalStack; it is not the evidence for anything the mock tests check.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.localstack

ENDPOINT = os.environ.get("MLOPS_LOCALSTACK_ENDPOINT", "http://127.0.0.1:4566")
SERVICES = ("cloudwatch", "dynamodb", "ec2", "events", "iam", "kms", "logs", "s3", "sfn", "sns", "ssm", "sts")


def _skip_reason() -> str | None:
    if shutil.which("pulumi") is None:
        return (
            "the Pulumi CLI is not installed (the Automation API drives it); install it from "
            "https://www.pulumi.com/docs/install/ to run this test"
        )
    plugins = subprocess.run(
        ["pulumi", "plugin", "ls", "--json"], capture_output=True, text=True, check=False
    )
    if '"name": "aws"' not in plugins.stdout.replace('"name":"aws"', '"name": "aws"'):
        return "the Pulumi aws resource plugin is not installed (`pulumi plugin install resource aws`)"
    try:
        with urllib.request.urlopen(f"{ENDPOINT}/_localstack/health", timeout=3) as response:
            json.load(response)
    except OSError as error:
        return f"no LocalStack answers at {ENDPOINT} ({error}); start it or set MLOPS_LOCALSTACK_ENDPOINT"
    return None


def _client(service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_up_and_destroy_on_localstack(tmp_path: Path) -> None:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    import pulumi
    import pulumi_aws as aws
    from pulumi import automation as auto

    from mlops_platform.common import Scope
    from mlops_platform.monitoring import Monitoring, MonitoringArgs
    from mlops_stacks.config import StackConfig
    from mlops_stacks.program import build_stack, make_provider

    config = StackConfig.from_mapping(
        {
            "project": "lsdemo",
            "env": "it",
            "level": 2,
            "onlyComponents": "network,storage,feature_store",
            "interfaceEndpoints": "",
            "forceDestroy": True,
        }
    )
    aws_config = {
        "region": "us-east-1",
        "accessKey": "test",
        "secretKey": "test",
        "s3UsePathStyle": True,
        "skipCredentialsValidation": True,
        "skipMetadataApiCheck": True,
        "skipRequestingAccountId": True,
        "endpoints": [dict.fromkeys(SERVICES, ENDPOINT)],
    }

    def program() -> None:
        provider = make_provider(config, aws_config)
        result = build_stack(config, provider)
        # Monitoring needs the training pipeline, which LocalStack cannot host: a stand-in state machine.
        opts = pulumi.ResourceOptions(provider=provider)
        role = aws.iam.Role(
            "standin-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "states.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            opts=opts,
        )
        machine = aws.sfn.StateMachine(
            "standin-training",
            role_arn=role.arn,
            opts=opts,
            definition=json.dumps({"StartAt": "Train", "States": {"Train": {"Type": "Pass", "End": True}}}),
        )
        Monitoring(
            "lsdemo-it-monitoring",
            MonitoringArgs(
                scope=Scope(project="lsdemo", env="it", account_id="000000000000", region="us-east-1"),
                state_machine_arn=machine.arn,
                endpoint_name="lsdemo-it",
            ),
            opts,
        )
        for name, value in result.outputs().items():
            pulumi.export(name, value)

    backend = (tmp_path / "state").as_uri()
    (tmp_path / "state").mkdir()
    stack = auto.create_or_select_stack(
        stack_name=config.stack_name,
        project_name="mlops-platform",
        program=program,
        opts=auto.LocalWorkspaceOptions(
            work_dir=str(tmp_path),
            project_settings=auto.ProjectSettings(
                name="mlops-platform", runtime="python", backend=auto.ProjectBackend(url=backend)
            ),
            env_vars={"PULUMI_CONFIG_PASSPHRASE": "localstack-test", "PULUMI_BACKEND_URL": backend},
        ),
    )
    try:
        up = stack.up()
        assert up.summary.result == "succeeded"
        outputs = {key: value.value for key, value in up.outputs.items()}

        parameters = _client("ssm").get_parameters_by_path(Path="/mlops/lsdemo/it/", Recursive=True)[
            "Parameters"
        ]
        assert {p["Name"].rsplit("/", 1)[1] for p in parameters} == {
            "data-bucket",
            "artifact-bucket",
            "feature-store-offline-uri",
            "alerts-topic-arn",
            "drift-metric-namespace",
        }
        s3 = _client("s3")
        for bucket in (outputs["data_bucket"], outputs["artifact_bucket"]):
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
            assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
            block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
            assert all(block.values())
            assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        alarms = _client("cloudwatch").describe_alarms(AlarmNamePrefix="lsdemo-it-monitoring")["MetricAlarms"]
        assert {a["MetricName"] for a in alarms} == {"DriftScore", "ModelLatency", "Invocation5XXErrors"}
    finally:
        stack.destroy()
        stack.workspace.remove_stack(config.stack_name)
