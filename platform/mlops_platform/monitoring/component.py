"""Monitoring and retraining: drift, latency and error alarms, an alert topic, a dashboard, and
an EventBridge rule that starts the training pipeline when the drift alarm fires.

The project's drift job publishes its scores to the CloudWatch namespace this component
publishes (``drift-metric-namespace``); the cooldown between retrainings lives in the project.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlops_platform.common import (
    TYPE_PREFIX,
    Scope,
    policy_document,
    publish_parameters,
    require,
    service_trust_policy,
    statement,
)
from mlops_platform.monitoring.rules import DRIFT_METRIC, dashboard_body, drift_alarm_event_pattern
from mlops_platform.naming import metric_namespace, physical_name
from mlops_platform.serving.component import VARIANT


@dataclass(frozen=True)
class MonitoringArgs:
    scope: Scope
    state_machine_arn: pulumi.Input[str]
    endpoint_name: str
    drift_threshold: float = 0.2
    latency_threshold_ms: int = 500
    error_threshold: int = 5  # 5XX errors per 5 minutes
    alert_email: str | None = None

    def __post_init__(self) -> None:
        require(
            self.drift_threshold > 0,
            component="MonitoringArgs",
            field="drift_threshold",
            value=self.drift_threshold,
            reason="must be positive",
        )
        require(
            self.latency_threshold_ms >= 1,
            component="MonitoringArgs",
            field="latency_threshold_ms",
            value=self.latency_threshold_ms,
            reason="must be positive",
        )
        require(
            self.error_threshold >= 1,
            component="MonitoringArgs",
            field="error_threshold",
            value=self.error_threshold,
            reason="must be positive",
        )
        require(
            self.alert_email is None or "@" in self.alert_email,
            component="MonitoringArgs",
            field="alert_email",
            value=self.alert_email,
            reason="not an e-mail address",
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

        # CloudWatch can publish to an encrypted topic only with a customer key that lets it.
        key = aws.kms.Key(
            f"{name}-alerts-key",
            description=f"mlops-scaffold alert topic of {scope.project} ({scope.env})",
            enable_key_rotation=True,
            policy=pulumi.Output.json_dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministers",
                            "Effect": "Allow",
                            "Principal": {
                                "AWS": pulumi.Output.concat(
                                    "arn:", scope.partition, ":iam::", scope.account_id, ":root"
                                )
                            },
                            "Action": "kms:*",
                            "Resource": "*",
                        },
                        {
                            "Sid": "CloudWatchPublishes",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                            "Resource": "*",
                        },
                    ],
                }
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
                        region=region,
                        namespace=namespace,
                        endpoint=args.endpoint_name,
                        variant=VARIANT,
                    )
                )
            ),
            opts=child,
        )

        # Drift alarm -> EventBridge -> training state machine.
        events_role = aws.iam.Role(
            f"{name}-retrain-role",
            assume_role_policy=service_trust_policy("events.amazonaws.com"),
            description="EventBridge starts retraining on drift",
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-retrain-policy",
            role=events_role.id,
            policy=policy_document(statement(["states:StartExecution"], [args.state_machine_arn])),
            opts=child,
        )
        rule = aws.cloudwatch.EventRule(
            f"{name}-retrain-on-drift",
            description="Start the training pipeline when the drift alarm fires",
            event_pattern=drift.arn.apply(lambda arn: json.dumps(drift_alarm_event_pattern(arn))),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-retrain-target",
            rule=rule.name,
            arn=args.state_machine_arn,
            role_arn=events_role.arn,
            opts=child,
        )

        self.topic_arn = topic.arn
        self.drift_alarm_arn = drift.arn
        self.metric_namespace = namespace
        publish_parameters(
            self,
            component="monitoring",
            name=name,
            scope=scope,
            values={
                "alerts-topic-arn": topic.arn,
                "drift-metric-namespace": namespace,
            },
        )
        self.register_outputs(
            {
                "topic_arn": self.topic_arn,
                "drift_alarm_arn": self.drift_alarm_arn,
                "metric_namespace": namespace,
            }
        )
