"""A SageMaker that remembers: real botocore clients whose calls are answered from memory with the
semantics AWS documents, for the day-2 test (test_day2.py), and a small model of the Pulumi
engine applying a stack's SageMaker resources to it.

Why not moto or botocore's Stubber: moto 5.2 has no UpdateEndpoint and ignores ListModels'
NameContains; a Stubber answers a fixed script and keeps no state, so it cannot show what a
sequence of stack updates and deploys leaves in the account. Each call still goes through
botocore, which validates the request against SageMaker's API model as for AWS, and each answer
is validated against the operation's output shape, as Stubber does.

What it enforces, from the API reference:
- names are unique per kind; CreateEndpointConfig needs its models, CreateEndpoint and
  UpdateEndpoint their config ("Could not find ..." ValidationException);
- deleting an endpoint config or model that a live endpoint uses is allowed by AWS but breaks the
  endpoint ("You must not delete an EndpointConfig that is in use by an endpoint that is live",
  https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_DeleteEndpointConfig.html): such a
  delete is recorded in ``violations``, which the test asserts empty after every step.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

from mlops_stacks.offline import ACCOUNT_ID, REGION, OfflineRun, RecordedResource

MODEL = "aws:sagemaker/model:Model"
CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
SAGEMAKER_TYPES = (MODEL, CONFIG, ENDPOINT)


def arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:{kind}/{name}"


class _Refused(Exception):
    def __init__(self, message: str, code: str = "ValidationException") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Call:
    principal: str
    operation: str
    params: dict[str, Any]


@dataclass
class FakeSageMaker:
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    _clock: Any = field(default_factory=lambda: itertools.count())

    def client(self, principal: str) -> Any:
        """A SageMaker client whose calls this fake answers, recorded as ``principal``'s."""
        client = boto3.client(
            "sagemaker", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x"
        )

        def answer(model: Any, params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
            request = json.loads(params["body"] or b"{}")  # what botocore validated and would send
            self.calls.append(Call(principal, model.name, request))
            try:
                reply = getattr(self, f"_{model.name}")(**request)
            except _Refused as error:
                meta = {"HTTPStatusCode": 400}
                return AWSResponse(None, 400, {}, None), {
                    "Error": {"Code": error.code, "Message": str(error)},
                    "ResponseMetadata": meta,
                }
            if model.output_shape is not None:  # Delete* answer nothing
                validate_parameters(reply, model.output_shape)
            return AWSResponse(None, 200, {}, None), {**reply, "ResponseMetadata": {"HTTPStatusCode": 200}}

        client.meta.events.register("before-call.sagemaker", answer)
        return client

    def _now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=next(self._clock))

    # ---- what the endpoint runs on ----------------------------------------------------------

    def in_use(self) -> tuple[set[str], set[str]]:
        """(configs, models) that live endpoints use."""
        configs = {e["EndpointConfigName"] for e in self.endpoints.values()}
        models = {
            variant["ModelName"]
            for name in configs
            if name in self.configs
            for variant in self.configs[name]["ProductionVariants"]
        }
        return configs, models

    def broken(self) -> list[str]:
        """Endpoints whose config or a model of it no longer exists."""
        found = []
        for endpoint in self.endpoints.values():
            config = self.configs.get(endpoint["EndpointConfigName"])
            if config is None:
                found.append(
                    f"{endpoint['EndpointName']}: its config {endpoint['EndpointConfigName']} is gone"
                )
                continue
            for variant in config["ProductionVariants"]:
                if variant["ModelName"] not in self.models:
                    found.append(f"{endpoint['EndpointName']}: its model {variant['ModelName']} is gone")
        return found

    # ---- the API ------------------------------------------------------------------------------

    def _CreateModel(self, ModelName: str, **model: Any) -> dict[str, Any]:
        if ModelName in self.models:
            raise _Refused(f'Cannot create already existing model "{arn("model", ModelName)}".')
        self.models[ModelName] = {
            "ModelName": ModelName,
            "ModelArn": arn("model", ModelName),
            "CreationTime": self._now(),
            **model,
        }
        return {"ModelArn": arn("model", ModelName)}

    def _DescribeModel(self, ModelName: str) -> dict[str, Any]:
        if ModelName not in self.models:
            raise _Refused(f'Could not find model "{arn("model", ModelName)}".')
        return dict(self.models[ModelName])

    def _DeleteModel(self, ModelName: str) -> dict[str, Any]:
        self._DescribeModel(ModelName)
        if ModelName in self.in_use()[1]:
            self.violations.append(f"model {ModelName} deleted while a live endpoint uses it")
        del self.models[ModelName]
        return {}

    def _ListModels(self, NameContains: str = "", **order: Any) -> dict[str, Any]:
        found = [m for m in self.models.values() if NameContains in m["ModelName"]]
        found.sort(key=lambda m: m["CreationTime"], reverse=order.get("SortOrder") == "Descending")
        return {"Models": [{k: m[k] for k in ("ModelName", "ModelArn", "CreationTime")} for m in found]}

    def _CreateEndpointConfig(self, EndpointConfigName: str, **config: Any) -> dict[str, Any]:
        if EndpointConfigName in self.configs:
            raise _Refused(
                "Cannot create already existing endpoint configuration "
                f'"{arn("endpoint-config", EndpointConfigName)}".'
            )
        for variant in config["ProductionVariants"]:
            self._DescribeModel(variant["ModelName"])
        self.configs[EndpointConfigName] = {
            "EndpointConfigName": EndpointConfigName,
            "EndpointConfigArn": arn("endpoint-config", EndpointConfigName),
            "CreationTime": self._now(),
            **config,
        }
        return {"EndpointConfigArn": arn("endpoint-config", EndpointConfigName)}

    def _DescribeEndpointConfig(self, EndpointConfigName: str) -> dict[str, Any]:
        if EndpointConfigName not in self.configs:
            raise _Refused(
                f'Could not find endpoint configuration "{arn("endpoint-config", EndpointConfigName)}".'
            )
        return dict(self.configs[EndpointConfigName])

    def _DeleteEndpointConfig(self, EndpointConfigName: str) -> dict[str, Any]:
        self._DescribeEndpointConfig(EndpointConfigName)
        if EndpointConfigName in self.in_use()[0]:
            self.violations.append(
                f"endpoint config {EndpointConfigName} deleted while a live endpoint uses it"
            )
        del self.configs[EndpointConfigName]
        return {}

    def _ListEndpointConfigs(self, NameContains: str = "", **order: Any) -> dict[str, Any]:
        found = [c for c in self.configs.values() if NameContains in c["EndpointConfigName"]]
        found.sort(key=lambda c: c["CreationTime"], reverse=order.get("SortOrder") == "Descending")
        keys = ("EndpointConfigName", "EndpointConfigArn", "CreationTime")
        return {"EndpointConfigs": [{k: c[k] for k in keys} for c in found]}

    def _CreateEndpoint(self, EndpointName: str, EndpointConfigName: str, **_: Any) -> dict[str, Any]:
        if EndpointName in self.endpoints:
            raise _Refused(f'Cannot create already existing endpoint "{arn("endpoint", EndpointName)}".')
        self._DescribeEndpointConfig(EndpointConfigName)
        now = self._now()
        self.endpoints[EndpointName] = {
            "EndpointName": EndpointName,
            "EndpointArn": arn("endpoint", EndpointName),
            "EndpointConfigName": EndpointConfigName,
            "EndpointStatus": "InService",
            "CreationTime": now,
            "LastModifiedTime": now,
        }
        return {"EndpointArn": arn("endpoint", EndpointName)}

    def _DescribeEndpoint(self, EndpointName: str) -> dict[str, Any]:
        if EndpointName not in self.endpoints:
            raise _Refused(f'Could not find endpoint "{arn("endpoint", EndpointName)}".')
        return dict(self.endpoints[EndpointName])

    def _UpdateEndpoint(self, EndpointName: str, EndpointConfigName: str) -> dict[str, Any]:
        self._DescribeEndpoint(EndpointName)
        self._DescribeEndpointConfig(EndpointConfigName)
        # SageMaker moves the endpoint blue/green and is InService again when done; the fake is done at once.
        self.endpoints[EndpointName] |= {
            "EndpointConfigName": EndpointConfigName,
            "LastModifiedTime": self._now(),
        }
        return {"EndpointArn": arn("endpoint", EndpointName)}

    def _DeleteEndpoint(self, EndpointName: str) -> dict[str, Any]:
        self._DescribeEndpoint(EndpointName)
        del self.endpoints[EndpointName]
        return {}


