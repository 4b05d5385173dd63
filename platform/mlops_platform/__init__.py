"""Pulumi component library for the AWS infrastructure of mlops-scaffold projects.

One sub-package per logical unit (network, storage, ci_identity, training, tracking,
feature_store, serving, monitoring), each a ``pulumi.ComponentResource`` with a typed ``Args``
dataclass. The pure modules (``naming``, ``cidr``, ``components``, ``policy.rules``) import no
Pulumi at all, so they are tested and reused (by ``mlops-scaffold plan``) without it.

The folder holding this package is called ``platform/`` and must never get an ``__init__.py``:
a package named ``platform`` would shadow the standard library module.
"""
