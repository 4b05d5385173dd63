"""The AWS calls of each runtime principal (calls.yaml), and how a recorded call maps onto them.

``calls.yaml`` lists, per principal, every call the generated project's code makes on AWS: the
IAM action, the resource (an ARN template), the level from which the call happens and where it
comes from. The IAM sufficiency tests evaluate each call against the policies the stack gives
that principal; ``recording.assert_calls_covered`` checks that every call a generated project
really made (recorded during its LocalStack runs) is in the list, so the list cannot go stale.

Resource templates hold two kinds of placeholders:

- ``${name}``: a value of the stack under test (``${artifact-bucket}``, ``${account}`` ...), and,
  in a recording, the value the project resolved from its SSM contract;
- ``{name}``: any one path segment (``{name...}``: any rest of the path), e.g. a run ID.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

CALLS_FILE = Path(__file__).with_name("calls.yaml")
_PLACEHOLDER = re.compile(r"\$\{([a-z0-9-]+)\}")
_FREE = re.compile(r"\{([a-z0-9-]+)(\.\.\.)?\}")


@dataclass(frozen=True)
class Call:
    principal: str
    action: str
    resources: tuple[str, ...]  # ARN templates; an action authorised on several resources lists each
    level: int
    source: str  # recorded | code | aws-docs
    where: str
    context: Mapping[str, Any] = field(default_factory=dict)  # request context keys (templates allowed)
    mlflow: str | None = None  # "server" or "app": the call exists only in that MLflow mode
    serving: str | None = None  # "serverless" or "provisioned": only for that endpoint type
    framework: str | None = None  # "sklearn" or "pytorch": only in projects of that framework
    off_aws: bool = False  # made only where the project runs off AWS (local serving): not evaluated


@dataclass(frozen=True)
class Principal:
    name: str
    runs: str
    in_vpc: bool
    evaluated: bool  # False for people (operator) and local-only code: no stack role to evaluate
    assumed_by: Mapping[str, Any]
    calls: tuple[Call, ...]


@cache
def principals() -> dict[str, Principal]:
    raw = yaml.safe_load(CALLS_FILE.read_text(encoding="utf-8"))
    found = {}
    for name, entry in raw["principals"].items():
        calls = tuple(
            Call(
                principal=name,
                action=call["action"],
                resources=tuple(call["resources"] if "resources" in call else [call["resource"]]),
                level=int(call["level"]),
                source=call["source"],
                where=call["where"],
                context=call.get("context", {}),
                mlflow=call.get("mlflow"),
                serving=call.get("serving"),
                framework=call.get("framework"),
                off_aws=bool(call.get("off_aws", False)),
            )
            for call in entry.get("calls", [])
        )
        found[name] = Principal(
            name=name,
            runs=entry["runs"],
            in_vpc=bool(entry.get("in_vpc", False)),
            evaluated=bool(entry.get("evaluated", True)),
            assumed_by=entry.get("assumed_by", {}),
            calls=calls,
        )
    return found


def calls_at(
    level: int, *, mlflow: str = "app", serving: str = "serverless", framework: str | None = None
) -> Iterator[Call]:
    """The calls made on AWS at ``level`` (with that MLflow mode, endpoint type and framework)."""
    for principal in principals().values():
        for call in principal.calls:
            if (
                call.level <= level
                and call.mlflow in (None, mlflow)
                and call.serving in (None, serving)
                and call.framework in (None, framework)
                and not call.off_aws
            ):
                yield call


def fill(template: str, values: Mapping[str, str], *, samples: bool = True) -> str:
    """``template`` with its ``${...}`` placeholders replaced (KeyError for an unknown one) and,
    with ``samples``, its ``{...}`` segments replaced by sample values."""
    text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)
    if samples:
        text = _FREE.sub(lambda m: f"sample-{m.group(1)}" + ("/part" if m.group(2) else ""), text)
    return text


def pattern(template: str, values: Mapping[str, str | Collection[str]]) -> re.Pattern[str]:
    """A regular expression matching what ``template`` stands for. A ``${...}`` placeholder may
    have several values (a recording of several runs); one without a value (a recording that
    never resolved it, e.g. a unit test's made-up endpoint) matches anything from there on: the
    resource is then matched up to it."""
    parts = []
    position = 0
    tokens = re.compile(r"\$\{([a-z0-9-]+)\}|\{([a-z0-9-]+)(\.\.\.)?\}")
    for match in tokens.finditer(template):
        parts.append(re.escape(template[position : match.start()]))
        placeholder, _free, rest = match.groups()
        if placeholder is not None and not values.get(placeholder):
            return re.compile("".join(parts) + ".*")
        if placeholder is not None:
            value = values[placeholder]
            options = [value] if isinstance(value, str) else sorted(value)
            parts.append("(?:" + "|".join(re.escape(option) for option in options) + ")")
        else:
            parts.append(".+" if rest else "[^/]+")
        position = match.end()
    parts.append(re.escape(template[position:]))
    return re.compile("".join(parts) + r"\Z")


# ---- recorded calls -> IAM ------------------------------------------------------------------------

# botocore service name -> IAM prefix, where they differ
IAM_PREFIX = {"stepfunctions": "states", "sagemaker-runtime": "sagemaker", "monitoring": "cloudwatch"}
# (service, operation) -> IAM action, where it is not prefix:Operation
IAM_ACTION = {
    ("s3", "HeadObject"): "s3:GetObject",
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "ListObjects"): "s3:ListBucket",
    ("s3", "HeadBucket"): "s3:ListBucket",
    ("s3", "CreateMultipartUpload"): "s3:PutObject",
    ("s3", "UploadPart"): "s3:PutObject",
    ("s3", "CompleteMultipartUpload"): "s3:PutObject",
    ("s3", "AbortMultipartUpload"): "s3:AbortMultipartUpload",
}
# Calls that need no permission: they are not checked.
FREE_CALLS = {("sts", "GetCallerIdentity")}
# MLflow store operation -> sagemaker-mlflow action (the MLflow REST API the client would call).
MLFLOW_ACTION = {
    "get_experiment_by_name": "GetExperimentByName",
    "create_experiment": "CreateExperiment",
    "get_experiment": "GetExperiment",
    "create_run": "CreateRun",
    "get_run": "GetRun",
    "update_run_info": "UpdateRun",
    "log_batch": "LogBatch",
    "log_param": "LogBatch",
    "log_metric": "LogBatch",
    "set_tag": "SetTag",
    "log_inputs": "LogInputs",
    "log_outputs": "LogOutputs",
    "record_logged_model": "LogModel",
    "create_logged_model": "LogModel",
    "finalize_logged_model": "FinalizeLoggedModel",
    "set_logged_model_tags": "SetLoggedModelTags",
    "log_logged_model_params": "LogLoggedModelParams",
    "get_logged_model": "GetLoggedModel",
    "create_registered_model": "CreateRegisteredModel",
    "get_registered_model": "GetRegisteredModel",
    "create_model_version": "CreateModelVersion",
    "get_model_version": "GetModelVersion",
    "get_model_version_by_alias": "GetModelVersionByAlias",
    "set_model_version_tag": "SetModelVersionTag",
    "update_model_version": "UpdateModelVersion",
    "search_model_versions": "SearchModelVersions",
    "set_registered_model_alias": "SetRegisteredModelAlias",
    "search_experiments": "SearchExperiments",
    "search_runs": "SearchRuns",
    "get_metric_history": "GetMetricHistory",
    "get_model_version_download_uri": "GetDownloadURIForModelVersionArtifacts",
    "get_latest_versions": "GetLatestModelVersions",
    "search_registered_models": "SearchRegisteredModels",
    "search_logged_models": "SearchLoggedModels",
    "delete_registered_model_alias": "DeleteRegisteredModelAlias",
}


def recorded_action_and_resource(
    entry: Mapping[str, Any], region: str, account: str
) -> tuple[str, str] | None:
    """(IAM action, resource ARN) of a recorded call; None for a call that needs no permission."""
    if entry["kind"] == "mlflow":
        action = MLFLOW_ACTION.get(entry["operation"])
        return (
            f"sagemaker-mlflow:{action}" if action else f"unmapped:mlflow.{entry['operation']}",
            "${mlflow-arn}",
        )
    service, operation, params = entry["service"], entry["operation"], entry.get("params", {})
    if (service, operation) in FREE_CALLS:
        return None
    action = IAM_ACTION.get((service, operation), f"{IAM_PREFIX.get(service, service)}:{operation}")
    if service == "s3":
        bucket = params.get("Bucket", "")
        resource = f"arn:aws:s3:::{bucket}/{params['Key']}" if "Key" in params else f"arn:aws:s3:::{bucket}"
    elif service == "ssm":
        name = params.get("Path") or params.get("Name") or (params.get("Names") or [""])[0]
        resource = f"arn:aws:ssm:{region}:{account}:parameter{name}"
    elif service == "stepfunctions":
        resource = params.get("StateMachineArn", "")
    elif service in ("sagemaker", "sagemaker-runtime"):
        kind, name = next(
            (kind, params[key])
            for key, kind in (
                ("EndpointName", "endpoint"),
                ("EndpointConfigName", "endpoint-config"),
                ("ModelName", "model"),
            )
            if key in params
        )
        resource = f"arn:aws:sagemaker:{region}:{account}:{kind}/{name.lower()}"
    elif service == "batch":
        resource = str(params.get("jobQueue", ""))
    else:
        resource = "*"
    return action, resource


# ---- which principal made a recorded call -----------------------------------------------------------

# (module, function) of the project's entry points -> the principal they run as on AWS. A call is
# attributed to the innermost entry point on its stack; "*" matches every function of the module.
ENTRY_POINTS = {
    ("pipeline", "run"): "training-job",
    ("pipeline", "follow"): "training-job",  # the other torchrun processes of `pipeline run`
    ("pipeline", "submit"): "operator",
    ("tune", "prepare"): "training-job",  # the steps of `make tune ENV=dev`'s AWS Batch jobs
    ("tune", "child"): "training-job",
    ("tune", "select"): "training-job",
    ("tune", "run"): "training-job",  # the same steps on one machine
    ("tune", "submit"): "operator",
    ("drift", "run"): "drift-job",
    ("retrain", "check"): "drift-job",
    ("serve", "*"): "serving",
    ("deploy", "deploy"): "ci-deploy",
    ("deploy", "smoke"): "ci-deploy",
    ("deploy", "clean_up"): "ci-deploy",
    ("promotion", "promote"): "operator",
    ("model_card", "main"): "operator",
    ("devstack", "*"): "local",  # builds LocalStack's stand-ins: never runs on AWS
}


def principal_of(stack: list[str], package: str) -> str | None:
    """The principal of the innermost project entry point on ``stack`` (``pkg.module.function``)."""
    found = None
    for frame in stack:
        parts = frame.split(".")
        if len(parts) < 3 or parts[0] != package:
            continue
        module, function = parts[1], parts[-1]
        found = ENTRY_POINTS.get((module, function)) or ENTRY_POINTS.get((module, "*")) or found
    return found


def matches(call: Call, action: str, resource: str, values: Mapping[str, str | Collection[str]]) -> bool:
    if call.action != action:
        return False
    return any(
        pattern(template, values).match(resource) or fnmatch.fnmatchcase(resource, template)
        for template in call.resources
    )
