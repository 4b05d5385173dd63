"""The error a component raises when its Args are not acceptable."""

from __future__ import annotations

from mlops_scaffold.errors import InvalidInputError


class InvalidArgsError(InvalidInputError):
    """A component's Args field holds a value the component cannot build from."""

    exit_code = 21

    def __init__(self, *, component: str, field: str, value: object, reason: str, fix: str = "") -> None:
        self.component = component
        self.field = field
        super().__init__(
            f"{component}.{field} = {value!r} is not valid: {reason}.",
            fix=fix or "Change the stack config value that sets it (docs/infrastructure.md lists every key).",
        )
