"""The `mlops-scaffold` command line: a thin Typer layer over the core API.

Commands translate flags into calls of the core modules and render the results with rich.
Errors become exit codes in one place, ``_handle_errors``. Heavy imports (copier, pulumi)
happen inside the commands so that `mlops-scaffold --help` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from mlops_scaffold import __version__
from mlops_scaffold.errors import ScaffoldError

app = typer.Typer(
    name="mlops-scaffold",
    help="Start ML projects at an MLOps maturity level (0-4), move them up, and provision their infra.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)


@contextmanager
def _handle_errors() -> Iterator[None]:
    """Turn our errors into a one-line message and the error's exit code (no traceback)."""
    try:
        yield
    except ScaffoldError as error:
        err_console.print(f"[bold red]Error:[/] {error.message}", highlight=False, soft_wrap=True)
        if error.fix:
            err_console.print(f"[bold]Fix:[/] {error.fix}", highlight=False, soft_wrap=True)
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
    from rich.table import Table

    from mlops_scaffold.levels import all_levels

    with _handle_errors():
        manifest = all_levels()
    if json_output:
        typer.echo(json.dumps([level.to_dict() for level in manifest], indent=2))
        return
    table = Table(title="MLOps maturity levels (Microsoft 0-4; Google 0-2)", show_lines=True)
    table.add_column("Level", justify="center")
    table.add_column("Name", no_wrap=True)
    table.add_column("Google", justify="center")
    table.add_column("Adds (cumulative)")
    table.add_column("Available", justify="center")
    for level in manifest:
        table.add_row(
            str(level.number),
            level.name,
            str(level.google_level),
            "\n".join(f"- {c.title}" for c in level.capabilities),
            "yes" if level.built else "not yet",
        )
    console.print(table)


@app.command()
def new(
    path: Annotated[
        Path, typer.Argument(help="Directory to create the project in (must not exist or be empty).")
    ],
    *,
    level: Annotated[str, typer.Option("--level", "-l", help="MLOps maturity level, 0-4.")],
    name: Annotated[
        str | None, typer.Option(help="Project name (default: the directory's name).", show_default=False)
    ] = None,
    framework: Annotated[
        str | None,
        typer.Option(help="Modelling framework: sklearn (default) or pytorch.", show_default=False),
    ] = None,
    ci: Annotated[
        str | None, typer.Option(help="CI vendor: github (default) or gitlab.", show_default=False)
    ] = None,
    python: Annotated[
        str | None, typer.Option(help="Python version: 3.11, 3.12 (default) or 3.13.", show_default=False)
    ] = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data", "-d", help="Answer a template question: KEY=VALUE (repeatable).", show_default=False
        ),
    ] = None,
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Use defaults for every question not given (no prompts).")
    ] = False,
    git: Annotated[
        bool, typer.Option("--git/--no-git", help="Initialise a git repository with a first commit.")
    ] = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create a new ML project at an MLOps maturity level."""
    from mlops_scaffold.generate import generate, parse_data

    with _handle_errors():
        answers: dict[str, Any] = parse_data(data or [])
        for key, value in (("framework", framework), ("ci", ci), ("python_version", python)):
            if value is not None:
                answers[key] = value
        interactive = not defaults and sys.stdin.isatty()
        if interactive or json_output:
            result = generate(path, level=level, name=name, data=answers, defaults=not interactive, git=git)
        else:
            with err_console.status("Starting") as status:
                result = generate(
                    path,
                    level=level,
                    name=name,
                    data=answers,
                    defaults=True,
                    git=git,
                    on_progress=lambda message: status.update(f"{message}..."),
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
                },
                indent=2,
                default=str,
            )
        )
        return
    console.print(
        f"[green]Created[/] {result.project_name} at MLOps level {result.level} in {result.path}",
        highlight=False,
    )
    for note in result.notes:
        err_console.print(f"[yellow]Note:[/] {note}", highlight=False, soft_wrap=True)
    console.print(
        f"Next: cd {result.path} && {'make test' if result.level >= 1 else 'uv run pytest'}",
        highlight=False,
        soft_wrap=True,
    )


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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
