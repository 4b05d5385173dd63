"""Pulumi component library for the AWS infrastructure of mlops-scaffold projects.

One sub-package per logical unit, each a ``pulumi.ComponentResource`` with a typed ``Args``
dataclass: the platform tier of an account and environment (network, ci_identity's OIDC
providers, access_logs) and the project tier (ci_identity's deploy role, storage, tracking,
feature_store, training, serving, monitoring). The pure modules (``naming``, ``cidr``,
``components``, ``policy.rules``, ``cost``) import no Pulumi at all, so they are tested and
reused (by ``mlops-scaffold plan``) without it.

The folder holding this package is called ``platform/`` and must never get an ``__init__.py``:
a package named ``platform`` would shadow the standard library module.
"""
