"""Every error mlops-scaffold reports to a person, and its exit code.

Each error the core raises for something a person can act on is a ``ScaffoldError`` whose message
says what went wrong and whose ``fix`` says what to do. The CLI turns them into exit codes in
exactly one place (``cli._handle_errors``), using ``exit_code``.

An exit code names one kind of failure. A class that sets ``exit_code`` in its own body owns that
code, and the first line of its docstring is the code's meaning (the README's exit-code table is
checked against ``exit_codes()``); subclasses that inherit the code are variants of the same
failure with their own message.

The infrastructure libraries' errors (``InvalidArgsError``, ``StackConfigError``) are defined
here too and re-exported where they are raised (``mlops_platform.errors``, ``mlops_stacks.config``):
those libraries run without the CLI (inside ``pulumi up``), and import only this module of it.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = [
    "AdoptConflictsError",
    "AdoptFailedError",
    "AdoptInterruptedError",
    "AlreadyAdoptedError",
    "AnswersFileTakenError",
    "CookiecutterBaseError",
    "DestinationError",
    "DestinationNeedsConsentError",
    "DestinationNotEmptyError",
    "DestinationNotWritableError",
    "DirtyTreeError",
    "DowngradeError",
    "EmptyFleetError",
    "GitMissingError",
    "InfraDependencyError",
    "InvalidAnswersFileError",
    "InvalidArgsError",
    "InvalidInputError",
    "InvalidLevelError",
    "InvalidNameError",
    "LevelNotBuiltError",
    "NotAGeneratedProjectError",
    "NotAGitRepositoryError",
    "NotAnMLProjectError",
    "PathClashError",
    "PathTypeClashError",
    "PolicyViolationError",
    "ReportNotWritableError",
    "RunInterruptedError",
    "ScaffoldError",
    "StackConfigError",
    "StackDirectoryError",
    "TemplateBehindError",
    "TemplateError",
    "TemplateStoreBusyError",
    "TemplateStoreError",
    "TemplateVersionMissingError",
    "TemplateVersionUntrustedError",
    "UnknownDataKeyError",
    "UntrackedPathError",
    "UpgradeConflictsError",
    "UpgradeFailedError",
    "exit_codes",
]

CONFLICT_START = "<<<<<<< before updating"
CONFLICT_END = ">>>>>>> after updating"
STORE_DISPLAY = "~/.local/share/mlops-scaffold/template"


class ScaffoldError(Exception):
    """an unexpected failure; the message names it (please report it if it persists)"""

    exit_code = 1

    def __init__(self, message: str, *, fix: str = "") -> None:
        self.message = message
        self.fix = fix
        super().__init__(f"{message} {fix}".strip())


# --- input -----------------------------------------------------------------------------------------


class InvalidInputError(ScaffoldError):
    """invalid input (e.g. a malformed `--data` pair, conflicting values, an answer the template rejects)"""

    exit_code = 2


class InvalidNameError(InvalidInputError):
    """invalid project name"""

    exit_code = 3

    def __init__(self, *, name: str, reason: str, fix: str = "") -> None:
        shown = name if len(name) <= 60 else f"{name[:57]}..."
        super().__init__(
            f"'{shown}' cannot be a project name: {reason}.",
            fix=fix
            or "Pick a name of letters, digits, '-' or '_' starting with a letter, e.g. --name churn-model.",
        )


class InvalidLevelError(InvalidInputError):
    """level does not exist or is not written as a number"""

    exit_code = 4

    def __init__(self, *, level: object, levels: list[int]) -> None:
        super().__init__(
            f"Level '{level}' does not exist.",
            fix=f"Choose one of {', '.join(map(str, levels))}; `mlops-scaffold levels` describes them.",
        )


class LevelNotBuiltError(ScaffoldError):
    """level not available yet in this version"""

    exit_code = 5

    def __init__(self, *, level: int, name: str, missing: list[str], built: list[int]) -> None:
        super().__init__(
            f"Level {level} ({name}) is not available yet: the template does not build {', '.join(missing)}.",
            fix=f"Start at level {max(built)} or lower now and move up later with `mlops-scaffold upgrade`.",
        )


class UnknownDataKeyError(InvalidInputError):
    """unknown `--data` key"""

    exit_code = 7

    def __init__(self, *, key: str, known: list[str]) -> None:
        super().__init__(
            f"'{key}' is not a question of the template.",
            fix=f"Use --data with one of: {', '.join(known)}.",
        )


# --- destination of `new` ----------------------------------------------------------------------------


class DestinationError(ScaffoldError):
    """the destination exists and is not empty, or cannot be created"""

    exit_code = 6


class DestinationNotEmptyError(DestinationError):
    def __init__(self, *, path: Path) -> None:
        super().__init__(
            f"Destination '{path}' already exists and is not empty.",
            fix="Choose a directory that does not exist yet, or an empty one (this one was not touched).",
        )


class DestinationNotWritableError(DestinationError):
    def __init__(self, *, path: Path, reason: str, fix: str = "") -> None:
        super().__init__(
            f"Cannot create '{path}': {reason}.",
            fix=fix or "Choose a directory you can write to, or fix the permissions of its parent.",
        )


class DestinationNeedsConsentError(ScaffoldError):
    """the destination is a symbolic link or inside another git repository: confirm with a flag"""

    exit_code = 18

    def __init__(self, message: str, *, fix: str) -> None:
        super().__init__(message, fix=fix)


# --- the template and its store ------------------------------------------------------------------------


class GitMissingError(ScaffoldError):
    """git is not installed (mlops-scaffold keeps every template version in a git repository)"""

    exit_code = 22

    def __init__(self) -> None:
        super().__init__(
            "git is not installed, and mlops-scaffold needs it even with --no-git: it keeps every "
            f"template version in a git repository ({STORE_DISPLAY}), from which copier renders new "
            "projects and upgrades them.",
            fix="Install git (e.g. `apt-get install git`, `brew install git`, https://git-scm.com/downloads) "
            "and retry.",
        )


class TemplateError(ScaffoldError):
    """copier failed to render the template"""

    exit_code = 8


class TemplateStoreError(ScaffoldError):
    """the local template store (`~/.local/share/mlops-scaffold/template`) cannot be written or is busy"""

    exit_code = 9


class TemplateStoreBusyError(TemplateStoreError):
    def __init__(self, *, holder: str, waited: float) -> None:
        super().__init__(
            f"The template store is being updated by another mlops-scaffold process ({holder}); "
            f"waited {waited:.0f} s for it.",
            fix="Let that process finish and retry (or stop it, if it hangs, and retry: a stopped "
            "process leaves nothing that blocks the next run).",
        )


# --- generated projects -----------------------------------------------------------------------------------


class UpgradeConflictsError(ScaffoldError):
    """the upgrade was applied, with conflicts in the listed files"""

    exit_code = 10

    def __init__(self, *, conflicts: list[str], binary: list[str] | None = None) -> None:
        binary = binary or []
        fix = (
            f"Resolve the '{CONFLICT_START}' ... '{CONFLICT_END}' blocks in those files, "
            "`git add` them, run the tests, then commit."
        )
        if binary:
            fix += (
                f" {', '.join(binary)}: git treats it as binary, so it keeps your version; the "
                "template's is `git show :3:PATH` (`git checkout --theirs PATH` takes it)."
            )
        super().__init__(
            f"The upgrade was applied, but {len(conflicts)} file(s) have lines that both you and the new "
            f"template changed: {', '.join(conflicts)}.",
            fix=fix,
        )


class NotAGeneratedProjectError(ScaffoldError):
    """not a project generated by mlops-scaffold, or its `.copier-answers.yml` cannot be used"""

    exit_code = 11

    def __init__(self, *, path: Path, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"'{path}' is not a project generated by mlops-scaffold: {reason}.",
            fix="Pass the root directory of a project created with `mlops-scaffold new` "
            "(`mlops-scaffold assess` works on any repository).",
        )


class InvalidAnswersFileError(NotAGeneratedProjectError):
    def __init__(self, *, path: Path, reason: str) -> None:
        super().__init__(path=path, reason=reason)
        self.fix = (
            "Restore .copier-answers.yml from git (`git checkout -- .copier-answers.yml`): "
            "mlops-scaffold writes it, and `mlops-scaffold upgrade` changes it."
        )


class NotAGitRepositoryError(ScaffoldError):
    """not in a git repository"""

    exit_code = 12

    def __init__(self, *, path: Path, command: str = "upgrade") -> None:
        who = "an upgrade" if command == "upgrade" else f"`{command}`"
        super().__init__(
            f"'{path}' is not in a git repository, and {who} needs git to keep your edits apart "
            "from the template's.",
            fix=f"Run `git init && git add --all && git commit -m 'Before {command}'` in it, then retry.",
        )


class DirtyTreeError(ScaffoldError):
    """uncommitted changes (listed)"""

    exit_code = 13

    def __init__(self, *, files: list[str], command: str = "upgrade") -> None:
        shown = ", ".join(files[:20]) + (f" and {len(files) - 20} more" if len(files) > 20 else "")
        what, who = ("project", "an upgrade") if command == "upgrade" else ("repository", f"`{command}`")
        super().__init__(
            f"The {what} has uncommitted changes, which {who} could mix with the template's: {shown}.",
            fix="Commit or stash them (`git status` lists them), then retry.",
        )


class DowngradeError(ScaffoldError):
    """a downgrade of the level or of the template version"""

    exit_code = 14

    def __init__(self, *, what: str, current: str, requested: str, fix: str) -> None:
        super().__init__(
            f"The project is at {what} {current}; going to {requested} would be a downgrade, which "
            "upgrade does not do.",
            fix=fix,
        )


class TemplateVersionMissingError(ScaffoldError):
    """this machine cannot reproduce the template version that generated the project"""

    exit_code = 15

    def __init__(self, *, ref: str) -> None:
        super().__init__(
            f"The project was generated from template version {ref}, which this installation cannot "
            f"reproduce: it is neither in {STORE_DISPLAY} nor among the released versions shipped with "
            "mlops-scaffold, and copier needs it to tell your edits apart.",
            fix="Upgrade on the machine that generated the project, or copy that machine's "
            f"{STORE_DISPLAY} here (development builds are kept only there).",
        )


class TemplateVersionUntrustedError(TemplateVersionMissingError):
    def __init__(self, *, ref: str, why: str) -> None:
        shown = ref if len(ref) <= 60 else f"{ref[:57]}..."
        ScaffoldError.__init__(
            self,
            f"Template version {shown!r} in {STORE_DISPLAY} is not run: {why}. An upgrade renders it "
            "with copier's unsafe features (tasks, migrations), so only versions this mlops-scaffold "
            "ships may be used.",
            fix="Upgrade with the mlops-scaffold release that generated the project (its version is in "
            ".copier-answers.yml as _commit). If the store was changed by hand, move it aside "
            f"(`mv {STORE_DISPLAY} {STORE_DISPLAY}.suspect`) and retry: the released versions are rebuilt.",
        )


class UpgradeFailedError(ScaffoldError):
    """the upgrade failed; the project was left exactly as it was"""

    exit_code = 16

    def __init__(self, *, reason: str) -> None:
        super().__init__(
            f"The upgrade failed and the project was left exactly as it was: {reason}",
            fix="Fix the cause named above and retry; if it persists, report it with this message.",
        )


class PathClashError(ScaffoldError):
    """a path the new level needs is taken by the other type or by an untracked file; nothing changed"""

    exit_code = 17


class PathTypeClashError(PathClashError):
    def __init__(self, *, clashes: list[tuple[str, str, str]]) -> None:
        shown = "; ".join(
            f"'{path}' is a {have}, the template needs a {needs}" for path, have, needs in clashes
        )
        super().__init__(
            f"The upgrade cannot place the template's files, and the project was left exactly as it was: "
            f"{shown}.",
            fix="Rename or move those paths (`git mv`), commit, and retry; the upgrade then adds the "
            "template's files beside yours.",
        )


class UntrackedPathError(PathClashError):
    def __init__(self, *, paths: list[tuple[str, str, str]]) -> None:
        shown = "; ".join(
            f"'{path}' is a {have} not tracked by git, where the template puts a {needs}"
            for path, have, needs in paths
        )
        super().__init__(
            "The upgrade would write over paths that git does not track (ignored ones, say), which git "
            f"could not restore, and the project was left exactly as it was: {shown}.",
            fix="Move them out of the way and retry, or stop ignoring them and commit them first (the "
            "upgrade then merges the template's version with yours).",
        )


class TemplateBehindError(ScaffoldError):
    """`status --check`: the project is behind the installed mlops-scaffold's newest template"""

    exit_code = 19

    def __init__(self, *, summary: str) -> None:
        super().__init__(
            summary,
            fix="Run `mlops-scaffold upgrade` in the project (it keeps your edits), review, commit; or let "
            "the scheduled template-upgrade CI job open its pull request.",
        )


