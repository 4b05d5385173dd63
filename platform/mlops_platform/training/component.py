"""GPU training: AWS Batch on GPU instances that scale to zero, and a Step Functions pipeline.

Idle cost is zero: the compute environment has min 0 vCPUs, so instances exist only while jobs
run. Hosts sit in private subnets without public IPs, require IMDSv2 and encrypt their volumes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from mlops_platform.common import (
    TYPE_PREFIX,
    Scope,
    kms_use_statement,
    policy_document,
    publish_parameters,
    require,
    service_trust_policy,
    statement,
)
from mlops_platform.training.pipeline import check_instance_types, state_machine_definition

ECS_INSTANCE_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"


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
    image_tag: str = "latest"
    instance_types: tuple[str, ...] = ("g5", "g6")
    spot: bool = False
    max_vcpus: int = 64
    vcpus_per_job: int = 4
    gpus_per_job: int = 1
    memory_mib_per_job: int = 15_000
    root_volume_gib: int = 100
    job_timeout_hours: int = 24
    job_policy_arns: Sequence[pulumi.Input[str]] = field(default_factory=tuple)  # e.g. feature store, MLflow

    def __post_init__(self) -> None:
        check_instance_types(self.instance_types)
        require(
            self.vcpus_per_job >= 1,
            component="TrainingArgs",
            field="vcpus_per_job",
            value=self.vcpus_per_job,
            reason="a job needs at least one vCPU",
        )
        require(
            self.max_vcpus >= self.vcpus_per_job,
            component="TrainingArgs",
            field="max_vcpus",
            value=self.max_vcpus,
            reason=f"must be at least vcpus_per_job ({self.vcpus_per_job})",
        )
        require(
            1 <= self.gpus_per_job <= 8,
            component="TrainingArgs",
            field="gpus_per_job",
            value=self.gpus_per_job,
            reason="use 1 to 8 GPUs per job",
        )
        require(
            self.memory_mib_per_job >= 1024,
            component="TrainingArgs",
            field="memory_mib_per_job",
            value=self.memory_mib_per_job,
            reason="give at least 1024 MiB",
        )
        require(
            30 <= self.root_volume_gib <= 16_384,
            component="TrainingArgs",
            field="root_volume_gib",
            value=self.root_volume_gib,
            reason="the GPU AMI needs 30 GiB; gp3 allows up to 16384",
        )
        require(
            1 <= self.job_timeout_hours <= 14 * 24,
            component="TrainingArgs",
            field="job_timeout_hours",
            value=self.job_timeout_hours,
            reason="use 1 to 336 hours",
        )
        require(
            bool(self.image_tag) and ":" not in self.image_tag,
            component="TrainingArgs",
            field="image_tag",
            value=self.image_tag,
            reason="give a tag only, e.g. the git commit CI pushed",
        )


class Training(pulumi.ComponentResource):
    job_queue_arn: pulumi.Output[str]
    job_definition_arn: pulumi.Output[str]
    state_machine_arn: pulumi.Output[str]
    job_role_arn: pulumi.Output[str]

    def __init__(self, name: str, args: TrainingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Training", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope
        image = pulumi.Output.concat(args.image_repository_url, ":", args.image_tag)

        # --- hosts: instance role, launch template, compute environment, queue
        instance_role = aws.iam.Role(
            f"{name}-instance-role",
            assume_role_policy=service_trust_policy("ec2.amazonaws.com"),
            description="ECS agent on AWS Batch GPU hosts",
            opts=child,
        )
        aws.iam.RolePolicyAttachment(
            f"{name}-instance-ecs", role=instance_role.name, policy_arn=ECS_INSTANCE_POLICY, opts=child
        )
        instance_profile = aws.iam.InstanceProfile(
            f"{name}-instance-profile", role=instance_role.name, opts=child
        )
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
                        kms_key_id=args.kms_key_arn,
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
                aws.batch.JobQueueComputeEnvironmentOrderArgs(
                    order=1,
                    compute_environment=compute.arn,
                )
            ],
            opts=child,
        )

        # --- the job: its role and definition
        job_role = aws.iam.Role(
            f"{name}-job-role",
            assume_role_policy=service_trust_policy("ecs-tasks.amazonaws.com"),
            description="The project's training container",
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-job-policy",
            role=job_role.id,
            policy=policy_document(
                statement(
                    ["s3:GetBucketLocation", "s3:ListBucket"],
                    [args.data_bucket_arn, args.artifact_bucket_arn],
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
                statement(
                    ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
                    [scope.arn("ssm", f"parameter{scope.parameter_prefix}/*")],
                    sid="ReadContract",
                ),
            ),
            opts=child,
        )
        for index, policy_arn in enumerate(args.job_policy_arns):
            aws.iam.RolePolicyAttachment(
                f"{name}-job-extra-{index}", role=job_role.name, policy_arn=policy_arn, opts=child
            )
        job_definition = aws.batch.JobDefinition(
            f"{name}-job",
            type="container",
            platform_capabilities=["EC2"],
            container_properties=pulumi.Output.json_dumps(
                {
                    "image": image,
                    "jobRoleArn": job_role.arn,
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

        # --- the pipeline: submit -> wait -> register
        pipeline_role = aws.iam.Role(
            f"{name}-pipeline-role",
            assume_role_policy=service_trust_policy("states.amazonaws.com"),
            description="Training state machine",
            opts=child,
        )
        pipeline_policy = aws.iam.RolePolicy(
            f"{name}-pipeline-policy",
            role=pipeline_role.id,
            policy=policy_document(
                statement(
                    ["batch:SubmitJob"],
                    [
                        queue.arn,
                        pulumi.Output.concat(
                            scope.arn("batch", "job-definition/"), job_definition.name, ":*"
                        ),
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
            ),
            opts=child,
        )
        machine = aws.sfn.StateMachine(
            f"{name}-pipeline",
            role_arn=pipeline_role.arn,
            definition=pulumi.Output.all(
                queue.arn,
                job_definition.arn,
                args.model_package_group_name,
                args.artifact_bucket_name,
                image,
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
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pipeline_policy]),
        )

        self.job_queue_arn = queue.arn
        self.job_definition_arn = job_definition.arn
        self.state_machine_arn = machine.arn
        self.job_role_arn = job_role.arn
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
