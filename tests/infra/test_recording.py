"""The call recorder and the check that keeps calls.yaml complete (recording.py), on a small
stand-in project whose entry points make real botocore calls (answered by botocore's Stubber)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from .iam.calls import principals
from .iam.recording import assert_calls_covered, recorded_calls, recording_env, uncovered

DEPLOY = """
import boto3
from botocore.stub import Stubber


def deploy(endpoint: str) -> None:
    client = boto3.client(
        "sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_response("describe_endpoint", {
            "EndpointName": endpoint, "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/" + endpoint,
            "EndpointConfigName": endpoint + "-v1", "EndpointStatus": "InService",
            "CreationTime": "2026-01-01", "LastModifiedTime": "2026-01-01"}, {"EndpointName": endpoint})
        client.describe_endpoint(EndpointName=endpoint)
        stub.add_response("delete_endpoint", {}, {"EndpointName": endpoint})
        client.delete_endpoint(EndpointName=endpoint)  # a call no principal is allowed to make
"""


def _project(tmp_path: Path) -> Path:
    package = tmp_path / "src" / "churn_model"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "deploy.py").write_text(textwrap.dedent(DEPLOY))
    return tmp_path


def test_the_recorder_logs_botocore_calls_with_their_entry_point(tmp_path: Path) -> None:
    project = _project(tmp_path)
    log = tmp_path / "calls.jsonl"
    env = {"PATH": "/usr/bin:/bin", **recording_env(log, project / "src")}
    subprocess.run(
        [sys.executable, "-c", "from churn_model.deploy import deploy; deploy('churn-model-dev')"],
        env=env,
        check=True,
        cwd=project,
    )
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["service"], e["operation"]) for e in entries] == [
        ("sagemaker", "DescribeEndpoint"),
        ("sagemaker", "DeleteEndpoint"),
    ]
    assert entries[0]["params"] == {"EndpointName": "churn-model-dev"}
    assert "churn_model.deploy.deploy" in entries[0]["stack"]

    calls, _ = recorded_calls(log)
    assert {(c.principal, c.action) for c in calls} == {
        ("ci-deploy", "sagemaker:DescribeEndpoint"),
        ("ci-deploy", "sagemaker:DeleteEndpoint"),
    }
    missing = uncovered(log, 3)
    assert [c.action for c in missing] == ["sagemaker:DeleteEndpoint"]
    with pytest.raises(AssertionError, match="sagemaker:DeleteEndpoint on arn:aws:sagemaker"):
        assert_calls_covered(log, 3)


def test_a_recording_without_the_variable_records_nothing(tmp_path: Path) -> None:
    project = _project(tmp_path)
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(recording_env("x")["PYTHONPATH"]))}
    subprocess.run([sys.executable, "-c", "import boto3"], env=env, check=True, cwd=project)
    assert not (tmp_path / "x").exists()


def _log(tmp_path: Path, entries: list[dict[str, object]]) -> Path:
    log = tmp_path / "calls.jsonl"
    log.write_text("\n".join(json.dumps(e) for e in entries) + "\n")
    return log


CONTRACT = {
    "kind": "contract",
    "values": {
        "/mlops/churn-model/localstack/artifact-bucket": "churn-model-localstack-artifacts",
        "/mlops/churn-model/localstack/data-bucket": "churn-model-localstack-data",
    },
}


def test_recorded_calls_match_the_listed_ones_through_the_contract_values(tmp_path: Path) -> None:
    stack = ["tests.test_x.test", "churn_model.pipeline.run", "churn_model.storage.upload_file"]
    log = _log(
        tmp_path,
        [
            CONTRACT,
            {
                "kind": "aws",
                "service": "s3",
                "operation": "PutObject",
                "params": {"Bucket": "churn-model-localstack-artifacts", "Key": "models/r1/model.tar.gz"},
                "stack": stack,
            },
            {"kind": "mlflow", "operation": "create_run", "stack": stack},
            # test fixtures seeding LocalStack are nobody's runtime calls
            {
                "kind": "aws",
                "service": "s3",
                "operation": "CreateBucket",
                "params": {"Bucket": "x"},
                "stack": [],
            },
            # devstack builds LocalStack's stand-ins only
            {
                "kind": "aws",
                "service": "sns",
                "operation": "CreateTopic",
                "params": {"Name": "t"},
                "stack": ["churn_model.devstack.up"],
            },
        ],
    )
    assert uncovered(log, 2) == []
    assert_calls_covered(log, 2)
    # The same call from the data bucket is not listed for the training job.
    wrong = _log(
        tmp_path,
        [
            CONTRACT,
            {
                "kind": "aws",
                "service": "s3",
                "operation": "PutObject",
                "params": {"Bucket": "churn-model-localstack-data", "Key": "models/r1/model.tar.gz"},
                "stack": stack,
            },
        ],
    )
    assert [c.action for c in uncovered(wrong, 2)] == ["s3:PutObject"]


def test_update_calls_adds_a_new_call_generalised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from .iam import calls as calls_module
    from .iam import update_calls as updater

    copy = tmp_path / "calls.yaml"
    copy.write_text(calls_module.CALLS_FILE.read_text())
    monkeypatch.setattr(updater, "CALLS_FILE", copy)
    monkeypatch.setattr(calls_module, "CALLS_FILE", copy)

    log = _log(
        tmp_path,
        [
            CONTRACT,
            {
                "kind": "aws",
                "service": "s3",
                "operation": "DeleteObject",
                "params": {"Bucket": "churn-model-localstack-artifacts", "Key": "drift/old/r.json"},
                "stack": ["churn_model.drift.run", "churn_model.storage.delete"],
            },
        ],
    )
    principals.cache_clear()
    try:
        assert updater.main([str(log), "--level", "4"]) == 0
    finally:
        principals.cache_clear()
    added = copy.read_text()
    assert (
        'action: s3:DeleteObject, resource: "arn:aws:s3:::${artifact-bucket}/drift/{path...}", level: 4'
        in added
    )
