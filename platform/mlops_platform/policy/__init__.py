"""Security rules for the stacks: pure checks (``rules``) and the pulumi_policy pack (``pack``).

``mlops-scaffold plan`` evaluates ``rules`` on the resources it records under Pulumi mocks; the
pack in ``policy/`` at the repository root runs the very same functions inside
``pulumi preview --policy-pack policy``.
"""
