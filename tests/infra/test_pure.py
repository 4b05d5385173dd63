"""Pure logic: naming, subnet plan, component <-> level table, OIDC trust, pipeline, stack config."""

from __future__ import annotations

import json

import pytest

from mlops_core.contract import parameter_names
from mlops_core.levels import all_levels, capabilities_up_to
from mlops_platform import components as components_module
from mlops_platform.ci_identity.oidc import check_subject, subject, trust_policy
from mlops_platform.cidr import plan_subnets
from mlops_platform.components import COMPONENTS, components_for_level, platform_needs, published_names
from mlops_platform.errors import InvalidArgsError
from mlops_platform.naming import endpoint_name, feast_project, metric_namespace, physical_name
from mlops_platform.training.pipeline import check_instance_types, state_machine_definition
from mlops_stacks.config import PlatformConfig, StackConfig, StackConfigError, load_config
from mlops_stacks.provider import provider_args


def test_names_are_derived_from_project_and_env() -> None:
    assert physical_name("Churn_Model", "dev", "data") == "churn-model-dev-data"
    long = physical_name("a" * 40, "production", "artifacts", max_length=40)
    assert len(long) == 40 and long == physical_name("a" * 40, "production", "artifacts", max_length=40)
    assert endpoint_name("churn", "prod") == "churn-prod"
    assert metric_namespace("churn", "prod") == "MLOps/churn/prod"
    assert feast_project("churn_model") == "churn_model"


def test_subnet_plan_carves_one_private_subnet_per_zone() -> None:
    assert plan_subnets("10.42.0.0/16", az_count=3) == ["10.42.0.0/20", "10.42.16.0/20", "10.42.32.0/20"]
    assert plan_subnets("10.0.0.0/24", az_count=2, subnet_prefix=26) == ["10.0.0.0/26", "10.0.0.64/26"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"vpc_cidr": "10.0.0.0/33", "az_count": 2}, "vpc_cidr"),
        ({"vpc_cidr": "10.0.0.1/16", "az_count": 2}, "vpc_cidr"),  # host bits set
        ({"vpc_cidr": "10.0.0.0/8", "az_count": 2}, "vpc_cidr"),
        ({"vpc_cidr": "10.0.0.0/16", "az_count": 0}, "az_count"),
        ({"vpc_cidr": "10.0.0.0/24", "az_count": 5, "subnet_prefix": 26}, "az_count"),
        ({"vpc_cidr": "10.0.0.0/16", "az_count": 2, "subnet_prefix": 16}, "subnet_prefix"),
    ],
)
def test_subnet_plan_names_the_bad_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidArgsError) as error:
        plan_subnets(**kwargs)  # type: ignore[arg-type]
    assert error.value.field == field and f"NetworkArgs.{field}" in str(error.value)


@pytest.mark.parametrize("level", [lv.number for lv in all_levels()])
def test_a_component_is_built_exactly_when_its_level_has_one_of_its_capabilities(level: int) -> None:
    capabilities = {c.key for c in capabilities_up_to(level)}
    expected = [spec.name for spec in COMPONENTS if capabilities & set(spec.capabilities)]
    assert components_for_level(level) == expected


def test_levels_add_components_in_the_order_of_the_manifest() -> None:
    assert components_for_level(0) == []
    assert components_for_level(1) == [], "level 1's CI builds the image; nothing on AWS uses it"
    assert set(components_for_level(2)) == {"ci_identity", "storage", "tracking", "feature_store", "training"}
    assert components_for_level(3)[-1] == "serving"
    assert components_for_level(4)[-1] == "monitoring"


def test_every_component_capability_exists_in_the_manifest() -> None:
    known = {c.key for level in all_levels() for c in level.capabilities}
    for spec in COMPONENTS:
        assert set(spec.capabilities) <= known, spec.name


def test_a_manifest_that_separates_a_component_from_its_prerequisites_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = capabilities_up_to(4)
    # Pretend maturity.yml gave level 2 only gpu_training: training without tracking/storage.
    monkeypatch.setattr(
        components_module,
        "capabilities_up_to",
        lambda level: [c for c in real if c.key in ("ci", "gpu_training")],
    )
    with pytest.raises(RuntimeError, match="training component but not storage, tracking"):
        components_for_level(2)


@pytest.mark.parametrize("level", [lv.number for lv in all_levels()])
def test_components_publish_exactly_the_contract_of_their_level(level: int) -> None:
    assert sorted(published_names(level)) == sorted(parameter_names(level))


