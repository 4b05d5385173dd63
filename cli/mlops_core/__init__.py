"""The domain every part of mlops-scaffold shares: the maturity levels (``levels``, read from the
template's maturity.yml), the SSM parameter contract between projects and stacks (``contract``),
the error types and their exit codes (``errors``) and where the shipped template lives
(``resources``).

The CLI (``mlops_scaffold``), the Pulumi component library (``mlops_platform``) and the stacks
(``mlops_stacks``) all import this package; it imports none of them. So a platform repository
(``mlops-scaffold platform init``) runs the stacks on the platform and this domain, never on the
CLI. ``tests/test_layers.py`` keeps it that way.
"""