# --- infrastructure commands (plan, infra-config) and libraries --------------------------------------------


class InvalidArgsError(InvalidInputError):
    """a component argument is invalid (the message names the field)"""

    exit_code = 21

    def __init__(self, *, component: str, field: str, value: object, reason: str, fix: str = "") -> None:
        self.component = component
        self.field = field
        super().__init__(
            f"{component}.{field} = {value!r} is not valid: {reason}.",
            fix=fix or "Change the stack config value that sets it (docs/infrastructure.md lists every key).",
        )


STACK_CONFIG_NAMESPACE = "mlops"  # the namespace of the stack config keys (`mlops:level`)


class StackConfigError(InvalidInputError):
    """a stack config value is invalid or unknown"""

    exit_code = 23

    def __init__(self, *, key: str, problem: str, fix: str = "") -> None:
        self.key = key
        super().__init__(
            f"Stack config {STACK_CONFIG_NAMESPACE}:{key} {problem}.",
            fix=fix or f"Set it with `pulumi config set {STACK_CONFIG_NAMESPACE}:{key} VALUE`.",
        )


class InfraDependencyError(ScaffoldError):
    """the Pulumi SDKs are missing (`pip install 'mlops-scaffold[infra]'`)"""

    exit_code = 20

    def __init__(self, *, missing: str) -> None:
        from mlops_core.resources import source_checkout

        checkout = source_checkout()
        if (Path(sys.prefix) / "uv-receipt.toml").is_file():  # installed with `uv tool install`
            fix = (
                f"Install them from your clone: `python3 scripts/install.py --extra infra` in {checkout}."
                if checkout is not None
                else "Install them with `uv tool install 'mlops-scaffold[infra]'`."
            )
        elif checkout is not None:
            fix = f"Install them from your clone: `pip install -e '.[infra]'` in {checkout}."
        else:
            fix = "Install them with `pip install 'mlops-scaffold[infra]'`."
        super().__init__(f"The infrastructure commands need {missing}, which is not installed.", fix=fix)


