"""Monitoring and retraining: drift, latency and error alarms, an alert topic, a dashboard, the
scheduled drift job, and an EventBridge rule that starts the training pipeline when the drift
alarm fires.

The drift job (``python -m <package>.drift`` then ``retrain check``) runs once a day as an AWS
Batch job on Fargate in the platform VPC, with the training image: it reads captured requests
and the champion's baseline, writes its report, publishes its scores to the CloudWatch namespace
this component publishes (``drift-metric-namespace``) through the VPC's ``monitoring`` endpoint
and may start retraining through the ``states`` endpoint. The cooldown between retrainings lives
in the project.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlops_platform.ci_identity.component import pull_statements
from mlops_platform.common import (
    TYPE_PREFIX,
    Scope,
    check_fields,
    kms_use_statement,
    publish_parameters,
    service_role,
    statement,
)
from mlops_platform.monitoring.rules import DRIFT_METRIC, dashboard_body, drift_alarm_event_pattern
from mlops_platform.naming import feast_project, metric_namespace, physical_name
from mlops_platform.serving.component import CAPTURE_PREFIX, VARIANT
from mlops_platform.storage.component import key_policy


@dataclass(frozen=True)
class MonitoringArgs:
    scope: Scope
    package_name: str  # the project's Python package: the drift job runs `python -m <package>.drift`
    state_machine_arn: pulumi.Input[str]
    endpoint_name: str
    training_image: pulumi.Input[str]  # the drift job runs in the training image
    training_repository_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_id: pulumi.Input[str]
    artifact_bucket_arn: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    registry_read_statements: Sequence[dict[str, Any]] = ()
    drift_threshold: float = 0.2
    latency_threshold_ms: int = 500
    error_threshold: int = 5  # 5XX errors per 5 minutes
    alert_email: str | None = None
    drift_schedule: str = "rate(1 day)"
    log_retention_days: int = 90

    def __post_init__(self) -> None:
        check_fields(
            self,
            {
                "package_name": (lambda v: bool(v) and v.isidentifier(), "not a Python package name"),
                "drift_threshold": (lambda v: v > 0, "must be positive"),
                "latency_threshold_ms": (lambda v: v >= 1, "must be positive"),
                "error_threshold": (lambda v: v >= 1, "must be positive"),
                "alert_email": (lambda v: v is None or "@" in v, "not an e-mail address"),
                "drift_schedule": (
                    lambda v: v.startswith(("rate(", "cron(")) and v.endswith(")"),
                    "give an EventBridge schedule expression",
                    "For example rate(1 day) or cron(0 6 * * ? *).",
                ),
                "log_retention_days": (lambda v: v >= 1, "keep logs at least one day"),
            },
        )


class Monitoring(pulumi.ComponentResource):
    topic_arn: pulumi.Output[str]
    drift_alarm_arn: pulumi.Output[str]
    metric_namespace: str

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope
        namespace = metric_namespace(scope.project, scope.env)

        # CloudWatch can publish to an encrypted topic only with a customer key that lets it, for
        # this account's alarms only.
        # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
        key = aws.kms.Key(
            f"{name}-alerts-key",
            description=f"mlops-scaffold alert topic of {scope.project} ({scope.env})",
            enable_key_rotation=True,
            policy=key_policy(
                scope,
                {
                    "Sid": "CloudWatchAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": scope.account_id},
                        "ArnLike": {"aws:SourceArn": scope.arn("cloudwatch", "alarm:*")},
                    },
                },
            ),
            opts=child,
        )
        topic = aws.sns.Topic(f"{name}-alerts", kms_master_key_id=key.arn, opts=child)
        if args.alert_email:
            aws.sns.TopicSubscription(
                f"{name}-alerts-email",
                topic=topic.arn,
                protocol="email",
                endpoint=args.alert_email,
                opts=child,
            )

        endpoint_dims = {"EndpointName": args.endpoint_name, "VariantName": VARIANT}
        drift = aws.cloudwatch.MetricAlarm(
            f"{name}-drift",
            alarm_description="Prediction inputs drifted from the training baseline: retraining starts",
            namespace=namespace,
            metric_name=DRIFT_METRIC,
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            threshold=args.drift_threshold,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            opts=child,
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-latency",
            alarm_description=f"Average model latency above {args.latency_threshold_ms} ms",
            namespace="AWS/SageMaker",
            metric_name="ModelLatency",
            dimensions=endpoint_dims,
            statistic="Average",
            period=60,
            evaluation_periods=5,
            datapoints_to_alarm=3,
            threshold=args.latency_threshold_ms * 1000,
            comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            opts=child,
        )
        aws.cloudwatch.MetricAlarm(
            f"{name}-errors",
            alarm_description=f"{args.error_threshold} or more server errors in 5 minutes",
            namespace="AWS/SageMaker",
            metric_name="Invocation5XXErrors",
            dimensions=endpoint_dims,
            statistic="Sum",
            period=300,
            evaluation_periods=1,
            threshold=args.error_threshold,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic.arn],
            ok_actions=[topic.arn],
            opts=child,
        )
        aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=physical_name(scope.project, scope.env, "mlops"),
            dashboard_body=pulumi.Output.from_input(scope.region).apply(
                lambda region: json.dumps(
                    dashboard_body(
                        region=region, namespace=namespace, endpoint=args.endpoint_name, variant=VARIANT
                    )
                )
            ),
            opts=child,
        )

        # Drift alarm -> EventBridge -> training state machine.
        rule_name = physical_name(scope.project, scope.env, "retrain-on-drift")
        retrain = service_role(
            self,
            f"{name}-retrain",
            scope=scope,
            service="events.amazonaws.com",
            principal="retrain-trigger",
            description="EventBridge starts retraining on drift",
            # https://docs.aws.amazon.com/eventbridge/latest/userguide/cross-service-confused-deputy-prevention.html
            source_arn=scope.arn("events", f"rule/{rule_name}"),
            statements=[statement(["states:StartExecution"], [args.state_machine_arn], sid="StartTraining")],
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-retrain-on-drift",
            name=rule_name,
            description="Start the training pipeline when the drift alarm fires",
            event_pattern=drift.arn.apply(lambda arn: json.dumps(drift_alarm_event_pattern(arn))),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-retrain-target",
            rule=rule.name,
            arn=args.state_machine_arn,
            role_arn=retrain.role.arn,
            opts=child,
        )
        self._drift_job(name, args, namespace)

        self.topic_arn = topic.arn
        self.drift_alarm_arn = drift.arn
        self.metric_namespace = namespace
        publish_parameters(
            self,
            component="monitoring",
            name=name,
            scope=scope,
            values={"alerts-topic-arn": topic.arn, "drift-metric-namespace": namespace},
        )
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "drift_alarm_arn": self.drift_alarm_arn,
                "metric_namespace": namespace,
            }
        )

    def _drift_job(self, name: str, args: MonitoringArgs, namespace: str) -> None:
        """The daily drift job: AWS Batch on Fargate in the platform VPC (no idle cost)."""
        child = pulumi.ResourceOptions(parent=self)
        scope = args.scope
        artifacts = args.artifact_bucket_arn
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-drift-logs",
            name=f"/aws/batch/{physical_name(scope.project, scope.env, 'drift')}",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        # The execution role pulls the image and writes the logs for the Fargate task.
        # https://docs.aws.amazon.com/batch/latest/userguide/execution-IAM-role.html
        execution = service_role(
            self,
            f"{name}-drift-execution",
            scope=scope,
            service="ecs-tasks.amazonaws.com",
            principal="drift-execution",
            description="Pulls the drift job's image and writes its logs",
            source_arn=scope.arn("ecs", "*"),
            statements=[
                *pull_statements(args.training_repository_arn),
                statement(
                    ["logs:CreateLogStream", "logs:PutLogEvents"],
                    [pulumi.Output.concat(log_group.arn, ":*")],
                    sid="Logs",
                ),
            ],
        )
        job = service_role(
            self,
            f"{name}-drift-job",
            scope=scope,
            service="ecs-tasks.amazonaws.com",
            principal="drift-job",
            description="The drift job and retraining check (`drift`, `retrain check`)",
            source_arn=scope.arn("ecs", "*"),
            statements=[
                scope.contract_read_statement(),
                *args.registry_read_statements,
                statement(["s3:ListBucket"], [artifacts], sid="ListArtifacts"),
                statement(
                    ["s3:GetObject"],
                    [
                        pulumi.Output.concat(artifacts, "/models/*"),  # the champion's baseline
                        pulumi.Output.concat(artifacts, f"/{CAPTURE_PREFIX}/*"),  # captured requests
                    ],
                    sid="ReadBaselineAndCaptures",
                ),
                statement(
                    ["s3:GetObject", "s3:PutObject"],
                    [
                        pulumi.Output.concat(artifacts, "/drift/*"),
                        pulumi.Output.concat(artifacts, "/retraining/*"),
                    ],
                    sid="ReportsAndRetrainingMarker",
                ),
                kms_use_statement(args.kms_key_arn),
                # PutMetricData's one resource type (a CloudWatch dataset) is optional and the drift
                # metrics name none, so the call is authorised on "*"; the namespace condition scopes it
                # (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html).
                statement(
                    ["cloudwatch:PutMetricData"],
                    ["*"],
                    condition={"StringEquals": {"cloudwatch:namespace": namespace}},
                    sid="DriftMetrics",
                ),
                # The drift job reads its alarm's state back after publishing (alerts.alarm_states).
                # DescribeAlarmsForMetric has no resource types, so it is granted on "*"
                # (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudwatch.html).
                statement(["cloudwatch:DescribeAlarmsForMetric"], ["*"], sid="DriftAlarmState"),
                statement(["states:StartExecution"], [args.state_machine_arn], sid="Retrain"),
            ],
        )
        compute = aws.batch.ComputeEnvironment(
            f"{name}-drift-compute",
            type="MANAGED",
            compute_resources=aws.batch.ComputeEnvironmentComputeResourcesArgs(
                type="FARGATE",
                max_vcpus=4,
                subnets=args.subnet_ids,
                security_group_ids=[args.security_group_id],
            ),
            opts=child,
        )
        queue = aws.batch.JobQueue(
            f"{name}-drift-queue",
            state="ENABLED",
            priority=1,
            compute_environment_orders=[
                aws.batch.JobQueueComputeEnvironmentOrderArgs(order=1, compute_environment=compute.arn)
            ],
            opts=child,
        )
        module = feast_project(args.package_name)
        env = scope.env
        run = f"python -m {module}.drift --env {env} && python -m {module}.retrain check --env {env}"
        definition = aws.batch.JobDefinition(
            f"{name}-drift-job",
            type="container",
            platform_capabilities=["FARGATE"],
            container_properties=pulumi.Output.json_dumps(
                {
                    "image": args.training_image,
                    "command": [
                        "sh",
                        "-c",
                        run,
                    ],
                    "jobRoleArn": job.role.arn,
                    "executionRoleArn": execution.role.arn,
                    "resourceRequirements": [
                        {"type": "VCPU", "value": "1"},
                        {"type": "MEMORY", "value": "2048"},
                    ],
                    "environment": [{"name": "MLOPS_ENV", "value": env}],
                    "networkConfiguration": {"assignPublicIp": "DISABLED"},
                    "fargatePlatformConfiguration": {"platformVersion": "LATEST"},
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {"awslogs-group": log_group.name, "awslogs-stream-prefix": "drift"},
                    },
                }
            ),
            timeout=aws.batch.JobDefinitionTimeoutArgs(attempt_duration_seconds=3600),
            opts=child,
        )
        schedule_name = physical_name(scope.project, scope.env, "drift-schedule")
        scheduler = service_role(
            self,
            f"{name}-drift-schedule",
            scope=scope,
            service="events.amazonaws.com",
            principal="drift-schedule",
            description="EventBridge submits the daily drift job",
            source_arn=scope.arn("events", f"rule/{schedule_name}"),
            statements=[
                # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-identity-based.html#eb-target-permissions
                statement(
                    ["batch:SubmitJob"],
                    [
                        queue.arn,
                        pulumi.Output.concat(scope.arn("batch", "job-definition/"), definition.name, ":*"),
                        scope.arn("batch", "job/*"),  # the new job's ARN is not known before it exists
                    ],
                    sid="SubmitDriftJob",
                ),
            ],
        )
        schedule = aws.cloudwatch.EventRule(
            f"{name}-drift-schedule",
            name=schedule_name,
            description="Run the drift job and the retraining check",
            schedule_expression=args.drift_schedule,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-drift-target",
            rule=schedule.name,
            arn=queue.arn,
            role_arn=scheduler.role.arn,
            batch_target=aws.cloudwatch.EventTargetBatchTargetArgs(
                job_definition=definition.arn, job_name=physical_name(scope.project, scope.env, "drift")
            ),
            opts=child,
        )
