"""What a review of the stacks against AWS's documented behaviour found (issue 8), one test per
item. Each test states what the stacks did before and why AWS would have failed them; each one
fails on that earlier code."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from mlops_platform.ci_identity.oidc import ISSUERS
from mlops_platform.network.component import MLFLOW_APP_HOST
from mlops_platform.policy.rules import evaluate
from mlops_stacks.config import StackConfig, StackConfigError
from mlops_stacks.offline import ACCOUNT_ID, PLATFORM_OUTPUTS, run_offline

from .iam.calls import principals
from .iam.principals import roles
from .offline_runs import SERVING_IMAGE, demo_config, offline, platform, policy_resources


def _statements(document: Any) -> list[dict[str, Any]]:
    loaded = json.loads(document) if isinstance(document, str) else document
    statements = loaded["Statement"]
    return statements if isinstance(statements, list) else [statements]


# 1 -----------------------------------------------------------------------------------------------
def test_1_gpu_hosts_encrypt_with_a_key_ec2_auto_scaling_may_use() -> None:
    """Before: the launch template encrypted the root volume with the project's customer managed
    key, whose (default) key policy does not grant EC2 Auto Scaling's service-linked role, so
    Batch hosts terminate at launch and jobs stay RUNNABLE. Then (issue 17, item 6) it named no
    key, which means the account's default EBS key: a customer managed key in some accounts, and
    the same failure. Now: the AWS managed key aws/ebs, named by its alias ARN."""
    run = offline(2)
    templates = run.of_type("aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == 2, "single-job and multi-node GPU hosts"
    for template in templates:
        ebs = template.inputs["blockDeviceMappings"][0]["ebs"]
        assert ebs["encrypted"] == "true"
        assert ebs["kmsKeyId"] == f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:alias/aws/ebs"
    assert [v for v in evaluate(policy_resources(run)) if v.rule == "ebs-cmk-grants-autoscaling"] == []


# 2 -----------------------------------------------------------------------------------------------
DEPLOY_CALLS = {
    "sagemaker:DescribeEndpoint",
    "sagemaker:DescribeEndpointConfig",
    "sagemaker:DescribeModel",
    "sagemaker:CreateModel",
    "sagemaker:CreateEndpointConfig",
    "sagemaker:UpdateEndpoint",
    "sagemaker:InvokeEndpoint",
    "iam:PassRole",
}


def test_2_the_level_3_deploy_role_may_deploy_and_smoke_test() -> None:
    """Before: the CI deploy role could push images and read SSM only, so deploy.py's SageMaker
    calls and the smoke test's InvokeEndpoint were denied. Now the serving component grants them
    on this environment's endpoint and the models and configurations named after it, and passes
    only the serving role, only to SageMaker (test_iam_sufficiency evaluates every call)."""
    run = offline(3, servingImage=SERVING_IMAGE)
    deploy = roles(run)["ci-deploy"]
    granted = {a for p in deploy.identity for s in _statements(p["policy"]) for a in s["Action"]}
    assert granted >= DEPLOY_CALLS
    (pass_role,) = [
        s for p in deploy.identity for s in _statements(p["policy"]) if "iam:PassRole" in s["Action"]
    ]
    assert pass_role["Resource"] == [roles(run)["serving"].role_arn]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    endpoint_statements = [
        s
        for p in deploy.identity
        for s in _statements(p["policy"])
        if any(a.startswith("sagemaker:") for a in s["Action"])
        # the List actions have no resource types (the cleanup after a deploy lists names)
        and set(s["Action"]) != {"sagemaker:ListEndpointConfigs", "sagemaker:ListModels"}
    ]
    resources = {r for s in endpoint_statements for r in s["Resource"]}
    assert all(":endpoint/demo-dev" in r or "demo-dev-*" in r or "mlflow-app" in r for r in resources), (
        resources
    )
    assert {c.action for c in principals()["ci-deploy"].calls} >= DEPLOY_CALLS  # the evaluated call list


# 3 -----------------------------------------------------------------------------------------------
def test_3_ci_owns_what_the_endpoint_serves_and_pulumi_does_not_move_it_back() -> None:
    """Before: CI moved the endpoint to new configurations with UpdateEndpoint and the next
    `pulumi up` moved it back to Pulumi's configuration and model. Now the endpoint ignores
    changes of endpointConfigName, and Pulumi's first configuration is named after the endpoint
    so the deploy role may describe it on the first deploy. (Issue 17) Pulumi never deletes a
    model or configuration the endpoint may use: a changed image or size replaced both and the
    engine deleted the old ones, possibly the endpoint's. Now Pulumi creates them once: every
    input is ignored after creation and they are retained on delete (tests/infra/test_day2.py
    walks the whole sequence)."""
    run = offline(3, servingImage=SERVING_IMAGE)
    (endpoint,) = run.of_type("aws:sagemaker/endpoint:Endpoint")
    assert endpoint.ignore_changes == ("endpointConfigName",)
    (config,) = run.of_type("aws:sagemaker/endpointConfiguration:EndpointConfiguration")
    (model,) = run.of_type("aws:sagemaker/model:Model")
    for name in (config.inputs["name"], model.inputs["name"]):
        assert name.startswith(f"{endpoint.inputs['name']}-") and len(name) <= 63
    assert config.retain_on_delete and model.retain_on_delete and not endpoint.retain_on_delete
    for created_once in (config, model):
        assert set(created_once.inputs) <= set(created_once.ignore_changes), created_once.name


# 5 -----------------------------------------------------------------------------------------------
def test_5_image_tags_are_explicit_and_latest_is_refused() -> None:
    """Before: mlops:trainingImageTag defaulted to `latest` on an immutable repository: the
    second push of `latest` fails and the job definition never sees a new image."""
    base = {"project": "demo", "env": "dev", "level": 2, "ciRepository": "acme/demo"}
    with pytest.raises(StackConfigError, match=r"mlops:trainingImageTag names the tag 'latest'") as error:
        StackConfig.from_mapping(base | {"trainingImageTag": "latest"})
    assert error.value.exit_code == 23 and "commit SHA" in error.value.fix
    with pytest.raises(StackConfigError, match=r"mlops:servingImage names the tag 'latest'"):
        StackConfig.from_mapping(base | {"level": 3, "trainingImageTag": "a1", "servingImage": "r/x:latest"})
    with pytest.raises(StackConfigError, match=r"mlops:trainingImageTag is not set"):
        run_offline(StackConfig.from_mapping(base))
    level3 = base | {"level": 3, "trainingImageTag": "a1"}
    for untagged in ("r/x", "123456789012.dkr.ecr.us-east-1.amazonaws.com/x", "host:5000/x", "r/x@sha256:12"):
        # no tag means 'latest' (a registry port is no tag, a digest must be whole)
        with pytest.raises(
            StackConfigError, match=r"mlops:servingImage = .* names no tag or digest"
        ) as error:
            StackConfig.from_mapping(level3 | {"servingImage": untagged})
        assert "REPOSITORY_URI:TAG" in error.value.fix
    model = {"servingModelDataUrl": "s3://demo-dev-artifacts/models/r/model.tar.gz"}
    for pinned in ("host:5000/x:3f2a1c0", f"r/x@sha256:{'a' * 64}"):
        assert StackConfig.from_mapping(level3 | model | {"servingImage": pinned}).serving_image == pinned
    for job in offline(2).of_type("aws:batch/jobDefinition:JobDefinition"):
        properties = json.loads(
            job.inputs["containerProperties" if job.inputs["type"] == "container" else "nodeProperties"]
        )
        image = properties.get("image") or properties["nodeRangeProperties"][0]["container"]["image"]
        assert image.endswith(":3f2a1c0"), job.name


# 6 -----------------------------------------------------------------------------------------------
NAMED = ("name", "bucket", "dashboardName", "trackingServerName", "modelPackageGroupName")


def _names(level: int, project: str) -> set[tuple[str, str]]:
    run = offline(level, project=project, ciRepository=f"acme/{project}", servingImage=SERVING_IMAGE)
    return {(r.type, str(r.inputs[key])) for r in run.resources for key in NAMED if key in r.inputs}


def test_6_a_second_project_in_the_same_account_collides_with_nothing() -> None:
    """Before: every project stack created the account's GitHub OIDC provider (one per issuer
    and account: the second stack failed, destroying the first broke every project's CI) and
    its own VPC (5 per region by default). Now those live in the platform stack, and every name
    a project stack gives AWS is its own."""
    first, second = _names(4, "churn"), _names(4, "fraud")
    assert first and second and not first & second
    assert not any(t == "aws:iam/openIdConnectProvider:OpenIdConnectProvider" for t, _ in first)
    assert len(platform().of_type("aws:ec2/vpc:Vpc")) == 1


def test_6_several_environments_share_one_account_oidc_provider() -> None:
    """Before: every platform stack created the OIDC providers and deleted them on destroy, so
    platform-staging failed in an account that had platform-dev, and destroying platform-dev broke
    the CI of every other environment. Now the creating stack keeps them on destroy, and another
    environment looks them up (a documented setting) and creates nothing."""
    providers = platform().of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    assert {p.inputs["url"] for p in providers} == {i.url for i in ISSUERS.values()}
    assert all(p.retain_on_delete for p in providers)
    assert not any(r.retain_on_delete for r in platform().resources if r not in providers)
    second = platform(githubOidcProvider="lookup", gitlabOidcProvider="lookup")
    assert not second.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    arns = second.result.components["ci_oidc"].provider_arns  # type: ignore[attr-defined]
    assert set(arns) == {"github", "gitlab"}
    docs = (Path(__file__).parents[2] / "docs" / "infrastructure.md").read_text(encoding="utf-8")
    assert "githubOidcProvider: lookup" in docs


# 7 -----------------------------------------------------------------------------------------------
def _trust(level: int, **settings: object) -> dict[str, Any]:
    run = offline(level, **settings)
    return roles(run)["ci-deploy"].trust["Statement"][0]


def _like(pattern: str, value: str | None) -> bool:
    """IAM's StringLike: `*` any run of characters, `?` one character, everything else literal
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return value is not None and re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _accepts(statement: dict[str, Any], claims: dict[str, str]) -> bool:
    """StringEquals (and StringLike, GitLab prod's release tags only), as IAM evaluates them, for
    the token claims of a web identity request (the IAM simulator knows only the claims AWS's
    service reference lists, not :sub and :aud)."""
    condition = statement["Condition"]
    assert set(condition) <= {"StringEquals", "StringLike"}
    assert set(condition.get("StringLike", {})) <= {"gitlab.com:sub"}, "StringLike only for GitLab prod"
    return all(claims.get(key) == value for key, value in condition["StringEquals"].items()) and all(
        _like(pattern, claims.get(key)) for key, pattern in condition.get("StringLike", {}).items()
    )


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_7_each_environment_role_trusts_only_that_github_environment(env: str) -> None:
    """Before: the deploy role trusted `repo:OWNER/REPO:*` (StringLike): any branch could assume
    the prod role and skip the prod approval. Now each environment's role trusts the subject
    `repo:OWNER/REPO:environment:ENV`, exactly, and the environment claim too."""
    statement = _trust(2, env=env)
    host = ISSUERS["github"].host

    def token(sub: str, environment: str | None = None) -> dict[str, str]:
        claims = {f"{host}:sub": sub, f"{host}:aud": "sts.amazonaws.com"}
        if environment:
            claims[f"{host}:environment"] = environment
        return claims

    assert _accepts(statement, token(f"repo:acme/demo:environment:{env}", env))
    for other in {"dev", "staging", "prod"} - {env}:
        assert not _accepts(statement, token(f"repo:acme/demo:environment:{other}", other))
    assert not _accepts(statement, token("repo:acme/demo:ref:refs/heads/main"))
    assert not _accepts(statement, token(f"repo:acme/demo-fork:environment:{env}", env))


