"""Security rules over planned resources (pure: no Pulumi import).

The rules follow the controls that the public AWS compliance packs (AWS Config conformance
packs, Pulumi's AWSGuard) enforce for the services the stacks use. Each rule sees resources as
the engine does: a Pulumi type token and the camelCase input properties.

Resource rules look at one resource. Stack rules look at several, because pulumi-aws v7 keeps a
bucket's encryption, public access block, versioning and policy in resources of their own;
``Resource.refs`` says which resources a property points at (filled from property dependencies
in the policy pack and from matching IDs in the offline plan).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

BUCKET = "aws:s3/bucket:Bucket"
BUCKET_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
INSTANCE = "aws:ec2/instance:Instance"
SUBNET = "aws:ec2/subnet:Subnet"
EBS_VOLUME = "aws:ebs/volume:Volume"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
KMS_KEY = "aws:kms/key:Key"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
SNS_TOPIC = "aws:sns/topic:Topic"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
IAM_ROLE = "aws:iam/role:Role"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"
VPC = "aws:ec2/vpc:Vpc"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
SAGEMAKER_MODEL = "aws:sagemaker/model:Model"
SCALING_TARGET = "aws:appautoscaling/target:Target"
PROD_ENVS = ("prod", "production")
EXCEPTION_TAG = "mlops:policy-exception:"  # + rule name; the value is the documented reason
IAM_POLICY_TYPES = (
    "aws:iam/policy:Policy",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:iam/userPolicy:UserPolicy",
    "aws:iam/groupPolicy:GroupPolicy",
)
IAM_ATTACHMENT_TYPES = (
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment",
    "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
)
ADMIN_POLICY_ARNS = ("arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/PowerUserAccess")
PUBLIC_CIDRS = ("0.0.0.0/0", "::/0")


@dataclass(frozen=True)
class Resource:
    """One planned resource: what a rule sees."""

    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    refs: Mapping[str, frozenset[str]] = field(default_factory=dict)  # property -> URNs it refers to

    def refers_to(self, other: Resource, prop: str) -> bool:
        return bool(other.urn) and other.urn in self.refs.get(prop, frozenset())


@dataclass(frozen=True)
class Violation:
    rule: str
    resource_type: str
    resource_name: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "type": self.resource_type,
            "name": self.resource_name,
            "message": self.message,
        }


ResourceCheck = Callable[[Resource], list[str]]
StackCheck = Callable[[Sequence[Resource]], list[tuple[Resource, str]]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    types: tuple[str, ...] = ()  # resource rules: the types it checks
    check: ResourceCheck | None = None
    stack_check: StackCheck | None = None


# ---- helpers -----------------------------------------------------------------------------------


def _truthy(value: Any) -> bool:
    """Launch template fields are strings ("true"/"false") in pulumi-aws; others are booleans."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def policy_statements(document: Any) -> list[Mapping[str, Any]] | None:
    """The statements of an IAM policy document (a JSON string or dict); None when unknown yet."""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return None
    if not isinstance(document, Mapping):
        return None
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, Mapping)]


def admin_statements(document: Any) -> list[Mapping[str, Any]]:
    """Allow statements granting every action on every resource."""
    found = []
    for statement in policy_statements(document) or []:
        actions = _as_list(statement.get("Action"))
        resources = _as_list(statement.get("Resource"))
        if statement.get("Effect") == "Allow" and {"*", "*:*"} & set(actions) and "*" in resources:
            found.append(statement)
    return found


def exception_reason(resource: Resource, rule: str) -> str | None:
    """The documented reason ``resource`` is exempt from ``rule`` (tag ``mlops:policy-exception:<rule>``)."""
    tags = resource.props.get("tags") or {}
    reason = tags.get(f"{EXCEPTION_TAG}{rule}") if isinstance(tags, Mapping) else None
    return str(reason) if reason else None


