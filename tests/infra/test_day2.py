"""Day two of a level-3 project in prod (issue 17): the stack's first `pulumi up`, the first CI
deploy, a changed serving image and then instance type in the stack, a second deploy, `pulumi
destroy` and the cleanup, one after the other against one SageMaker account.

The stack is the project stack under Pulumi mocks (what `pulumi up` would send); a small model of
the Pulumi engine applies its SageMaker resources (create, update, replace, delete, with
`ignore_changes` and `retain_on_delete`); CI's deploys are the generated project's own deploy.py
(its SageMaker part, `roll_out` and `clean_up`), rendered by `mlops-scaffold new`. Both call one
stateful SageMaker (sagemaker_fake.py: real botocore clients, requests validated against the API
model). After every step:

- no model or endpoint config a live endpoint uses was deleted, and the endpoint's config and
  models exist;
- the model the endpoint runs has what its container loads: the champion's package in the
  artifact bucket, MLOPS_MODEL_DIR (the app reads only that), the bucket for captures, the
  serving role, the platform VPC and network isolation (prod);

and at the end the IAM simulator (tests/infra/iam) decides every call the deploy role made and
every read the endpoint's role makes for each model the endpoint ran (its image, its package and
the key it is encrypted with): all must be allowed.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from mlops_platform.naming import is_model_package_url
from mlops_stacks.offline import ACCOUNT_ID, REGION, OfflineRun

from .iam.calls import matches, principals
from .iam.evaluate import Request, _kms_for_s3, node_ready, simulate
from .iam.principals import resource_policy, roles, stack_values
from .offline_runs import model_package, offline
from .sagemaker_fake import FakeSageMaker, PulumiEngine, arn

ENDPOINT = "demo-prod"
REPOSITORY = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/demo-prod"  # the stack's serving repository


def _stack(**settings: object) -> OfflineRun:
    """The demo project's level-3 prod stack (an endpoint on instances, with network isolation)."""
    return offline(3, env="prod", **settings)


@pytest.fixture(scope="module")
def deploy(rendered: Callable[..., Path]) -> Iterator[ModuleType]:
    """The generated project's deploy module (its SageMaker part needs the standard library only)."""
    src = str(rendered(3, name="demo") / "src")
    sys.path.insert(0, src)
    try:
        yield importlib.import_module("demo.deploy")
    finally:
        sys.path.remove(src)
        for name in [m for m in sys.modules if m == "demo" or m.startswith("demo.")]:
            del sys.modules[name]


class Day:
    """One account: the stack's engine, CI's client, and what each step leaves to check."""

    def __init__(self, deploy: ModuleType) -> None:
        self.aws = FakeSageMaker()
        self.pulumi = PulumiEngine(self.aws.client("pulumi"))
        self.ci = self.aws.client("ci-deploy")
        self.deploy = deploy
        self.served: list[tuple[OfflineRun, dict[str, Any]]] = []  # (stack, model the endpoint ran)
        self.run: OfflineRun | None = None

    def up(self, run: OfflineRun) -> list[str]:
        self.run = run
        return self.pulumi.up(run)

    def ci_deploy(self, image: str, run_name: str, version: str, *, keep: int) -> dict[str, Any]:
        """What `make deploy ENV=prod` does once deploy.deploy found the champion and the size."""
        assert self.run is not None
        bucket = stack_values(self.run)["artifact-bucket"]
        result: dict[str, Any] = self.deploy.roll_out(
            self.ci,
            endpoint=ENDPOINT,
            image=image,
            model_data_url=model_package("demo", "prod", run_name),
            env="prod",
            version=version,
            instance_type="ml.m5.large",
            instance_count=2,
            environment={
                "MLOPS_MODEL_DIR": "/opt/ml/model",
                "MLOPS_MODEL_NAME": "demo",
                "MLOPS_MODEL_VERSION": version,
                "MLOPS_ARTIFACT_BUCKET": bucket,
            },
            keep=keep,
        )
        return result

    def check(self, step: str) -> None:
        """Nothing in use was deleted, and the endpoint (if any) runs a model that can start."""
        assert self.aws.violations == [], f"{step}: {self.aws.violations}"
        assert self.aws.broken() == [], f"{step}: {self.aws.broken()}"
        if ENDPOINT not in self.aws.endpoints:
            return
        assert self.run is not None
        config = self.aws.configs[self.aws.endpoints[ENDPOINT]["EndpointConfigName"]]
        (variant,) = config["ProductionVariants"]
        model = self.aws.models[variant["ModelName"]]
        values, serving = stack_values(self.run), roles(self.run)["serving"]
        container = model["PrimaryContainer"]
        assert is_model_package_url(container["ModelDataUrl"]), f"{step}: {container}"
        assert container["ModelDataUrl"].startswith(f"s3://{values['artifact-bucket']}/models/"), step
        assert container["Image"].startswith(f"{REPOSITORY}:"), step
        assert container["Environment"]["MLOPS_MODEL_DIR"] == "/opt/ml/model", f"{step}: {container}"
        assert container["Environment"]["MLOPS_ENV"] == "prod", step
        assert container["Environment"]["MLOPS_ARTIFACT_BUCKET"] == values["artifact-bucket"], step
        assert model["ExecutionRoleArn"] == serving.role_arn, step
        assert model["EnableNetworkIsolation"] is True and model["VpcConfig"]["Subnets"], step
        assert config["KmsKeyId"] == values["key-arn"] and config["DataCaptureConfig"]["EnableCapture"], step
        assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.m5.large", 2), step
        self.served.append((self.run, model))


