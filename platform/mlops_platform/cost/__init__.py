"""What a stack costs, computed from its planned resources and the shipped price table (pure).

Two figures: the **idle cost** per month of every resource (what the stack costs while nothing
runs: KMS keys, interface endpoints, a NAT gateway, alarms, an endpoint on instances, an MLflow
tracking server ...), and the **unit prices** of what is billed by use (a training hour on each
GPU type the stack may start, an endpoint or serverless-inference second, a GB stored or
processed), so a person can estimate a month of use. Prices come from ``prices.yaml`` (AWS public
list prices, each with its source page and date); nothing is fetched at run time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Protocol

import yaml


class PlannedResource(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def inputs(self) -> Mapping[str, Any]: ...


def usd(amount: float) -> str:
    """Money as people write it: ``$0.00002`` (not ``2e-05``), ``$1.006``, ``$3.00``, ``$1,234.50``:
    at least two decimals, and as many more as the price has."""
    digits = f"{amount:,.10f}".rstrip("0")
    whole, _, fraction = digits.partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


@dataclass(frozen=True)
class Price:
    key: str
    usd: float
    unit: str
    source: str
    as_of: str
    note: str = ""


@dataclass(frozen=True)
class PriceTable:
    region: str
    currency: str
    as_of: str
    hours_per_month: int
    prices: Mapping[str, Price]

    def get(self, key: str) -> Price | None:
        return self.prices.get(key)


@cache
def price_table() -> PriceTable:
    """The price table shipped with the package."""
    raw = yaml.safe_load(resources.files(__package__).joinpath("prices.yaml").read_text(encoding="utf-8"))
    as_of = str(raw["as_of"])
    prices = {
        key: Price(
            key=key,
            usd=float(entry["usd"]),
            unit=str(entry["unit"]),
            source=str(entry["source"]),
            as_of=str(entry.get("as_of", as_of)),
            note=str(entry.get("note", "")),
        )
        for key, entry in raw["prices"].items()
    }
    return PriceTable(str(raw["region"]), str(raw["currency"]), as_of, int(raw["hours_per_month"]), prices)


@dataclass(frozen=True)
class ResourceCost:
    type: str
    name: str
    monthly_usd: float
    basis: str = ""  # e.g. "1 AZ x 730 h x $0.01/endpoint-AZ-hour"
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "name": self.name,
            "monthly_idle_usd": round(self.monthly_usd, 2),
            "basis": self.basis,
            "source": self.source,
        }


@dataclass(frozen=True)
class UnitPrice:
    item: str
    usd: float
    unit: str
    source: str
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "usd": self.usd,
            "unit": self.unit,
            "source": self.source,
            "note": self.note,
        }


@dataclass(frozen=True)
class CostEstimate:
    region: str
    currency: str
    prices_as_of: str
    by_resource: list[ResourceCost]
    usage: list[UnitPrice]
    unpriced: list[str] = field(default_factory=list)  # resources with an idle cost the table lacks

    @property
    def monthly_idle_usd(self) -> float:
        return round(sum(r.monthly_usd for r in self.by_resource), 2)

    def to_dict(self) -> dict[str, Any]:
        return {
            "monthly_idle_usd": self.monthly_idle_usd,
            "currency": self.currency,
            "region": self.region,
            "prices_as_of": self.prices_as_of,
            "by_resource": [r.to_dict() for r in self.by_resource],
            "usage_prices": [u.to_dict() for u in self.usage],
            "unpriced": self.unpriced,
        }


# ---- idle cost -----------------------------------------------------------------------------------


def _hourly(table: PriceTable, key: str, count: float, what: str) -> tuple[float, str, str] | None:
    price = table.get(key)
    if price is None:
        return None
    hours = table.hours_per_month
    monthly = count * hours * price.usd
    return monthly, f"{what} x {hours} h x {usd(price.usd)}/{price.unit}", price.source


def _monthly(table: PriceTable, key: str, count: float = 1) -> tuple[float, str, str] | None:
    price = table.get(key)
    if price is None:
        return None
    return count * price.usd, f"{count:g} x {usd(price.usd)}/{price.unit}", price.source


def _idle(resource: PlannedResource, configs: Mapping[str, PlannedResource], table: PriceTable) -> Any:
    """(monthly USD, basis, source) of one resource, None if the table lacks its price, or 0."""
    props = resource.inputs
    match resource.type:
        case "aws:kms/key:Key":
            found = _monthly(table, "kms-key")
            if found is None or not props.get("enableKeyRotation"):
                return found
            # Each yearly rotation keeps the old key material, billed as one more key-month, for
            # the first two rotations (https://aws.amazon.com/kms/pricing/).
            monthly, basis, source = found
            return (
                monthly,
                f"{basis}, +{usd(monthly)}/month after each of the first two yearly rotations "
                f"({usd(3 * monthly)}/month from the third year)",
                source,
            )
        case "aws:ec2/vpcEndpoint:VpcEndpoint" if props.get("vpcEndpointType") == "Interface":
            zones = len(props.get("subnetIds") or []) or 1
            return _hourly(table, "interface-endpoint", zones, f"{zones} AZ")
        case "aws:ec2/natGateway:NatGateway":
            return _hourly(table, "nat-gateway", 1, "1 gateway")
        case "aws:ec2/eip:Eip":
            return _hourly(table, "public-ipv4", 1, "1 address")
        case "aws:cloudwatch/metricAlarm:MetricAlarm":
            return _monthly(table, "cloudwatch-alarm")
        case "aws:cloudwatch/dashboard:Dashboard":
            return _monthly(table, "cloudwatch-dashboard")
        case "aws:sagemaker/mlflowApp:MlflowApp":
            return _monthly(table, "sagemaker-mlflow-app")
        case "aws:sagemaker/mlflowTrackingServer:MlflowTrackingServer":
            size = props.get("trackingServerSize") or "Small"
            return _hourly(table, f"sagemaker-mlflow-server.{size}", 1, f"1 {size} server")
        case "aws:sagemaker/endpoint:Endpoint":
            config = configs.get(str(props.get("endpointConfigName")))
            if config is None:
                return None
            total, bases, source = 0.0, [], ""
            for variant in config.inputs.get("productionVariants") or []:
                if variant.get("serverlessConfig") and not variant["serverlessConfig"].get(
                    "provisionedConcurrency"
                ):
                    bases.append("serverless: nothing runs between requests")
                    continue
                count = variant.get("initialInstanceCount") or 1
                found = _hourly(
                    table, f"sagemaker.{variant.get('instanceType')}", count, f"{count} instance(s)"
                )
                if found is None:
                    return None
                total += found[0]
                bases.append(found[1])
                source = found[2]
            return total, "; ".join(bases), source or "https://aws.amazon.com/sagemaker/pricing/"
    return 0.0, "", ""


# ---- usage prices --------------------------------------------------------------------------------


def _unit(table: PriceTable, key: str, item: str, note: str = "") -> UnitPrice | None:
    price = table.get(key)
    if price is None:
        return None
    return UnitPrice(item, price.usd, price.unit, price.source, "; ".join(n for n in (note, price.note) if n))


def _gpu_prices(table: PriceTable, instance_types: Iterable[str], spot: bool) -> list[UnitPrice | None]:
    found: list[UnitPrice | None] = []
    for wanted in instance_types:
        sizes = [
            key.removeprefix("ec2.")
            for key in table.prices
            if key.startswith("ec2.") and (key == f"ec2.{wanted}" or key.startswith(f"ec2.{wanted}."))
        ]
        note = "Spot: usually far less, varies by hour" if spot else ""
        for size in sizes:
            found.append(_unit(table, f"ec2.{size}", f"Training hour on {size} (AWS Batch)", note))
    return found


def _document(value: Any) -> Any:
    """A JSON document input (a job definition's properties) as planned: a string or an object."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return {}
    return value or {}


def _requirements(container: Mapping[str, Any]) -> dict[str, float]:
    return {
        str(r.get("type")): float(r.get("value") or 0)
        for r in container.get("resourceRequirements") or []
        if isinstance(r, Mapping)
    }


def _fargate_job(table: PriceTable, container: Mapping[str, Any]) -> tuple[float, str, str] | None:
    """(USD per job-hour, "2 vCPU, 4 GB", source) of a Fargate job's container."""
    vcpu, memory = table.get("fargate-vcpu"), table.get("fargate-memory")
    if vcpu is None or memory is None:
        return None
    wanted = _requirements(container)
    gib = wanted.get("MEMORY", 0) / 1024
    hourly = wanted.get("VCPU", 0) * vcpu.usd + gib * memory.usd
    return hourly, f"{wanted.get('VCPU', 0):g} vCPU, {gib:g} GB", vcpu.source


def _batch_jobs(resources: Sequence[PlannedResource], table: PriceTable) -> list[UnitPrice | None]:
    """What one hour of each AWS Batch job costs: a training job (per GPU instance type it may
    land on, or its Fargate CPUs and memory), a tuning run of array children side by side, a
    multi-node run (nodes x their instance's price), the drift job."""
    found: list[UnitPrice | None] = []
    computes = [r for r in resources if r.type == "aws:batch/computeEnvironment:ComputeEnvironment"]
    for compute in computes:
        settings = compute.inputs.get("computeResources") or {}
        if settings.get("type") in ("EC2", "SPOT"):
            found += _gpu_prices(table, settings.get("instanceTypes") or [], settings.get("type") == "SPOT")
    for definition in (r for r in resources if r.type == "aws:batch/jobDefinition:JobDefinition"):
        if definition.inputs.get("type") == "multinode":
            nodes = _document(definition.inputs.get("nodeProperties"))
            count = int(nodes.get("numNodes") or 0)
            ranges = nodes.get("nodeRangeProperties") or [{}]
            instance = str((ranges[0].get("container") or {}).get("instanceType"))
            price = table.get(f"ec2.{instance}")
            found.append(
                UnitPrice(
                    f"Multi-node training run: {count} x {instance} (AWS Batch)",
                    round(count * price.usd, 4),
                    "run-hour",
                    price.source,
                    f"{count} nodes x ${price.usd:g}/instance-hour; `make submit NODES=N` runs N",
                )
                if price is not None
                else None
            )
            continue
        if "FARGATE" not in (definition.inputs.get("platformCapabilities") or []):
            continue
        job = _fargate_job(table, _document(definition.inputs.get("containerProperties")))
        if job is None:
            continue
        hourly, size, source = job
        if "drift" in definition.name:
            item = f"Drift job (AWS Batch on Fargate, {size})"
            found.append(UnitPrice(item, round(hourly, 5), "job-hour", source))
            continue
        item = f"Training job on CPUs (AWS Batch on Fargate, {size}, no GPU)"
        found.append(UnitPrice(item, round(hourly, 5), "job-hour", source))
        ceiling = max(
            (
                int((c.inputs.get("computeResources") or {}).get("maxVcpus") or 0)
                for c in computes
                if (c.inputs.get("computeResources") or {}).get("type") == "FARGATE" and "drift" not in c.name
            ),
            default=0,
        )
        vcpus = _requirements(_document(definition.inputs.get("containerProperties"))).get("VCPU") or 1
        width = int(ceiling // vcpus)
        if width:
            found.append(
                UnitPrice(
                    f"Tuning run: one array child per configuration, {width} at most at once",
                    round(width * hourly, 4),
                    "hour of a full-width run",
                    source,
                    f"each child a training job at ${hourly:.4f}/hour; fewer configurations cost less",
                )
            )
    return found


def _usage(resources: Sequence[PlannedResource], table: PriceTable) -> list[UnitPrice]:
    types = {r.type for r in resources}
    found: list[UnitPrice | None] = _batch_jobs(resources, table)
    for config in (
        r for r in resources if r.type == "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
    ):
        for variant in config.inputs.get("productionVariants") or []:
            if serverless := variant.get("serverlessConfig"):
                memory = serverless.get("memorySizeInMb", 0) / 1024
                found += [
                    _unit(table, "sagemaker-serverless", f"Serverless inference ({memory:g} GB memory)"),
                    _unit(table, "sagemaker-serverless-data", "Serverless inference data"),
                ]
            else:
                found.append(
                    _unit(
                        table, f"sagemaker.{variant.get('instanceType')}", "Endpoint instance-hour (running)"
                    )
                )
    by_type = {
        "aws:s3/bucket:Bucket": [
            ("s3-standard", "S3 storage"),
            ("s3-put", "S3 writes"),
            ("s3-get", "S3 reads"),
        ],
        "aws:ecr/repository:Repository": [("ecr-storage", "Container images")],
        "aws:kms/key:Key": [("kms-requests", "KMS requests")],
        "aws:sfn/stateMachine:StateMachine": [("step-functions-transitions", "Training pipeline runs")],
        "aws:ec2/natGateway:NatGateway": [("nat-gateway-data", "NAT gateway traffic")],
        "aws:ec2/flowLog:FlowLog": [("vended-logs-s3", "VPC flow logs")],
        "aws:cloudwatch/logGroup:LogGroup": [("cloudwatch-logs-ingest", "Job and pipeline logs")],
    }
    for type_token, entries in by_type.items():
        if type_token in types:
            found += [_unit(table, key, item) for key, item in entries]
    if any(r.inputs.get("vpcEndpointType") == "Interface" for r in resources):
        found.append(_unit(table, "interface-endpoint-data", "Interface endpoint traffic"))
    if any(
        r.type == "aws:iam/policy:Policy" and "dynamodb:" in str(r.inputs.get("policy")) for r in resources
    ):
        found += [
            _unit(table, "dynamodb-write", "Feast online store writes (DynamoDB)"),
            _unit(table, "dynamodb-read", "Feast online store reads (DynamoDB)"),
            _unit(table, "dynamodb-storage", "Feast online store storage (DynamoDB)"),
        ]
    if any(r.type == "aws:cloudwatch/metricAlarm:MetricAlarm" for r in resources):
        found.append(
            _unit(
                table,
                "cloudwatch-custom-metric",
                "Drift metrics (DriftScore + 2 per feature, while published)",
            )
        )
    unique: dict[str, UnitPrice] = {}
    for price in found:
        if price is not None:
            unique.setdefault(price.item, price)
    return list(unique.values())


def estimate(resources: Iterable[PlannedResource], table: PriceTable | None = None) -> CostEstimate:
    """The idle cost per month of every resource, and the unit prices of what is billed by use."""
    table = table or price_table()
    resources = list(resources)
    configs = {
        str(r.inputs.get("name")): r
        for r in resources
        if r.type == "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
    }
    costs, unpriced = [], []
    for resource in resources:
        found = _idle(resource, configs, table)
        if found is None:
            unpriced.append(f"{resource.type} {resource.name}")
            continue
        monthly, basis, source = found
        costs.append(ResourceCost(resource.type, resource.name, monthly, basis, source))
    return CostEstimate(table.region, table.currency, table.as_of, costs, _usage(resources, table), unpriced)
