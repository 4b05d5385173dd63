"""The cost model: the shipped price table, idle cost per resource, unit prices of usage.

The targets (a project stack at levels 0-2 under $5 a month, the platform under $75) are
printed by benchmarks/bench_cost.py; these tests check that the figures are computed right."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from mlops_platform.cost import estimate, price_table, usd

from .offline_runs import SERVING_IMAGE, offline, platform


@dataclass(frozen=True)
class Planned:
    type: str
    name: str
    inputs: dict[str, Any] = field(default_factory=dict)


def test_every_price_names_its_public_source_and_date() -> None:
    table = price_table()
    assert table.region == "us-east-1" and table.currency == "USD" and table.hours_per_month == 730
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", table.as_of)
    for price in table.prices.values():
        assert price.usd >= 0 and price.unit, price.key
        assert re.match(r"https://aws\.amazon\.com/", price.source), price.key
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", price.as_of), price.key


@pytest.mark.parametrize(
    ("amount", "written"),
    [
        (0.00002, "$0.00002"),
        (0.0004, "$0.0004"),
        (1.006, "$1.006"),
        (3, "$3.00"),
        (0.1, "$0.10"),
        (167.9, "$167.90"),
        (1234.5, "$1,234.50"),
        (0, "$0.00"),
    ],
)
def test_money_is_written_as_people_write_it(amount: float, written: str) -> None:
    """Before: unit prices printed with `:g`, so the serverless GB-second read `2e-05`."""
    assert usd(amount) == written


def test_idle_cost_per_resource() -> None:
    table = price_table()
    resources = [
        Planned("aws:kms/key:Key", "k"),
        Planned(
            "aws:ec2/vpcEndpoint:VpcEndpoint", "e", {"vpcEndpointType": "Interface", "subnetIds": ["a", "b"]}
        ),
        Planned("aws:ec2/vpcEndpoint:VpcEndpoint", "g", {"vpcEndpointType": "Gateway"}),
        Planned("aws:ec2/natGateway:NatGateway", "n"),
        Planned("aws:sagemaker/mlflowApp:MlflowApp", "m"),
        Planned("aws:s3/bucket:Bucket", "b"),
    ]
    costs = {c.name: c.monthly_usd for c in estimate(resources, table).by_resource}
    assert costs == pytest.approx(
        {"k": 1.0, "e": 2 * 730 * 0.01, "g": 0.0, "n": 730 * 0.045, "m": 0.0, "b": 0.0}
    )


def test_a_rotating_key_says_what_rotation_adds() -> None:
    """Issue 17: the cost notes left out that each of the first two yearly rotations of a key
    adds a key-month (every key of the stacks rotates)."""
    (rotating, plain) = estimate(
        [Planned("aws:kms/key:Key", "r", {"enableKeyRotation": True}), Planned("aws:kms/key:Key", "p")]
    ).by_resource
    assert rotating.monthly_usd == plain.monthly_usd == 1.0
    assert rotating.basis == (
        "1 x $1.00/key-month, +$1.00/month after each of the first two yearly rotations "
        "($3.00/month from the third year)"
    )
    assert plain.basis == "1 x $1.00/key-month"


def test_an_endpoint_costs_its_instances_and_a_serverless_one_nothing() -> None:
    variant = {"instanceType": "ml.m5.large", "initialInstanceCount": 2}
    resources = [
        Planned(
            "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
            "c1",
            {"name": "c1", "productionVariants": [variant]},
        ),
        Planned("aws:sagemaker/endpoint:Endpoint", "on-instances", {"endpointConfigName": "c1"}),
        Planned(
            "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
            "c2",
            {
                "name": "c2",
                "productionVariants": [{"serverlessConfig": {"memorySizeInMb": 2048, "maxConcurrency": 5}}],
            },
        ),
        Planned("aws:sagemaker/endpoint:Endpoint", "serverless", {"endpointConfigName": "c2"}),
        Planned(
            "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
            "c3",
            {"name": "c3", "productionVariants": [{"instanceType": "ml.x99.huge"}]},
        ),
        Planned("aws:sagemaker/endpoint:Endpoint", "unknown", {"endpointConfigName": "c3"}),
    ]
    result = estimate(resources)
    costs = {c.name: c.monthly_usd for c in result.by_resource}
    assert costs["on-instances"] == pytest.approx(2 * 730 * 0.115)
    assert costs["serverless"] == 0.0
    assert result.unpriced == ["aws:sagemaker/endpoint:Endpoint unknown"]
    items = {u.item for u in result.usage}
    assert "Serverless inference (2 GB memory)" in items and "Endpoint instance-hour (running)" in items


def test_the_stacks_idle_costs_add_up_from_their_resources() -> None:
    run = platform(egress="endpoints")
    result = estimate(run.resources)
    endpoints = [
        r
        for r in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        if r.inputs["vpcEndpointType"] == "Interface"
    ]
    assert result.monthly_idle_usd == pytest.approx(len(endpoints) * 7.30)
    assert result.unpriced == []
    # the default platform: one NAT gateway and its public address instead of the endpoints
    assert estimate(platform().resources).monthly_idle_usd == pytest.approx(730 * (0.045 + 0.005))
    level2 = estimate(offline(2).resources)
    assert level2.monthly_idle_usd == pytest.approx(
        1.0
    )  # the project's KMS key; the MLflow App costs nothing
    gpu = {u.item for u in level2.usage if u.item.startswith("Training hour")}
    assert gpu == {
        f"Training hour on {t} (AWS Batch)" for t in ("g5.xlarge", "g5.2xlarge", "g6.xlarge", "g6.2xlarge")
    }
    server = estimate(offline(2, mlflow="server").resources)
    assert server.monthly_idle_usd == pytest.approx(1.0 + 730 * 0.642)
    assert estimate(offline(3, servingImage=SERVING_IMAGE).resources).monthly_idle_usd == pytest.approx(1.0)


def test_a_job_hour_of_each_kind_of_training_is_priced() -> None:
    """Issue 17, item 5, and issue 18: a CPU training job, a tuning run (array children side by
    side) and a multi-node run (nodes x their instance's price) each show their hourly price."""
    table = price_table()
    vcpu, memory = table.prices["fargate-vcpu"].usd, table.prices["fargate-memory"].usd
    sklearn = {u.item: u for u in estimate(offline(2, framework="sklearn").resources).usage}
    job = sklearn["Training job on CPUs (AWS Batch on Fargate, 2 vCPU, 4 GB, no GPU)"]
    assert job.usd == pytest.approx(2 * vcpu + 4 * memory, abs=1e-5) and job.unit == "job-hour"
    (tuning,) = [u for u in sklearn.values() if u.item.startswith("Tuning run")]
    assert "32 at most at once" in tuning.item  # the compute environment's 64 vCPUs / 2 per job
    assert tuning.usd == pytest.approx(32 * job.usd, rel=1e-3)
    assert not [u for u in sklearn.values() if u.item.startswith(("Training hour on", "Multi-node"))]

    pytorch = {u.item: u for u in estimate(offline(2).resources).usage}
    run = pytorch["Multi-node training run: 2 x g5.xlarge (AWS Batch)"]
    assert run.usd == pytest.approx(2 * table.prices["ec2.g5.xlarge"].usd) and run.unit == "run-hour"
    assert not [u for u in pytorch.values() if "Fargate" in u.item]
    four = {u.item: u for u in estimate(offline(2, trainingNodes=4).resources).usage}
    assert four["Multi-node training run: 4 x g5.xlarge (AWS Batch)"].usd == pytest.approx(4 * 1.006)
