"""The EventBridge pattern and dashboard of the monitoring component (pure)."""

from __future__ import annotations

from typing import Any

DRIFT_METRIC = "DriftScore"


def drift_alarm_event_pattern(alarm_arn: str) -> dict[str, Any]:
    """Matches the drift alarm going into ALARM, which starts retraining."""
    return {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
        "resources": [alarm_arn],
        "detail": {"state": {"value": ["ALARM"]}},
    }


def dashboard_body(*, region: str, namespace: str, endpoint: str, variant: str) -> dict[str, Any]:
    def widget(title: str, metrics: list[list[Any]], x: int, y: int) -> dict[str, Any]:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {"title": title, "region": region, "metrics": metrics, "period": 300},
        }

    endpoint_dims = ["EndpointName", endpoint, "VariantName", variant]
    return {
        "widgets": [
            widget("Drift score", [[namespace, DRIFT_METRIC]], 0, 0),
            widget(
                "Model latency (microseconds)", [["AWS/SageMaker", "ModelLatency", *endpoint_dims]], 12, 0
            ),
            widget("Invocations", [["AWS/SageMaker", "Invocations", *endpoint_dims]], 0, 6),
            widget(
                "Errors",
                [
                    ["AWS/SageMaker", "Invocation5XXErrors", *endpoint_dims],
                    ["AWS/SageMaker", "Invocation4XXErrors", *endpoint_dims],
                ],
                12,
                6,
            ),
        ]
    }
