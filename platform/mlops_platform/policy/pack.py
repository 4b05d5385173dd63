"""The rules of ``rules`` as a pulumi_policy pack (used by ``policy/__main__.py``).

Kept apart from ``rules`` so that ``plan`` never imports pulumi_policy.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from mlops_platform.policy.rules import RULES, Resource, Rule, check_resource, check_stack

PACK_NAME = "mlops-aws-security"


def _to_resource(resource: PolicyResource) -> Resource:
    refs = {
        prop: frozenset(dependency.urn for dependency in dependencies)
        for prop, dependencies in (resource.property_dependencies or {}).items()
    }
    return Resource(
        type=resource.resource_type, name=resource.name, props=resource.props, urn=resource.urn, refs=refs
    )


def _resource_validator(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        resource = Resource(type=args.resource_type, name=args.name, props=args.props, urn=args.urn)
        for message in check_resource(rule, resource):
            report_violation(message, None)

    return validate


def _stack_validator(rule: Rule) -> Callable[[StackValidationArgs, ReportViolation], None]:
    assert rule.stack_check is not None

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for resource, message in check_stack(rule, [_to_resource(r) for r in args.resources]):
            report_violation(message, resource.urn or None)

    return validate


def policies(enforcement_level: EnforcementLevel = EnforcementLevel.MANDATORY) -> list[Any]:
    """One pulumi_policy policy per rule, all mandatory by default."""
    result: list[Any] = []
    for rule in RULES:
        if rule.stack_check is not None:
            result.append(
                StackValidationPolicy(
                    name=rule.name,
                    description=rule.description,
                    validate=_stack_validator(rule),
                    enforcement_level=enforcement_level,
                )
            )
        else:
            result.append(
                ResourceValidationPolicy(
                    name=rule.name,
                    description=rule.description,
                    validate=_resource_validator(rule),
                    enforcement_level=enforcement_level,
                )
            )
    return result


def build_pack() -> PolicyPack:
    """Create (and so register with the Pulumi engine, when run by it) the policy pack."""
    return PolicyPack(name=PACK_NAME, policies=policies(), enforcement_level=EnforcementLevel.MANDATORY)