# ---- the Pulumi engine, for the stack's SageMaker resources ----------------------------------------

# Pulumi input names -> SageMaker API names, where capitalising the first letter is not enough.
_API_NAMES = {"memorySizeInMb": "MemorySizeInMB"}


def _api(value: Any, *, keep_keys: bool = False) -> Any:
    """An input value as the SageMaker API takes it (the AWS provider's mapping); the mocks hand
    numbers over as floats."""
    if isinstance(value, dict):
        return {
            (k if keep_keys else _API_NAMES.get(k, k[0].upper() + k[1:])): _api(
                v, keep_keys=k == "environment"
            )
            for k, v in value.items()
            if v is not None
        }
    if isinstance(value, list):
        return [_api(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class PulumiEngine:
    """What ``pulumi up`` and ``pulumi destroy`` do to the stack's SageMaker resources: create what
    is new, update what the provider updates in place (an endpoint's config), replace what it
    cannot update (create the new one first, then delete the old one), delete what is gone, and
    honour ``ignore_changes`` (ignored inputs keep their old values) and ``retain_on_delete``
    (never delete; drop from the state). SageMaker has no UpdateModel or UpdateEndpointConfig, so
    any change of a model or endpoint config input but its tags replaces it."""

    sagemaker: Any  # a FakeSageMaker client
    state: dict[str, RecordedResource] = field(default_factory=dict)  # URN -> as last applied

    def up(self, run: OfflineRun) -> list[str]:
        """Apply ``run``'s SageMaker resources; the operations, in order."""
        done: list[str] = []
        goal = {r.urn: r for r in run.resources if r.type in SAGEMAKER_TYPES}
        doomed: list[RecordedResource] = []
        for urn, new in goal.items():
            old = self.state.get(urn)
            if old is None:
                done.append(self._create(new))
                self.state[urn] = new
                continue
            inputs = {**new.inputs, **{k: old.inputs[k] for k in new.ignore_changes if k in old.inputs}}
            for k in new.ignore_changes:
                if k not in old.inputs:
                    inputs.pop(k, None)
            changed = {k for k in inputs.keys() | old.inputs.keys() if inputs.get(k) != old.inputs.get(k)}
            changed -= {"tags", "tagsAll"}  # tags are updated in place
            applied = replace(new, inputs=inputs)
            if changed and new.type == ENDPOINT and changed == {"endpointConfigName"}:
                self.sagemaker.update_endpoint(
                    EndpointName=inputs["name"], EndpointConfigName=inputs["endpointConfigName"]
                )
                done.append(f"update endpoint {inputs['name']}")
            elif changed:
                done.append(self._create(applied))
                doomed.append(old)
            self.state[urn] = applied
        doomed += [self.state.pop(urn) for urn in list(self.state) if urn not in goal]
        done += self._delete(doomed)
        return done

    def destroy(self) -> list[str]:
        done = self._delete(list(self.state.values()))
        self.state.clear()
        return done

    def _create(self, resource: RecordedResource) -> str:
        inputs = {k: v for k, v in resource.inputs.items() if k not in ("name", "tags", "tagsAll")}
        name = resource.inputs["name"]
        if resource.type == MODEL:
            self.sagemaker.create_model(ModelName=name, **_api(inputs))
        elif resource.type == CONFIG:
            params = _api(inputs)
            if "KmsKeyArn" in params:
                params["KmsKeyId"] = params.pop("KmsKeyArn")
            self.sagemaker.create_endpoint_config(EndpointConfigName=name, **params)
        else:
            self.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=inputs["endpointConfigName"])
        return f"create {resource.type.rsplit(':', 1)[1]} {name}"

    def _delete(self, resources: list[RecordedResource]) -> list[str]:
        """Dependents first: the endpoint, then its configs, then the models."""
        done = []
        for resource in sorted(resources, key=lambda r: SAGEMAKER_TYPES.index(r.type), reverse=True):
            kind, name = resource.type.rsplit(":", 1)[1], resource.inputs["name"]
            if resource.retain_on_delete:
                done.append(f"retain {kind} {name}")
                continue
            if resource.type == MODEL:
                self.sagemaker.delete_model(ModelName=name)
            elif resource.type == CONFIG:
                self.sagemaker.delete_endpoint_config(EndpointConfigName=name)
            else:
                self.sagemaker.delete_endpoint(EndpointName=name)
            done.append(f"delete {kind} {name}")
        return done
