"""`mlops-scaffold plan` and `infra-config` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mlops_scaffold.cli import app
from mlops_scaffold.infra import PULUMI_PROJECT, detect_repository, plan, write_stack_config

runner = CliRunner()
PIPELINE = """
environments:
  local: {online_store: sqlite}
  dev: {online_store: dynamodb, endpoint: {instance_type: ml.t2.medium, instance_count: 1}}
  staging: {online_store: dynamodb, endpoint: {instance_type: ml.m5.large, instance_count: 1}}
  prod: {online_store: dynamodb, endpoint: {instance_type: ml.m5.large, instance_count: 2}}
"""


def _project(tmp_path: Path, *, level: int = 2, name: str = "churn", remote: str | None = None) -> Path:
    project = tmp_path / name
    project.mkdir()
    answers = {
        "_commit": "0.1.0",
        "project_name": name,
        "package_name": name.replace("-", "_"),
        "level": level,
        "framework": "sklearn",
        "ci": "github",
    }
    (project / ".copier-answers.yml").write_text(yaml.safe_dump(answers))
    if level >= 3:  # the endpoint sizes of the template's configs/pipeline.yaml
        (project / "configs").mkdir()
        (project / "configs" / "pipeline.yaml").write_text(PIPELINE)
    if remote:
        (project / ".git").mkdir()
        (project / ".git" / "config").write_text(
            f'[core]\n\tbare = false\n[remote "origin"]\n\turl = {remote}\n'
            "\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
        )
    return project


@pytest.mark.parametrize(("level", "count"), [(0, 0), (1, 0)])
def test_plan_level_prints_the_resources_their_count_and_cost(level: int, count: int) -> None:
    result = runner.invoke(app, ["plan", "--level", str(level)])
    assert result.exit_code == 0, result.output
    assert f"{count} resources, 0 policy violations, $0.00/month idle." in result.output


@pytest.mark.parametrize("level", [2, 3, 4])
def test_plan_json_groups_resources_by_component_with_full_inputs(level: int) -> None:
    result = runner.invoke(app, ["plan", "--level", str(level), "--set", "framework=pytorch", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["level"] == level and data["violations"] == [] and data["tier"] == "project"
    assert data["count"] == sum(len(items) for items in data["components"].values()) > 40
    assert "Training" in data["components"] and ("Monitoring" in data["components"]) == (level == 4)
    hosts = {r["name"]: r for r in data["components"]["Training"]}["example-dev-training-hosts"]
    assert hosts["properties"] == {
        "metadataOptions.httpTokens": "required",
        "blockDeviceMappings[0].ebs.encrypted": "true",
        "blockDeviceMappings[0].ebs.kmsKeyId": "arn:aws:kms:us-east-1:123456789012:alias/aws/ebs",
    }
    assert hosts["inputs"]["metadataOptions"]["httpPutResponseHopLimit"] == 2
    # policy documents are JSON objects, not strings
    roles = [r for items in data["components"].values() for r in items if r["type"] == "aws:iam/role:Role"]
    assert roles and all(isinstance(r["inputs"]["assumeRolePolicy"], dict) for r in roles)
    policies = [r for items in data["components"].values() for r in items if "policy" in r["inputs"]]
    assert all(isinstance(r["inputs"]["policy"], dict) for r in policies if r["type"].startswith("aws:iam/"))
    cost = data["cost"]
    assert cost["monthly_idle_usd"] == pytest.approx(
        sum(r["monthly_idle_usd"] for r in cost["by_resource"]), abs=0.01
    )
    assert cost["prices_as_of"] == "2026-11-30" and cost["region"] == "us-east-1"
    assert any(u["item"].startswith("Training hour on g5") for u in cost["usage_prices"])


def test_a_scikit_learn_level_2_plan_requests_no_gpu_and_prices_tuning() -> None:
    """Issue 17, item 5: `plan --level 2 --json` (the template's default framework, scikit-learn)
    asks for no GPU anywhere, and prices a CPU job and a tuning run (its array job)."""
    result = runner.invoke(app, ["plan", "--level", "2", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["violations"] == []
    training = data["components"]["Training"]
    for resource in training:
        inputs = resource["inputs"]
        if resource["type"] == "aws:batch/computeEnvironment:ComputeEnvironment":
            assert inputs["computeResources"]["type"] == "FARGATE"
        if resource["type"] == "aws:batch/jobDefinition:JobDefinition":
            requirements = inputs["containerProperties"]["resourceRequirements"]
            assert "GPU" not in {r["type"] for r in requirements}
    assert not [r for r in training if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate"]
    items = [u["item"] for u in data["cost"]["usage_prices"]]
    assert "Training job on CPUs (AWS Batch on Fargate, 2 vCPU, 4 GB, no GPU)" in items
    assert any(item.startswith("Tuning run") for item in items)
    assert not any("GPU" in item and "no GPU" not in item for item in items)


def test_plan_platform_shows_the_shared_tier_and_its_cost() -> None:
    result = runner.invoke(app, ["plan", "--platform", "--env", "prod", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["stack"], data["tier"], data["level"]) == ("platform-prod", "platform", None)
    assert list(data["components"]) == ["Network", "CiOidc", "AccessLogs"]
    assert data["cost"]["monthly_idle_usd"] == 36.5  # the NAT gateway and its address
    assert [e["rule"] for e in data["policy_exceptions"]] == ["s3-bucket-access-logging"]
    human = runner.invoke(app, ["plan", "--platform"])
    assert human.exit_code == 0, human.output
    assert "platform-dev: platform" in human.output and "$36.50/month idle" in human.output


def test_plan_prints_prices_in_dollars_and_documented_exceptions_as_accepted() -> None:
    """Before: the serverless GB-second price read `2e-05`, and the documented policy exceptions
    went to stderr as "Exception ..." lines, next to the violations, like failures. Now money is
    `$0.00002`, and the exceptions are part of the plan, each marked accepted."""
    model = ["--set", f"servingImage={IMAGE}", "--set", f"servingModelDataUrl={MODEL}"]
    result = runner.invoke(app, ["plan", "--level", "3", *model])
    assert result.exit_code == 0, result.output
    assert "$0.00002" in result.stdout and "2e-05" not in result.output
    assert "Accepted policy exceptions (" in result.stdout
    assert (
        "accepted sagemaker-model-network-isolation on sagemaker.Model example-dev-serving-model"
        in result.stdout.replace("\n", " ")
    )
    assert "Exception " not in result.output and result.stderr.count("accepted") == 0
    assert "0 policy violations (2 accepted exceptions)" in result.stdout  # scikit-learn: no GPU hosts


def test_plan_show_policies_prints_the_documents() -> None:
    result = runner.invoke(app, ["plan", "--level", "2", "--show-policies"])
    assert result.exit_code == 0, result.output
    assert '"sts:AssumeRoleWithWebIdentity"' in result.output
    assert '"repo:example-org/example:environment:dev"' in result.output
    assert '"ecr:PutImage"' in result.output


IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/example-dev:1"
MODEL = "s3://example-dev-artifacts/models/run-1/model.tar.gz"


def test_plan_set_creates_the_endpoint() -> None:
    model = ["--set", f"servingImage={IMAGE}", "--set", f"servingModelDataUrl={MODEL}"]
    result = runner.invoke(app, ["plan", "--level", "3", *model, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (endpoint,) = [r for r in data["components"]["Serving"] if r["type"] == "aws:sagemaker/endpoint:Endpoint"]
    assert endpoint["ignore_changes"] == ["endpointConfigName"] and endpoint["monthly_idle_usd"] == 0
    assert data["serving"] | {"reason": ""} == {
        "endpoint": "example-dev",
        "created": True,
        "mode": "serverless",
        "image": IMAGE,
        "model_data_url": MODEL,
        "size": "serverless, 2048 MB, 5 concurrent",
        "reason": "",
    }


def test_plan_says_what_the_endpoint_serves_or_why_it_is_skipped() -> None:
    """Before: the human plan listed an endpoint's resources but not the image and model it would
    deploy, and a skipped endpoint only as a note that named half of what it needs."""
    model = ["--set", f"servingImage={IMAGE}", "--set", f"servingModelDataUrl={MODEL}"]
    shown = runner.invoke(app, ["plan", "--level", "3", "--env", "prod", *model])
    assert shown.exit_code == 0, shown.output
    assert f"image  {IMAGE}" in shown.output and f"model  {MODEL}" in shown.output
    assert "example-prod (2 x ml.m5.large, autoscaling up to 4) starts on" in shown.output
    skipped = runner.invoke(app, ["plan", "--level", "3"])
    assert skipped.exit_code == 0, skipped.output
    assert "example-dev: not created yet. mlops:servingImage and mlops:servingModelDataUrl are not set" in (
        " ".join(skipped.output.split())
    )


def test_plan_of_a_project_uses_its_level(tmp_path: Path) -> None:
    project = _project(tmp_path, level=2, remote="git@github.com:acme/churn.git")
    result = runner.invoke(app, ["plan", str(project), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["project"], data["level"], list(data["components"])) == (
        "churn",
        2,
        ["CiIdentity", "Storage", "Tracking", "FeatureStore", "Training"],
    )
    assert (
        "Reads the platform stack organization/mlops-platform/platform-dev (network, OIDC provider, log "
        "bucket): `pulumi up` it first; the plan uses made-up IDs for its outputs."
    ) in data["notes"]


def test_plan_of_a_scikit_learn_project_prices_a_tuning_run_of_its_configurations(tmp_path: Path) -> None:
    project = _project(tmp_path, level=2, remote="git@github.com:acme/churn.git")
    (project / "configs").mkdir()
    three = [{"type": "logistic_regression", "hyperparameters": {"C": c}} for c in (0.1, 1, 10)]
    (project / "configs" / "tune.yaml").write_text(yaml.safe_dump({"configurations": three}))
    result = runner.invoke(app, ["plan", str(project), "--json"])
    assert result.exit_code == 0, result.output
    (note,) = [n for n in json.loads(result.output)["notes"] if "tuning run" in n]
    assert note.startswith("A tuning run of the 3 configurations in configs/tune.yaml")
    assert "3 x $0.0987 = $0.30 per hour" in note


def test_plan_of_a_level_1_project_creates_nothing(tmp_path: Path) -> None:
    """Level 1's CI lints, tests and builds the training image without AWS credentials: no role,
    no repository, no platform stack to deploy first."""
    project = _project(tmp_path, level=1, remote="git@github.com:acme/churn.git")
    result = runner.invoke(app, ["plan", str(project), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["level"], data["count"], data["components"]) == (1, 0, {})
    assert data["notes"] == ["Level 1 needs no cloud infrastructure: the stack creates nothing."]


def test_plan_notes_what_only_a_real_stack_has(tmp_path: Path) -> None:
    result = plan(project_path=_project(tmp_path, level=2))
    assert any("mlops:ciRepository" in note for note in result.notes)
    assert any("mlops:trainingImageTag" in note for note in result.notes)


def test_plan_of_a_level_3_project_sizes_the_endpoint_from_its_pipeline_config(tmp_path: Path) -> None:
    project = _project(tmp_path, level=3, remote="git@github.com:acme/churn.git")
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/churn-prod:1"
    model = {"servingImage": image, "servingModelDataUrl": "s3://churn-prod-artifacts/models/r/model.tar.gz"}
    result = plan(project_path=project, env="prod", settings=model)
    (config,) = [r for r in result.resources if r.type.endswith("EndpointConfiguration")]
    variant = config.inputs["productionVariants"][0]
    assert (variant["instanceType"], variant["initialInstanceCount"]) == ("ml.m5.large", 2)
    assert result.cost.monthly_idle_usd > 160  # two ml.m5.large instances run all month
    dev = plan(project_path=project, env="dev", settings=model)
    (config,) = [r for r in dev.resources if r.type.endswith("EndpointConfiguration")]
    assert config.inputs["productionVariants"][0]["serverlessConfig"] == {
        "maxConcurrency": 5,
        "memorySizeInMb": 2048,
    }


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["plan"], 2, "one of a level, a project path or --platform"),
        (["plan", "--level", "2", "--platform"], 2, "one of a level, a project path or --platform"),
        (["plan", "--level", "2", "--set", "trainingImageTag=latest"], 23, "mlops:trainingImageTag names"),
        (["plan", "--level", "2", "--set", "vpcCidr=10.0.0.0/16"], 23, "moved to the platform stack"),
        (["plan", "--platform", "--set", "egress=wifi"], 21, "NetworkArgs.egress"),
        (["plan", "--level", "9"], 4, "Level '9' does not exist"),
        (
            ["plan", "--level", "2", "--set", "framework=pytorch", "--set", "gpuInstanceTypes=m5"],
            21,
            "TrainingArgs.instance_types",
        ),
        (["plan", "--level", "2", "--set", "framework=jax"], 23, "mlops:framework = 'jax'"),
        (["plan", "--level", "2", "--set", "nonsense=1"], 23, "mlops:nonsense"),
        (["plan", "--level", "2", "--set", "spot"], 2, "KEY=VALUE"),
        (
            ["plan", "--level", "3", "--set", f"servingImage={IMAGE}"],
            23,
            "mlops:servingModelDataUrl is not set",
        ),
        (
            ["plan", "--level", "3", "--set", f"servingModelDataUrl={MODEL}"],
            23,
            "mlops:servingImage is not set",
        ),
        (
            [
                "plan",
                "--level",
                "3",
                "--set",
                f"servingImage={IMAGE}",
                "--set",
                "servingModelDataUrl=s3://b/m.pkl",
            ],
            23,
            "not a model package in the artifact bucket's models/ prefix",
        ),
    ],
)
def test_plan_errors_are_exit_codes_with_a_fix(args: list[str], code: int, message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert message in result.output and "Fix:" in result.output


def test_plan_of_a_directory_that_is_not_a_project(tmp_path: Path) -> None:
    result = runner.invoke(app, ["plan", str(tmp_path)])
    assert result.exit_code == 11, result.output
    assert "not a project generated by mlops-scaffold" in result.output


def test_infra_config_writes_the_stack_file(tmp_path: Path) -> None:
    project = _project(tmp_path, level=2, remote="https://github.com/acme/churn.git")
    out = tmp_path / "stacks"
    out.mkdir()
    result = runner.invoke(app, ["infra-config", str(project), "--env", "dev", "--output", str(out)])
    assert result.exit_code == 0, result.output
    written = yaml.safe_load((out / "Pulumi.churn-dev.yaml").read_text())["config"]
    assert written == {
        "aws:region": "us-east-1",
        "mlops:project": "churn",
        "mlops:env": "dev",
        "mlops:level": 2,
        "mlops:ciVendor": "github",
        "mlops:framework": "sklearn",
        "mlops:packageName": "churn",
        "mlops:ciRepository": "acme/churn",
    }
    platform = yaml.safe_load((out / "Pulumi.platform-dev.yaml").read_text())["config"]
    assert platform == {"aws:region": "us-east-1", "mlops:tier": "platform", "mlops:env": "dev"}
    assert "pulumi up --stack platform-dev" in result.output
    assert not list(out.glob(".*.tmp")), "no temporary file is left behind"


def test_infra_config_tells_gitlab_prod_to_protect_its_release_tags(tmp_path: Path) -> None:
    project = _project(tmp_path, level=2, remote="git@gitlab.com:group/churn.git")
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text()) | {"ci": "gitlab"}
    (project / ".copier-answers.yml").write_text(yaml.safe_dump(answers))
    prod = write_stack_config(project, env="prod", output_dir=tmp_path)
    assert any("protected release tags v*" in note for note in prod.notes)
    dev = write_stack_config(project, env="dev", output_dir=tmp_path)
    assert not any("release tags" in note for note in dev.notes)


def test_infra_config_creates_its_output_directory_and_prints_whole_lines(tmp_path: Path) -> None:
    """--output DIR that does not exist is created (as uv and copier do); off a terminal the lines
    stay whole, however long (`stack churn-dev at level 2` used to be broken at 80 columns)."""
    project = _project(tmp_path, level=2, remote="https://github.com/acme/churn.git")
    out = tmp_path / "not-yet" / ("a-directory-name-that-makes-every-line-longer-than-eighty-columns" * 2)
    result = runner.invoke(app, ["infra-config", str(project), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert f"Wrote {out / 'Pulumi.churn-dev.yaml'}: stack churn-dev at level 2" in result.output.splitlines()
    assert (out / "Pulumi.platform-dev.yaml").is_file()


def test_infra_config_refuses_an_output_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = runner.invoke(app, ["infra-config", str(_project(tmp_path)), "--output", str(tmp_path / "file")])
    assert result.exit_code == 2, result.output
    assert "is a file, not a directory" in result.output and (tmp_path / "file").read_text() == "x"


def test_infra_config_keeps_an_existing_platform_stack_file(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.platform-dev.yaml").write_text(
        yaml.safe_dump({"config": {"mlops:tier": "platform", "mlops:env": "dev", "mlops:egress": "nat"}})
    )
    result = write_stack_config(_project(tmp_path, level=2), env="dev", output_dir=tmp_path)
    assert result.platform_created is False
    kept = yaml.safe_load(result.platform_path.read_text())["config"]
    assert kept["mlops:egress"] == "nat" and kept["aws:region"] == "us-east-1"


def test_infra_config_writes_neither_file_when_one_is_invalid(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.platform-dev.yaml").write_text(yaml.safe_dump({"config": {"mlops:bogus": 1}}))
    result = runner.invoke(app, ["infra-config", str(_project(tmp_path, level=2)), "--output", str(tmp_path)])
    assert result.exit_code == 23, result.output
    assert not (tmp_path / "Pulumi.churn-dev.yaml").exists()


def test_infra_config_takes_the_endpoint_size_from_the_pipeline_config(tmp_path: Path) -> None:
    project = _project(tmp_path, level=3, remote="git@github.com:acme/churn.git")
    result = write_stack_config(project, env="prod", output_dir=tmp_path)
    assert result.config["mlops:servingInstanceType"] == "ml.m5.large"
    assert result.config["mlops:servingInstanceCount"] == 2


def test_infra_config_refuses_an_endpoint_without_its_model(tmp_path: Path) -> None:
    """Before: a stack file with mlops:servingImage alone passed, and `pulumi up` created an
    endpoint whose container had no model to load. Now infra-config refuses it, writing nothing."""
    project = _project(tmp_path, level=3, remote="git@github.com:acme/churn.git")
    stack = tmp_path / "Pulumi.churn-dev.yaml"
    stack.write_text(yaml.safe_dump({"config": {"mlops:servingImage": IMAGE}}))
    result = runner.invoke(app, ["infra-config", str(project), "--output", str(tmp_path)])
    assert result.exit_code == 23, result.output
    assert "mlops:servingModelDataUrl is not set, but mlops:servingImage is" in result.output
    assert "Fix: Run `pulumi config set mlops:servingModelDataUrl" in result.output
    assert yaml.safe_load(stack.read_text()) == {"config": {"mlops:servingImage": IMAGE}}


def test_infra_config_after_an_upgrade_raises_the_level_and_keeps_user_keys(tmp_path: Path) -> None:
    project = _project(tmp_path, level=1, remote="git@github.com:acme/churn.git")
    first = write_stack_config(project, env="prod", output_dir=tmp_path)
    document = yaml.safe_load(first.path.read_text())
    document["config"] |= {
        "mlops:spot": True,
        "aws:region": "eu-west-1",
        "mlops:ciRepository": "acme/churn-fork",
    }
    document["encryptionsalt"] = "v1:abc"
    first.path.write_text(yaml.safe_dump(document))

    answers = yaml.safe_load((project / ".copier-answers.yml").read_text()) | {"level": 2}
    (project / ".copier-answers.yml").write_text(yaml.safe_dump(answers))
    result = runner.invoke(
        app, ["infra-config", str(project), "--env", "prod", "--output", str(tmp_path), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["created"], data["previous_level"], data["level"]) == (False, 1, 2)
    updated = yaml.safe_load(first.path.read_text())
    assert updated["encryptionsalt"] == "v1:abc"
    assert updated["config"]["mlops:level"] == 2 and updated["config"]["mlops:spot"] is True
    assert updated["config"]["aws:region"] == "eu-west-1"
    assert updated["config"]["mlops:ciRepository"] == "acme/churn-fork"  # the user's choice wins


def test_infra_config_without_answers_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["infra-config", str(tmp_path), "--output", str(tmp_path)])
    assert result.exit_code == 11, result.output
    assert "not a project generated by mlops-scaffold" in result.output


def test_infra_config_defaults_to_the_pulumi_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "platform-repo"
    (root / "deep").mkdir(parents=True)
    (root / "Pulumi.yaml").write_text(f"name: {PULUMI_PROJECT}\nruntime: python\n")
    monkeypatch.chdir(root / "deep")
    result = write_stack_config(_project(tmp_path, level=0), env="dev")
    assert result.path == root / "Pulumi.churn-dev.yaml"
    monkeypatch.chdir(tmp_path)
    outside = runner.invoke(app, ["infra-config", str(tmp_path / "churn")])
    assert outside.exit_code == 25, outside.output


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("Pulumi.churn-dev.yaml", b"config: [\n"),  # not YAML
        ("Pulumi.platform-dev.yaml", b"config:\n  mlops:env: \xff\xfe dev\n"),  # not UTF-8
        ("Pulumi.churn-dev.yaml", b"config: !!python/object/apply:os.getcwd []\n"),
        ("Pulumi.yaml", b"name: !!python/object/apply:os.getcwd []\nruntime: python\n"),
        ("Pulumi.yaml", b"name: [mlops-platform\n"),
    ],
    ids=["stack-not-yaml", "stack-not-utf8", "stack-python-tag", "project-python-tag", "project-not-yaml"],
)
def test_infra_config_refuses_an_unreadable_pulumi_file_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, content: bytes
) -> None:
    project = _project(tmp_path, level=2)
    stacks = tmp_path / "stacks"
    stacks.mkdir()
    if name != "Pulumi.yaml":
        (stacks / "Pulumi.yaml").write_text(f"name: {PULUMI_PROJECT}\nruntime: python\n")
    (stacks / name).write_bytes(content)
    monkeypatch.chdir(stacks)  # infra-config finds Pulumi.yaml from here
    result = runner.invoke(app, ["infra-config", str(project), "--env", "dev"])
    assert result.exit_code == 2, (result.output, result.exception)
    output = " ".join(result.output.split())
    assert str(stacks / name) in output and "Fix:" in output and "Traceback" not in output
    assert sorted(p.name for p in stacks.iterdir()) == sorted({"Pulumi.yaml", name})


@pytest.mark.parametrize(
    "content", [b"environments: [\n", b"environments:\n  prod: \xff\xfe\n"], ids=["not-yaml", "not-utf8"]
)
@pytest.mark.parametrize("command", ["plan", "infra-config"])
def test_a_broken_pipeline_config_is_refused_by_name_not_read_as_no_sizes(
    tmp_path: Path, command: str, content: bytes
) -> None:
    """The endpoint size comes from configs/pipeline.yaml; a broken one is named, not replaced by
    the stack's defaults (which would size prod differently from what deploy.py then fails on)."""
    project = _project(tmp_path, level=3, remote="git@github.com:acme/churn.git")
    config = project / "configs" / "pipeline.yaml"
    config.write_bytes(content)
    args = [command, str(project), "--env", "prod"] + (
        ["--output", str(tmp_path)] if command == "infra-config" else []
    )
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (result.output, result.exception)
    output = " ".join(result.output.split())
    assert str(config) in output and "Fix:" in output and "Traceback" not in output
    assert not list(tmp_path.glob("Pulumi.*.yaml"))


def test_infra_config_notes_a_missing_repository(tmp_path: Path) -> None:
    result = write_stack_config(_project(tmp_path, level=2), env="dev", output_dir=tmp_path)
    assert "mlops:ciRepository" not in result.config
    assert any("pulumi config set mlops:ciRepository" in note for note in result.notes)


@pytest.mark.parametrize(
    ("remote", "vendor", "expected"),
    [
        ("git@github.com:acme/churn.git", "github", "acme/churn"),
        ("https://github.com/acme/churn", "github", "acme/churn"),
        ("https://gitlab.com/group/sub/churn.git", "gitlab", "group/sub/churn"),
        ("https://gitlab.com/group/churn.git", "github", None),
        ("https://example.com/acme/churn.git", "github", None),
    ],
)
def test_repository_detection(tmp_path: Path, remote: str, vendor: str, expected: str | None) -> None:
    assert detect_repository(_project(tmp_path, remote=remote), vendor=vendor) == expected


def test_the_example_stack_files_are_valid_configs() -> None:
    from mlops_stacks.config import load_config
    from mlops_stacks.provider import provider_args

    examples = sorted(Path(__file__).resolve().parents[2].glob("stacks/examples/Pulumi.*.yaml"))
    assert len(examples) == 4
    for example in examples:
        values = yaml.safe_load(example.read_text())["config"]
        config = load_config({k: v for k, v in values.items() if k.startswith("mlops:")})
        args = provider_args({k[4:]: v for k, v in values.items() if k.startswith("aws:")}, config)
        assert args["region"], example


def test_plan_exits_24_and_lists_violations(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlops_platform.policy import rules

    def broken(resources: object) -> list[rules.Violation]:
        return [
            rules.Violation("kms-key-rotation-enabled", "aws:kms/key:Key", "k", "KMS key rotation is off.")
        ]

    monkeypatch.setattr(rules, "evaluate", broken)
    result = runner.invoke(app, ["plan", "--level", "1"])
    assert result.exit_code == 24, result.output
    assert "kms-key-rotation-enabled" in result.output and "breaks 1 security rule" in result.output
