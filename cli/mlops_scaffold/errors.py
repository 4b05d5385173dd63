"""Errors a person can act on.

Every error the core raises for a user's mistake is a ``ScaffoldError`` whose message says what
went wrong and how to fix it. The CLI turns them into exit codes in exactly one place
(``cli._handle_errors``), using each class's ``exit_code``.
"""

from __future__ import annotations

from pathlib import Path


class ScaffoldError(Exception):
    """Base class of all mlops-scaffold errors; ``exit_code`` is the CLI's exit status."""

    exit_code = 1

    def __init__(self, message: str, *, fix: str = "") -> None:
        self.message = message
        self.fix = fix
        super().__init__(f"{message} {fix}".strip())


class InvalidInputError(ScaffoldError):
    """A value given on the command line or as template data is not acceptable."""

    exit_code = 2


class InvalidNameError(InvalidInputError):
    exit_code = 3

    def __init__(self, *, name: str, reason: str) -> None:
        super().__init__(
            f"'{name}' cannot be a project name: {reason}.",
            fix="Pick a name of letters, digits, '-' or '_' starting with a letter, e.g. --name churn-model.",
        )


class InvalidLevelError(InvalidInputError):
    exit_code = 4

    def __init__(self, *, level: object, levels: list[int]) -> None:
        super().__init__(
            f"Level '{level}' does not exist.",
            fix=f"Choose one of {', '.join(map(str, levels))}; `mlops-scaffold levels` describes them.",
        )


class LevelNotBuiltError(ScaffoldError):
    exit_code = 5

    def __init__(self, *, level: int, name: str, missing: list[str], built: list[int]) -> None:
        super().__init__(
            f"Level {level} ({name}) is not available yet: the template does not build {', '.join(missing)}.",
            fix=f"Start at level {max(built)} or lower now and move up later with `mlops-scaffold upgrade`.",
        )


class DestinationNotEmptyError(ScaffoldError):
    exit_code = 6

    def __init__(self, *, path: Path) -> None:
        super().__init__(
            f"Destination '{path}' already exists and is not empty.",
            fix="Choose a new directory, or remove or empty this one first.",
        )


class DestinationNotWritableError(ScaffoldError):
    exit_code = 6

    def __init__(self, *, path: Path, reason: str) -> None:
        super().__init__(
            f"Cannot create '{path}': {reason}.",
            fix="Choose a directory you can write to, or fix the permissions of its parent.",
        )


class UnknownDataKeyError(InvalidInputError):
    exit_code = 7

    def __init__(self, *, key: str, known: list[str]) -> None:
        super().__init__(
            f"'{key}' is not a question of the template.",
            fix=f"Use --data with one of: {', '.join(known)}.",
        )


class TemplateError(ScaffoldError):
    """copier failed while rendering or validating the template."""

    exit_code = 8