def _statements_of(resource: Resource) -> list[tuple[str, Mapping[str, Any]]]:
    """(document kind, statement) of every policy document a resource carries."""
    props = resource.props
    found: list[tuple[str, Any]] = []
    if resource.type in IAM_POLICY_TYPES:
        found.append(("identity", props.get("policy")))
    elif resource.type == IAM_ROLE:
        found.append(("trust", props.get("assumeRolePolicy")))
        found += [("identity", inline.get("policy")) for inline in _as_list(props.get("inlinePolicies"))]
    elif resource.type == KMS_KEY or resource.type == BUCKET_POLICY:
        found.append(("resource", props.get("policy")))
    return [(kind, statement) for kind, document in found for statement in policy_statements(document) or []]


def _service_principals(statement: Mapping[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if not isinstance(principal, Mapping):
        return []
    return [str(service) for service in _as_list(principal.get("Service"))]


def _condition_keys(statement: Mapping[str, Any]) -> set[str]:
    condition = statement.get("Condition") or {}
    return {key.lower() for values in condition.values() if isinstance(values, Mapping) for key in values}


# ---- resource rules ----------------------------------------------------------------------------


def _kms_rotation(resource: Resource) -> list[str]:
    props = resource.props
    symmetric = props.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
    if (
        symmetric
        and props.get("keyUsage", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"
        and not props.get("enableKeyRotation")
    ):
        return ["KMS key rotation is off: set enable_key_rotation=True."]
    return []


def _imdsv2(resource: Resource) -> list[str]:
    tokens = (resource.props.get("metadataOptions") or {}).get("httpTokens")
    if tokens != "required":
        return ["Instances may use IMDSv1: set metadata_options.http_tokens='required'."]
    return []


def _no_public_ip(resource: Resource) -> list[str]:
    props = resource.props
    if resource.type == LAUNCH_TEMPLATE:
        if any(
            _truthy(nic.get("associatePublicIpAddress")) for nic in _as_list(props.get("networkInterfaces"))
        ):
            return ["A network interface gets a public IP: set associate_public_ip_address='false'."]
    elif resource.type == INSTANCE and _truthy(props.get("associatePublicIpAddress")):
        return ["The instance gets a public IP: set associate_public_ip_address=False."]
    elif resource.type == SUBNET and _truthy(props.get("mapPublicIpOnLaunch")):
        return ["The subnet gives instances public IPs: set map_public_ip_on_launch=False."]
    return []


def _encrypted_volumes(resource: Resource) -> list[str]:
    props = resource.props
    if resource.type == EBS_VOLUME:
        return (
            []
            if _truthy(props.get("encrypted"))
            else ["The EBS volume is not encrypted: set encrypted=True."]
        )
    messages = []
    for mapping in _as_list(props.get("blockDeviceMappings")):
        ebs = mapping.get("ebs")
        if ebs is not None and not _truthy(ebs.get("encrypted")):
            messages.append(
                f"Volume {mapping.get('deviceName', '?')} is not encrypted: set ebs.encrypted='true'."
            )
    if resource.type == INSTANCE and not _truthy((props.get("rootBlockDevice") or {}).get("encrypted")):
        messages.append("The root volume is not encrypted: set root_block_device.encrypted=True.")
    return messages


def _iam_no_admin(resource: Resource) -> list[str]:
    props = resource.props
    if resource.type in IAM_ATTACHMENT_TYPES:
        arn = props.get("policyArn")
        return [f"Attaches {arn}: grant only the actions the role needs."] if arn in ADMIN_POLICY_ARNS else []
    documents = [props.get("policy")] if resource.type in IAM_POLICY_TYPES else []
    if resource.type == IAM_ROLE:
        documents = [inline.get("policy") for inline in _as_list(props.get("inlinePolicies"))]
        if set(_as_list(props.get("managedPolicyArns"))) & set(ADMIN_POLICY_ARNS):
            return ["The role carries an administrator managed policy: grant only the actions it needs."]
    if any(admin_statements(document) for document in documents):
        return ["A statement allows action '*' on resource '*': name the actions and resources."]
    return []


def _ecr_scan(resource: Resource) -> list[str]:
    if not (resource.props.get("imageScanningConfiguration") or {}).get("scanOnPush"):
        return ["Images are not scanned: set image_scanning_configuration.scan_on_push=True."]
    return []


def _ecr_immutable(resource: Resource) -> list[str]:
    if resource.props.get("imageTagMutability") not in ("IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION"):
        return ["Image tags can be overwritten: set image_tag_mutability='IMMUTABLE'."]
    return []


def _public_ingress(resource: Resource) -> list[str]:
    props = resource.props
    if resource.type == SECURITY_GROUP:
        rules = _as_list(props.get("ingress"))
    elif resource.type == SG_RULE:
        rules = [props] if props.get("type") == "ingress" else []
    else:  # SG_INGRESS_RULE
        rules = [{"cidrBlocks": [props.get("cidrIpv4")], "ipv6CidrBlocks": [props.get("cidrIpv6")]}]
    for rule in rules:
        cidrs = _as_list(rule.get("cidrBlocks")) + _as_list(rule.get("ipv6CidrBlocks"))
        if set(cidrs) & set(PUBLIC_CIDRS):
            return [
                "Ingress is open to the internet (0.0.0.0/0 or ::/0): allow only the VPC or a security group."
            ]
    return []


def _all_traffic_only_from_itself(resource: Resource) -> list[str]:
    """Ingress on every port and protocol is for nodes that talk to each other (a multi-node job's
    hosts): it may come from the security group itself, from nothing wider."""
    props = resource.props
    if resource.type == SECURITY_GROUP:
        rules = [r for r in _as_list(props.get("ingress")) if str(r.get("protocol")) in ("-1", "all")]
        wide = [
            r for r in rules if not r.get("self") or _as_list(r.get("cidrBlocks")) or r.get("securityGroups")
        ]
    elif resource.type == SG_RULE:
        wide = (
            [props]
            if props.get("type") == "ingress"
            and str(props.get("protocol")) in ("-1", "all")
            and not props.get("self")
            else []
        )
    else:  # SG_INGRESS_RULE
        wide = (
            [props]
            if str(props.get("ipProtocol")) in ("-1", "all")
            and props.get("referencedSecurityGroupId") != props.get("securityGroupId")
            else []
        )
    if wide:
        return [
            "Ingress on every port and protocol comes from somewhere other than the group itself: "
            "open only the ports a service needs, or allow all traffic only between members of the group."
        ]
    return []


def _sns_encrypted(resource: Resource) -> list[str]:
    return (
        [] if resource.props.get("kmsMasterKeyId") else ["The topic is not encrypted: set kms_master_key_id."]
    )


def _endpoint_config_kms(resource: Resource) -> list[str]:
    if not resource.props.get("kmsKeyArn"):
        return ["Endpoint storage is not encrypted with a customer key: set kms_key_arn."]
    return []


def _bucket_acl(resource: Resource) -> list[str]:
    if resource.props.get("acl") in ("public-read", "public-read-write", "authenticated-read"):
        return [f"The bucket ACL '{resource.props['acl']}' makes objects public: remove the acl."]
    return []


def _kms_explicit_policy(resource: Resource) -> list[str]:
    if not resource.props.get("policy"):
        return [
            "The key uses the default key policy: write an explicit policy (who administers, who uses it)."
        ]
    return []


def _ecr_kms(resource: Resource) -> list[str]:
    configs = _as_list(resource.props.get("encryptionConfigurations"))
    if not configs or configs[0].get("encryptionType") != "KMS":
        return ["Images are encrypted with AES256 only: set encryption_configurations encryption_type='KMS'."]
    return []


def _sfn_logging(resource: Resource) -> list[str]:
    logging = resource.props.get("loggingConfiguration") or {}
    if logging.get("level") not in ("ALL", "ERROR", "FATAL") or not logging.get("logDestination"):
        return ["The state machine does not log: set logging_configuration with a level and a log group."]
    return []


def _no_wildcard_service_actions(resource: Resource) -> list[str]:
    for kind, statement in _statements_of(resource):
        if kind != "identity" or statement.get("Effect") != "Allow":
            continue
        wide = [a for a in _as_list(statement.get("Action")) if a == "*" or str(a).endswith(":*")]
        if wide:
            return [f"Allows every action of a service ({', '.join(map(str, wide))}): name the actions."]
    return []


def _service_trust_conditions(resource: Resource) -> list[str]:
    for kind, statement in _statements_of(resource):
        if kind == "identity" or statement.get("Effect") != "Allow":
            continue
        services = _service_principals(statement)
        if services and not {"aws:sourceaccount", "aws:sourcearn"} & _condition_keys(statement):
            return [
                f"{', '.join(services)} may act for any account: add aws:SourceAccount/aws:SourceArn "
                "conditions (confused deputy)."
            ]
    return []


# GitLab prod's trust (ci_identity/oidc.py): one project's protected release tags. The wildcard
# ends the tag name, the only place it can match (git ref names hold no ':'), and the token must
# come from a protected ref.
_RELEASE_TAGS = re.compile(r"^project_path:[^*?:]+:ref_type:tag:ref:[^*?:]+\*$")


def _release_tags(equals: Mapping[str, Any], like: Mapping[str, Any]) -> bool:
    """Whether a trust's StringLike is GitLab prod's release-tag subject with ref_protected true."""
    subjects = [(key, value) for key, value in like.items() if key.endswith(":sub")]
    if len(like) != 1 or len(subjects) != 1 or not _RELEASE_TAGS.match(str(subjects[0][1])):
        return False
    issuer = subjects[0][0].removesuffix(":sub")
    return str(equals.get(f"{issuer}:ref_protected", "")).lower() == "true"


def _oidc_subject(resource: Resource) -> list[str]:
    for kind, statement in _statements_of(resource):
        principal = statement.get("Principal")
        if kind != "trust" or not (isinstance(principal, Mapping) and principal.get("Federated")):
            continue
        condition = statement.get("Condition") or {}
        equals = {k.lower(): v for k, v in (condition.get("StringEquals") or {}).items()}
        like = {k.lower(): v for k, v in (condition.get("StringLike") or {}).items()}
        subjects = [v for k, v in equals.items() if k.endswith(":sub")]
        audiences = [v for k, v in equals.items() if k.endswith(":aud")]
        loose = [
            k
            for op, values in condition.items()
            if op not in ("StringEquals", "StringLike")
            for k in values or {}
        ]
        exact = (
            len(subjects) == 1
            and not any("*" in str(v) or "?" in str(v) for v in subjects)
            and not any(k.endswith(":sub") for k in like)
        )
        if not (exact or (not subjects and _release_tags(equals, like))) or any(
            k.lower().endswith(":sub") for k in loose
        ):
            return [
                "The web identity trust does not name one exact token subject (StringEquals on :sub), "
                "nor one GitLab project's protected release tags (StringLike on "
                "project_path:P:ref_type:tag:ref:PREFIX* with ref_protected true)."
            ]
        if not audiences:
            return ["The web identity trust does not check the token audience (StringEquals on :aud)."]
    return []


def _model_isolation(resource: Resource) -> list[str]:
    if resource.props.get("enableNetworkIsolation") is not True:
        return ["The model container may call the network: set enable_network_isolation=True."]
    return []


def _prod_instances(resource: Resource) -> list[str]:
    tags = resource.props.get("tags") or {}
    if tags.get("mlops:env") not in PROD_ENVS:
        return []
    if resource.type == SCALING_TARGET:
        minimum = resource.props.get("minCapacity") or 0
        return (
            []
            if minimum >= 2
            else [f"A prod endpoint scales down to {minimum} instance(s): keep at least 2."]
        )
    for variant in _as_list(resource.props.get("productionVariants")):
        if variant.get("serverlessConfig") or (variant.get("initialInstanceCount") or 0) < 2:
            return ["A prod endpoint runs on fewer than 2 instances: set the instance count to 2 or more."]
    return []


# ---- stack rules (a bucket and the resources that configure it) --------------------------------


def _companions(resources: Sequence[Resource], bucket: Resource, companion_type: str) -> list[Resource]:
    return [r for r in resources if r.type == companion_type and r.refers_to(bucket, "bucket")]


def _each_bucket(companion_type: str, ok: Callable[[Resource], bool], message: str) -> StackCheck:
    def check(resources: Sequence[Resource]) -> list[tuple[Resource, str]]:
        return [
            (bucket, message)
            for bucket in resources
            if bucket.type == BUCKET
            and not any(ok(c) for c in _companions(resources, bucket, companion_type))
        ]

    return check


def _sse_ok(config: Resource) -> bool:
    for rule in _as_list(config.props.get("rules")):
        default = rule.get("applyServerSideEncryptionByDefault") or {}
        if default.get("sseAlgorithm") in ("aws:kms", "aws:kms:dsse", "AES256"):
            return True
    return False


def _public_access_ok(block: Resource) -> bool:
    keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    return all(block.props.get(key) is True for key in keys)


def _tls_only_ok(policy: Resource) -> bool:
    for statement in policy_statements(policy.props.get("policy")) or []:
        condition = statement.get("Condition") or {}
        secure = (condition.get("Bool") or {}).get("aws:SecureTransport")
        if statement.get("Effect") == "Deny" and str(secure).lower() == "false":
            return True
    return False


def _versioning_ok(versioning: Resource) -> bool:
    return (versioning.props.get("versioningConfiguration") or {}).get("status") == "Enabled"


def _logging_ok(logging: Resource) -> bool:
    return bool(logging.props.get("targetBucket"))


def _each_vpc(companion_type: str, ok: Callable[[Resource], bool], message: str) -> StackCheck:
    def check(resources: Sequence[Resource]) -> list[tuple[Resource, str]]:
        return [
            (vpc, message)
            for vpc in resources
            if vpc.type == VPC
            and not any(r.type == companion_type and r.refers_to(vpc, "vpcId") and ok(r) for r in resources)
        ]

    return check


def _closed_group(group: Resource) -> bool:
    return not group.props.get("ingress") and not group.props.get("egress")


def _launch_keys_grant_autoscaling(resources: Sequence[Resource]) -> list[tuple[Resource, str]]:
    """EBS volumes encrypted with a customer managed key of the stack: its key policy must let EC2
    Auto Scaling's service-linked role use it, or Batch hosts terminate at launch.
    https://docs.aws.amazon.com/autoscaling/ec2/userguide/key-policy-requirements-EBS-encryption.html
    An encrypted volume that names no key gets the account's default EBS key, which may be such a
    customer managed key (https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html),
    so the key must be named: the AWS managed alias/aws/ebs, or a key whose grant is checked."""
    found = []
    keys = [r for r in resources if r.type == KMS_KEY]
    for template in (r for r in resources if r.type == LAUNCH_TEMPLATE):
        for mapping in template.props.get("blockDeviceMappings") or []:
            ebs = mapping.get("ebs") or {}
            if _truthy(ebs.get("encrypted")) and not ebs.get("kmsKeyId"):
                found.append(
                    (
                        template,
                        f"Volume {mapping.get('deviceName', '?')} names no KMS key, so EC2 uses the "
                        "account's default EBS key, which may be a customer managed key EC2 Auto Scaling "
                        "may not use: hosts would terminate at launch. Set ebs.kmsKeyId to the alias ARN "
                        "of aws/ebs (or a customer managed key whose policy grants "
                        "AWSServiceRoleForAutoScaling).",
                    )
                )
        for key in keys:
            if not template.refers_to(key, "blockDeviceMappings"):
                continue
            policy = json.dumps(key.props.get("policy") or "")
            if "AWSServiceRoleForAutoScaling" not in policy:
                found.append(
                    (
                        template,
                        "EBS volumes use a customer managed key whose policy does not grant EC2 Auto "
                        "Scaling's service-linked role: hosts would terminate at launch. Use the AWS "
                        "managed key.",
                    )
                )
    return found


RULES: tuple[Rule, ...] = (
    Rule(
        "s3-bucket-server-side-encryption",
        "S3 buckets encrypt objects at rest (SSE-KMS or SSE-S3).",
        stack_check=_each_bucket(
            BUCKET_SSE, _sse_ok, "No server-side encryption: add a BucketServerSideEncryptionConfiguration."
        ),
    ),
    Rule(
        "s3-bucket-public-access-blocked",
        "S3 buckets block every kind of public access.",
        stack_check=_each_bucket(
            BUCKET_PAB,
            _public_access_ok,
            "Public access is not fully blocked: add a BucketPublicAccessBlock with all four flags true.",
        ),
    ),
    Rule(
        "s3-bucket-ssl-requests-only",
        "S3 bucket policies deny requests without TLS.",
        stack_check=_each_bucket(
            BUCKET_POLICY,
            _tls_only_ok,
            "Requests without TLS are allowed: add a bucket policy denying aws:SecureTransport=false.",
        ),
    ),
    Rule(
        "s3-bucket-versioning-enabled",
        "S3 buckets keep object versions.",
        stack_check=_each_bucket(
            BUCKET_VERSIONING,
            _versioning_ok,
            "Versioning is off: add a BucketVersioning with status 'Enabled'.",
        ),
    ),
    Rule("s3-bucket-no-public-acl", "S3 buckets have no public canned ACL.", (BUCKET,), _bucket_acl),
    Rule(
        "ec2-imdsv2-required",
        "Launch templates and instances require IMDSv2.",
        (LAUNCH_TEMPLATE, INSTANCE),
        _imdsv2,
    ),
    Rule(
        "ec2-no-public-ip",
        "Launch templates, instances and subnets give out no public IPs.",
        (LAUNCH_TEMPLATE, INSTANCE, SUBNET),
        _no_public_ip,
    ),
    Rule(
        "ebs-encrypted-volumes",
        "EBS volumes are encrypted.",
        (LAUNCH_TEMPLATE, INSTANCE, EBS_VOLUME),
        _encrypted_volumes,
    ),
    Rule("kms-key-rotation-enabled", "Symmetric KMS keys rotate.", (KMS_KEY,), _kms_rotation),
    Rule(
        "iam-no-wildcard-admin",
        "No IAM statement allows action '*' on resource '*'.",
        (*IAM_POLICY_TYPES, *IAM_ATTACHMENT_TYPES, IAM_ROLE),
        _iam_no_admin,
    ),
    Rule("ecr-scan-on-push", "ECR repositories scan images on push.", (ECR_REPOSITORY,), _ecr_scan),
    Rule("ecr-tag-immutability", "ECR image tags are immutable.", (ECR_REPOSITORY,), _ecr_immutable),
    Rule(
        "security-group-no-public-ingress",
        "Security groups allow no ingress from 0.0.0.0/0 or ::/0.",
        (SECURITY_GROUP, SG_RULE, SG_INGRESS_RULE),
        _public_ingress,
    ),
    Rule(
        "security-group-all-traffic-only-from-itself",
        "Ingress on every port comes only from the security group itself (nodes of one job).",
        (SECURITY_GROUP, SG_RULE, SG_INGRESS_RULE),
        _all_traffic_only_from_itself,
    ),
    Rule("sns-topic-encrypted", "SNS topics are encrypted with KMS.", (SNS_TOPIC,), _sns_encrypted),
    Rule(
        "sagemaker-endpoint-config-kms",
        "SageMaker endpoint configurations use a KMS key.",
        (ENDPOINT_CONFIG,),
        _endpoint_config_kms,
    ),
    Rule(
        "s3-bucket-access-logging",
        "S3 buckets send server access logs to a log bucket (AWS FSBP S3.9).",
        stack_check=_each_bucket(
            BUCKET_LOGGING, _logging_ok, "No server access logging: add a BucketLogging to the log bucket."
        ),
    ),
    Rule(
        "vpc-flow-logs-enabled",
        "VPCs record flow logs (AWS FSBP EC2.6).",
        stack_check=_each_vpc(FLOW_LOG, lambda _: True, "No flow logs: add a FlowLog for the VPC."),
    ),
    Rule(
        "vpc-default-security-group-closed",
        "The default security group of a VPC allows no traffic (AWS FSBP EC2.2).",
        stack_check=_each_vpc(
            DEFAULT_SG,
            _closed_group,
            "The default security group keeps its rules: adopt it with a DefaultSecurityGroup without rules.",
        ),
    ),
    Rule(
        "sfn-logging-enabled",
        "Step Functions state machines log their executions (AWS FSBP StepFunctions.1).",
        (STATE_MACHINE,),
        _sfn_logging,
    ),
    Rule("ecr-kms-encryption", "ECR repositories encrypt images with KMS.", (ECR_REPOSITORY,), _ecr_kms),
    Rule(
        "kms-explicit-key-policy", "KMS keys have an explicit key policy.", (KMS_KEY,), _kms_explicit_policy
    ),
    Rule(
        "iam-no-wildcard-service-actions",
        "No IAM policy allows every action of a service (service:*).",
        (*IAM_POLICY_TYPES, IAM_ROLE),
        _no_wildcard_service_actions,
    ),
    Rule(
        "iam-service-trust-source-conditions",
        "Service principals in trust, key and bucket policies carry aws:SourceAccount or aws:SourceArn.",
        (IAM_ROLE, KMS_KEY, BUCKET_POLICY),
        _service_trust_conditions,
    ),
    Rule(
        "iam-oidc-no-wildcard-subject",
        "Web identity trusts name one exact token subject (GitLab prod: one project's protected "
        "release tags) and check the audience.",
        (IAM_ROLE,),
        _oidc_subject,
    ),
    Rule(
        "sagemaker-model-network-isolation",
        "SageMaker models run with network isolation.",
        (SAGEMAKER_MODEL,),
        _model_isolation,
    ),
    Rule(
        "sagemaker-prod-endpoint-instances",
        "Prod SageMaker endpoints run on at least 2 instances.",
        (ENDPOINT_CONFIG, SCALING_TARGET),
        _prod_instances,
    ),
    Rule(
        "ebs-cmk-grants-autoscaling",
        "Launch templates name their EBS key: aws/ebs, or a customer key EC2 Auto Scaling may use.",
        stack_check=_launch_keys_grant_autoscaling,
    ),
)


def check_resource(rule: Rule, resource: Resource) -> list[str]:
    if rule.check is None or resource.type not in rule.types or exception_reason(resource, rule.name):
        return []
    return rule.check(resource)


def check_stack(rule: Rule, resources: Sequence[Resource]) -> list[tuple[Resource, str]]:
    if rule.stack_check is None:
        return []
    return [(r, message) for r, message in rule.stack_check(resources) if not exception_reason(r, rule.name)]


def evaluate(resources: Iterable[Resource], rules: Sequence[Rule] = RULES) -> list[Violation]:
    """Every violation of ``rules`` among ``resources`` (resources tagged with a documented
    exception to a rule are not checked by that rule)."""
    resources = list(resources)
    violations = []
    for rule in rules:
        for resource, message in check_stack(rule, resources):
            violations.append(Violation(rule.name, resource.type, resource.name, message))
        for resource in resources:
            for message in check_resource(rule, resource):
                violations.append(Violation(rule.name, resource.type, resource.name, message))
    return violations


@dataclass(frozen=True)
class PolicyException:
    rule: str
    resource_type: str
    resource_name: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "type": self.resource_type,
            "name": self.resource_name,
            "reason": self.reason,
        }


def exceptions(resources: Iterable[Resource], rules: Sequence[Rule] = RULES) -> list[PolicyException]:
    """The documented exceptions the resources carry (each is listed in docs/infrastructure.md)."""
    return [
        PolicyException(rule.name, r.type, r.name, reason)
        for r in resources
        for rule in rules
        if (reason := exception_reason(r, rule.name))
    ]