class PolicyViolationError(ScaffoldError):
    """`plan` found policy violations"""

    exit_code = 24

    def __init__(self, *, count: int) -> None:
        super().__init__(
            f"The plan breaks {count} security rule(s) (listed above).",
            fix="Fix the component or stack config; `pulumi up` with the policy pack would refuse it.",
        )


class StackDirectoryError(ScaffoldError):
    """no `Pulumi.yaml` of the mlops-platform project was found for `infra-config` (use `--output`)"""

    exit_code = 25

    def __init__(self, *, start: Path, project: str = "mlops-platform") -> None:
        super().__init__(
            f"No Pulumi.yaml of the {project} project at or above '{start}'.",
            fix="Run from your platform repository (`mlops-scaffold platform init DIR` writes one) or "
            "pass --output DIR.",
        )


# --- assess and adopt (exit codes 30-39) ------------------------------------------------------------


class AdoptConflictsError(ScaffoldError):
    """the adoption was applied, with conflicts in the listed files"""

    exit_code = 30

    def __init__(self, *, conflicts: list[str]) -> None:
        more = f" and {len(conflicts) - 20} more" if len(conflicts) > 20 else ""
        super().__init__(
            f"The repository was adopted, but {len(conflicts)} file(s) exist both in it and in the template "
            f"with different lines: {', '.join(conflicts[:20])}{more}.",
            fix="Resolve the '<<<<<<< yours' ... '>>>>>>> mlops-scaffold' blocks in those files (keep what "
            "you need of each side), `git add` them, run the tests, then commit.",
        )


