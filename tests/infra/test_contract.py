"""Contract: the SSM parameters the stacks publish are exactly the names the template reads.

Both sides read templates/project/contract.yml through mlops_core.contract; the generated
project looks parameters up by those names (or their environment variables). This test builds
every level's stack under mocks and compares the published parameter paths with the contract.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlops_core.contract import parameter_names, parameter_path, parameters
from mlops_core.resources import template_dir

from .offline_runs import LEVELS, SERVING_IMAGE, offline


def _published(level: int, **settings: object) -> dict[str, str]:
    run = offline(level, **settings)
    return {r.inputs["name"]: r.inputs["insecureValue"] for r in run.of_type("aws:ssm/parameter:Parameter")}


@pytest.mark.parametrize("framework", ["pytorch", "sklearn"])
@pytest.mark.parametrize("level", LEVELS)
def test_stacks_publish_exactly_the_contract_of_their_level(level: int, framework: str) -> None:
    names = parameter_names(level, framework=framework)
    expected = {parameter_path(project="demo", env="dev", name=name) for name in names}
    assert set(_published(level, framework=framework)) == expected
    assert set(_published(level, servingImage=SERVING_IMAGE, framework=framework)) == expected


def test_published_values_are_concrete_names() -> None:
    values = _published(4)
    assert values["/mlops/demo/dev/serving-endpoint-name"] == "demo-dev"
    assert values["/mlops/demo/dev/drift-metric-namespace"] == "MLOps/demo/dev"
    assert values["/mlops/demo/dev/feature-store-offline-uri"].startswith("s3://")
    assert values["/mlops/demo/dev/mlflow-tracking-uri"].startswith("arn:aws:sagemaker:")
    assert all(values.values())


def test_every_contract_parameter_is_published_at_its_level_and_not_before() -> None:
    for parameter in parameters():
        path = parameter_path(project="demo", env="dev", name=parameter.name)
        for level in LEVELS:
            for framework in ("pytorch", "sklearn"):
                wanted = level >= parameter.level and parameter.framework in (None, framework)
                published = path in _published(level, framework=framework)
                assert published == wanted, (parameter.name, level, framework)


def test_ssm_paths_written_in_the_template_are_in_the_contract() -> None:
    """Any literal /mlops/{project}/{env}/NAME path in the template must name a contract parameter."""
    known = set(parameter_names())
    for path in Path(template_dir(), "project").rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="ignore")
            for name in re.findall(r"/mlops/[^/\s]+/[^/\s]+/([a-z0-9-]+)", text):
                assert name in known, f"{path}: SSM name {name!r} is not in contract.yml"