def _gitlab_token(sub: str, *, protected: bool = True) -> dict[str, str]:
    return {
        "gitlab.com:sub": sub,
        "gitlab.com:aud": "https://gitlab.com",
        "gitlab.com:ref_protected": "true" if protected else "false",
    }


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_7_gitlab_dev_and_staging_trust_the_protected_default_branch_only(env: str) -> None:
    statement = _trust(2, ciVendor="gitlab", ciRepository="group/sub/demo", env=env)
    expected = {
        "gitlab.com:aud": "https://gitlab.com",
        "gitlab.com:sub": "project_path:group/sub/demo:ref_type:branch:ref:main",
        "gitlab.com:ref_protected": "true",
    }
    assert statement["Condition"] == {"StringEquals": expected}
    assert statement["Principal"]["Federated"].endswith(":oidc-provider/gitlab.com")
    assert _accepts(statement, _gitlab_token("project_path:group/sub/demo:ref_type:branch:ref:main"))
    assert not _accepts(statement, _gitlab_token("project_path:group/sub/demo:ref_type:tag:ref:v1.0.0"))


def test_17_gitlab_prod_trusts_only_protected_release_tags_not_the_branch() -> None:
    """Issue 17, item 4. Before: every environment's role trusted the protected default branch,
    so any job on `main` could assume the prod role without the manual prod job. Now prod trusts
    only protected `v*` tags (GitLab's subject `project_path:P:ref_type:tag:ref:TAG`,
    https://docs.gitlab.com/ci/secrets/id_token_authentication/), which the generated pipeline's
    prod jobs run on and only those allowed to create protected tags can push."""
    prod = _trust(2, ciVendor="gitlab", ciRepository="group/sub/demo", env="prod")
    dev = _trust(2, ciVendor="gitlab", ciRepository="group/sub/demo", env="dev")
    assert prod["Condition"] == {
        "StringEquals": {"gitlab.com:aud": "https://gitlab.com", "gitlab.com:ref_protected": "true"},
        "StringLike": {"gitlab.com:sub": "project_path:group/sub/demo:ref_type:tag:ref:v*"},
    }
    assert (
        prod["Condition"]["StringLike"]["gitlab.com:sub"]
        != dev["Condition"]["StringEquals"]["gitlab.com:sub"]
    )
    tag = "project_path:group/sub/demo:ref_type:tag:ref:v1.4.0"
    main = "project_path:group/sub/demo:ref_type:branch:ref:main"
    assert _accepts(prod, _gitlab_token(tag))
    assert not _accepts(prod, _gitlab_token(main)), "a job on main must not assume the prod role"
    assert not _accepts(dev, _gitlab_token(tag)), "a release tag is not dev's ref"
    assert not _accepts(prod, _gitlab_token(tag, protected=False)), "an unprotected v* tag"
    for other in (
        "project_path:group/sub/demo:ref_type:branch:ref:v1.4.0",  # a branch named like a tag
        "project_path:group/sub/demo-fork:ref_type:tag:ref:v1.4.0",  # another project
        "project_path:group/sub/demo:ref_type:tag:ref:release-1",  # another tag family
    ):
        assert not _accepts(prod, _gitlab_token(other)), other
    assert (
        evaluate(policy_resources(offline(2, ciVendor="gitlab", ciRepository="group/sub/demo", env="prod")))
        == []
    )


