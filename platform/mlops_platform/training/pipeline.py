"""The Step Functions training pipeline and the GPU family check (pure)."""

from __future__ import annotations

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
        "Comment": "Train on AWS Batch GPUs, wait for the job, register the model version",
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