def test_day_two_never_deletes_what_the_endpoint_uses(deploy: ModuleType) -> None:
    day = Day(deploy)
    first_model = model_package("demo", "prod", "run-1")

    # 1. The first `pulumi up` with a model: the endpoint starts on the stack's first model.
    done = day.up(_stack(servingImage=f"{REPOSITORY}:1111111", servingModelDataUrl=first_model))
    assert [d.split()[:2] for d in done] == [
        ["create", "Model"],
        ["create", "EndpointConfiguration"],
        ["create", "Endpoint"],
    ]
    day.check("first pulumi up")
    (pulumi_config,) = day.aws.configs

    # 1b. The image in the stack changes before any deploy: nothing is replaced, nothing deleted.
    done = day.up(_stack(servingImage=f"{REPOSITORY}:1b1b1b1", servingModelDataUrl=first_model))
    day.check("a changed image before the first deploy")
    assert done == []

    # 2. The first CI deploy moves the endpoint to CI's model, then deletes the stack's first ones
    #    (no longer used; keep=1 keeps only the newest).
    result = day.ci_deploy(f"{REPOSITORY}:2222222", "run-2", "2", keep=1)
    first_deploy = result["update_endpoint"]["EndpointConfigName"]
    assert day.aws.endpoints[ENDPOINT]["EndpointConfigName"] == first_deploy
    assert result["cleaned_up"] == {"endpoint_configs": [pulumi_config], "models": [pulumi_config]}
    day.check("first CI deploy")

    # 3. The stack's image, then its instance type change: `pulumi up` touches no model or config
    #    (the endpoint keeps CI's), although the stack's first ones are gone from the account.
    done = day.up(_stack(servingImage=f"{REPOSITORY}:3333333", servingModelDataUrl=first_model))
    day.check("a changed image in the stack")
    assert done == []
    changed_size = _stack(
        servingImage=f"{REPOSITORY}:3333333",
        servingModelDataUrl=first_model,
        servingInstanceType="ml.m5.xlarge",
    )
    done = day.up(changed_size)
    day.check("a changed instance type in the stack")
    assert done == []
    assert day.aws.endpoints[ENDPOINT]["EndpointConfigName"] == first_deploy

    # 4. The second deploy: a new model; the first deploy's is kept for rollback (keep=2).
    result = day.ci_deploy(f"{REPOSITORY}:4444444", "run-4", "4", keep=2)
    second_deploy = result["update_endpoint"]["EndpointConfigName"]
    assert second_deploy != first_deploy and result["cleaned_up"] == {"endpoint_configs": [], "models": []}
    assert set(day.aws.configs) == {first_deploy, second_deploy}
    day.check("second CI deploy")

    # 5. `pulumi destroy` deletes the endpoint and no model or config; the cleanup then removes them.
    done = day.pulumi.destroy()
    day.check("pulumi destroy")
    assert done == [
        f"delete Endpoint {ENDPOINT}",
        f"retain EndpointConfiguration {pulumi_config}",
        f"retain Model {pulumi_config}",
    ]
    assert day.deploy.clean_up(day.ci, endpoint=ENDPOINT, keep=0) == {
        "endpoint_configs": [second_deploy, first_deploy],
        "models": [second_deploy, first_deploy],
    }
    assert (day.aws.models, day.aws.configs, day.aws.endpoints) == ({}, {}, {})

    _every_call_is_allowed(day)


