"""Training on AWS Batch: hosts that scale to zero, the training job, and a Step Functions pipeline.

What a job runs on follows the project's framework. PyTorch (``compute="gpu"``): EC2 GPU hosts,
and a multi-node parallel job definition whose nodes train as one torchrun process group, on a
compute environment of its own in a cluster placement group. scikit-learn (``compute="cpu"``):
AWS Batch on Fargate, no GPU, no host to manage; its parallel tuning runs as array jobs of the
same job definition.

Idle cost is zero: compute environments have min 0 vCPUs (Fargate has no hosts at all), so
instances exist only while jobs run. Hosts sit in private subnets without public IPs, require
IMDSv2 and encrypt their volumes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform.ci_identity.component import pull_statements
from mlops_platform.common import (
    TYPE_PREFIX,
    Scope,
    check_fields,
    exception_tag,
    kms_use_statement,
    publish_parameters,
    require,
    service_role,
    service_trust_policy,
    statement,
)
from mlops_platform.naming import physical_name
from mlops_platform.training.pipeline import (
    check_instance_types,
    fargate_size_ok,
    host_loss_retry_strategy,
    node_shape,
    state_machine_definition,
)

COMPUTE = ("gpu", "cpu")
TORCHRUN_PORT = 29500  # the generated project's launch.py starts torchrun's rendezvous there
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


def _retry_on_host_loss(attempts: int) -> aws.batch.JobDefinitionRetryStrategyArgs:
    strategy = host_loss_retry_strategy(attempts)
    return aws.batch.JobDefinitionRetryStrategyArgs(
        attempts=strategy["attempts"],
        evaluate_on_exits=[
            aws.batch.JobDefinitionRetryStrategyEvaluateOnExitArgs(**entry)
            for entry in strategy["evaluate_on_exits"]
        ],
    )


def _root_volume(args: TrainingArgs) -> list[aws.ec2.LaunchTemplateBlockDeviceMappingArgs]:
    """A GPU host's root volume: gp3, encrypted with the AWS managed EBS key, named (see Training)."""
    return [
        aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
            device_name="/dev/xvda",
            ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                encrypted="true",
                kms_key_id=args.scope.arn("kms", "alias/aws/ebs"),  # the AWS managed key
                volume_size=args.root_volume_gib,
                volume_type="gp3",
                delete_on_termination="true",
            ),
        )
    ]


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
    image_repository_arn: pulumi.Input[str] = ""  # Fargate's execution role pulls the image from it
    vpc_id: pulumi.Input[str] = ""  # where the multi-node hosts' security group lives
    package_name: str = ""  # the project's Python package: multi-node jobs run `<package>.launch`
    compute: str = "gpu"  # "gpu": EC2 GPU hosts (PyTorch); "cpu": Fargate (scikit-learn)
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
    cpu_vcpus_per_job: int = 2  # Fargate: a vCPU count and a memory size it offers
    cpu_memory_mib_per_job: int = 4096
    multi_node_instance_type: str = "g5.xlarge"  # one type: the nodes of a job are alike
    nodes: int = 2  # nodes of a multi-node job unless its submission says otherwise

    def __post_init__(self) -> None:
        check_fields(self, {"compute": (lambda v: v in COMPUTE, f"choose one of {', '.join(COMPUTE)}")})
        if self.compute == "gpu":
            check_instance_types(self.instance_types)
            shape = node_shape(self.multi_node_instance_type)
            check_fields(
                self,
                {
                    "package_name": (lambda v: bool(v) and v.isidentifier(), "not a Python package name"),
                    "nodes": (lambda v: 2 <= v <= 1000, "a multi-node job has 2 to 1000 nodes"),
                },
            )
            require(
                self.max_vcpus >= self.nodes * shape.vcpus,
                component="TrainingArgs",
                field="max_vcpus",
                value=self.max_vcpus,
                reason=f"{self.nodes} nodes of {self.multi_node_instance_type} need "
                f"{self.nodes * shape.vcpus} vCPUs",
                fix="Raise mlops:maxVcpus, or lower mlops:trainingNodes.",
            )
        else:
            require(
                fargate_size_ok(self.cpu_vcpus_per_job, self.cpu_memory_mib_per_job),
                component="TrainingArgs",
                field="cpu_memory_mib_per_job",
                value=self.cpu_memory_mib_per_job,
                reason=f"AWS Batch on Fargate offers no {self.cpu_memory_mib_per_job} MiB with "
                f"{self.cpu_vcpus_per_job} vCPU",
                fix="Use 1, 2, 4, 8 or 16 vCPUs and a memory size Fargate offers for it "
                "(2 vCPUs: 4096-16384 MiB in steps of 1024).",
            )
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
        image = pulumi.Output.concat(args.image_repository_url, ":", args.image_tag)
        if args.compute == "cpu":  # scikit-learn: AWS Batch on Fargate, no host to manage
            self._jobs(name, args, image, self._fargate_queue(name, args))
            return

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
            block_device_mappings=_root_volume(args),
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

        self._jobs(name, args, image, queue, instance_profile=instance_profile)

    def _jobs(
        self,
        name: str,
        args: TrainingArgs,
        image: pulumi.Output[str],
        queue: aws.batch.JobQueue,
        *,
        instance_profile: aws.iam.InstanceProfile | None = None,
    ) -> None:
        """The training job's role and definition, the multi-node job on GPU hosts, the pipeline."""
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope
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
        gpu = instance_profile is not None
        job_definition = aws.batch.JobDefinition(
            f"{name}-job",
            type="container",
            platform_capabilities=["EC2" if gpu else "FARGATE"],
            container_properties=pulumi.Output.json_dumps(
                {
                    "image": image,
                    "jobRoleArn": job.role.arn,
                    "environment": [
                        {"name": "MLOPS_PROJECT", "value": scope.project},
                        {"name": "MLOPS_ENV", "value": scope.env},
                    ],
                    "readonlyRootFilesystem": False,
                    "privileged": False,
                }
                | (self._gpu_container(args) if gpu else self._fargate_container(name, args))
            ),
            # On EC2 hosts (Spot ones above all) a lost host is retried; the job resumes from its
            # last checkpoint. A failure of the job itself is not: it would only fail again.
            retry_strategy=(
                _retry_on_host_loss(3) if gpu else aws.batch.JobDefinitionRetryStrategyArgs(attempts=1)
            ),
            timeout=aws.batch.JobDefinitionTimeoutArgs(
                attempt_duration_seconds=args.job_timeout_hours * 3600
            ),
            opts=child,
        )
        multi_node: dict[str, pulumi.Input[str]] = {}
        if instance_profile is not None:
            multi_queue, multi_definition = self._multi_node(name, args, image, job.role, instance_profile)
            multi_node = {
                "training-multinode-job-queue": multi_queue.name,
                "training-multinode-job-definition": multi_definition.name,
            }

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
            framework="pytorch" if gpu else "sklearn",
            values={
                "training-job-queue": queue.name,
                "training-job-definition": job_definition.name,
                "training-state-machine-arn": machine.arn,
                **multi_node,
            },
        )
        self.register_outputs(
            {
                "job_queue_arn": self.job_queue_arn,
                "job_definition_arn": self.job_definition_arn,
                "state_machine_arn": self.state_machine_arn,
            }
        )

    def _gpu_container(self, args: TrainingArgs) -> dict[str, Any]:
        return {
            "resourceRequirements": [
                {"type": "GPU", "value": str(args.gpus_per_job)},
                {"type": "VCPU", "value": str(args.vcpus_per_job)},
                {"type": "MEMORY", "value": str(args.memory_mib_per_job)},
            ]
        }

    def _fargate_queue(self, name: str, args: TrainingArgs) -> aws.batch.JobQueue:
        """scikit-learn trains on CPUs: AWS Batch on Fargate, in the platform's private subnets."""
        child = pulumi.ResourceOptions(parent=self)
        compute = aws.batch.ComputeEnvironment(
            f"{name}-cpu",
            type="MANAGED",
            compute_resources=aws.batch.ComputeEnvironmentComputeResourcesArgs(
                type="FARGATE",
                max_vcpus=args.max_vcpus,
                subnets=args.subnet_ids,
                security_group_ids=[args.security_group_id],
            ),
            opts=child,
        )
        return aws.batch.JobQueue(
            f"{name}-queue",
            state="ENABLED",
            priority=1,
            compute_environment_orders=[
                aws.batch.JobQueueComputeEnvironmentOrderArgs(order=1, compute_environment=compute.arn)
            ],
            opts=child,
        )

    def _fargate_container(self, name: str, args: TrainingArgs) -> dict[str, Any]:
        """What a Fargate job needs besides the image: an execution role that pulls the image and
        writes the logs (https://docs.aws.amazon.com/batch/latest/userguide/execution-IAM-role.html),
        its log group, CPU and memory (no GPU), no public IP."""
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-job-logs",
            name=f"/aws/batch/{physical_name(scope.project, scope.env, 'training')}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        execution = service_role(
            self,
            f"{name}-execution",
            scope=scope,
            service="ecs-tasks.amazonaws.com",
            principal="training-execution",
            description="Pulls the training image and writes the training job's logs (Fargate)",
            source_arn=scope.arn("ecs", "*"),
            statements=[
                *pull_statements(args.image_repository_arn),
                statement(
                    ["logs:CreateLogStream", "logs:PutLogEvents"],
                    [pulumi.Output.concat(log_group.arn, ":*")],
                    sid="Logs",
                ),
            ],
        )
        return {
            "executionRoleArn": execution.role.arn,
            "resourceRequirements": [
                {"type": "VCPU", "value": str(args.cpu_vcpus_per_job)},
                {"type": "MEMORY", "value": str(args.cpu_memory_mib_per_job)},
            ],
            "networkConfiguration": {"assignPublicIp": "DISABLED"},
            "fargatePlatformConfiguration": {"platformVersion": "LATEST"},
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": log_group.name, "awslogs-stream-prefix": "training"},
            },
        }

    def _multi_node(
        self,
        name: str,
        args: TrainingArgs,
        image: pulumi.Output[str],
        job_role: aws.iam.Role,
        instance_profile: aws.iam.InstanceProfile,
    ) -> tuple[aws.batch.JobQueue, aws.batch.JobDefinition]:
        """Multi-node parallel training: hosts of one type in a cluster placement group, in one
        subnet, that reach each other (and only each other) on every port, and a job definition
        whose every node runs `python -m <package>.launch` (torchrun with the node's place in the
        job). https://docs.aws.amazon.com/batch/latest/userguide/multi-node-parallel-jobs.html"""
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope
        shape = node_shape(args.multi_node_instance_type)
        # One Availability Zone, close together: a cluster placement group, as AWS Batch asks of
        # compute environments for multi-node jobs (https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html).
        placement = aws.ec2.PlacementGroup(f"{name}-nodes", strategy="cluster", opts=child)
        # torchrun's rendezvous and the collectives (NCCL, Gloo) use ports of their own choosing
        # between the nodes: all traffic, from and to this group only; EFA asks the same
        # (https://docs.aws.amazon.com/batch/latest/userguide/efa.html). Nothing else gets in.
        nodes_sg = aws.ec2.SecurityGroup(
            f"{name}-nodes",
            vpc_id=args.vpc_id,
            description="Nodes of a multi-node training job: traffic between them only",
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-nodes-in",
            security_group_id=nodes_sg.id,
            referenced_security_group_id=nodes_sg.id,
            ip_protocol="-1",
            description="From the other nodes of the job (torchrun rendezvous, collectives)",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-nodes-out",
            security_group_id=nodes_sg.id,
            referenced_security_group_id=nodes_sg.id,
            ip_protocol="-1",
            description="To the other nodes of the job",
            opts=child,
        )
        groups = [args.security_group_id, nodes_sg.id]  # the platform's HTTPS out, and each other
        launch_template = aws.ec2.LaunchTemplate(
            f"{name}-nodes",
            description="AWS Batch multi-node GPU hosts: IMDSv2 only, encrypted root volume"
            + (f", {shape.efa_interfaces} EFA" if shape.efa_interfaces else ""),
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=2
            ),
            block_device_mappings=_root_volume(args),  # as the single-job GPU hosts' (see there)
            # EFA on the types that have it, one interface per network card, each in both groups
            # (a launch template with interfaces takes its security groups there)
            # (https://docs.aws.amazon.com/batch/latest/userguide/efa.html,
            # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/efa-acc-inst-types.html).
            network_interfaces=[
                aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                    network_card_index=card,
                    device_index=card,
                    interface_type="efa",
                    security_groups=groups,
                    delete_on_termination="true",
                )
                for card in range(shape.efa_interfaces)
            ]
            or None,
            opts=child,
        )
        compute = aws.batch.ComputeEnvironment(
            f"{name}-nodes",
            type="MANAGED",
            compute_resources=aws.batch.ComputeEnvironmentComputeResourcesArgs(
                # Multi-node jobs do not run on Spot (https://docs.aws.amazon.com/batch/latest/userguide/mnp-ce.html).
                type="EC2",
                allocation_strategy="BEST_FIT_PROGRESSIVE",
                min_vcpus=0,
                max_vcpus=args.max_vcpus,
                instance_types=[args.multi_node_instance_type],
                subnets=pulumi.Output.from_input(args.subnet_ids).apply(lambda ids: list(ids)[:1]),
                security_group_ids=groups,  # every node's network interface (awsvpc mode) gets them
                placement_group=placement.name,
                instance_role=instance_profile.arn,
                launch_template=aws.batch.ComputeEnvironmentComputeResourcesLaunchTemplateArgs(
                    launch_template_id=launch_template.id,
                    version=launch_template.latest_version.apply(str),
                ),
                ec2_configurations=[
                    aws.batch.ComputeEnvironmentComputeResourcesEc2ConfigurationArgs(
                        image_type="ECS_AL2023_NVIDIA"
                    )
                ],
            ),
            opts=child,
        )
        queue = aws.batch.JobQueue(
            f"{name}-nodes-queue",
            state="ENABLED",
            priority=1,
            compute_environment_orders=[
                aws.batch.JobQueueComputeEnvironmentOrderArgs(order=1, compute_environment=compute.arn)
            ],
            opts=child,
        )
        devices = [
            {
                "hostPath": f"/dev/infiniband/uverbs{card}",
                "containerPath": f"/dev/infiniband/uverbs{card}",
                "permissions": ["READ", "WRITE", "MKNOD"],
            }
            for card in range(shape.efa_interfaces)
        ]
        container: dict[str, Any] = {
            "image": image,
            "command": ["python", "-m", f"{args.package_name}.launch", "pipeline", "run", "--env", scope.env],
            "jobRoleArn": job_role.arn,
            "instanceType": args.multi_node_instance_type,
            "resourceRequirements": [
                {"type": "GPU", "value": str(shape.gpus)},
                {"type": "VCPU", "value": str(shape.vcpus)},
                {"type": "MEMORY", "value": str(shape.memory_mib_for_jobs)},
            ],
            "environment": [
                {"name": "MLOPS_PROJECT", "value": scope.project},
                {"name": "MLOPS_ENV", "value": scope.env},
            ],
            "readonlyRootFilesystem": False,
            "privileged": False,
        }
        if devices:
            container["linuxParameters"] = {"devices": devices}
        definition = aws.batch.JobDefinition(
            f"{name}-nodes-job",
            type="multinode",
            platform_capabilities=["EC2"],
            node_properties=pulumi.Output.json_dumps(
                {
                    "numNodes": args.nodes,
                    "mainNode": 0,
                    "nodeRangeProperties": [{"targetNodes": "0:", "container": container}],
                }
            ),
            retry_strategy=_retry_on_host_loss(3),
            timeout=aws.batch.JobDefinitionTimeoutArgs(
                attempt_duration_seconds=args.job_timeout_hours * 3600
            ),
            opts=child,
        )
        return queue, definition
