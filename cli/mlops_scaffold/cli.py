"""The `mlops-scaffold` command line: a thin Typer layer over the core API.

Commands translate flags into calls of the core modules and render the results with rich.
Errors become exit codes in one place, ``_handle_errors``. Heavy imports (copier, pulumi)
happen inside the commands so that `mlops-scaffold --help` stays fast. The console script
starts in ``__main__`` so that Ctrl-C during start-up prints no traceback either.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
from rich.console import Console
from rich.markup import escape

from mlops_scaffold import __version__
from mlops_scaffold.errors import InvalidInputError, RunInterruptedError, ScaffoldError


class _HelpCommand(typer.core.TyperCommand):
    """--help that reads like uv's or copier's: `Usage: mlops-scaffold new [OPTIONS] PATH`,
    `-l, --level LEVEL`, flags without a type, defaults only where they say something."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        params = [p for p in self.get_params(ctx) if not getattr(p, "hidden", False)]
        arguments = [p for p in params if p.param_type_name == "argument"]
        options = [p for p in params if p.param_type_name == "option"]
        usage = ["[OPTIONS]", *(_metavar(a) if a.required else f"[{_metavar(a)}]" for a in arguments)]
        formatter.write_usage(ctx.command_path, " ".join(usage))
        if self.help:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(inspect.cleandoc(self.help))
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl([(_metavar(a), _param_help(a)) for a in arguments])
        with formatter.section("Options"):
            formatter.write_dl([(_option_label(o), _param_help(o)) for o in options])


def _metavar(param: Any) -> str:
    return str(param.metavar or param.name.upper())


def _option_label(option: Any) -> str:
    label = ", ".join(sorted(option.opts, key=len))
    if option.secondary_opts:
        label += " / " + ", ".join(option.secondary_opts)
    return label if option.is_flag else f"{label} {_metavar(option)}"


def _param_help(param: Any) -> str:
    extra = []
    default = param.default
    if isinstance(param.show_default, str):
        extra.append(f"default: {param.show_default}")
    elif param.show_default and default not in (None, False, (), []) and not callable(default):
        if getattr(param, "is_flag", False):
            if param.secondary_opts:
                extra.append(f"default: {param.opts[0] if default else param.secondary_opts[0]}")
        else:
            extra.append(f"default: {default}")
    if param.required:
        extra.append("required")
    return " ".join([param.help or "", f"[{'; '.join(extra)}]" if extra else ""]).strip()


class _App(typer.Typer):
    """Every command gets the plain, uv-like help of ``_HelpCommand``."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        kwargs.setdefault("cls", _HelpCommand)
        return super().command(*args, **kwargs)


app = _App(
    name="mlops-scaffold",
    help="Start ML projects at an MLOps maturity level (0-4), move them up, and provision their infra.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
console = Console()
err_console = Console(stderr=True)


@contextmanager
def _handle_errors() -> Iterator[None]:
    """Turn our errors into a one-line message and the error's exit code (no traceback).

    Ctrl-C and SIGTERM (which ``__main__`` turns into KeyboardInterrupt) that the core did not
    already report as RunInterruptedError end the command the same way, with exit status 130.
    """
    try:
        yield
    except (KeyboardInterrupt, EOFError):
        _report(RunInterruptedError(outcome="stopped before it finished."))
    except ScaffoldError as error:
        _report(error)


def _report(error: ScaffoldError) -> None:
    # Messages hold paths and commands such as `pip install 'mlops-scaffold[infra]'`: not markup.
    err_console.print(f"[bold red]Error:[/] {escape(error.message)}", highlight=False, soft_wrap=True)
    if error.fix:
        err_console.print(f"[bold]Fix:[/] {escape(error.fix)}", highlight=False, soft_wrap=True)
    raise typer.Exit(error.exit_code) from None


def _version_callback(value: bool) -> None:
    if value:
        console.print(f"mlops-scaffold {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Start ML projects at an MLOps maturity level (0-4), move them up, and provision their infra."""