def _deploy_requests(run: OfflineRun, calls: list[Any]) -> list[Request]:
    """Each SageMaker call the deploy role made, as the IAM requests AWS authorises it with
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsagemaker.html)."""
    role = roles(run)["ci-deploy"]
    found: list[Request] = []

    def add(action: str, resource: str, context: dict[str, str] | None = None) -> None:
        found.append(
            Request(
                f"d{len(found)}",
                f"ci-deploy: {action} on {resource}",
                role.role_arn,
                action,
                resource,
                role.identity,
                resource_policy(run, resource),
                {"aws:SecureTransport": "true", **(context or {})},
            )
        )

    for call in calls:
        action, params = f"sagemaker:{call.operation}", call.params
        if call.operation.startswith("List"):
            add(action, "*")
        elif call.operation == "UpdateEndpoint":  # authorised on the endpoint and the new config
            add(action, arn("endpoint", params["EndpointName"]))
            add(action, arn("endpoint-config", params["EndpointConfigName"]))
        elif "EndpointName" in params:
            add(action, arn("endpoint", params["EndpointName"]))
        elif "EndpointConfigName" in params:
            add(action, arn("endpoint-config", params["EndpointConfigName"]))
            if params.get("KmsKeyId"):  # SageMaker creates grants on the key with the caller's rights
                add("kms:CreateGrant", params["KmsKeyId"], {"kms:GrantIsForAWSResource": "true"})
                add("kms:DescribeKey", params["KmsKeyId"])
        else:
            add(action, arn("model", params["ModelName"]))
            if call.operation == "CreateModel":
                add(
                    "iam:PassRole",
                    params["ExecutionRoleArn"],
                    {"iam:PassedToService": "sagemaker.amazonaws.com"},
                )
    return found


def _serving_requests(run: OfflineRun, model: dict[str, Any]) -> list[Request]:
    """What SageMaker does with the endpoint's role to start ``model``: pull its image, read its
    package (and decrypt it with the bucket's key)."""
    role = roles(run)["serving"]
    repository = model["PrimaryContainer"]["Image"].split("/", 1)[1].split(":", 1)[0]
    bucket, key = model["PrimaryContainer"]["ModelDataUrl"].removeprefix("s3://").split("/", 1)
    wanted = [
        ("ecr:GetAuthorizationToken", "*"),
        ("ecr:BatchGetImage", f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/{repository}"),
        ("ecr:GetDownloadUrlForLayer", f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/{repository}"),
        ("s3:GetObject", f"arn:aws:s3:::{bucket}/{key}"),
    ]
    found: list[Request] = []
    for action, resource in wanted:
        what = f"serving: {action} on {resource} (model {model['ModelName']})"
        found.append(
            Request(
                f"s{len(found)}-{model['ModelName']}",
                what,
                role.role_arn,
                action,
                resource,
                role.identity,
                resource_policy(run, resource),
                {"aws:SecureTransport": "true"},
            )
        )
        found += _kms_for_s3(run, found, role.role_arn, action, resource, role.identity, what)
    return found


def _every_call_is_allowed(day: Day) -> None:
    assert day.run is not None
    deploy_calls = [c for c in day.aws.calls if c.principal == "ci-deploy"]
    requests = _deploy_requests(day.run, deploy_calls)
    # Every call the deploy role made is one calls.yaml lists (so the IAM tier checks it at every level).
    values = stack_values(day.run)
    listed = [c for c in principals()["ci-deploy"].calls if c.level <= 3]
    unlisted = [r.what for r in requests if not any(matches(c, r.action, r.resource, values) for c in listed)]
    assert unlisted == [], "calls tests/infra/iam/calls.yaml does not list for ci-deploy"
    for run, model in day.served:
        requests += _serving_requests(run, model)
    if node_ready() is not None:
        pytest.skip(f"the walk passed; the IAM evaluation needs the simulator: {node_ready()}")
    decisions, _ = simulate(requests)
    denied = [f"{d.request.what}: {d.result}" for d in decisions if d.result != "Allowed"]
    assert denied == []