def test_7_service_roles_and_the_alerts_key_trust_only_this_account() -> None:
    """Before: SageMaker, Step Functions and EventBridge could assume the project's roles, and
    CloudWatch could use the alerts key, on behalf of any account (confused deputy). Now every
    service trust carries aws:SourceAccount and aws:SourceArn (EC2 instance profiles, which AWS
    assumes without them, are the one documented exception); test_iam_sufficiency checks that
    another account's request is refused."""
    run = offline(4, servingImage=SERVING_IMAGE)
    for role in run.of_type("aws:iam/role:Role"):
        for statement in _statements(role.inputs["assumeRolePolicy"]):
            service = (statement.get("Principal") or {}).get("Service")
            if service and service != "ec2.amazonaws.com":
                condition = statement["Condition"]
                assert condition["StringEquals"]["aws:SourceAccount"] == ACCOUNT_ID, role.name
                assert condition["ArnLike"]["aws:SourceArn"].startswith("arn:aws:"), role.name
    (alerts,) = [k for k in run.of_type("aws:kms/key:Key") if k.component == "Monitoring"]
    (cloudwatch,) = [
        s
        for s in _statements(alerts.inputs["policy"])
        if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT_ID}
    assert cloudwatch["Condition"]["ArnLike"]["aws:SourceArn"].endswith(":alarm:*")


