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

from mlops_platform.ci_identity import CiIdentity, CiIdentityArgs  # noqa: E402
from mlops_platform.common import Scope  # noqa: E402
from mlops_platform.errors import InvalidArgsError  # noqa: E402
from mlops_platform.monitoring import MonitoringArgs  # noqa: E402
from mlops_platform.network import NetworkArgs  # noqa: E402
from mlops_platform.serving import Serving, ServingArgs  # noqa: E402
from mlops_platform.storage import Storage, StorageArgs  # noqa: E402
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
    storage = Storage("demo-dev-store", StorageArgs(scope=SCOPE))

    def check(values: list[Any]) -> None:
        data_bucket, artifact_bucket = values
        assert data_bucket == "demo-dev-store-data" and artifact_bucket == "demo-dev-store-artifacts"

    return pulumi.Output.all(storage.data_bucket_name, storage.artifact_bucket_name).apply(check)


def test_storage_children_are_named_after_the_component(mocks: RecordingMocks) -> None:
    # The decorated program returns once every registration has finished; then the recording
    # holds all children and is checked as a whole.
    @pulumi.runtime.test
    def program() -> pulumi.Output[Any]:
        return Storage("acme-store", StorageArgs(scope=SCOPE)).kms_key_arn

    program()
    names = [name for _, name, _, _ in mocks.registrations]
    assert names[0] == "acme-store" and all(name.startswith("acme-store") for name in names)
    ((_, key),) = _created(mocks, ":Key")
    assert key["enableKeyRotation"] is True
    params = {
        inputs["name"]: inputs["insecureValue"] for _, inputs in _created(mocks, "ssm/parameter:Parameter")
    }
    assert params == {
        "/mlops/demo/dev/data-bucket": "acme-store-data",
        "/mlops/demo/dev/artifact-bucket": "acme-store-artifacts",
    }


@pulumi.runtime.test
def test_ci_role_trusts_only_the_project_repository(mocks: RecordingMocks) -> pulumi.Output[Any]:
    ci = CiIdentity("demo-dev-ci", CiIdentityArgs(scope=SCOPE, repository="acme/demo"))

    def check(_: Any) -> None:
        ((_, role),) = _created(mocks, "iam/role:Role")
        trust = json.loads(role["assumeRolePolicy"])["Statement"][0]
        assert trust["Condition"]["StringLike"] == {
            "token.actions.githubusercontent.com:sub": "repo:acme/demo:*"
        }
        ((_, repo),) = _created(mocks, "ecr/repository:Repository")
        assert repo["imageTagMutability"] == "IMMUTABLE" and repo["imageScanningConfiguration"]["scanOnPush"]
        assert len(_created(mocks, "openIdConnectProvider:OpenIdConnectProvider")) == 1

    return ci.deploy_role_arn.apply(check)


@pulumi.runtime.test
def test_ci_reuses_an_existing_oidc_provider(mocks: RecordingMocks) -> pulumi.Output[Any]:
    arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    ci = CiIdentity(
        "demo-dev-ci", CiIdentityArgs(scope=SCOPE, repository="acme/demo", existing_oidc_provider_arn=arn)
    )

    def check(_: Any) -> None:
        assert _created(mocks, "openIdConnectProvider:OpenIdConnectProvider") == []
        ((_, role),) = _created(mocks, "iam/role:Role")
        assert json.loads(role["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Federated": arn}

    return ci.deploy_role_arn.apply(check)


def _serving_args(**overrides: Any) -> ServingArgs:
    values: dict[str, Any] = {
        "scope": SCOPE,
        "subnet_ids": ["subnet-1"],
        "security_group_id": "sg-1",
        "kms_key_arn": "arn:kms",
        "artifact_bucket_name": "artifacts",
        "artifact_bucket_arn": "arn:aws:s3:::artifacts",
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
    assert not any(t.startswith(("aws:sagemaker/", "aws:appautoscaling/", "aws:iam/")) for t in types)
    ((_, param),) = _created(mocks, "ssm/parameter:Parameter")
    assert (param["name"], param["insecureValue"]) == ("/mlops/demo/dev/serving-endpoint-name", "demo-dev")
    assert serving.endpoint_created is False


def test_serving_with_a_model_creates_the_endpoint_under_the_published_name(mocks: RecordingMocks) -> None:
    serving = _build_serving(
        _serving_args(
            image="1.dkr.ecr.us-east-1.amazonaws.com/demo:1",
            model_data_url="s3://artifacts/models/r1/model.tar.gz",
        )
    )
    ((_, endpoint),) = _created(mocks, "sagemaker/endpoint:Endpoint")
    assert endpoint["name"] == serving.endpoint_name == "demo-dev"
    ((_, config),) = _created(mocks, "endpointConfiguration:EndpointConfiguration")
    assert config["kmsKeyArn"] == "arn:kms"
    capture = config["dataCaptureConfig"]
    assert capture["enableCapture"] is True and capture["destinationS3Uri"] == "s3://artifacts/data-capture"
    ((_, target),) = _created(mocks, "appautoscaling/target:Target")
    assert target["resourceId"] == "endpoint/demo-dev/variant/AllTraffic"
    assert (target["minCapacity"], target["maxCapacity"]) == (1, 2)
    assert len(_created(mocks, "appautoscaling/policy:Policy")) == 1
    ((_, param),) = _created(mocks, "ssm/parameter:Parameter")
    assert param["insecureValue"] == "demo-dev"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: NetworkArgs(scope=SCOPE, vpc_cidr="10.0.0.0/33"), "NetworkArgs.vpc_cidr"),
        (
            lambda: NetworkArgs(scope=SCOPE, interface_endpoints=("ecr api",)),
            "NetworkArgs.interface_endpoints",
        ),
        (
            lambda: StorageArgs(scope=SCOPE, key_deletion_window_days=3),
            "StorageArgs.key_deletion_window_days",
        ),
        (lambda: CiIdentityArgs(scope=SCOPE, repository="acme/*"), "CiIdentityArgs.repository"),
        (
            lambda: CiIdentityArgs(scope=SCOPE, repository="acme/demo", vendor="jenkins"),
            "CiIdentityArgs.vendor",
        ),
        (lambda: _serving_args(model_data_url="s3://b/m.tar.gz"), "ServingArgs.image"),
        (lambda: _serving_args(image="img", instance_type="m5.large"), "ServingArgs.image"),
        (lambda: _serving_args(min_instances=3, max_instances=2), "ServingArgs.max_instances"),
        (
            lambda: MonitoringArgs(
                scope=SCOPE, state_machine_arn="arn", endpoint_name="e", drift_threshold=0
            ),
            "MonitoringArgs.drift_threshold",
        ),
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
    }
    TrainingArgs(**base)
    for overrides, field in [
        ({"instance_types": ("m5",)}, "instance_types"),
        ({"max_vcpus": 2, "vcpus_per_job": 4}, "max_vcpus"),
        ({"gpus_per_job": 0}, "gpus_per_job"),
        ({"image_tag": "repo:tag"}, "image_tag"),
        ({"root_volume_gib": 8}, "root_volume_gib"),
    ]:
        with pytest.raises(InvalidArgsError, match=rf"^TrainingArgs\.{field}"):
            TrainingArgs(**(base | overrides))
