"""The stack program per level under Pulumi mocks: which components and resource types exist
(and which must not yet), the security-relevant properties, and zero policy violations."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from mlops_platform.policy.rules import Resource, evaluate
from mlops_stacks.config import StackConfig
from mlops_stacks.offline import run_offline, run_program

from .offline_runs import LEVELS, SERVING_IMAGE, offline

ROOT = Path(__file__).resolve().parents[2]

# Resource types that prove a component is present; a level must have exactly its own.
MARKERS = {
    "CiIdentity": {"aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:ecr/repository:Repository"},
    "Network": {"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/vpcEndpoint:VpcEndpoint"},
    "Storage": {"aws:kms/key:Key", "aws:s3/bucket:Bucket"},
    "Tracking": {
        "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer",
        "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
    },
    "FeatureStore": {"aws:iam/policy:Policy"},
    "Training": {
        "aws:batch/computeEnvironment:ComputeEnvironment",
        "aws:batch/jobQueue:JobQueue",
        "aws:batch/jobDefinition:JobDefinition",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:sfn/stateMachine:StateMachine",
    },
    "Serving": {"aws:ssm/parameter:Parameter"},
    "Monitoring": {
        "aws:sns/topic:Topic",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:cloudwatch/dashboard:Dashboard",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget",
    },
}
EXPECTED_COMPONENTS = {
    0: [],
    1: ["CiIdentity"],
    2: ["CiIdentity", "Network", "Storage", "Tracking", "FeatureStore", "Training"],
    3: ["CiIdentity", "Network", "Storage", "Tracking", "FeatureStore", "Training", "Serving"],
    4: ["CiIdentity", "Network", "Storage", "Tracking", "FeatureStore", "Training", "Serving", "Monitoring"],
}
ENDPOINT_TYPES = {
    "aws:sagemaker/model:Model",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
    "aws:sagemaker/endpoint:Endpoint",
    "aws:appautoscaling/target:Target",
    "aws:appautoscaling/policy:Policy",
}


@pytest.mark.parametrize("level", LEVELS)
def test_each_level_builds_exactly_its_components(level: int) -> None:
    run = offline(level)
    assert run.components == EXPECTED_COMPONENTS[level]
    for component, markers in MARKERS.items():
        present = {r.type for r in run.resources if r.component == component}
        if component in run.components:
            assert markers <= present, component
        else:
            assert not present, component
    assert all(r.component in run.components for r in run.resources)  # nothing outside a component


def test_level_zero_creates_nothing() -> None:
    assert offline(0).resources == []


@pytest.mark.parametrize("level", LEVELS)
def test_no_level_violates_a_policy_rule(level: int) -> None:
    for settings in ({}, {"servingImage": SERVING_IMAGE, "spot": True}):
        run = offline(level, **settings)
        assert evaluate(Resource(r.type, r.name, r.inputs, r.urn, r.refs) for r in run.resources) == []


@pytest.mark.parametrize("level", LEVELS)
def test_endpoint_resources_exist_only_once_a_model_is_configured(level: int) -> None:
    assert not offline(level).types() & ENDPOINT_TYPES
    with_model = offline(level, servingImage=SERVING_IMAGE).types() & ENDPOINT_TYPES
    assert with_model == (ENDPOINT_TYPES if level >= 3 else set())


def test_gpu_training_scales_to_zero_on_gpu_families() -> None:
    run = offline(2)
    (compute,) = run.of_type("aws:batch/computeEnvironment:ComputeEnvironment")
    resources = compute.inputs["computeResources"]
    assert resources["minVcpus"] == 0 and resources["maxVcpus"] == 64
    assert resources["instanceTypes"] == ["g5", "g6"] and resources["type"] == "EC2"
    assert resources["ec2Configurations"] == [{"imageType": "ECS_AL2023_NVIDIA"}]
    subnets = {r.id: r for r in run.of_type("aws:ec2/subnet:Subnet")}
    assert set(resources["subnets"]) == set(subnets)
    assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in subnets.values())
    (template,) = run.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    assert template.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    assert "networkInterfaces" not in template.inputs
    (job,) = run.of_type("aws:batch/jobDefinition:JobDefinition")
    properties = json.loads(job.inputs["containerProperties"])
    assert {"type": "GPU", "value": "1"} in properties["resourceRequirements"]
    assert properties["image"].endswith("/demo-dev:latest")


def test_spot_and_instance_types_come_from_the_stack_config() -> None:
    run = offline(2, spot=True, gpuInstanceTypes="g6e,p4d", maxVcpus=192)
    (compute,) = run.of_type("aws:batch/computeEnvironment:ComputeEnvironment")
    resources = compute.inputs["computeResources"]
    assert resources["type"] == "SPOT" and resources["allocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert resources["instanceTypes"] == ["g6e", "p4d"] and resources["maxVcpus"] == 192


def test_training_state_machine_submits_waits_and_registers() -> None:
    run = offline(2)
    (machine,) = run.of_type("aws:sfn/stateMachine:StateMachine")
    states = json.loads(machine.inputs["definition"])["States"]
    assert states["SubmitTrainingJob"]["Resource"] == "arn:aws:states:::batch:submitJob.sync"
    assert states["SubmitTrainingJob"]["Next"] == "RegisterModel"
    assert states["RegisterModel"]["Parameters"]["ModelPackageGroupName"] == "demo-dev"


def test_network_has_no_internet_path_and_no_public_ingress() -> None:
    run = offline(2)
    assert not run.of_type("aws:ec2/internetGateway:InternetGateway")
    assert not run.of_type("aws:ec2/natGateway:NatGateway")
    services = {r.inputs["serviceName"] for r in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert {
        "com.amazonaws.us-east-1.s3",
        "com.amazonaws.us-east-1.dynamodb",
        "com.amazonaws.us-east-1.ecr.dkr",
        "aws.sagemaker.us-east-1.experiments",
    } <= services
    for group in run.of_type("aws:ec2/securityGroup:SecurityGroup"):
        for rule in group.inputs.get("ingress", []):
            assert rule["cidrBlocks"] == ["10.42.0.0/16"]


def test_buckets_are_encrypted_with_the_project_key_and_tls_only() -> None:
    run = offline(2)
    (key,) = run.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    buckets = run.of_type("aws:s3/bucket:Bucket")
    assert len(buckets) == 2 and all(not b.inputs.get("forceDestroy") for b in buckets)
    for config in run.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        default = config.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
        assert default["sseAlgorithm"] == "aws:kms" and default["kmsMasterKeyId"].startswith("arn:aws:kms:")
    for policy in run.of_type("aws:s3/bucketPolicy:BucketPolicy"):
        (statement,) = json.loads(policy.inputs["policy"])["Statement"]
        assert (
            statement["Effect"] == "Deny" and statement["Condition"]["Bool"]["aws:SecureTransport"] == "false"
        )


def test_ci_identity_is_oidc_only_and_scoped_to_the_repository() -> None:
    run = offline(1)
    assert not run.of_type("aws:iam/accessKey:AccessKey") and not run.of_type("aws:iam/user:User")
    (role,) = run.of_type("aws:iam/role:Role")
    condition = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Condition"]
    assert condition["StringLike"]["token.actions.githubusercontent.com:sub"] == "repo:acme/demo:*"
    (repository,) = run.of_type("aws:ecr/repository:Repository")
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}


def test_feature_store_grants_the_project_tables_and_offline_prefix_only() -> None:
    run = offline(2)
    (policy,) = [p for p in run.of_type("aws:iam/policy:Policy") if p.component == "FeatureStore"]
    statements = {s.get("Sid"): s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["OnlineStore"]["Resource"] == ["arn:aws:dynamodb:us-east-1:123456789012:table/demo.*"]
    assert statements["OfflineStore"]["Resource"][0].endswith("/feature-store/offline/*")


def test_retraining_starts_the_training_state_machine_on_drift() -> None:
    run = offline(4)
    (machine_arn,) = {r.inputs["arn"] for r in run.of_type("aws:cloudwatch/eventTarget:EventTarget")}
    (machine,) = run.of_type("aws:sfn/stateMachine:StateMachine")
    (target,) = run.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert target.refs["arn"] == {machine.urn}
    assert machine_arn.endswith(machine.name)
    (rule,) = run.of_type("aws:cloudwatch/eventRule:EventRule")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}
    (topic,) = run.of_type("aws:sns/topic:Topic")
    assert topic.inputs["kmsMasterKeyId"]
    names = {r.inputs["metricName"] for r in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert names == {"DriftScore", "ModelLatency", "Invocation5XXErrors"}


def test_only_components_builds_the_localstack_subset() -> None:
    run = offline(2, onlyComponents="network,storage,feature_store", interfaceEndpoints="")
    assert run.components == ["Network", "Storage", "FeatureStore"]
    assert {r.inputs["vpcEndpointType"] for r in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")} == {
        "Gateway"
    }


def test_the_plan_can_run_many_times_in_one_process() -> None:
    config = StackConfig.from_mapping(
        {"project": "again", "env": "dev", "level": 2, "ciRepository": "acme/again"}
    )
    first, second = run_offline(config), run_offline(config)
    assert sorted((r.type, r.name) for r in first.resources) == sorted(
        (r.type, r.name) for r in second.resources
    )


def test_the_pulumi_program_reads_its_stack_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """stacks/__main__.py, as `pulumi up` runs it, under mocks with a stack file's values."""
    from pulumi.runtime import config as runtime_config

    values = {
        "mlops:project": "demo",
        "mlops:env": "dev",
        "mlops:level": "3",
        "mlops:ciRepository": "acme/demo",
        "mlops:gpuInstanceTypes": '["g6"]',
        "aws:region": "eu-west-1",
    }
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(values))
    monkeypatch.setattr(runtime_config, "CONFIG", runtime_config.CONFIG)  # restored after the test
    _, mocks, _ = run_program(lambda: runpy.run_path(str(ROOT / "stacks" / "__main__.py")), stack="demo-dev")
    registered = [(typ, inputs) for typ, _, inputs, _ in mocks.registrations]
    (provider,) = [inputs for typ, inputs in registered if typ == "pulumi:providers:aws"]
    assert provider["region"] == "eu-west-1"
    assert json.loads(provider["defaultTags"])["tags"]["mlops:level"] == "3"
    compute = [inputs for typ, inputs in registered if typ.endswith("ComputeEnvironment")]
    assert compute[0]["computeResources"]["instanceTypes"] == ["g6"]
    assert any(typ == "mlops:platform:Serving" for typ, _ in registered)
    assert not any(typ == "mlops:platform:Monitoring" for typ, _ in registered)