def test_oidc_trust_is_one_environment_of_one_repository() -> None:
    assert subject("github", "acme/churn", environment="prod") == "repo:acme/churn:environment:prod"
    assert subject("gitlab", "group/sub/churn", environment="prod", branch="main") == (
        "project_path:group/sub/churn:ref_type:branch:ref:main"
    )
    statement = trust_policy(
        vendor="github",
        provider_arn="arn:aws:iam::1:oidc-provider/x",
        subject="repo:acme/churn:environment:prod",
        environment="prod",
    )["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:acme/churn:environment:prod",
            "token.actions.githubusercontent.com:environment": "prod",
        },
    }


@pytest.mark.parametrize("repository", ["acme", "acme/*", "*", "acme/churn:*", "", "acme/ churn"])
def test_oidc_refuses_repositories_that_would_widen_the_trust(repository: str) -> None:
    with pytest.raises(InvalidArgsError, match=r"CiIdentityArgs\.repository"):
        subject("github", repository, environment="dev")


@pytest.mark.parametrize(
    "value", ["repo:acme/churn:*", "repo:acme/*:environment:prod", "repo:acme/churn:environment:pr?d", ""]
)
def test_oidc_refuses_subjects_with_wildcards(value: str) -> None:
    with pytest.raises(InvalidArgsError, match=r"CiIdentityArgs\.subject"):
        check_subject(value)


def test_immutable_github_subjects_are_accepted_as_given() -> None:
    # https://github.blog/changelog/2026-04-23-immutable-subject-claims-for-github-actions-oidc-tokens
    assert check_subject("repo:acme-123456/churn-456789:environment:prod")


def test_gpu_instance_types_must_be_gpu_families() -> None:
    assert check_instance_types(("g5", "g6.xlarge", "p4d")) == ("g5", "g6.xlarge", "p4d")
    with pytest.raises(InvalidArgsError, match=r"TrainingArgs\.instance_types = 'm5'"):
        check_instance_types(("g5", "m5"))
    with pytest.raises(InvalidArgsError, match=r"TrainingArgs\.instance_types"):
        check_instance_types(())


def test_training_pipeline_submits_waits_and_registers() -> None:
    definition = state_machine_definition(
        job_queue_arn="q",
        job_definition_arn="jd",
        model_package_group_name="g",
        artifact_bucket="b",
        image="img:1",
    )
    submit = definition["States"][definition["StartAt"]]
    assert submit["Resource"] == "arn:aws:states:::batch:submitJob.sync"  # .sync: waits for the job
    register = definition["States"][submit["Next"]]
    assert register["Resource"].endswith("sagemaker:createModelPackage") and register["End"] is True
    assert register["Parameters"]["ModelPackageGroupName"] == "g"
    json.dumps(definition)  # serialisable as the state machine definition


def test_stack_config_reads_pulumi_strings_and_objects() -> None:
    config = StackConfig.from_mapping(
        {
            "mlops:project": "churn",
            "mlops:env": "dev",
            "mlops:level": "2",
            "mlops:spot": "true",
            "mlops:gpuInstanceTypes": '["g6", "g6e"]',
            "mlops:maxVcpus": 16,
            "mlops:onlyComponents": "storage,feature_store",
        }
    )
    assert (config.level, config.spot, config.gpu_instance_types, config.max_vcpus) == (
        2,
        True,
        ("g6", "g6e"),
        16,
    )
    assert config.package_name == "churn" and config.stack_name == "churn-dev"
    assert config.components == ["storage", "feature_store"]
    assert StackConfig.from_mapping(config.to_config()) == config


@pytest.mark.parametrize(
    ("values", "key"),
    [
        ({"project": "churn", "env": "dev"}, "level"),
        ({"project": "churn", "env": "dev", "level": 7}, "level"),
        ({"project": "churn", "env": "Dev!", "level": 1}, "env"),
        ({"project": "churn", "env": "dev", "level": 1, "gpuInstanceType": "g5"}, "gpuInstanceType"),
        ({"project": "churn", "env": "dev", "level": 1, "spot": "maybe"}, "spot"),
        ({"project": "churn", "env": "dev", "level": 1, "onlyComponents": "storage"}, "onlyComponents"),
        ({"project": "churn", "env": "dev", "level": 2, "onlyComponents": "training"}, "onlyComponents"),
        ({"project": "churn", "env": "dev", "level": 2, "trainingImageTag": "latest"}, "trainingImageTag"),
        ({"project": "churn", "env": "dev", "level": 1, "mlflow": "hosted"}, "mlflow"),
        ({"project": "platform", "env": "dev", "level": 1}, "project"),
        ({"project": "churn", "env": "dev", "level": 1, "vpcCidr": "10.0.0.0/16"}, "vpcCidr"),
        ({"project": "churn", "env": "dev", "level": 1, "tier": "platform"}, "tier"),
    ],
)
def test_stack_config_errors_name_the_key(values: dict[str, object], key: str) -> None:
    with pytest.raises(StackConfigError) as error:
        StackConfig.from_mapping(values)
    assert error.value.key == key and f"mlops:{key}" in error.value.message