class AlreadyAdoptedError(ScaffoldError):
    """the repository is already on the mlops-scaffold template (`upgrade` moves it up)"""

    exit_code = 31

    def __init__(self, *, path: Path, level: int) -> None:
        super().__init__(
            f"'{path}' is already on the mlops-scaffold template (level {level} in .copier-answers.yml).",
            fix="Use `mlops-scaffold upgrade --level N` to move it up.",
        )


class AnswersFileTakenError(ScaffoldError):
    """the repository's `.copier-answers.yml` belongs to another copier template"""

    exit_code = 32

    def __init__(self, *, path: Path, source: object) -> None:
        super().__init__(
            f"'{path}' already has a .copier-answers.yml for another copier template ({source}); adopting "
            "would replace the record that template's updates depend on.",
            fix="Keep that template, or move its answers file aside (e.g. `git mv .copier-answers.yml "
            ".copier-answers.old.yml`, commit) and retry.",
        )


class AdoptFailedError(ScaffoldError):
    """adopting failed; the repository was left exactly as it was"""

    exit_code = 33

    def __init__(self, *, reason: str) -> None:
        super().__init__(
            f"Adopting failed and the repository was left exactly as it was: {reason}",
            fix="Fix the cause named above and retry; if it persists, report it with this message.",
        )


