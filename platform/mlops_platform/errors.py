"""The error a component raises when its Args are not acceptable (defined with every other error
in mlops_core.errors, and re-exported here)."""

from __future__ import annotations

from mlops_core.errors import InvalidArgsError

__all__ = ["InvalidArgsError"]