@app.command()
def levels(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Show the MLOps maturity levels and what each one adds."""
    from mlops_scaffold.levels import all_levels

    with _handle_errors():
        manifest = all_levels()
    if json_output:
        typer.echo(json.dumps([level.to_dict() for level in manifest], indent=2))
        return
    _print_levels()


def _print_levels() -> None:
    from rich.table import Table

    from mlops_scaffold.levels import all_levels

    table = Table(title="MLOps maturity levels (Microsoft 0-4; Google 0-2)", show_lines=True)
    table.add_column("Level", justify="center")
    table.add_column("Name", no_wrap=True)
    table.add_column("Google", justify="center")
    table.add_column("Adds (cumulative)")
    table.add_column("Available", justify="center")
    for level in all_levels():
        table.add_row(
            str(level.number),
            level.name,
            str(level.google_level),
            "\n".join(f"- {c.title}" for c in level.capabilities),
            "yes" if level.built else "not yet",
        )
    console.print(table)


def _ask_level() -> str:
    """On a terminal: show what each level adds and ask for one."""
    from rich.prompt import Prompt

    from mlops_scaffold.levels import built_levels

    _print_levels()
    choices = [str(number) for number in built_levels()]
    return Prompt.ask("MLOps maturity level for the new project", choices=choices, console=console)


@app.command()
def new(
    path: Annotated[
        Path,
        typer.Argument(
            help="Directory to create the project in (must not exist or be empty).",
            metavar="PATH",
            show_default=False,
        ),
    ],
    *,
    level: Annotated[
        str | None,
        typer.Option(
            "--level",
            "-l",
            metavar="LEVEL",
            help="MLOps maturity level, 0-4 (asked on a terminal when left out; "
            "`mlops-scaffold levels` shows what each adds).",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", help="Project name (default: the directory's name).", show_default=False
        ),
    ] = None,
    framework: Annotated[
        str | None,
        typer.Option(
            metavar="FRAMEWORK", help="Modelling framework: sklearn (default) or pytorch.", show_default=False
        ),
    ] = None,
    ci: Annotated[
        str | None,
        typer.Option(metavar="VENDOR", help="CI vendor: github (default) or gitlab.", show_default=False),
    ] = None,
    python: Annotated[
        str | None,
        typer.Option(
            metavar="VERSION", help="Python version: 3.11, 3.12 (default) or 3.13.", show_default=False
        ),
    ] = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Answer a template question (repeatable).",
            show_default=False,
        ),
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Use defaults for every question not given (no prompts).")
    ] = False,
    git: Annotated[
        bool, typer.Option("--git/--no-git", help="Initialise a git repository with a first commit.")
    ] = True,
    force_nested: Annotated[
        bool,
        typer.Option(
            "--force-nested", help="Create the project's git repository even inside another repository."
        ),
    ] = False,
    follow_symlink: Annotated[
        bool,
        typer.Option("--follow-symlink", help="PATH is a symbolic link: create the project where it points."),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create a new ML project at an MLOps maturity level."""
    from mlops_scaffold.generate import generate, merge_options, parse_data

    with _handle_errors():
        answers: dict[str, Any] = merge_options(
            parse_data(data or []),
            {
                "framework": ("--framework", framework),
                "ci": ("--ci", ci),
                "python_version": ("--python", python),
            },
        )
        interactive = not defaults and sys.stdin.isatty()
        if level is None and "level" not in answers:
            if not interactive or json_output:
                raise InvalidInputError(
                    "--level is required with --defaults, --json or when not on a terminal.",
                    fix="Add --level N (0-4); `mlops-scaffold levels` shows what each level adds.",
                )
            level = _ask_level()
        options: dict[str, Any] = {
            "level": level,
            "name": name,
            "data": answers,
            "git": git,
            "force_nested": force_nested,
            "follow_symlink": follow_symlink,
        }
        if interactive or json_output:
            result = generate(path, defaults=not interactive, **options)
        else:
            with err_console.status("Starting") as status:
                result = generate(
                    path, defaults=True, on_progress=lambda message: status.update(f"{message}..."), **options
                )
    if json_output:
        typer.echo(
            json.dumps(
                {
                    "path": str(result.path),
                    "project_name": result.project_name,
                    "package_name": result.package_name,
                    "level": result.level,
                    "git_commit": result.git_commit,
                    "answers": result.answers,
                    "notes": result.notes,
                    "next_steps": [{"command": s.command, "purpose": s.purpose} for s in result.next_steps],
                },
                indent=2,
                default=str,
            )
        )
        return
    console.print(
        f"[green]Created[/] {escape(result.project_name)} at MLOps level {result.level} in "
        f"{escape(str(result.path))}",
        highlight=False,
        soft_wrap=True,
    )
    console.print("\nNext steps (you need uv, https://docs.astral.sh/uv/):", highlight=False)
    width = max(len(step.command) for step in result.next_steps)
    for step in result.next_steps:
        console.print(
            f"  {escape(step.command):<{width}}  [dim]# {escape(step.purpose)}[/]",
            highlight=False,
            soft_wrap=True,
        )
    for note in result.notes:
        err_console.print(f"[yellow]Note:[/] {escape(note)}", highlight=False, soft_wrap=True)


@app.command()
def plan(
    project_path: Annotated[
        Path | None, typer.Argument(help="A generated project (its .copier-answers.yml gives the level).")
    ] = None,
    *,
    level: Annotated[
        str | None, typer.Option("--level", "-l", help="Plan a level, 0-4, for an example project.")
    ] = None,
    env: Annotated[str, typer.Option(help="Environment (stack) name.")] = "dev",
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Stack config value KEY=VALUE, e.g. servingImage=... (repeatable).",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Show what `pulumi up` would create, offline (Pulumi mocks; no cloud, no credentials)."""
    from mlops_scaffold.generate import parse_data
    from mlops_scaffold.infra import PolicyViolationError
    from mlops_scaffold.infra import plan as plan_infra

    with _handle_errors():
        values = parse_data(settings or [], option="--set")
        result = plan_infra(level=level, project_path=project_path, env=env, settings=values)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        console.print(
            f"[bold]{result.project}-{result.env}[/]: level {result.level}, {result.count} resources",
            highlight=False,
        )
        for component, resources in result.by_component().items():
            console.print(f"\n[bold]{component}[/] ({len(resources)})", highlight=False)
            width = max(len(_short_type(r.type)) for r in resources)
            for resource in resources:
                props = ", ".join(f"{k}={v}" for k, v in resource.properties.items())
                console.print(
                    f"  {_short_type(resource.type):<{width}}  {resource.name}"
                    + (f"  [dim]{props}[/]" if props else ""),
                    highlight=False,
                    soft_wrap=True,
                )
        console.print()
        for note in result.notes:
            err_console.print(f"[yellow]Note:[/] {note}", highlight=False)
        for violation in result.violations:
            where = f"{violation.resource_type} {violation.resource_name}"
            err_console.print(f"[red]{violation.rule}[/] {where}: {violation.message}", highlight=False)
        if not result.violations:
            console.print(f"{result.count} resources, 0 policy violations.", highlight=False)
    if result.violations:
        with _handle_errors():
            raise PolicyViolationError(count=len(result.violations))


def _short_type(token: str) -> str:
    """aws:ecr/repository:Repository -> ecr.Repository (--json has the full token)."""
    return f"{token.split(':')[1].split('/')[0]}.{token.split(':')[-1]}"


@app.command("infra-config")
def infra_config(
    project_path: Annotated[Path, typer.Argument(help="A generated project (with .copier-answers.yml).")],
    *,
    env: Annotated[str, typer.Option(help="Environment (stack) name.")] = "dev",
    output: Annotated[
        Path | None,
        typer.Option(
            help="Directory for Pulumi.<project>-<env>.yaml (default: the Pulumi project root).",
            show_default=False,
        ),
    ] = None,
    ci_repository: Annotated[
        str | None,
        typer.Option(help="OWNER/REPO whose CI may deploy (default: the git remote).", show_default=False),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Write the Pulumi stack config that matches a project's maturity level."""
    from mlops_scaffold.infra import write_stack_config

    with _handle_errors():
        result = write_stack_config(project_path, env=env, output_dir=output, ci_repository=ci_repository)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    change = "Wrote" if result.created else "Updated"
    moved = "" if result.previous_level in (None, result.level) else f" (was level {result.previous_level})"
    console.print(
        f"[green]{change}[/] {result.path}: stack {result.stack} at level {result.level}{moved}",
        highlight=False,
    )
    for note in result.notes:
        err_console.print(f"[yellow]Note:[/] {note}", highlight=False)
    console.print(f"Next: pulumi stack select --create {result.stack} && pulumi up", highlight=False)


@app.command()
def upgrade(
    path: Annotated[
        Path,
        typer.Argument(
            help="The generated project (default: the current directory).", metavar="PATH", show_default=False
        ),
    ] = Path("."),
    *,
    level: Annotated[
        str | None,
        typer.Option(
            "--level",
            "-l",
            metavar="LEVEL",
            help="Level to move to, 0-4 (default: stay at the project's level).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show the files that would be added, changed or conflict; change nothing."
        ),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Move a generated project up a level and to the installed template version, keeping your edits."""
    from mlops_scaffold.errors import UpgradeConflictsError
    from mlops_scaffold.upgrade import upgrade as upgrade_project

    with _handle_errors():
        if json_output:
            result = upgrade_project(path, level=level, dry_run=dry_run)
        else:
            with err_console.status("Starting") as status:
                result = upgrade_project(
                    path, level=level, dry_run=dry_run, on_progress=lambda m: status.update(f"{m}...")
                )
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        would = "would be " if result.dry_run else ""
        heading = f"{result.path}: level {result.from_level} -> {result.to_level}"
        console.print(
            f"{'Dry run: ' if result.dry_run else ''}{heading}, "
            f"template {result.from_version} -> {result.to_version}",
            highlight=False,
            soft_wrap=True,
        )
        for label, style, paths in (
            ("added", "green", result.added),
            ("changed", "yellow", result.changed),
            ("removed", "red", result.removed),
            ("conflict", "bold red", result.conflicts),
        ):
            for changed_path in paths:
                console.print(
                    f"  [{style}]{would}{label}[/] {escape(changed_path)}", highlight=False, soft_wrap=True
                )
        for note in result.notes:
            err_console.print(f"[yellow]Note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    if result.conflicts and not result.dry_run:
        with _handle_errors():
            raise UpgradeConflictsError(conflicts=result.conflicts, binary=result.binary_conflicts)


@app.command()
def status(
    path: Annotated[
        Path,
        typer.Argument(
            help="The generated project (default: the current directory).", metavar="PATH", show_default=False
        ),
    ] = Path("."),
    *,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Say whether a generated project is behind the installed template and what its next level adds."""
    from mlops_scaffold.project import status as project_status

    with _handle_errors():
        result = project_status(path)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    console.print(
        f"{result.project_name}: MLOps level {result.level} ({result.level_name}), template "
        f"{result.template_version}",
        highlight=False,
        soft_wrap=True,
    )
    if result.ahead:
        state = "older than the project's: upgrade with a newer mlops-scaffold"
    elif result.behind:
        state = "newer: `mlops-scaffold upgrade` brings the project to it"
    else:
        state = "the project's own: up to date"
    console.print(f"Installed template {result.installed_version}: {state}.", highlight=False, soft_wrap=True)
    if not result.template_available:
        err_console.print(
            f"[yellow]Note:[/] template {result.template_version} cannot be reproduced on this machine, "
            "so `upgrade` will refuse; upgrade where the project was generated.",
            highlight=False,
            soft_wrap=True,
        )
    if result.uncommitted:
        err_console.print(
            f"[yellow]Note:[/] {len(result.uncommitted)} uncommitted file(s); commit them before upgrading.",
            highlight=False,
        )
    elif result.uncommitted is None:
        err_console.print("[yellow]Note:[/] not a git repository; upgrade needs one.", highlight=False)
    if result.next_level is None:
        console.print("This is the highest level.")
        return
    available = (
        f"`mlops-scaffold upgrade --level {result.next_level}` adds"
        if result.next_level_available
        else "not available in this version yet; it will add"
    )
    console.print(
        f"Next: level {result.next_level} ({result.next_level_name}), {available}:", highlight=False
    )
    for capability in result.next_capabilities:
        line = f"  - {capability['title']}: {capability['description']}"
        console.print(line, highlight=False, soft_wrap=True)


@app.command()
def assess(
    path: Annotated[Path, typer.Argument(help="Any repository (default: the current directory).")] = Path(
        "."
    ),
    *,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Report a repository's MLOps maturity level with evidence, and a plan for the next level."""
    from rich.table import Table

    from mlops_scaffold.assess import assess as assess_repository

    with _handle_errors():
        result = assess_repository(path)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    heading = f"{result.path}: MLOps level {result.level} ({result.level_name})"
    console.print(heading, highlight=False, soft_wrap=True)
    table = Table()
    table.add_column("Level", justify="center")
    table.add_column("Capability")
    table.add_column("Found", justify="center")
    table.add_column("Evidence", overflow="fold")
    for finding in result.findings:
        table.add_row(
            str(finding.level),
            finding.title,
            "[green]yes[/]" if finding.found else "[red]no[/]",
            "\n".join(evidence.path for evidence in finding.evidence),
        )
    console.print(table)
    if result.generated:
        console.print(f"Generated by mlops-scaffold at level {result.generated_level}.", highlight=False)
    for note in result.notes:
        err_console.print(f"[yellow]Note:[/] {note}", highlight=False, soft_wrap=True)
    if result.next_level is not None:
        goal = "complete" if result.next_level == result.level else "reach"
        console.print(f"To {goal} level {result.next_level} ({result.next_level_name}):", highlight=False)
    for step in result.plan:
        console.print(f"  - {step}", highlight=False, soft_wrap=True)


def main() -> None:
    """The console script's entry point (kept for callers of ``mlops_scaffold.cli:main``)."""
    from mlops_scaffold.__main__ import main as run

    run()


if __name__ == "__main__":
    main()