def test_ci_repository_is_required_where_a_deploy_role_is_built() -> None:
    config = StackConfig.from_mapping({"project": "churn", "env": "dev", "level": 2})
    with pytest.raises(StackConfigError, match="mlops:ciRepository"):
        config.require_ci_repository()


def test_provider_args_follow_the_localstack_example() -> None:
    config = StackConfig.from_mapping({"project": "churn", "env": "dev", "level": 2})
    args = provider_args(
        {
            "region": "us-east-1",
            "skipCredentialsValidation": "true",
            "s3UsePathStyle": True,
            "endpoints": [{"s3": "http://localhost:4566"}, {"ssm": "http://localhost:4566"}],
            "unrelated": "x",
        },
        config,
    )
    assert args["skip_credentials_validation"] is True and args["s3_use_path_style"] is True
    assert args["endpoints"] == [{"s3": "http://localhost:4566", "ssm": "http://localhost:4566"}]
    assert args["default_tags"]["tags"]["mlops:level"] == "2"
    assert "unrelated" not in args


def test_removed_project_keys_say_where_their_setting_lives_now() -> None:
    with pytest.raises(StackConfigError) as error:
        StackConfig.from_mapping(
            {"project": "churn", "env": "dev", "level": 2, "ciRef": "ref:refs/heads/main"}
        )
    assert "mlops:ciSubject" in error.value.message


def test_platform_config_reads_its_keys_and_round_trips() -> None:
    config = load_config(
        {"mlops:tier": "platform", "mlops:env": "prod", "mlops:azCount": "3", "mlops:egress": "nat"}
    )
    assert isinstance(config, PlatformConfig)
    assert (config.stack_name, config.az_count, config.egress) == ("platform-prod", 3, "nat")
    assert PlatformConfig.from_mapping(config.to_config()) == config
    with pytest.raises(StackConfigError, match="mlops:level"):
        load_config({"mlops:tier": "platform", "mlops:env": "dev", "mlops:level": 2})
    with pytest.raises(StackConfigError, match="mlops:tier"):
        load_config({"mlops:tier": "shared", "mlops:env": "dev"})


def test_prod_endpoints_default_to_two_instances_and_others_to_serverless() -> None:
    base = {"project": "churn", "level": 3}
    prod = StackConfig.from_mapping(base | {"env": "prod"})
    dev = StackConfig.from_mapping(base | {"env": "dev"})
    assert (prod.effective_serving_mode, prod.effective_instance_count) == ("provisioned", 2)
    assert (dev.effective_serving_mode, dev.effective_instance_count) == ("serverless", 1)


def test_plain_platform_ids_need_every_id_the_level_reads() -> None:
    base = {"project": "churn", "env": "dev", "oidcProviderArn": "arn:x"}
    assert StackConfig.from_mapping(base | {"level": 1}).required_platform_ids() == {}
    ci_only = StackConfig.from_mapping(base | {"level": 2, "onlyComponents": "ci_identity"})
    assert ci_only.required_platform_ids() == {"oidcProviderArn": "arn:x"}
    two = StackConfig.from_mapping(base | {"level": 2})
    with pytest.raises(StackConfigError, match="mlops:vpcId"):
        two.required_platform_ids()


def test_platform_needs_follow_the_components() -> None:
    assert platform_needs(components_for_level(1)) == []
    assert platform_needs(["ci_identity"]) == ["oidc"]
    assert platform_needs(components_for_level(2)) == ["network", "oidc", "access_logs"]
    assert platform_needs([]) == []


def test_the_infra_workflow_destroys_every_stack_and_hides_no_failure() -> None:
    """Before: `pulumi destroy ... || true` let a failed destroy pass (and leave resources)."""
    from pathlib import Path

    import yaml

    workflow = Path(__file__).parents[2] / ".github" / "workflows" / "infra.yml"
    steps = [s for job in yaml.safe_load(workflow.read_text())["jobs"].values() for s in job["steps"]]
    assert not [s["name"] for s in steps if "|| true" in s.get("run", "")]
    destroys = [s for s in steps if "pulumi destroy" in s.get("run", "")]
    assert [s["run"].split("--stack ")[1].split()[0] for s in destroys] == ["demo-dev", "platform-dev"]
    assert all(s.get("if") == "always()" for s in destroys)
