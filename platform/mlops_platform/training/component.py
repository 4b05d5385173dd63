"""GPU training: AWS Batch on GPU instances that scale to zero, and a Step Functions pipeline.

Idle cost is zero: the compute environment has min 0 vCPUs, so instances exist only while jobs
run. Hosts sit in private subnets without public IPs, require IMDSv2 and encrypt their volumes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from mlops_platform.common import (
    TYPE_PREFIX,
    Scope,
    check_fields,
    exception_tag,
    kms_use_statement,
    publish_parameters,
    service_role,
    service_trust_policy,
    statement,
)
from mlops_platform.naming import physical_name
from mlops_platform.training.pipeline import check_instance_types, state_machine_definition

ECS_INSTANCE_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
)


def _valid_tag(tag: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag or "")) and tag != "latest"


@dataclass(frozen=True)
class TrainingArgs:
    scope: Scope
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    data_bucket_arn: pulumi.Input[str]
    artifact_bucket_arn: pulumi.Input[str]
    artifact_bucket_name: pulumi.Input[str]
    image_repository_url: pulumi.Input[str]
    model_package_group_name: pulumi.Input[str]
    model_package_group_arn: pulumi.Input[str]
    image_tag: str  # the tag CI pushed (the git commit): tags are immutable, so never "latest"
    instance_types: tuple[str, ...] = ("g5", "g6")
    spot: bool = False
    max_vcpus: int = 64
    vcpus_per_job: int = 4
    gpus_per_job: int = 1
    memory_mib_per_job: int = 15_000
    root_volume_gib: int = 100
    job_timeout_hours: int = 24
    log_retention_days: int = 90
    job_policy_arns: Sequence[pulumi.Input[str]] = field(default_factory=tuple)  # e.g. feature store, MLflow

    def __post_init__(self) -> None:
        check_instance_types(self.instance_types)
        check_fields(
            self,
            {
                "image_tag": (
                    _valid_tag,
                    "give the tag CI pushed, e.g. the git commit; the repository's tags are immutable, "
                    "so 'latest' could be pushed only once",
                    "Set mlops:trainingImageTag to the commit SHA CI pushed.",
                ),
                "vcpus_per_job": (lambda v: v >= 1, "a job needs at least one vCPU"),
                "max_vcpus": (
                    lambda v: v >= self.vcpus_per_job,
                    f"must be at least vcpus_per_job ({self.vcpus_per_job})",
                ),
                "gpus_per_job": (lambda v: 1 <= v <= 8, "use 1 to 8 GPUs per job"),
                "memory_mib_per_job": (lambda v: v >= 1024, "give at least 1024 MiB"),
                "root_volume_gib": (
                    lambda v: 30 <= v <= 16_384,
                    "the GPU AMI needs 30 GiB; gp3 allows up to 16384",
                ),
                "job_timeout_hours": (lambda v: 1 <= v <= 14 * 24, "use 1 to 336 hours"),
                "log_retention_days": (lambda v: v >= 1, "keep logs at least one day"),
            },
        )


class Training(pulumi.ComponentResource):
    job_queue_arn: pulumi.Output[str]
    job_definition_arn: pulumi.Output[str]
    state_machine_arn: pulumi.Output[str]
    job_role_arn: pulumi.Output[str]
    image: pulumi.Output[str]

    def __init__(self, name: str, args: TrainingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Training", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope
        image = pulumi.Output.concat(args.image_repository_url, ":", args.image_tag)

        # --- hosts: instance role, launch template, compute environment, queue
        # EC2 sets no aws:SourceAccount when it assumes an instance role: a documented exception.
        instance_role = aws.iam.Role(
            f"{name}-instance-role",
            assume_role_policy=service_trust_policy("ec2.amazonaws.com", account_id=None),
            description="ECS agent on AWS Batch GPU hosts",
            tags=exception_tag(
                "iam-service-trust-source-conditions",
                "EC2 instance profiles are assumed by ec2.amazonaws.com without aws:SourceAccount",
            ),
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-instance-ecs", role=instance_role.id, policy_arn=ECS_INSTANCE_POLICY, opts=child
        )
        instance_profile = aws.iam.InstanceProfile(
            f"{name}-instance-profile", role=instance_role.name, opts=child
        )
        # Root volumes are encrypted with the AWS managed EBS key (aws/ebs), named explicitly, not
        # the project key: Batch launches hosts through EC2 Auto Scaling, whose service-linked role
        # must be granted in the key policy of a customer managed key, or instances terminate at
        # launch and jobs wait in RUNNABLE forever. The AWS managed key needs no grant.
        # https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html
        # Named, not left out: without a key, EC2 uses the account's default EBS key, which an
        # account may have set to a customer managed key (ModifyEbsDefaultKmsKeyId), bringing the
        # same failure back. A launch template's KmsKeyId takes a key ID, key ARN, alias or alias
        # ARN (https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_LaunchTemplateEbsBlockDeviceRequest.html);
        # AWS creates the aws/ebs key on first use of its alias
        # (https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html).
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-hosts",
            description="AWS Batch GPU hosts: IMDSv2 only, encrypted root volume",
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled",
                http_tokens="required",
                http_put_response_hop_limit=2,  # containers on the host reach IMDS through one more hop
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        encrypted="true",
                        kms_key_id=scope.arn("kms", "alias/aws/ebs"),  # the AWS managed key
                        volume_size=args.root_volume_gib,
                        volume_type="gp3",
                        delete_on_termination="true",
                    ),
                )
            ],
            opts=child,
        )
        compute = aws.batch.ComputeEnvironment(
            f"{name}-gpu",
            type="MANAGED",
            compute_resources=aws.batch.ComputeEnvironmentComputeResourcesArgs(
                type="SPOT" if args.spot else "EC2",
                allocation_strategy="SPOT_PRICE_CAPACITY_OPTIMIZED" if args.spot else "BEST_FIT_PROGRESSIVE",
                min_vcpus=0,
                max_vcpus=args.max_vcpus,
                instance_types=list(args.instance_types),
                subnets=args.subnet_ids,
                security_group_ids=[args.security_group_id],
                instance_role=instance_profile.arn,
                launch_template=aws.batch.ComputeEnvironmentComputeResourcesLaunchTemplateArgs(
                    launch_template_id=launch_template.id,
                    version=launch_template.latest_version.apply(str),
                ),
                ec2_configurations=[
                    aws.batch.ComputeEnvironmentComputeResourcesEc2ConfigurationArgs(
                        image_type="ECS_AL2023_NVIDIA",
                    )
                ],
            ),
            opts=child,
        )
        queue = aws.batch.JobQueue(
            f"{name}-queue",
            state="ENABLED",
            priority=1,
            compute_environment_orders=[
                aws.batch.JobQueueComputeEnvironmentOrderArgs(order=1, compute_environment=compute.arn)
            ],
            opts=child,
        )

        # --- the job: its role and definition
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html (trust conditions)
        job = service_role(
            self,
            f"{name}-job",
            scope=scope,
            service="ecs-tasks.amazonaws.com",
            principal="training-job",
            description="The project's training container (`pipeline run` on AWS Batch)",
            source_arn=scope.arn("ecs", "*"),
            statements=[
                statement(
                    ["s3:GetBucketLocation", "s3:ListBucket"],
                    [args.data_bucket_arn, args.artifact_bucket_arn],
                    sid="ListBuckets",
                ),
                statement(
                    ["s3:GetObject"], [pulumi.Output.concat(args.data_bucket_arn, "/*")], sid="ReadData"
                ),
                statement(
                    ["s3:GetObject", "s3:PutObject"],
                    [pulumi.Output.concat(args.artifact_bucket_arn, "/*")],
                    sid="WriteArtifacts",
                ),
                kms_use_statement(args.kms_key_arn),
                scope.contract_read_statement(),
            ],
        )
        for index, policy_arn in enumerate(args.job_policy_arns):
            aws.iam.RolePolicyAttachment(
                f"{name}-job-extra-{index}", role=job.role.id, policy_arn=policy_arn, opts=child
            )
        job_definition = aws.batch.JobDefinition(
            f"{name}-job",
            type="container",
            platform_capabilities=["EC2"],
            container_properties=pulumi.Output.json_dumps(
                {
                    "image": image,
                    "jobRoleArn": job.role.arn,
                    "resourceRequirements": [
                        {"type": "GPU", "value": str(args.gpus_per_job)},
                        {"type": "VCPU", "value": str(args.vcpus_per_job)},
                        {"type": "MEMORY", "value": str(args.memory_mib_per_job)},
                    ],
                    "environment": [
                        {"name": "MLOPS_PROJECT", "value": scope.project},
                        {"name": "MLOPS_ENV", "value": scope.env},
                    ],
                    "readonlyRootFilesystem": False,
                    "privileged": False,
                }
            ),
            retry_strategy=aws.batch.JobDefinitionRetryStrategyArgs(attempts=3 if args.spot else 1),
            timeout=aws.batch.JobDefinitionTimeoutArgs(
                attempt_duration_seconds=args.job_timeout_hours * 3600
            ),
            opts=child,
        )

        # --- the pipeline: submit -> wait -> register, logged to CloudWatch Logs (AWS FSBP StepFunctions.1)
        machine_name = physical_name(scope.project, scope.env, "training", max_length=80)
        machine_arn = scope.arn("states", f"stateMachine:{machine_name}")
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-pipeline-logs",
            # The /aws/vendedlogs/ prefix keeps the log group's resource policy small
            # (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).
            name=f"/aws/vendedlogs/states/{machine_name}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        pipeline = service_role(
            self,
            f"{name}-pipeline",
            scope=scope,
            service="states.amazonaws.com",
            principal="pipeline",
            description="Training state machine",
            # https://docs.aws.amazon.com/step-functions/latest/dg/procedure-create-iam-role.html#prevent-cross-service-confused-deputy
            source_arn=machine_arn,
            statements=[
                # https://docs.aws.amazon.com/step-functions/latest/dg/batch-iam.html
                statement(
                    ["batch:SubmitJob"],
                    [
                        queue.arn,
                        pulumi.Output.concat(
                            scope.arn("batch", "job-definition/"), job_definition.name, ":*"
                        ),
                        scope.arn("batch", "job/*"),  # the new job's ARN is not known before it exists
                    ],
                    sid="SubmitTraining",
                ),
                # DescribeJobs has no resource-level permissions.
                statement(["batch:DescribeJobs"], ["*"], sid="WatchTraining"),
                statement(["batch:TerminateJob"], [scope.arn("batch", "job/*")], sid="StopTraining"),
                statement(
                    ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    [scope.arn("events", "rule/StepFunctionsGetEventsForBatchJobsRule")],
                    sid="SyncWithBatch",
                ),
                statement(
                    ["sagemaker:CreateModelPackage"],
                    [
                        args.model_package_group_arn,
                        pulumi.Output.concat(
                            scope.arn("sagemaker", "model-package/"), args.model_package_group_name, "/*"
                        ),
                    ],
                    sid="RegisterModel",
                ),
                # Log delivery actions support no resource-level permissions
                # (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html#cloudwatch-iam-policy).
                statement(list(LOG_DELIVERY_ACTIONS), ["*"], sid="DeliverLogs"),
            ],
        )
        machine = aws.sfn.StateMachine(
            f"{name}-pipeline",
            name=machine_name,
            role_arn=pipeline.role.arn,
            definition=pulumi.Output.all(
                queue.arn, job_definition.arn, args.model_package_group_name, args.artifact_bucket_name, image
            ).apply(
                lambda values: json.dumps(
                    state_machine_definition(
                        job_queue_arn=values[0],
                        job_definition_arn=values[1],
                        model_package_group_name=values[2],
                        artifact_bucket=values[3],
                        image=values[4],
                    )
                )
            ),
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                level="ALL",
                include_execution_data=False,
                log_destination=pulumi.Output.concat(log_group.arn, ":*"),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pipeline.policy]),
        )

        self.job_queue_arn = queue.arn
        self.job_definition_arn = job_definition.arn
        self.state_machine_arn = machine.arn
        self.job_role_arn = job.role.arn
        self.image = image
        publish_parameters(
            self,
            component="training",
            name=name,
            scope=scope,
            values={
                "training-job-queue": queue.name,
                "training-job-definition": job_definition.name,
                "training-state-machine-arn": machine.arn,
            },
        )
        self.register_outputs(
            {
                "job_queue_arn": self.job_queue_arn,
                "job_definition_arn": self.job_definition_arn,
                "state_machine_arn": self.state_machine_arn,
            }
        )