class CookiecutterBaseError(ScaffoldError):
    """the cookiecutter template given with `--cookiecutter-template` cannot be re-rendered"""

    exit_code = 34

    def __init__(self, *, template: str, reason: str) -> None:
        super().__init__(
            f"Cannot re-render the cookiecutter template '{template}' as the merge base: {reason}.",
            fix="Pass a local checkout of the template the project was made from (a folder with "
            "cookiecutter.json), or leave --cookiecutter-template out to merge without a base.",
        )


class NotAnMLProjectError(ScaffoldError):
    """`adopt` refused: `assess` finds no ML project there (`--force` adopts it anyway)"""

    exit_code = 37

    def __init__(self, *, path: Path, verdict: str, fix: str = "") -> None:
        super().__init__(
            f"`adopt` puts the ML project template on '{path}', but `mlops-scaffold assess` says: {verdict}",
            fix=fix
            or "Adopt an ML project's repository, or pass --force to adopt this one anyway (nothing "
            "was changed).",
        )


class EmptyFleetError(ScaffoldError):
    """the directory given to assess as a fleet holds no repositories"""

    exit_code = 35

    def __init__(self, *, path: Path) -> None:
        super().__init__(
            f"'{path}' holds no repositories to assess (no subdirectories).",
            fix="Pass the directory whose subdirectories are your repositories, or list them as paths.",
        )


class ReportNotWritableError(ScaffoldError):
    """the report file cannot be written"""

    exit_code = 36

    def __init__(self, *, path: Path, reason: str) -> None:
        super().__init__(
            f"Cannot write the report to '{path}': {reason}.",
            fix="Choose a file in an existing directory you can write to (or print to the terminal without "
            "--output).",
        )


# --- interruption ------------------------------------------------------------------------------------------


class RunInterruptedError(ScaffoldError):
    """interrupted (Ctrl-C or SIGTERM); the message says what was written"""

    exit_code = 130

    def __init__(self, *, outcome: str) -> None:
        super().__init__(f"Interrupted; {outcome}")


class AdoptInterruptedError(RunInterruptedError):
    def __init__(self) -> None:
        super().__init__(outcome="the repository was left exactly as it was.")


def _owners() -> list[type[ScaffoldError]]:
    """Every class of this module that sets its own exit code."""
    return [
        cls
        for cls in globals().values()
        if isinstance(cls, type) and issubclass(cls, ScaffoldError) and "exit_code" in vars(cls)
    ]


def exit_codes() -> dict[int, str]:
    """Exit code -> meaning, for every code the CLI can exit with (README's table is checked against it)."""
    codes = {cls.exit_code: (cls.__doc__ or "").strip().splitlines()[0] for cls in _owners()}
    return dict(sorted(codes.items()))