# 8 -----------------------------------------------------------------------------------------------
def _endpoint_services(run: Any) -> set[str]:
    names = {r.inputs["serviceName"] for r in run.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")}
    return {
        name.replace("com.amazonaws.us-east-1.", "").replace("aws.sagemaker.us-east-1.", "sagemaker.")
        for name in names
    }


# IAM prefix of a call -> the VPC endpoint it goes through
ENDPOINT_OF = {
    "s3": "s3",
    "dynamodb": "dynamodb",
    "ssm": "ssm",
    "cloudwatch": "monitoring",
    "states": "states",
    "logs": "logs",
    "ecr": "ecr.api",
    "kms": None,  # S3 calls KMS for the caller (SSE-KMS): no endpoint of the caller's needed
}
# MLflow mode -> the endpoint the sagemaker-mlflow plugin's calls go through: a tracking server's
# host has one; an MLflow App's host (network.MLFLOW_APP_HOST) has none, so no platform creates it.
MLFLOW_ENDPOINT_OF = {"server": "sagemaker.experiments", "app": MLFLOW_APP_HOST.format(region="us-east-1")}


def _endpoint_of(action: str, mlflow: str) -> str | None:
    service = action.split(":")[0]
    if service == "sagemaker-mlflow":
        return MLFLOW_ENDPOINT_OF[mlflow]
    assert service in ENDPOINT_OF, f"{action}: which VPC endpoint does it use?"
    return ENDPOINT_OF[service]


@pytest.mark.parametrize("mlflow", ["server", "app"])
def test_8_every_call_made_inside_the_vpc_has_a_way_out(mlflow: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: a drift job running in the VPC had no CloudWatch `monitoring` endpoint (nor
    cloudwatch:PutMetricData), and a retraining check no `states` endpoint; and the jobs of a
    project on the default MLflow App could not reach it at all: the platform's only MLflow
    endpoint serves tracking servers, not the App's host. Now every service that a principal
    running inside the VPC calls has an endpoint in a platform with egress "endpoints", except an
    MLflow App's: a project using one is refused on such a platform, and the default platform
    egress is a NAT gateway."""
    drift = roles(offline(4))["drift-job"]
    put = [
        s
        for p in drift.identity
        for s in _statements(p["policy"])
        if "cloudwatch:PutMetricData" in s["Action"]
    ]
    assert put and put[0]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "MLOps/demo/dev"}}
    available = _endpoint_services(platform(egress="endpoints"))
    inside = [p for p in principals().values() if p.in_vpc]
    assert {p.name for p in inside} == {"training-job", "drift-job"}
    missing = {
        (principal.name, call.action)
        for principal in inside
        for call in principal.calls
        if call.mlflow in (None, mlflow)
        and (endpoint := _endpoint_of(call.action, mlflow)) is not None
        and endpoint not in available
    }
    # the hosts themselves: image pulls and the ECS agent
    assert {"ecr.api", "ecr.dkr", "ecs", "ecs-agent", "ecs-telemetry", "logs"} <= available
    monkeypatch.setitem(PLATFORM_OUTPUTS, "egress", "endpoints")
    if mlflow == "server":
        assert missing == set()
        run_offline(demo_config(4, mlflow="server"))  # accepted on a platform without internet path
    else:
        assert missing and {action.split(":")[0] for _, action in missing} == {"sagemaker-mlflow"}
        with pytest.raises(StackConfigError, match=r"mlflow = 'app'.*egress is 'endpoints'"):
            run_offline(demo_config(2))
        default = platform()
        assert default.of_type("aws:ec2/natGateway:NatGateway")
        groups = default.of_type("aws:ec2/securityGroup:SecurityGroup")
        (workload,) = [g for g in groups if "workload" in g.name]
        assert any(rule.get("cidrBlocks") == ["0.0.0.0/0"] for rule in workload.inputs["egress"])


# Issue 17, item 5 --------------------------------------------------------------------------------
def test_a_stack_that_trains_must_know_its_framework() -> None:
    """Before: every training job asked for a GPU, scikit-learn's too. Now what training runs on
    follows the project's framework, so a stack that trains refuses to guess it."""
    base = {
        "project": "demo",
        "env": "dev",
        "level": 2,
        "ciRepository": "acme/demo",
        "trainingImageTag": "a1",
    }
    with pytest.raises(StackConfigError, match=r"mlops:framework is not set") as error:
        run_offline(StackConfig.from_mapping(base))
    assert "infra-config" in error.value.fix
    assert run_offline(StackConfig.from_mapping({**base, "level": 1})).resources == []  # nothing trains
