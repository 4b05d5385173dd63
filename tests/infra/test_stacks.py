"""The stack programs under Pulumi mocks: the platform stack, and each level's project stack on
it (which components and resource types exist, and which must not yet), the security-relevant
properties, and zero policy violations everywhere."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest

from mlops_platform.errors import InvalidArgsError
from mlops_platform.policy.rules import evaluate
from mlops_stacks.config import PlatformConfig, StackConfig, StackConfigError
from mlops_stacks.offline import PLATFORM_OUTPUTS, run_offline, run_program

from .offline_runs import LEVELS, SERVING_IMAGE, ci_variables, named, offline, platform, policy_resources

ROOT = Path(__file__).resolve().parents[2]

# Resource types that prove a component is present; a level must have exactly its own.
MARKERS = {
    "CiIdentity": {"aws:iam/role:Role", "aws:ecr/repository:Repository"},
    "Storage": {"aws:kms/key:Key", "aws:s3/bucket:Bucket", "aws:s3/bucketLogging:BucketLogging"},
    "Tracking": {"aws:sagemaker/mlflowApp:MlflowApp", "aws:sagemaker/modelPackageGroup:ModelPackageGroup"},
    "FeatureStore": {"aws:iam/policy:Policy"},
    "Training": {
        "aws:batch/computeEnvironment:ComputeEnvironment",
        "aws:batch/jobQueue:JobQueue",
        "aws:batch/jobDefinition:JobDefinition",
        "aws:ec2/launchTemplate:LaunchTemplate",
        "aws:sfn/stateMachine:StateMachine",
    },
    "Serving": {
        "aws:ssm/parameter:Parameter",
        "aws:ecr/repository:Repository",
        "aws:iam/rolePolicy:RolePolicy",
    },
    "Monitoring": {
        "aws:sns/topic:Topic",
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:cloudwatch/dashboard:Dashboard",
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget",
        "aws:batch/jobDefinition:JobDefinition",
    },
}
EXPECTED_COMPONENTS = {
    0: [],
    1: [],
    2: ["CiIdentity", "Storage", "Tracking", "FeatureStore", "Training"],
    3: ["CiIdentity", "Storage", "Tracking", "FeatureStore", "Training", "Serving"],
    4: ["CiIdentity", "Storage", "Tracking", "FeatureStore", "Training", "Serving", "Monitoring"],
}
ENDPOINT_TYPES = {
    "aws:sagemaker/model:Model",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
    "aws:sagemaker/endpoint:Endpoint",
}
PER_ACCOUNT = {
    "aws:ec2/vpc:Vpc",
    "aws:ec2/subnet:Subnet",
    "aws:ec2/vpcEndpoint:VpcEndpoint",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
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


@pytest.mark.parametrize("level", [0, 1])
def test_levels_without_cloud_use_create_nothing_and_read_no_platform(level: int) -> None:
    """Level 0 runs on a laptop, level 1 adds CI that lints, tests and builds the training image
    without AWS credentials: neither needs a role, a repository or the platform stack."""
    run = offline(level)
    assert run.resources == [] and run.result.platform is None
    assert "ci_variables" not in run.result.outputs()


def test_the_platform_stack_holds_what_an_account_and_environment_share() -> None:
    run = platform()
    assert run.components == ["Network", "CiOidc", "AccessLogs"]
    assert run.types() >= PER_ACCOUNT
    providers = {r.inputs["url"] for r in run.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")}
    assert providers == {"https://token.actions.githubusercontent.com", "https://gitlab.com"}
    assert len(run.of_type("aws:ec2/vpc:Vpc")) == 1
    outputs = run.result.outputs()
    assert set(PLATFORM_OUTPUTS) <= set(outputs), "the mocks answer what the platform really exports"


@pytest.mark.parametrize("level", LEVELS)
def test_project_stacks_create_nothing_that_is_per_account(level: int) -> None:
    """A second project in the same account must not collide (one OIDC provider per issuer,
    5 VPCs per region): those live in the platform stack only."""
    assert not offline(level).types() & PER_ACCOUNT


@pytest.mark.parametrize("level", [2, 3, 4])
def test_project_stacks_read_the_platform_through_a_stack_reference(level: int) -> None:
    run = offline(level)
    assert run.result.platform is not None
    assert run.result.platform.source == "stack:organization/mlops-platform/platform-dev"
    (role,) = [r for r in run.of_type("aws:iam/role:Role") if r.component == "CiIdentity"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Federated": PLATFORM_OUTPUTS["github_oidc_provider_arn"]}
    compute = named(run, "aws:batch/computeEnvironment:ComputeEnvironment", "-training-gpu")
    assert compute.inputs["computeResources"]["subnets"] == PLATFORM_OUTPUTS["private_subnet_ids"]
    # multi-node hosts: one subnet, so one Availability Zone, as their cluster placement group needs
    nodes = named(run, "aws:batch/computeEnvironment:ComputeEnvironment", "-training-nodes")
    assert nodes.inputs["computeResources"]["subnets"] == PLATFORM_OUTPUTS["private_subnet_ids"][:1]
    logging = run.of_type("aws:s3/bucketLogging:BucketLogging")
    assert {r.inputs["targetBucket"] for r in logging} == {PLATFORM_OUTPUTS["access_log_bucket"]}


def test_a_platform_not_managed_by_pulumi_is_given_as_plain_ids() -> None:
    ids = {
        "vpcId": "vpc-0abc",
        "subnetIds": "subnet-1,subnet-2",
        "securityGroupId": "sg-1",
        "oidcProviderArn": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com",
        "accessLogBucket": "corp-logs",
    }
    run = offline(2, **ids)
    assert run.result.platform is not None and run.result.platform.source == "config"
    assert not any(r.type.startswith("pulumi:") for r in run.resources)
    compute = named(run, "aws:batch/computeEnvironment:ComputeEnvironment", "-training-gpu")
    assert compute.inputs["computeResources"]["subnets"] == ["subnet-1", "subnet-2"]
    partial = {k: v for k, v in ids.items() if k != "accessLogBucket"}
    with pytest.raises(StackConfigError, match="mlops:accessLogBucket"):
        offline(2, **partial)


@pytest.mark.parametrize("level", LEVELS)
def test_no_level_violates_a_policy_rule(level: int) -> None:
    for settings in (
        {},
        {"framework": "sklearn"},
        {"multiNodeInstanceType": "p4d.24xlarge", "maxVcpus": 192},
        {"servingImage": SERVING_IMAGE, "spot": True},
        {"servingImage": SERVING_IMAGE, "env": "prod"},
        {"mlflow": "server"},
    ):
        assert evaluate(policy_resources(offline(level, **settings))) == [], settings


@pytest.mark.parametrize(
    "settings", [{}, {"egress": "endpoints"}, {"githubOidcProvider": "lookup", "azCount": 3}]
)
def test_the_platform_violates_no_policy_rule(settings: dict[str, object]) -> None:
    assert evaluate(policy_resources(platform(**settings))) == []


@pytest.mark.parametrize("level", LEVELS)
def test_endpoint_resources_exist_only_once_a_model_is_configured(level: int) -> None:
    assert not offline(level).types() & ENDPOINT_TYPES
    with_model = offline(level, servingImage=SERVING_IMAGE).types() & ENDPOINT_TYPES
    assert with_model == (ENDPOINT_TYPES if level >= 3 else set())


def test_gpu_training_scales_to_zero_on_gpu_families() -> None:
    run = offline(2)
    compute = named(run, "aws:batch/computeEnvironment:ComputeEnvironment", "-training-gpu")
    resources = compute.inputs["computeResources"]
    assert resources["minVcpus"] == 0 and resources["maxVcpus"] == 64
    assert resources["instanceTypes"] == ["g5", "g6"] and resources["type"] == "EC2"
    assert resources["ec2Configurations"] == [{"imageType": "ECS_AL2023_NVIDIA"}]
    template = named(run, "aws:ec2/launchTemplate:LaunchTemplate", "-training-hosts")
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    assert template.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    assert "networkInterfaces" not in template.inputs
    job = named(run, "aws:batch/jobDefinition:JobDefinition", "-training-job")
    properties = json.loads(job.inputs["containerProperties"])
    assert {"type": "GPU", "value": "1"} in properties["resourceRequirements"]
    assert properties["image"].endswith("/demo-dev-training:3f2a1c0")


def test_scikit_learn_trains_on_fargate_cpus_and_asks_for_no_gpu() -> None:
    """Issue 17, item 5: CPU work on CPUs. No GPU host, launch template or multi-node job."""
    run = offline(2, framework="sklearn")
    (compute,) = run.of_type("aws:batch/computeEnvironment:ComputeEnvironment")
    assert compute.inputs["computeResources"]["type"] == "FARGATE"
    assert "instanceTypes" not in compute.inputs["computeResources"]
    assert not run.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert not run.of_type("aws:ec2/placementGroup:PlacementGroup")
    (job,) = run.of_type("aws:batch/jobDefinition:JobDefinition")
    assert job.inputs["platformCapabilities"] == ["FARGATE"]
    properties = json.loads(job.inputs["containerProperties"])
    assert {r["type"] for r in properties["resourceRequirements"]} == {"VCPU", "MEMORY"}
    assert properties["networkConfiguration"] == {"assignPublicIp": "DISABLED"}
    execution = [
        r for r in run.of_type("aws:iam/role:Role") if r.outputs["arn"] == properties["executionRoleArn"]
    ]
    assert [r.inputs["tags"]["mlops:principal"] for r in execution] == ["training-execution"]
    names = {r.inputs["name"].rsplit("/", 1)[1] for r in run.of_type("aws:ssm/parameter:Parameter")}
    assert "training-job-queue" in names and not {n for n in names if "multinode" in n}


def test_pytorch_multi_node_jobs_run_torchrun_on_every_node_of_a_cluster_placement_group() -> None:
    run = offline(2, spot=True)
    (definition,) = [
        r for r in run.of_type("aws:batch/jobDefinition:JobDefinition") if r.inputs["type"] == "multinode"
    ]
    nodes = json.loads(definition.inputs["nodeProperties"])
    assert (nodes["numNodes"], nodes["mainNode"]) == (2, 0)
    (every_node,) = nodes["nodeRangeProperties"]
    container = every_node["container"]
    assert every_node["targetNodes"] == "0:" and container["instanceType"] == "g5.xlarge"
    assert container["image"].endswith("/demo-dev-training:3f2a1c0")
    assert container["command"] == ["python", "-m", "demo.launch", "pipeline", "run", "--env", "dev"]
    assert {"type": "GPU", "value": "1"} in container["resourceRequirements"]
    assert "linuxParameters" not in container, "g5.xlarge has no EFA"
    # A lost host (a Spot reclaim, an instance failure) is retried; the job's own failure is not.
    retry = definition.inputs["retryStrategy"]
    assert retry["attempts"] == 3
    assert retry["evaluateOnExits"] == [
        {"onStatusReason": "Host EC2*", "action": "RETRY"},
        {"onReason": "*", "action": "EXIT"},
    ]
    single = named(run, "aws:batch/jobDefinition:JobDefinition", "-training-job")
    assert single.inputs["retryStrategy"] == retry

    placement = named(run, "aws:ec2/placementGroup:PlacementGroup", "-training-nodes")
    assert placement.inputs["strategy"] == "cluster"
    compute = named(run, "aws:batch/computeEnvironment:ComputeEnvironment", "-training-nodes")
    resources = compute.inputs["computeResources"]
    assert resources["type"] == "EC2", "multi-node jobs do not run on Spot, whatever mlops:spot says"
    assert resources["placementGroup"] == placement.outputs["name"]
    assert resources["instanceTypes"] == ["g5.xlarge"] and resources["minVcpus"] == 0
    nodes_sg = named(run, "aws:ec2/securityGroup:SecurityGroup", "-training-nodes")
    assert resources["securityGroupIds"] == [PLATFORM_OUTPUTS["workload_security_group_id"], nodes_sg.id]
    # The nodes reach each other, on every port, and nothing else reaches them that way.
    (ingress,) = run.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert ingress.inputs["securityGroupId"] == ingress.inputs["referencedSecurityGroupId"] == nodes_sg.id
    assert "cidrIpv4" not in ingress.inputs and "cidrIpv6" not in ingress.inputs
    (egress,) = run.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert egress.inputs["referencedSecurityGroupId"] == nodes_sg.id
    assert "ingress" not in nodes_sg.inputs or nodes_sg.inputs["ingress"] == []
    template = named(run, "aws:ec2/launchTemplate:LaunchTemplate", "-training-nodes")
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    assert "networkInterfaces" not in template.inputs


def test_efa_is_on_for_instance_types_that_have_it() -> None:
    run = offline(2, multiNodeInstanceType="p4d.24xlarge", maxVcpus=192)
    nodes_sg = named(run, "aws:ec2/securityGroup:SecurityGroup", "-training-nodes")
    template = named(run, "aws:ec2/launchTemplate:LaunchTemplate", "-training-nodes")
    interfaces = template.inputs["networkInterfaces"]
    assert [(i["networkCardIndex"], i["interfaceType"]) for i in interfaces] == [(c, "efa") for c in range(4)]
    groups = [PLATFORM_OUTPUTS["workload_security_group_id"], nodes_sg.id]
    assert all(i["securityGroups"] == groups for i in interfaces)
    (definition,) = [
        r for r in run.of_type("aws:batch/jobDefinition:JobDefinition") if r.inputs["type"] == "multinode"
    ]
    container = json.loads(definition.inputs["nodeProperties"])["nodeRangeProperties"][0]["container"]
    devices = container["linuxParameters"]["devices"]
    assert [d["hostPath"] for d in devices] == [f"/dev/infiniband/uverbs{c}" for c in range(4)]
    assert {"type": "GPU", "value": "8"} in container["resourceRequirements"]
    with pytest.raises(InvalidArgsError, match=r"TrainingArgs\.max_vcpus"):
        offline(2, multiNodeInstanceType="p4d.24xlarge")  # 2 x 96 vCPUs > the default 64


def test_spot_and_instance_types_come_from_the_stack_config() -> None:
    run = offline(2, spot=True, gpuInstanceTypes="g6e,p4d", maxVcpus=192)
    compute = named(run, "aws:batch/computeEnvironment:ComputeEnvironment", "-training-gpu")
    resources = compute.inputs["computeResources"]
    assert resources["type"] == "SPOT" and resources["allocationStrategy"] == "SPOT_PRICE_CAPACITY_OPTIMIZED"
    assert resources["instanceTypes"] == ["g6e", "p4d"] and resources["maxVcpus"] == 192


def test_training_state_machine_submits_waits_registers_and_logs() -> None:
    run = offline(2)
    (machine,) = run.of_type("aws:sfn/stateMachine:StateMachine")
    states = json.loads(machine.inputs["definition"])["States"]
    assert states["SubmitTrainingJob"]["Resource"] == "arn:aws:states:::batch:submitJob.sync"
    assert states["SubmitTrainingJob"]["Next"] == "RegisterModel"
    assert states["RegisterModel"]["Parameters"]["ModelPackageGroupName"] == "demo-dev"
    assert machine.inputs["name"] == "demo-dev-training"
    assert machine.inputs["loggingConfiguration"]["level"] == "ALL"


def test_the_platform_network_has_no_internet_path_and_only_the_runtime_endpoints() -> None:
    run = platform(egress="endpoints")
    assert not run.of_type("aws:ec2/internetGateway:InternetGateway")
    assert not run.of_type("aws:ec2/natGateway:NatGateway")
    endpoints = run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    services = {r.inputs["serviceName"] for r in endpoints}
    assert {
        "com.amazonaws.us-east-1.s3",
        "com.amazonaws.us-east-1.dynamodb",
        "com.amazonaws.us-east-1.ecr.dkr",
        "com.amazonaws.us-east-1.monitoring",
        "com.amazonaws.us-east-1.states",
        "aws.sagemaker.us-east-1.experiments",
    } <= services
    assert "com.amazonaws.us-east-1.sagemaker.api" not in services  # nothing in the VPC calls it
    interface = [r for r in endpoints if r.inputs["vpcEndpointType"] == "Interface"]
    assert interface and all(len(r.inputs["subnetIds"]) == 1 for r in interface), "one AZ by default"
    for group in run.of_type("aws:ec2/securityGroup:SecurityGroup"):
        for rule in group.inputs.get("ingress", []):
            assert rule["cidrBlocks"] == ["10.42.0.0/16"]


def test_the_nat_default_replaces_the_interface_endpoints() -> None:
    """NAT by default: the projects' default MLflow App has no VPC endpoint (network.MLFLOW_APP_HOST)."""
    run = platform()
    assert run.config.egress == "nat"
    assert len(run.of_type("aws:ec2/natGateway:NatGateway")) == 1
    assert {r.inputs["vpcEndpointType"] for r in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")} == {
        "Gateway"
    }
    (public,) = [r for r in run.of_type("aws:ec2/subnet:Subnet") if r.name.endswith("-public")]
    assert public.inputs["mapPublicIpOnLaunch"] is False


