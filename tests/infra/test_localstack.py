"""Integration: `pulumi up` and `pulumi destroy` against LocalStack with the Automation API.

Deploys the platform stack (network without interface endpoints, OIDC providers, log bucket)
and, on it, a level-4 project stack with what LocalStack community can host (it has no ECR,
Batch or SageMaker): the storage and feature-store components, read through a StackReference.
Then it reads the result back with boto3 and destroys both stacks.

It needs the Pulumi CLI with the aws plugin and a LocalStack endpoint (see docs/infrastructure.md;
.github/workflows/infra.yml runs it), and skips, saying which is missing, otherwise. It proves
only that these components deploy to LocalStack; it is not the evidence for anything the mock
tests check.
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


def _stack(auto: Any, tmp_path: Path, name: str, program: Any) -> Any:
    backend = (tmp_path / "state").as_uri()
    (tmp_path / "state").mkdir(exist_ok=True)
    return auto.create_or_select_stack(
        stack_name=name,
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


def test_platform_and_project_up_and_destroy_on_localstack(tmp_path: Path) -> None:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    import pulumi
    from pulumi import automation as auto

    from mlops_stacks.config import PlatformConfig, StackConfig
    from mlops_stacks.program import build_stack, make_provider

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
    platform_config = PlatformConfig(env="it", egress="endpoints", interface_endpoints=(), force_destroy=True)
    project_config = StackConfig.from_mapping(
        {
            "project": "lsdemo",
            "env": "it",
            "level": 4,
            "onlyComponents": "storage,feature_store",
            "forceDestroy": True,
        }
    )

    def program(config: Any) -> Any:
        def run() -> None:
            result = build_stack(config, make_provider(config, aws_config))
            for name, value in result.outputs().items():
                pulumi.export(name, value)

        return run

    platform = _stack(auto, tmp_path, platform_config.stack_name, program(platform_config))
    project = _stack(auto, tmp_path, project_config.stack_name, program(project_config))
    try:
        up = platform.up()
        assert up.summary.result == "succeeded"
        platform_outputs = {key: value.value for key, value in up.outputs.items()}
        up = project.up()
        assert up.summary.result == "succeeded"
        outputs = {key: value.value for key, value in up.outputs.items()}

        parameters = _client("ssm").get_parameters_by_path(Path="/mlops/lsdemo/it/", Recursive=True)[
            "Parameters"
        ]
        assert {p["Name"].rsplit("/", 1)[1] for p in parameters} == {
            "data-bucket",
            "artifact-bucket",
            "feature-store-offline-uri",
        }
        s3 = _client("s3")
        for bucket in (outputs["data_bucket"], outputs["artifact_bucket"]):
            rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
            assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
            block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
            assert all(block.values())
            assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
            logging = s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
            assert logging["TargetBucket"] == platform_outputs["access_log_bucket"]
        ec2 = _client("ec2")
        (vpc_id,) = [platform_outputs["vpc_id"]]
        assert ec2.describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
    finally:
        project.destroy()
        project.workspace.remove_stack(project_config.stack_name)
        platform.destroy()
        platform.workspace.remove_stack(platform_config.stack_name)
