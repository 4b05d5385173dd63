"""What a stack gives each runtime principal, read from an offline run: the role (tag
``mlops:principal``), its identity policies (inline and attached, as the stack writes them), the
resource policies that also decide (bucket and key policies), and the stack's values that fill
the ``${...}`` placeholders of calls.yaml."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from mlops_platform.common import PRINCIPAL_TAG
from mlops_stacks.offline import ACCOUNT_ID, REGION, OfflineRun, RecordedResource


@dataclass(frozen=True)
class RolePolicies:
    principal: str
    role_arn: str
    trust: dict[str, Any]
    identity: list[dict[str, Any]]  # {"name": ..., "policy": document}


def _document(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else dict(value)


def roles(run: OfflineRun) -> dict[str, RolePolicies]:
    """Each principal's role and every policy document attached to it in the stack."""
    policies_by_arn = {
        r.outputs["arn"]: _document(r.inputs["policy"]) for r in run.of_type("aws:iam/policy:Policy")
    }
    found = {}
    for role in run.of_type("aws:iam/role:Role"):
        principal = (role.inputs.get("tags") or {}).get(PRINCIPAL_TAG)
        if not principal:
            continue
        identity = [
            {"name": p.name, "policy": _document(p.inputs["policy"])}
            for p in run.of_type("aws:iam/rolePolicy:RolePolicy")
            if p.inputs["role"] == role.id
        ]
        for attachment in run.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment"):
            if attachment.inputs["role"] == role.id and attachment.inputs["policyArn"] in policies_by_arn:
                identity.append(
                    {"name": attachment.name, "policy": policies_by_arn[attachment.inputs["policyArn"]]}
                )
        found[principal] = RolePolicies(
            principal, role.outputs["arn"], _document(role.inputs["assumeRolePolicy"]), identity
        )
    return found


def resource_policy(run: OfflineRun, arn: str) -> dict[str, Any] | None:
    """The bucket policy of an S3 ARN's bucket, or the key policy of a KMS key ARN, if the stack has one."""
    if arn.startswith("arn:aws:s3:::"):
        bucket = arn.removeprefix("arn:aws:s3:::").split("/", 1)[0]
        for policy in run.of_type("aws:s3/bucketPolicy:BucketPolicy"):
            owner = _by_id(run, policy.inputs["bucket"])
            if owner is not None and owner.outputs.get("bucket") == bucket:
                return _document(policy.inputs["policy"])
    if arn.startswith("arn:aws:kms:"):
        for key in run.of_type("aws:kms/key:Key"):
            if key.outputs["arn"] == arn and key.inputs.get("policy"):
                return _document(key.inputs["policy"])
    return None


def kms_key_of_bucket(run: OfflineRun, bucket: str) -> str | None:
    """The KMS key a bucket encrypts new objects with (SSE-KMS), if any."""
    for config in run.of_type(
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
    ):
        owner = _by_id(run, config.inputs["bucket"])
        if owner is not None and owner.outputs.get("bucket") == bucket:
            default = config.inputs["rules"][0]["applyServerSideEncryptionByDefault"]
            return default.get("kmsMasterKeyId")
    return None


def _by_id(run: OfflineRun, physical_id: str) -> RecordedResource | None:
    return next((r for r in run.resources if r.id == physical_id), None)


def _one(run: OfflineRun, type_token: str, component: str, suffix: str = "") -> RecordedResource | None:
    """The resource of ``type_token`` in ``component`` (whose name ends with ``suffix``, where the
    component has several: the single-job and the multi-node training queues)."""
    found = [r for r in run.of_type(type_token) if r.component == component and r.name.endswith(suffix)]
    return found[0] if found else None


def stack_values(run: OfflineRun) -> dict[str, str]:
    """The values of the ``${...}`` placeholders of calls.yaml for this stack."""
    config = run.config
    values: dict[str, str] = {"region": REGION, "account": ACCOUNT_ID, "env": config.env}
    project = getattr(config, "project", "platform")
    values["project"] = project
    values["table-prefix"] = f"{getattr(config, 'package_name', project)}."
    values["namespace"] = f"MLOps/{project}/{config.env}"
    for kind in ("data", "artifacts"):
        bucket = next(
            (b for b in run.of_type("aws:s3/bucket:Bucket") if b.name.endswith(f"-store-{kind}")), None
        )
        if bucket is not None:
            values["data-bucket" if kind == "data" else "artifact-bucket"] = bucket.outputs["bucket"]
    picks: dict[str, tuple[str, ...]] = {
        "key-arn": ("aws:kms/key:Key", "Storage", "arn"),
        "mlflow-arn": ("aws:sagemaker/mlflowApp:MlflowApp", "Tracking", "arn"),
        "model-group": (
            "aws:sagemaker/modelPackageGroup:ModelPackageGroup",
            "Tracking",
            "modelPackageGroupName",
        ),
        "state-machine-arn": ("aws:sfn/stateMachine:StateMachine", "Training", "arn"),
        "queue-arn": ("aws:batch/jobQueue:JobQueue", "Training", "arn", "-training-queue"),
        "job-definition-arn": ("aws:batch/jobDefinition:JobDefinition", "Training", "arn", "-training-job"),
        "multinode-queue-arn": ("aws:batch/jobQueue:JobQueue", "Training", "arn", "-nodes-queue"),
        "training-log-group-arn": ("aws:cloudwatch/logGroup:LogGroup", "Training", "arn", "-job-logs"),
        "training-repository-arn": ("aws:ecr/repository:Repository", "CiIdentity", "arn"),
        "serving-repository-arn": ("aws:ecr/repository:Repository", "Serving", "arn"),
        "drift-queue-arn": ("aws:batch/jobQueue:JobQueue", "Monitoring", "arn"),
        "drift-job-definition-arn": ("aws:batch/jobDefinition:JobDefinition", "Monitoring", "arn"),
        "drift-log-group-arn": ("aws:cloudwatch/logGroup:LogGroup", "Monitoring", "arn"),
    }
    for placeholder, (type_token, component, output, *suffix) in picks.items():
        resource = _one(run, type_token, component, *suffix)
        if resource is not None:
            values[placeholder] = str(resource.outputs[output])
    server = _one(run, "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer", "Tracking")
    if server is not None:
        values["mlflow-arn"] = server.outputs["arn"]
    model = next(iter(run.of_type("aws:sagemaker/model:Model")), None)
    network = (model.inputs.get("vpcConfig") or {}) if model is not None else {}
    if network:  # an endpoint on instances: SageMaker attaches it to these (the first of each)
        values["endpoint-subnet"] = network["subnets"][0]
        values["endpoint-security-group"] = network["securityGroupIds"][0]
    serving = roles(run).get("serving")
    if serving is not None:
        values["serving-role-arn"] = serving.role_arn
    endpoint = next(
        (
            p
            for p in run.of_type("aws:ssm/parameter:Parameter")
            if p.inputs["name"].endswith("/serving-endpoint-name")
        ),
        None,
    )
    if endpoint is not None:
        values["endpoint"] = endpoint.inputs["insecureValue"]
    return values
