"""Every security rule both ways: a compliant resource passes and a crafted violation is reported.

The same rules run in the pulumi_policy pack (``policy/``) and in ``mlops-scaffold plan``; the
pack adapter is tested here too, with the argument objects pulumi_policy hands to validators.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from mlops_platform.policy import rules
from mlops_platform.policy.rules import RULES, Resource, evaluate

BUCKET_URN = "urn:pulumi:s::p::aws:s3/bucket:Bucket::data"


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _bucket_set(**overrides: Resource | None) -> list[Resource]:
    """A bucket with all four companions; an override replaces (or, with None, drops) one of them."""
    refs = {"bucket": frozenset({BUCKET_URN})}
    companions = {
        "sse": Resource(
            rules.BUCKET_SSE,
            "data-sse",
            {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
            "u1",
            refs,
        ),
        "pab": Resource(
            rules.BUCKET_PAB,
            "data-pab",
            dict.fromkeys(
                ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True
            ),
            "u2",
            refs,
        ),
        "policy": Resource(
            rules.BUCKET_POLICY,
            "data-policy",
            {
                "policy": _policy(
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "s3:*",
                        "Resource": ["arn:aws:s3:::data/*"],
                        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                    }
                )
            },
            "u3",
            refs,
        ),
        "versioning": Resource(
            rules.BUCKET_VERSIONING,
            "data-versioning",
            {"versioningConfiguration": {"status": "Enabled"}},
            "u4",
            refs,
        ),
    }
    for key, value in overrides.items():
        companions[key] = value  # type: ignore[assignment]
    bucket = Resource(rules.BUCKET, "data", {}, BUCKET_URN)
    return [bucket, *[c for c in companions.values() if c is not None]]


def _with(type_: str, props: dict[str, Any]) -> list[Resource]:
    return [Resource(type_, "crafted", props, "urn:pulumi:s::p::x::crafted")]


ADMIN = {"Effect": "Allow", "Action": "*", "Resource": "*"}
SCOPED = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::data/*"]}
LT_OK = {
    "metadataOptions": {"httpTokens": "required"},
    "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}],
}

# rule -> (compliant resources, violating resources)
CASES: dict[str, tuple[list[Resource], list[Resource]]] = {
    "s3-bucket-server-side-encryption": (_bucket_set(), _bucket_set(sse=None)),
    "s3-bucket-public-access-blocked": (
        _bucket_set(),
        _bucket_set(
            pab=Resource(
                rules.BUCKET_PAB,
                "data-pab",
                {
                    "blockPublicAcls": True,
                    "blockPublicPolicy": False,
                    "ignorePublicAcls": True,
                    "restrictPublicBuckets": True,
                },
                "u2",
                {"bucket": frozenset({BUCKET_URN})},
            )
        ),
    ),
    "s3-bucket-ssl-requests-only": (_bucket_set(), _bucket_set(policy=None)),
    "s3-bucket-versioning-enabled": (
        _bucket_set(),
        _bucket_set(
            versioning=Resource(
                rules.BUCKET_VERSIONING,
                "v",
                {"versioningConfiguration": {"status": "Suspended"}},
                "u4",
                {"bucket": frozenset({BUCKET_URN})},
            )
        ),
    ),
    "s3-bucket-no-public-acl": (_with(rules.BUCKET, {}), _with(rules.BUCKET, {"acl": "public-read"})),
    "ec2-imdsv2-required": (
        _with(rules.LAUNCH_TEMPLATE, LT_OK),
        _with(rules.LAUNCH_TEMPLATE, {**LT_OK, "metadataOptions": {"httpTokens": "optional"}}),
    ),
    "ec2-no-public-ip": (
        _with(rules.LAUNCH_TEMPLATE, {**LT_OK, "networkInterfaces": [{"associatePublicIpAddress": "false"}]})
        + _with(rules.SUBNET, {"mapPublicIpOnLaunch": False}),
        _with(rules.LAUNCH_TEMPLATE, {**LT_OK, "networkInterfaces": [{"associatePublicIpAddress": "true"}]}),
    ),
    "ebs-encrypted-volumes": (
        _with(rules.LAUNCH_TEMPLATE, LT_OK) + _with(rules.EBS_VOLUME, {"encrypted": True}),
        _with(
            rules.LAUNCH_TEMPLATE,
            {**LT_OK, "blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"volumeSize": 100}}]},
        ),
    ),
    "kms-key-rotation-enabled": (_with(rules.KMS_KEY, {"enableKeyRotation": True}), _with(rules.KMS_KEY, {})),
    "iam-no-wildcard-admin": (
        _with("aws:iam/policy:Policy", {"policy": _policy(SCOPED, {**SCOPED, "Action": "s3:*"})})
        + _with("aws:iam/rolePolicy:RolePolicy", {"policy": _policy({**SCOPED, "Resource": "*"})}),
        _with("aws:iam/rolePolicy:RolePolicy", {"policy": _policy(SCOPED, ADMIN)}),
    ),
    "ecr-scan-on-push": (
        _with(
            rules.ECR_REPOSITORY,
            {"imageScanningConfiguration": {"scanOnPush": True}, "imageTagMutability": "IMMUTABLE"},
        ),
        _with(rules.ECR_REPOSITORY, {"imageTagMutability": "IMMUTABLE"}),
    ),
    "ecr-tag-immutability": (
        _with(
            rules.ECR_REPOSITORY,
            {"imageScanningConfiguration": {"scanOnPush": True}, "imageTagMutability": "IMMUTABLE"},
        ),
        _with(
            rules.ECR_REPOSITORY,
            {"imageScanningConfiguration": {"scanOnPush": True}, "imageTagMutability": "MUTABLE"},
        ),
    ),
    "security-group-no-public-ingress": (
        _with(
            rules.SECURITY_GROUP,
            {
                "ingress": [{"cidrBlocks": ["10.42.0.0/16"], "fromPort": 443}],
                "egress": [{"cidrBlocks": ["0.0.0.0/0"]}],
            },
        ),
        _with(rules.SECURITY_GROUP, {"ingress": [{"cidrBlocks": ["0.0.0.0/0"], "fromPort": 22}]}),
    ),
    "security-group-all-traffic-only-from-itself": (
        _with(
            rules.SG_INGRESS_RULE,
            {"securityGroupId": "sg-nodes", "referencedSecurityGroupId": "sg-nodes", "ipProtocol": "-1"},
        )
        + _with(
            rules.SG_INGRESS_RULE, {"securityGroupId": "sg-a", "cidrIpv4": "10.0.0.0/16", "ipProtocol": "tcp"}
        )
        + _with(rules.SECURITY_GROUP, {"ingress": [{"protocol": "-1", "self": True}]}),
        _with(
            rules.SG_INGRESS_RULE,
            {"securityGroupId": "sg-nodes", "referencedSecurityGroupId": "sg-other", "ipProtocol": "-1"},
        ),
    ),
    "sns-topic-encrypted": (
        _with(rules.SNS_TOPIC, {"kmsMasterKeyId": "arn:aws:kms:..."}),
        _with(rules.SNS_TOPIC, {}),
    ),
    "sagemaker-endpoint-config-kms": (
        _with(rules.ENDPOINT_CONFIG, {"kmsKeyArn": "arn:aws:kms:..."}),
        _with(rules.ENDPOINT_CONFIG, {}),
    ),
}


VPC_URN = "urn:pulumi:s::p::aws:ec2/vpc:Vpc::net"
VPC_REFS = {"vpcId": frozenset({VPC_URN})}
KEY_URN = "urn:pulumi:s::p::aws:kms/key:Key::project"
TRUST = {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
SOURCE = {"StringEquals": {"aws:SourceAccount": "123456789012"}}
OIDC = {
    "Effect": "Allow",
    "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com"},
    "Action": "sts:AssumeRoleWithWebIdentity",
}
HOST = "token.actions.githubusercontent.com"
AUTOSCALING_ROLE = (
    "arn:aws:iam::1:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"
)


def _vpc_set(companion: Resource | None) -> list[Resource]:
    return [Resource(rules.VPC, "net", {}, VPC_URN), *([companion] if companion else [])]


AWS_EBS_KEY = {"encrypted": "true", "kmsKeyId": "arn:aws:kms:us-east-1:1:alias/aws/ebs"}


def _launch_with_key(key_policy: str) -> list[Resource]:
    template = Resource(
        rules.LAUNCH_TEMPLATE,
        "hosts",
        {**LT_OK, "blockDeviceMappings": [{"ebs": {"encrypted": "true", "kmsKeyId": "arn:aws:kms:k"}}]},
        "urn:lt",
        {"blockDeviceMappings": frozenset({KEY_URN})},
    )
    return [
        template,
        Resource(rules.KMS_KEY, "project", {"enableKeyRotation": True, "policy": key_policy}, KEY_URN),
    ]


CASES.update(
    {
        "s3-bucket-access-logging": (
            _bucket_set(
                logging=Resource(
                    rules.BUCKET_LOGGING,
                    "l",
                    {"targetBucket": "logs"},
                    "u5",
                    {"bucket": frozenset({BUCKET_URN})},
                )
            ),
            _bucket_set(),
        ),
        "vpc-flow-logs-enabled": (
            _vpc_set(Resource(rules.FLOW_LOG, "fl", {"trafficType": "ALL"}, "u6", VPC_REFS)),
            _vpc_set(None),
        ),
        "vpc-default-security-group-closed": (
            _vpc_set(Resource(rules.DEFAULT_SG, "d", {"ingress": [], "egress": []}, "u7", VPC_REFS)),
            _vpc_set(
                Resource(rules.DEFAULT_SG, "d", {"egress": [{"cidrBlocks": ["0.0.0.0/0"]}]}, "u7", VPC_REFS)
            ),
        ),
        "sfn-logging-enabled": (
            _with(
                rules.STATE_MACHINE, {"loggingConfiguration": {"level": "ALL", "logDestination": "arn:lg:*"}}
            ),
            _with(rules.STATE_MACHINE, {"loggingConfiguration": {"level": "OFF"}}),
        ),
        "ecr-kms-encryption": (
            _with(rules.ECR_REPOSITORY, {"encryptionConfigurations": [{"encryptionType": "KMS"}]}),
            _with(rules.ECR_REPOSITORY, {"encryptionConfigurations": [{"encryptionType": "AES256"}]}),
        ),
        "kms-explicit-key-policy": (
            _with(rules.KMS_KEY, {"policy": _policy(SCOPED)}),
            _with(rules.KMS_KEY, {"enableKeyRotation": True}),
        ),
        "iam-no-wildcard-service-actions": (
            _with("aws:iam/policy:Policy", {"policy": _policy(SCOPED)})
            + _with(
                "aws:iam/rolePolicy:RolePolicy",
                {"policy": _policy({**SCOPED, "Effect": "Deny", "Action": "s3:*"})},
            ),
            _with(
                "aws:iam/rolePolicy:RolePolicy",
                {"policy": _policy({**SCOPED, "Action": ["sagemaker-mlflow:*"]})},
            ),
        ),
        "iam-service-trust-source-conditions": (
            _with(rules.IAM_ROLE, {"assumeRolePolicy": _policy({**TRUST, "Condition": SOURCE})})
            + _with(
                rules.KMS_KEY, {"policy": _policy({**TRUST, "Action": "kms:Decrypt", "Condition": SOURCE})}
            ),
            _with(rules.IAM_ROLE, {"assumeRolePolicy": _policy(TRUST)}),
        ),
        "iam-oidc-no-wildcard-subject": (
            _with(
                rules.IAM_ROLE,
                {
                    "assumeRolePolicy": _policy(
                        {
                            **OIDC,
                            "Condition": {
                                "StringEquals": {
                                    f"{HOST}:aud": "sts.amazonaws.com",
                                    f"{HOST}:sub": "repo:acme/churn:environment:prod",
                                }
                            },
                        }
                    )
                },
            ),
            _with(
                rules.IAM_ROLE,
                {
                    "assumeRolePolicy": _policy(
                        {
                            **OIDC,
                            "Condition": {
                                "StringEquals": {f"{HOST}:aud": "sts.amazonaws.com"},
                                "StringLike": {f"{HOST}:sub": "repo:acme/churn:*"},
                            },
                        }
                    )
                },
            ),
        ),
        "sagemaker-model-network-isolation": (
            _with(rules.SAGEMAKER_MODEL, {"enableNetworkIsolation": True})
            + _with(
                rules.SAGEMAKER_MODEL,
                {"tags": {"mlops:policy-exception:sagemaker-model-network-isolation": "a documented reason"}},
            ),
            _with(rules.SAGEMAKER_MODEL, {"enableNetworkIsolation": False}),
        ),
        "sagemaker-prod-endpoint-instances": (
            _with(
                rules.ENDPOINT_CONFIG,
                {"tags": {"mlops:env": "prod"}, "productionVariants": [{"initialInstanceCount": 2}]},
            )
            + _with(
                rules.ENDPOINT_CONFIG,
                {"tags": {"mlops:env": "dev"}, "productionVariants": [{"serverlessConfig": {}}]},
            ),
            _with(
                rules.ENDPOINT_CONFIG,
                {"tags": {"mlops:env": "prod"}, "productionVariants": [{"serverlessConfig": {}}]},
            )
            + _with(rules.SCALING_TARGET, {"tags": {"mlops:env": "prod"}, "minCapacity": 1}),
        ),
        "ebs-cmk-grants-autoscaling": (
            _launch_with_key(_policy({"Principal": {"AWS": AUTOSCALING_ROLE}}))
            + _with(rules.LAUNCH_TEMPLATE, {**LT_OK, "blockDeviceMappings": [{"ebs": AWS_EBS_KEY}]}),
            _launch_with_key(_policy(SCOPED)),
        ),
    }
)


def test_every_rule_has_a_case() -> None:
    assert set(CASES) == {rule.name for rule in RULES}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_compliant_resources_pass(rule: rules.Rule) -> None:
    compliant, _ = CASES[rule.name]
    assert evaluate(compliant, [rule]) == []


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_crafted_violation_is_reported(rule: rules.Rule) -> None:
    _, violating = CASES[rule.name]
    violations = evaluate(violating, [rule])
    assert violations and {v.rule for v in violations} == {rule.name}
    assert all(v.message for v in violations)


GITLAB = {**OIDC, "Principal": {"Federated": "arn:aws:iam::1:oidc-provider/gitlab.com"}}
RELEASE_TAGS = "project_path:group/churn:ref_type:tag:ref:v*"


def _gitlab_trust(equals: dict[str, str], like: dict[str, str]) -> list[Resource]:
    condition = {"StringEquals": {"gitlab.com:aud": "https://gitlab.com", **equals}, "StringLike": like}
    return _with(rules.IAM_ROLE, {"assumeRolePolicy": _policy({**GITLAB, "Condition": condition})})


@pytest.mark.parametrize(
    ("equals", "like", "allowed"),
    [
        ({"gitlab.com:ref_protected": "true"}, {"gitlab.com:sub": RELEASE_TAGS}, True),
        ({}, {"gitlab.com:sub": RELEASE_TAGS}, False),  # an unprotected tag would do
        ({"gitlab.com:ref_protected": "false"}, {"gitlab.com:sub": RELEASE_TAGS}, False),
        (
            {"gitlab.com:ref_protected": "true"},
            {"gitlab.com:sub": "project_path:group/*:ref_type:tag:ref:v*"},
            False,
        ),
        (
            {"gitlab.com:ref_protected": "true"},
            {"gitlab.com:sub": "project_path:group/churn:ref_type:*"},
            False,
        ),
        (
            {"gitlab.com:ref_protected": "true"},
            {"gitlab.com:sub": "project_path:group/churn:ref_type:tag:ref:*"},
            False,
        ),
        (
            {"gitlab.com:ref_protected": "true"},
            {"gitlab.com:sub": "project_path:group/churn:ref_type:tag:ref:v?"},
            False,
        ),
        (
            {
                "gitlab.com:ref_protected": "true",
                "gitlab.com:sub": "project_path:group/churn:ref_type:branch:ref:main",
            },
            {"gitlab.com:sub": RELEASE_TAGS},
            False,  # two subjects
        ),
    ],
)
def test_gitlab_prods_release_tags_are_the_one_subject_pattern_allowed(
    equals: dict[str, str], like: dict[str, str], allowed: bool
) -> None:
    """Issue 17: GitLab prod trusts one project's protected `v*` tags (StringLike); the rule lets
    exactly that pattern through, with ref_protected true, and every other wildcard still fails."""
    (rule,) = [r for r in RULES if r.name == "iam-oidc-no-wildcard-subject"]
    assert (evaluate(_gitlab_trust(equals, like), [rule]) == []) is allowed


def test_an_encrypted_host_volume_that_names_no_key_is_reported() -> None:
    """Issue 17, item 6: a launch template volume with `encrypted` and no key gets the account's
    default EBS key, which some accounts set to a customer managed key without the grant EC2 Auto
    Scaling needs. The rule passed it before; now the key must be named."""
    (rule,) = [r for r in RULES if r.name == "ebs-cmk-grants-autoscaling"]
    (violation,) = evaluate(_with(rules.LAUNCH_TEMPLATE, LT_OK), [rule])
    assert "names no KMS key" in violation.message and "aws/ebs" in violation.message


@pytest.mark.parametrize(
    ("type_", "props"),
    [
        (rules.SG_INGRESS_RULE, {"cidrIpv4": "0.0.0.0/0", "fromPort": 22}),
        (rules.SG_RULE, {"type": "ingress", "ipv6CidrBlocks": ["::/0"]}),
        (rules.SUBNET, {"mapPublicIpOnLaunch": True}),
        (
            "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
            {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        ),
        (rules.IAM_ROLE, {"inlinePolicies": [{"name": "all", "policy": _policy(ADMIN)}]}),
        ("aws:iam/policy:Policy", {"policy": {"Statement": {**ADMIN, "Action": ["*:*"], "Resource": ["*"]}}}),
    ],
)
def test_other_shapes_of_the_same_violations_are_reported(type_: str, props: dict[str, Any]) -> None:
    assert evaluate(_with(type_, props))


def test_egress_rules_and_unknown_policy_documents_are_not_violations() -> None:
    assert evaluate(_with(rules.SG_RULE, {"type": "egress", "cidrBlocks": ["0.0.0.0/0"]})) == []
    # During a preview a document built from unknown ARNs is not a string yet: nothing to judge.
    assert evaluate(_with("aws:iam/policy:Policy", {"policy": None})) == []


def test_companions_of_another_bucket_do_not_count() -> None:
    other = "urn:pulumi:s::p::aws:s3/bucket:Bucket::other"
    resources = [
        Resource(rules.BUCKET, "data", {}, BUCKET_URN),
        *[
            Resource(r.type, r.name, r.props, r.urn, {"bucket": frozenset({other})})
            for r in _bucket_set()[1:]
        ],
    ]
    assert {v.rule for v in evaluate(resources)} == {
        "s3-bucket-server-side-encryption",
        "s3-bucket-public-access-blocked",
        "s3-bucket-ssl-requests-only",
        "s3-bucket-versioning-enabled",
        "s3-bucket-access-logging",
    }


def test_a_documented_exception_exempts_a_resource_from_its_rule_only() -> None:
    tags = {"mlops:policy-exception:s3-bucket-access-logging": "the access log bucket does not log itself"}
    bucket = Resource(rules.BUCKET, "logs", {"tags": tags}, BUCKET_URN)
    found = evaluate([bucket, *_bucket_set()[1:]])
    assert found == []
    (exception,) = rules.exceptions([bucket])
    assert (exception.rule, exception.reason) == ("s3-bucket-access-logging", tags[next(iter(tags))])
    # the same tag does not exempt it from another rule
    assert {v.rule for v in evaluate([bucket])} == {
        "s3-bucket-server-side-encryption",
        "s3-bucket-public-access-blocked",
        "s3-bucket-ssl-requests-only",
        "s3-bucket-versioning-enabled",
    }


# ---- the pulumi_policy pack -------------------------------------------------------------------


def _policy_resource(resource: Resource) -> SimpleNamespace:
    """What pulumi_policy gives validators: camelCase props and property dependencies."""
    deps = {prop: [SimpleNamespace(urn=urn) for urn in urns] for prop, urns in resource.refs.items()}
    return SimpleNamespace(
        resource_type=resource.type,
        props=resource.props,
        urn=resource.urn or "urn:x",
        name=resource.name,
        property_dependencies=deps,
    )


def _run_pack(resources: list[Resource], rule_name: str) -> list[str]:
    pulumi_policy = pytest.importorskip("pulumi_policy")
    from mlops_platform.policy.pack import policies

    reported: list[str] = []
    policy = next(p for p in policies() if p.name == rule_name)

    def report(message: str, urn: str | None = None) -> None:
        reported.append(message)

    if isinstance(policy, pulumi_policy.StackValidationPolicy):
        policy.validate(SimpleNamespace(resources=[_policy_resource(r) for r in resources]), report)
    else:
        for resource in resources:
            policy.validate(_policy_resource(resource), report)
    return reported


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_policy_pack_reports_the_same_both_ways(rule: rules.Rule) -> None:
    compliant, violating = CASES[rule.name]
    assert _run_pack(compliant, rule.name) == []
    assert _run_pack(violating, rule.name)


def test_policy_pack_policies_are_mandatory() -> None:
    pulumi_policy = pytest.importorskip("pulumi_policy")
    from mlops_platform.policy.pack import policies

    assert {p.enforcement_level for p in policies()} == {pulumi_policy.EnforcementLevel.MANDATORY}
