"""Benchmark: idle cost per month of each level's project stack and of the platform stack.

Prints figures; asserts nothing. Run: `.venv/bin/python benchmarks/bench_cost.py`.
Computed offline by `mlops-scaffold plan` from the shipped price table (AWS public list prices,
us-east-1; see platform/mlops_platform/cost/prices.yaml for the date and source of each price).
The baseline is the earlier design planned in the same run: a project stack with its own
network (the nine interface endpoints in two zones) and an MLflow tracking server.

Targets (issue 8): a project stack at levels 0-2 idles at <= $5/month; the shared platform of an
environment at <= $75/month; level-3 dev and staging endpoints cost $0 idle.

"What a level costs in one environment" adds the platform stack where the project stack reads
it: a level whose stack builds nothing (0, 1) needs no platform either. Its baseline is the
level-1 stack of before, a CI identity only (planned as `onlyComponents: ci_identity`), which
read the OIDC provider from the platform stack.
"""

from __future__ import annotations

from typing import Any

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/example-dev:3f2a1c0"
# An endpoint starts from an image and the champion's model package (the stack needs both).
MODEL = {"servingImage": IMAGE, "servingModelDataUrl": "s3://example-artifacts/models/run-1/model.tar.gz"}
# The interface endpoints every project stack created before the platform tier existed.
EARLIER_ENDPOINTS = (
    "ecr.api,ecr.dkr,ecs,ecs-agent,ecs-telemetry,logs,ssm,sagemaker.api,aws.sagemaker.{region}.experiments"
)


def planned(**kwargs: Any) -> Any:
    from mlops_scaffold.infra import plan

    result = plan(**kwargs)
    assert not result.violations, result.violations
    return result


def idle(**kwargs: Any) -> float:
    return float(planned(**kwargs).cost.monthly_idle_usd)


def in_one_environment(platform: float, components: list[str], **kwargs: Any) -> str:
    """A project stack's resources and idle cost, plus the platform's where its components read it."""
    from mlops_platform.components import platform_needs

    result = planned(**kwargs)
    reads = bool(platform_needs(components))
    total = float(result.cost.monthly_idle_usd) + (platform if reads else 0.0)
    return f"{result.count:3} resources, {'+ platform stack' if reads else 'no platform     '} {total:8.2f}"


def verdict(value: float, target: float) -> str:
    return f"target <= ${target:,.2f}: {'met' if value <= target + 1e-9 else 'MISSED'}"


def main() -> None:
    from mlops_platform.components import components_for_level

    print("Idle cost per month (USD, list prices, us-east-1)")
    print("\nProject stacks (dev; the endpoint once a model is configured):")
    for level in range(5):
        value = idle(level=level, env="dev")
        line = f"  level {level}: {value:8.2f}"
        if level <= 2:
            line += f"   {verdict(value, 5.0)}"
        print(line)
    for env in ("dev", "staging", "prod"):
        with_model = idle(level=3, env=env, settings=MODEL)
        without = idle(level=3, env=env)
        endpoint = with_model - without
        line = f"  level 3, {env:7} endpoint: {endpoint:8.2f}"
        if env != "prod":
            line += f"   {verdict(endpoint, 0.0)}"
        else:
            line += "   (2 x ml.m5.large, always on)"
        print(line)
    print(f"  level 4, prod, with model:  {idle(level=4, env='prod', settings=MODEL):8.2f}")

    print("\nPlatform stack of one environment:")
    # The default is egress=nat: the projects' default MLflow App has no VPC endpoint.
    platform = idle(platform=True)
    print(f"  default (egress=nat, one NAT gateway): {platform:8.2f}   {verdict(platform, 75.0)}")
    endpoints = idle(platform=True, settings={"egress": "endpoints"})
    print(f"  egress=endpoints (1 zone, mlflow=server): {endpoints:8.2f}   {verdict(endpoints, 75.0)}")
    two_zones = idle(platform=True, settings={"egress": "endpoints", "endpointAzCount": 2})
    print(f"  egress=endpoints, endpointAzCount=2:   {two_zones:8.2f}")

    print("\nWhat a level costs in one environment (project stack + the platform stack it reads):")
    for level in range(5):
        print(f"  level {level}: {in_one_environment(platform, components_for_level(level), level=level)}")
    ci_only = {"onlyComponents": "ci_identity"}
    former = in_one_environment(platform, ["ci_identity"], level=2, settings=ci_only)
    print(f"  baseline, level 1 as it was (CI identity only): {former}")

    earlier_network = idle(
        platform=True,
        settings={"egress": "endpoints", "interfaceEndpoints": EARLIER_ENDPOINTS, "endpointAzCount": 2},
    )
    earlier_project = idle(level=2, settings={"mlflow": "server"})
    earlier = earlier_network + earlier_project
    now = platform + idle(level=2)
    print("\nBaseline (the earlier design, planned in this run): one level-2 project")
    project = idle(level=2)
    print(
        f"  earlier: own network {earlier_network:.2f} + tracking server and key {earlier_project:.2f}",
        end="",
    )
    print(f" = {earlier:.2f}")
    print(f"  now:     platform {platform:.2f} (shared) + project {project:.2f} = {now:.2f}")
    print(f"  ratio now/earlier: {now / earlier:.3f}", end="")
    print(f"; each further project adds {project:.2f}, not {earlier:.2f}")


if __name__ == "__main__":
    main()
