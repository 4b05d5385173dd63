"""The Step Functions training pipeline, the GPU family check, the shapes of multi-node hosts, the
Fargate sizes and the retry strategy of training jobs (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_platform.errors import InvalidArgsError

# EC2 instance families with NVIDIA GPUs that AWS Batch's ECS GPU AMI supports.
GPU_FAMILIES = ("g4dn", "g5", "g6", "g6e", "gr6", "p3", "p3dn", "p4d", "p4de", "p5", "p5e", "p5en", "p6-b200")


def check_instance_types(instance_types: tuple[str, ...]) -> tuple[str, ...]:
    """Each entry is a GPU family ('g5') or one of its sizes ('g5.xlarge')."""
    if not instance_types:
        raise InvalidArgsError(
            component="TrainingArgs",
            field="instance_types",
            value=instance_types,
            reason="give at least one GPU instance family",
            fix="For example ('g5', 'g6').",
        )
    for instance_type in instance_types:
        if instance_type.split(".")[0] not in GPU_FAMILIES:
            raise InvalidArgsError(
                component="TrainingArgs",
                field="instance_types",
                value=instance_type,
                reason="not an NVIDIA GPU instance family",
                fix=f"Use one of {', '.join(GPU_FAMILIES)}.",
            )
    return instance_types


@dataclass(frozen=True)
class NodeShape:
    """What one host of a multi-node job offers its container."""

    vcpus: int
    memory_gib: int
    gpus: int
    efa_interfaces: int  # 0: the type has no Elastic Fabric Adapter

    @property
    def memory_mib_for_jobs(self) -> int:
        """Memory a job may ask for: ECS keeps some of the host's for itself, and a job asking for all
        of it waits in RUNNABLE forever (https://docs.aws.amazon.com/batch/latest/userguide/memory-management.html)."""
        return int(self.memory_gib * 1024 * 0.9)


# GPU instance types for multi-node jobs: vCPUs, memory and GPUs from the EC2 instance type pages
# (https://aws.amazon.com/ec2/instance-types/g5/, /g6/, /g6e/, /p4/, /p5/); EFA network interfaces
# (one per network card that has one) from the EC2 list of EFA instance types
# (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa.html#efa-instance-types), as PyTorch's
# torchx also records them (torchx/specs/named_resources_aws.py). A type missing here is refused by
# name: add it with its figures.
NODE_SHAPES: dict[str, NodeShape] = {
    "g4dn.xlarge": NodeShape(4, 16, 1, 0),
    "g4dn.12xlarge": NodeShape(48, 192, 4, 1),
    "g5.xlarge": NodeShape(4, 16, 1, 0),
    "g5.2xlarge": NodeShape(8, 32, 1, 0),
    "g5.12xlarge": NodeShape(48, 192, 4, 1),
    "g5.48xlarge": NodeShape(192, 768, 8, 1),
    "g6.xlarge": NodeShape(4, 16, 1, 0),
    "g6.2xlarge": NodeShape(8, 32, 1, 0),
    "g6e.xlarge": NodeShape(4, 32, 1, 0),
    "g6e.24xlarge": NodeShape(96, 768, 4, 2),
    "g6e.48xlarge": NodeShape(192, 1536, 8, 4),
    "p4d.24xlarge": NodeShape(96, 1152, 8, 4),
    "p5.48xlarge": NodeShape(192, 2048, 8, 32),
}


def node_shape(instance_type: str) -> NodeShape:
    shape = NODE_SHAPES.get(instance_type)
    if shape is None:
        raise InvalidArgsError(
            component="TrainingArgs",
            field="multi_node_instance_type",
            value=instance_type,
            reason="not a GPU instance type of the multi-node table (mlops_platform.training.pipeline)",
            fix=f"Use one of {', '.join(NODE_SHAPES)}.",
        )
    return shape


# AWS Batch on Fargate takes these memory sizes (MiB) for each vCPU count
# (https://docs.aws.amazon.com/batch/latest/APIReference/API_ResourceRequirement.html).
FARGATE_MEMORY_MIB: dict[int, range] = {
    1: range(2048, 8192 + 1, 1024),
    2: range(4096, 16384 + 1, 1024),
    4: range(8192, 30720 + 1, 1024),
    8: range(16384, 61440 + 1, 4096),
    16: range(32768, 122880 + 1, 8192),
}


def fargate_size_ok(vcpus: int, memory_mib: int) -> bool:
    return memory_mib in FARGATE_MEMORY_MIB.get(vcpus, range(0))


def host_loss_retry_strategy(attempts: int) -> dict[str, Any]:
    """Retry a job whose host went away (a Spot instance reclaimed, an instance failure) and no other
    failure: Batch reports a lost host with a status reason starting "Host EC2"
    (https://docs.aws.amazon.com/batch/latest/userguide/job_retries.html,
    https://aws.amazon.com/blogs/compute/introducing-retry-strategies-for-aws-batch/). The retried
    job keeps its MLOPS_RUN_ID, so training resumes from the checkpoint of its last epoch."""
    return {
        "attempts": attempts,
        "evaluate_on_exits": [
            {"on_status_reason": "Host EC2*", "action": "RETRY"},
            {"on_reason": "*", "action": "EXIT"},
        ],
    }


def state_machine_definition(
    *,
    job_queue_arn: str,
    job_definition_arn: str,
    model_package_group_name: str,
    artifact_bucket: str,
    image: str,
) -> dict[str, Any]:
    """Submit the training job, wait for it to finish (``.sync``), then register the model version.

    The training job writes its model to s3://{artifact_bucket}/models/{execution name}/model.tar.gz;
    the registered package is pending manual approval, which the promotion gate decides on.
    """
    models = f"s3://{artifact_bucket}/models"
    return {
        "Comment": "Train on AWS Batch, wait for the job, register the model version",
        "StartAt": "SubmitTrainingJob",
        "States": {
            "SubmitTrainingJob": {
                "Type": "Task",
                "Comment": "batch:submitJob.sync submits the job and waits until it succeeds or fails",
                "Resource": "arn:aws:states:::batch:submitJob.sync",
                "Parameters": {
                    "JobName.$": "$$.Execution.Name",
                    "JobQueue": job_queue_arn,
                    "JobDefinition": job_definition_arn,
                    "ContainerOverrides": {
                        "Environment": [
                            {"Name": "MLOPS_RUN_ID", "Value.$": "$$.Execution.Name"},
                            {
                                "Name": "MLOPS_MODEL_OUTPUT_URI",
                                "Value.$": f"States.Format('{models}/{{}}/', $$.Execution.Name)",
                            },
                        ],
                    },
                },
                "ResultPath": "$.training",
                "Retry": [{"ErrorEquals": ["Batch.AWSBatchException"], "MaxAttempts": 2, "BackoffRate": 2}],
                "Next": "RegisterModel",
            },
            "RegisterModel": {
                "Type": "Task",
                "Resource": "arn:aws:states:::aws-sdk:sagemaker:createModelPackage",
                "Parameters": {
                    "ModelPackageGroupName": model_package_group_name,
                    "ModelApprovalStatus": "PendingManualApproval",
                    "InferenceSpecification": {
                        "Containers": [
                            {
                                "Image": image,
                                "ModelDataUrl.$": f"States.Format('{models}/{{}}/model.tar.gz', "
                                "$$.Execution.Name)",
                            }
                        ],
                        "SupportedContentTypes": ["application/json"],
                        "SupportedResponseMIMETypes": ["application/json"],
                    },
                },
                "ResultPath": "$.registration",
                "End": True,
            },
        },
    }