def test_buckets_are_encrypted_with_the_project_key_logged_and_tls_only() -> None:
    run = offline(2)
    (key,) = run.of_type("aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True and json.loads(key.inputs["policy"])["Statement"]
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
    prefixes = {r.inputs["targetPrefix"] for r in run.of_type("aws:s3/bucketLogging:BucketLogging")}
    assert prefixes == {"s3-access/demo/dev/data/", "s3-access/demo/dev/artifacts/"}


def test_ci_identity_is_oidc_only() -> None:
    run = offline(2)
    assert not run.of_type("aws:iam/accessKey:AccessKey") and not run.of_type("aws:iam/user:User")
    (repository,) = [r for r in run.of_type("aws:ecr/repository:Repository") if r.component == "CiIdentity"]
    assert repository.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repository.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    assert repository.inputs["name"] == "demo-dev-training"


def test_feature_store_grants_the_project_tables_and_offline_prefix_only() -> None:
    run = offline(2)
    (policy,) = [p for p in run.of_type("aws:iam/policy:Policy") if p.component == "FeatureStore"]
    statements = {s.get("Sid"): s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["OnlineStore"]["Resource"] == ["arn:aws:dynamodb:us-east-1:123456789012:table/demo.*"]
    assert statements["OfflineStore"]["Resource"][0].endswith("/feature-store/offline/*")


def test_retraining_starts_the_training_state_machine_on_drift_and_the_drift_job_runs_daily() -> None:
    run = offline(4)
    (machine,) = run.of_type("aws:sfn/stateMachine:StateMachine")
    targets = {r.name: r for r in run.of_type("aws:cloudwatch/eventTarget:EventTarget")}
    retrain = targets["demo-dev-monitoring-retrain-target"]
    assert retrain.refs["arn"] == {machine.urn}
    rules = {r.inputs["name"]: r for r in run.of_type("aws:cloudwatch/eventRule:EventRule")}
    pattern = json.loads(rules["demo-dev-retrain-on-drift"].inputs["eventPattern"])
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}
    assert rules["demo-dev-drift-schedule"].inputs["scheduleExpression"] == "rate(1 day)"
    drift = targets["demo-dev-monitoring-drift-target"]
    assert drift.inputs["batchTarget"]["jobName"] == "demo-dev-drift"
    (definition,) = [
        r for r in run.of_type("aws:batch/jobDefinition:JobDefinition") if r.component == "Monitoring"
    ]
    properties = json.loads(definition.inputs["containerProperties"])
    assert properties["command"][-1] == (
        "python -m demo.drift --env dev && python -m demo.retrain check --env dev"
    )
    assert properties["image"].endswith("/demo-dev-training:3f2a1c0")
    assert properties["networkConfiguration"] == {"assignPublicIp": "DISABLED"}
    names = {r.inputs["metricName"] for r in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert names == {"DriftScore", "ModelLatency", "Invocation5XXErrors"}


def test_only_components_builds_the_localstack_subset() -> None:
    run = offline(2, onlyComponents="storage,feature_store")
    assert run.components == ["Storage", "FeatureStore"]
    assert run.result.platform is not None and run.result.platform.source.startswith("stack:")


def test_the_plan_can_run_many_times_in_one_process() -> None:
    config = StackConfig.from_mapping(
        {
            "project": "again",
            "env": "dev",
            "level": 2,
            "ciRepository": "acme/again",
            "trainingImageTag": "a1",
            "framework": "pytorch",
        }
    )
    first, second = run_offline(config), run_offline(config)
    assert sorted((r.type, r.name) for r in first.resources) == sorted(
        (r.type, r.name) for r in second.resources
    )
    assert run_offline(PlatformConfig(env="again")).components == ["Network", "CiOidc", "AccessLogs"]


def _run_main(monkeypatch: pytest.MonkeyPatch, values: dict[str, str], stack: str) -> list[tuple[str, dict]]:
    """stacks/__main__.py, as `pulumi up` runs it, under mocks with a stack file's values."""
    from pulumi.runtime import config as runtime_config

    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(values))
    monkeypatch.setattr(runtime_config, "CONFIG", runtime_config.CONFIG)  # restored after the test
    _, mocks, _ = run_program(lambda: runpy.run_path(str(ROOT / "stacks" / "__main__.py")), stack=stack)
    return [(typ, inputs) for typ, _, inputs, _ in mocks.registrations]


def test_the_pulumi_program_reads_a_project_stack_config(monkeypatch: pytest.MonkeyPatch) -> None:
    registered = _run_main(
        monkeypatch,
        {
            "mlops:project": "demo",
            "mlops:env": "dev",
            "mlops:level": "3",
            "mlops:ciRepository": "acme/demo",
            "mlops:trainingImageTag": "3f2a1c0",
            "mlops:framework": "pytorch",
            "mlops:gpuInstanceTypes": '["g6"]',
            "aws:region": "eu-west-1",
        },
        "demo-dev",
    )
    (provider,) = [inputs for typ, inputs in registered if typ == "pulumi:providers:aws"]
    assert provider["region"] == "eu-west-1"
    assert json.loads(provider["defaultTags"])["tags"]["mlops:level"] == "3"
    compute = [inputs for typ, inputs in registered if typ.endswith("ComputeEnvironment")]
    assert compute[0]["computeResources"]["instanceTypes"] == ["g6"]
    assert any(typ == "mlops:platform:Serving" for typ, _ in registered)
    assert not any(typ == "mlops:platform:Monitoring" for typ, _ in registered)
    (reference,) = [inputs for typ, inputs in registered if typ == "pulumi:pulumi:StackReference"]
    assert reference["name"].endswith("/mlops-platform/platform-dev")


def test_the_pulumi_program_reads_a_platform_stack_config(monkeypatch: pytest.MonkeyPatch) -> None:
    registered = _run_main(
        monkeypatch, {"mlops:tier": "platform", "mlops:env": "dev", "mlops:egress": "nat"}, "platform-dev"
    )
    (provider,) = [inputs for typ, inputs in registered if typ == "pulumi:providers:aws"]
    assert json.loads(provider["defaultTags"])["tags"]["mlops:tier"] == "platform"
    assert any(typ == "aws:ec2/natGateway:NatGateway" for typ, _ in registered)
    assert not any(typ.startswith("mlops:platform:Training") for typ, _ in registered)


def test_every_policy_exception_is_documented() -> None:
    from mlops_platform.policy.rules import exceptions

    docs = (ROOT / "docs" / "infrastructure.md").read_text(encoding="utf-8")
    runs = [platform(), platform(egress="endpoints")] + [
        offline(level, **settings)
        for level in LEVELS
        for settings in ({}, {"servingImage": SERVING_IMAGE}, {"servingImage": SERVING_IMAGE, "env": "prod"})
    ]
    found = {(e.rule, e.reason) for run in runs for e in exceptions(policy_resources(run))}
    assert len(found) == 5
    for rule, reason in found:
        assert f"| `{rule}` |" in docs and reason in docs, (rule, reason)


@pytest.mark.parametrize(
    ("level", "vendor", "expected"),
    [
        (1, "github", set()),
        (1, "gitlab", set()),
        (2, "github", {"AWS_DEPLOY_ROLE_ARN", "ECR_TRAINING_REPOSITORY"}),
        (2, "gitlab", {"AWS_DEPLOY_ROLE_ARN", "ECR_TRAINING_REPOSITORY"}),
        (3, "github", {"AWS_DEPLOY_ROLE_ARN", "ECR_TRAINING_REPOSITORY", "ECR_REPOSITORY"}),
        (4, "gitlab", {"AWS_DEPLOY_ROLE_ARN", "ECR_TRAINING_REPOSITORY", "ECR_REPOSITORY"}),
    ],
)
def test_ci_variables_name_each_repository_ci_pushes_to(level: int, vendor: str, expected: set[str]) -> None:
    """From the level that trains on AWS, CI assumes this environment's role and publishes the
    training image to its training repository; level 1's CI holds no AWS credentials. GitHub
    workflows read repository names, GitLab pipelines their URIs."""
    variables = ci_variables(level, ciVendor=vendor, ciRepository="acme/demo")
    assert set(variables) == expected
    if expected:
        assert variables["AWS_DEPLOY_ROLE_ARN"].startswith("arn:aws:iam::123456789012:role/")
    registry = "123456789012.dkr.ecr.us-east-1.amazonaws.com/" if vendor == "gitlab" else ""
    if "ECR_TRAINING_REPOSITORY" in expected:
        assert variables["ECR_TRAINING_REPOSITORY"] == f"{registry}demo-dev-training"
    if "ECR_REPOSITORY" in expected:
        assert variables["ECR_REPOSITORY"] == f"{registry}demo-dev"
