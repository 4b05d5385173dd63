"""Components under ``pulumi.runtime.set_mocks``: outputs, children and validation.

Each resource test is a ``@pulumi.runtime.test`` that returns an Output, so assertions inside
``apply`` run (and fail) before the test ends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

pulumi = pytest.importorskip("pulumi")

from mlops_platform.ci_identity import CiIdentity, CiIdentityArgs, CiOidc, CiOidcArgs  # noqa: E402
from mlops_platform.common import Scope  # noqa: E402
from mlops_platform.errors import InvalidArgsError  # noqa: E402
from mlops_platform.monitoring import MonitoringArgs  # noqa: E402
from mlops_platform.network import NetworkArgs  # noqa: E402
from mlops_platform.serving import Serving, ServingArgs  # noqa: E402
from mlops_platform.storage import Storage, StorageArgs  # noqa: E402
from mlops_platform.tracking import TrackingArgs  # noqa: E402
from mlops_platform.training import TrainingArgs  # noqa: E402
from mlops_stacks.offline import RecordingMocks, use_mocks  # noqa: E402

SCOPE = Scope(project="demo", env="dev", account_id="123456789012", region="us-east-1")


@pytest.fixture(autouse=True)
def mocks() -> Iterator[RecordingMocks]:
    recording, _ = use_mocks(stack="demo-dev")
    yield recording


def _created(mocks: RecordingMocks, type_suffix: str) -> list[tuple[str, dict[str, Any]]]:
    return [(name, inputs) for typ, name, inputs, _ in mocks.registrations if typ.endswith(type_suffix)]


@pulumi.runtime.test
def test_storage_buckets_are_private_encrypted_and_published() -> pulumi.Output[Any]:
    storage = Storage("demo-dev-store", StorageArgs(scope=SCOPE, access_log_bucket="logs"))

    def check(values: list[Any]) -> None:
        data_bucket, artifact_bucket = values
        assert data_bucket == "demo-dev-store-data" and artifact_bucket == "demo-dev-store-artifacts"

    return pulumi.Output.all(storage.data_bucket_name, storage.artifact_bucket_name).apply(check)


def test_storage_children_are_named_after_the_component(mocks: RecordingMocks) -> None:
    # The decorated program returns once every registration has finished; then the recording
    # holds all children and is checked as a whole.
    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        return Storage("acme-store", StorageArgs(scope=SCOPE, access_log_bucket="logs")).kms_key_arn

    program()
    names = [name for _, name, _, _ in mocks.registrations]
    assert names[0] == "acme-store" and all(name.startswith("acme-store") for name in names)
    ((_, key),) = _created(mocks, ":Key")
    assert (
        key["enableKeyRotation"] is True
        and json.loads(key["policy"])["Statement"][0]["Sid"] == "EnableIamPolicies"
    )
    assert {inputs["targetBucket"] for _, inputs in _created(mocks, "bucketLogging:BucketLogging")} == {
        "logs"
    }
    params = {
        inputs["name"]: inputs["insecureValue"] for _, inputs in _created(mocks, "ssm/parameter:Parameter")
    }
    assert params == {
        "/mlops/demo/dev/data-bucket": "acme-store-data",
        "/mlops/demo/dev/artifact-bucket": "acme-store-artifacts",
    }
    # Training checkpoints expire in the artifacts bucket only (the job role cannot delete them).
    expiring = {
        name: [(r["filter"]["prefix"], r["expiration"]["days"]) for r in inputs["rules"] if "expiration" in r]
        for name, inputs in _created(mocks, "bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    }
    assert expiring == {
        "acme-store-data-lifecycle": [],
        "acme-store-artifacts-lifecycle": [("checkpoints/", 30)],
    }


@pulumi.runtime.test
def test_ci_role_trusts_one_subject_through_the_platform_provider(
    mocks: RecordingMocks,
) -> pulumi.Output[Any]:
    provider = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    ci = CiIdentity(
        "demo-dev-ci",
        CiIdentityArgs(
            scope=SCOPE,
            repository="acme/demo",
            subject="repo:acme/demo:environment:dev",
            provider_arn=provider,
        ),
    )

    def check(_: Any) -> None:
        ((_, role),) = _created(mocks, "iam/role:Role")
        trust = json.loads(role["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Federated": provider}
        assert trust["Condition"]["StringEquals"]["token.actions.githubusercontent.com:sub"] == (
            "repo:acme/demo:environment:dev"
        )
        ((_, repo),) = _created(mocks, "ecr/repository:Repository")
        assert repo["imageTagMutability"] == "IMMUTABLE" and repo["imageScanningConfiguration"]["scanOnPush"]
        assert repo["encryptionConfigurations"] == [{"encryptionType": "KMS"}]
        assert _created(mocks, "openIdConnectProvider:OpenIdConnectProvider") == []

    return ci.deploy_role_arn.apply(check)


def test_the_platform_creates_looks_up_or_takes_the_oidc_providers(mocks: RecordingMocks) -> None:
    given = "arn:aws:iam::123456789012:oidc-provider/gitlab.com"

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        oidc = CiOidc("platform-dev-oidc", CiOidcArgs(scope=SCOPE, github="lookup", gitlab=given))
        return pulumi.Output.all(*oidc.provider_arns.values())

    program()
    assert _created(mocks, "openIdConnectProvider:OpenIdConnectProvider") == []
    with pytest.raises(InvalidArgsError, match=r"^CiOidcArgs\.github"):
        CiOidcArgs(scope=SCOPE, github="maybe")


def _serving_args(**overrides: Any) -> ServingArgs:
    values: dict[str, Any] = {
        "scope": SCOPE,
        "kms_key_arn": "arn:kms",
        "artifact_bucket_name": "artifacts",
        "artifact_bucket_arn": "arn:aws:s3:::artifacts",
        "deploy_role": "deploy-role",
    }
    return ServingArgs(**(values | overrides))


def _build_serving(args: ServingArgs) -> Serving:
    built: list[Serving] = []

    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        built.append(Serving("demo-dev-serving", args))
        return pulumi.Output.from_input(built[0].endpoint_name)

    program()
    return built[0]


def test_serving_without_a_model_creates_no_endpoint_but_publishes_its_name(mocks: RecordingMocks) -> None:
    serving = _build_serving(_serving_args())
    types = {typ for typ, _, _, _ in mocks.registrations}
    assert not any(t.startswith(("aws:sagemaker/", "aws:appautoscaling/")) for t in types)
    ((_, param),) = _created(mocks, "ssm/parameter:Parameter")
    assert (param["name"], param["insecureValue"]) == ("/mlops/demo/dev/serving-endpoint-name", "demo-dev")
    assert serving.endpoint_created is False
    # the role and the deploy rights exist already, so CI can deploy once the endpoint exists
    assert {name for name, _ in _created(mocks, "iam/rolePolicy:RolePolicy")} == {
        "demo-dev-serving-policy",
        "demo-dev-serving-deploy-policy",
    }


def test_a_provisioned_endpoint_runs_in_the_vpc_with_capture_kms_and_autoscaling(
    mocks: RecordingMocks,
) -> None:
    serving = _build_serving(
        _serving_args(
            image="1.dkr.ecr.us-east-1.amazonaws.com/demo:1",
            model_data_url="s3://artifacts/models/r1/model.tar.gz",
            mode="provisioned",
            subnet_ids=["subnet-1"],
            security_group_id="sg-1",
        )
    )
    ((_, endpoint),) = _created(mocks, "sagemaker/endpoint:Endpoint")
    assert endpoint["name"] == serving.endpoint_name == "demo-dev"
    ((_, model),) = _created(mocks, "sagemaker/model:Model")
    assert model["enableNetworkIsolation"] is True and model["vpcConfig"]["subnets"] == ["subnet-1"]
    ((_, config),) = _created(mocks, "endpointConfiguration:EndpointConfiguration")
    assert config["kmsKeyArn"] == "arn:kms"
    capture = config["dataCaptureConfig"]
    assert capture["enableCapture"] is True and capture["destinationS3Uri"] == "s3://artifacts/data-capture"
    ((_, target),) = _created(mocks, "appautoscaling/target:Target")
    assert target["resourceId"] == "endpoint/demo-dev/variant/AllTraffic"
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 2)
    assert len(_created(mocks, "appautoscaling/policy:Policy")) == 1


def test_a_serverless_endpoint_costs_nothing_idle_and_records_its_exceptions(mocks: RecordingMocks) -> None:
    _build_serving(
        _serving_args(
            image="1.dkr.ecr.us-east-1.amazonaws.com/demo:1",
            model_data_url="s3://artifacts/models/r1/model.tar.gz",
            app_capture=True,
        )
    )
    ((_, config),) = _created(mocks, "endpointConfiguration:EndpointConfiguration")
    assert config["productionVariants"][0]["serverlessConfig"] == {
        "maxConcurrency": 5,
        "memorySizeInMb": 2048,
    }
    assert "kmsKeyArn" not in config and "dataCaptureConfig" not in config
    assert "mlops:policy-exception:sagemaker-endpoint-config-kms" in config["tags"]
    ((_, model),) = _created(mocks, "sagemaker/model:Model")
    assert "vpcConfig" not in model and model["enableNetworkIsolation"] is False
    assert not _created(mocks, "appautoscaling/target:Target")
    # The app loads only what SageMaker unpacks from ModelDataUrl, and captures without SSM.
    assert model["primaryContainer"]["modelDataUrl"] == "s3://artifacts/models/r1/model.tar.gz"
    assert model["primaryContainer"]["environment"] == {
        "MLOPS_PROJECT": "demo",
        "MLOPS_ENV": "dev",
        "MLOPS_MODEL_DIR": "/opt/ml/model",
        "MLOPS_ARTIFACT_BUCKET": "artifacts",
    }


def _monitoring_args(**overrides: Any) -> MonitoringArgs:
    values: dict[str, Any] = {
        "scope": SCOPE,
        "package_name": "demo",
        "state_machine_arn": "arn",
        "endpoint_name": "e",
        "training_image": "r/x:1",
        "training_repository_arn": "arn:ecr",
        "subnet_ids": ["s"],
        "security_group_id": "sg",
        "artifact_bucket_arn": "arn:aws:s3:::a",
        "kms_key_arn": "k",
    }
    return MonitoringArgs(**(values | overrides))


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (
            lambda: NetworkArgs(scope=SCOPE, flow_log_bucket_arn="b", vpc_cidr="10.0.0.0/33"),
            "NetworkArgs.vpc_cidr",
        ),
        (
            lambda: NetworkArgs(scope=SCOPE, flow_log_bucket_arn="b", interface_endpoints=("ecr api",)),
            "NetworkArgs.interface_endpoints",
        ),
        (
            lambda: NetworkArgs(scope=SCOPE, flow_log_bucket_arn="b", endpoint_az_count=3),
            "NetworkArgs.endpoint_az_count",
        ),
        (
            lambda: StorageArgs(scope=SCOPE, access_log_bucket="l", key_deletion_window_days=3),
            "StorageArgs.key_deletion_window_days",
        ),
        (
            lambda: CiIdentityArgs(
                scope=SCOPE, repository="acme/*", subject="repo:a/b:environment:dev", provider_arn="p"
            ),
            "CiIdentityArgs.repository",
        ),
        (
            lambda: CiIdentityArgs(
                scope=SCOPE, repository="acme/demo", subject="repo:acme/demo:*", provider_arn="p"
            ),
            "CiIdentityArgs.subject",
        ),
        (
            lambda: TrackingArgs(
                scope=SCOPE, artifact_bucket_name="a", artifact_bucket_arn="a", kms_key_arn="k", mode="ec2"
            ),
            "TrackingArgs.mode",
        ),
        (
            lambda: _serving_args(
                mode="provisioned", image="r/x:1", model_data_url="s3://bkt/models/r/m.tar.gz"
            ),
            "ServingArgs.subnet_ids",
        ),
        (lambda: _serving_args(serverless_memory_mb=1000), "ServingArgs.serverless_memory_mb"),
        (lambda: _serving_args(model_data_url="s3://bkt/models/r/m.tar.gz"), "ServingArgs.image"),
        (lambda: _serving_args(image="r/x:1"), "ServingArgs.model_data_url"),  # the image embeds no model
        (
            lambda: _serving_args(image="r/x:1", model_data_url="s3://b/m.tar.gz"),
            "ServingArgs.model_data_url",
        ),
        (lambda: _serving_args(image="img", instance_type="m5.large"), "ServingArgs.image"),
        (lambda: _serving_args(image="1.dkr.ecr.us-east-1.amazonaws.com/demo"), "ServingArgs.image"),
        (lambda: _serving_args(min_instances=3, max_instances=2), "ServingArgs.max_instances"),
        (lambda: _monitoring_args(drift_threshold=0), "MonitoringArgs.drift_threshold"),
        (lambda: _monitoring_args(drift_schedule="daily"), "MonitoringArgs.drift_schedule"),
        (lambda: Scope(project="9lives", env="dev", account_id="1", region="r"), "Scope.project"),
    ],
)
def test_args_validation_names_the_bad_field(build: Any, field: str) -> None:
    with pytest.raises(InvalidArgsError) as error:
        build()
    assert str(error.value).startswith(field)


def test_training_args_validation_names_the_bad_field() -> None:
    base: dict[str, Any] = {
        "scope": SCOPE,
        "subnet_ids": ["s"],
        "security_group_id": "sg",
        "kms_key_arn": "k",
        "data_bucket_arn": "d",
        "artifact_bucket_arn": "a",
        "artifact_bucket_name": "a",
        "image_repository_url": "r",
        "model_package_group_name": "g",
        "model_package_group_arn": "ga",
        "image_tag": "3f2a1c0",
        "package_name": "demo",
    }
    TrainingArgs(**base)
    TrainingArgs(**(base | {"compute": "cpu", "instance_types": ()}))  # no GPU families on Fargate
    for overrides, field in [
        ({"instance_types": ("m5",)}, "instance_types"),
        ({"max_vcpus": 2, "vcpus_per_job": 4}, "max_vcpus"),
        ({"gpus_per_job": 0}, "gpus_per_job"),
        ({"image_tag": "repo:tag"}, "image_tag"),
        ({"image_tag": "latest"}, "image_tag"),
        ({"root_volume_gib": 8}, "root_volume_gib"),
        ({"compute": "tpu"}, "compute"),
        ({"multi_node_instance_type": "m5.large"}, "multi_node_instance_type"),
        ({"nodes": 1}, "nodes"),
        ({"nodes": 20}, "max_vcpus"),  # 20 g5.xlarge need 80 vCPUs, the compute environment has 64
        ({"package_name": "not-a-package"}, "package_name"),
        ({"compute": "cpu", "cpu_memory_mib_per_job": 15_000}, "cpu_memory_mib_per_job"),
    ]:
        with pytest.raises(InvalidArgsError, match=rf"^TrainingArgs\.{field}"):
            TrainingArgs(**(base | overrides))
