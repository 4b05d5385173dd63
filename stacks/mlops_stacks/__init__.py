"""The Pulumi stacks of mlops-scaffold: compose the platform components a maturity level needs.

``build_stack(config)`` is the whole program; ``stacks/__main__.py`` calls it under the Pulumi
engine and ``offline.run_offline`` calls it under Pulumi mocks (for `mlops-scaffold plan` and tests).
"""
