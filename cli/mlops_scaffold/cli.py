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
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

from mlops_core.errors import InvalidInputError, RunInterruptedError, ScaffoldError
from mlops_scaffold import __version__


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
        _format_examples(_command_key(ctx), formatter)


# One or two examples per command, ending its --help as in copier's and uv's: "COMMAND  # what it does".
# The "" entry ends the top-level `mlops-scaffold --help`.
_EXAMPLES: dict[str, list[str]] = {
    "": [
        "mlops-scaffold levels  # What each maturity level adds",
        "mlops-scaffold new ../churn --level 1 --defaults  # A level-1 project beside this directory",
    ],
    "levels": ["mlops-scaffold levels --json  # The levels and their capabilities, for machines"],
    "new": [
        "mlops-scaffold new ../churn --level 1 --defaults  # A level-1 project, no questions asked",
        "mlops-scaffold new churn --level 2 --framework pytorch --ci gitlab  # Asks the other questions",
    ],
    "plan": [
        "mlops-scaffold plan --level 4  # Resources, policy check and idle cost of a level-4 project",
        "mlops-scaffold plan --platform --env prod --json  # The prod platform stack, for machines",
    ],
    "infra-config": ["mlops-scaffold infra-config ../churn --env dev  # The dev stack files of ../churn"],
    "upgrade": [
        "mlops-scaffold upgrade --level 2 --dry-run  # What level 2 would change in this project",
        "mlops-scaffold upgrade ../churn --level 1 --data ci=gitlab  # Level 0 to 1, with GitLab CI",
    ],
    "status": [
        "mlops-scaffold status ../churn  # Is ../churn behind the installed template?",
        "mlops-scaffold status --check --json  # In CI: exit 19 when this project is behind",
    ],
    "assess": [
        "mlops-scaffold assess  # The repository here: level, evidence, plan",
        "mlops-scaffold assess --fleet ~/src --html -o fleet.html  # Every repository in ~/src",
    ],
    "adopt": ["mlops-scaffold adopt ~/src/churn --level 1 --dry-run  # What adopting would add and merge"],
    "platform": ["mlops-scaffold platform init ../platform  # A Pulumi project of your own for the stacks"],
    "platform init": ["mlops-scaffold platform init ../platform  # Pulumi.yaml, pinned requirements, README"],
}


def _command_key(ctx: Any) -> str:
    """The command as _EXAMPLES names it: "" for mlops-scaffold itself, "platform init" for a subcommand."""
    return str(ctx.command_path).partition(" ")[2]


def _format_examples(command: str, formatter: Any) -> None:
    """The command's examples: what it does as a comment, then the command, never wrapped."""
    if _EXAMPLES.get(command):
        with formatter.section("Examples"):
            for example in _EXAMPLES[command]:
                line, purpose = example.split("  # ", 1)
                formatter.write(f"{'':{formatter.current_indent}}# {purpose}\n")
                formatter.write(f"{'':{formatter.current_indent}}{line}\n")


class _HelpGroup(typer.core.TyperGroup):
    """The top-level help: each command's full first sentence (click cuts it at 45 characters)."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        rows = [(name, cmd.get_short_help_str(limit=999)) for name, cmd in commands if cmd and not cmd.hidden]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        _format_examples(_command_key(ctx), formatter)


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
    """A command group (the app, `platform`) whose commands all get the plain, uv-like help of
    ``_HelpCommand``, with -h, and whose own help lists whole summaries and ends with examples."""

    def __init__(self, *, name: str, help: str) -> None:
        super().__init__(
            name=name,
            help=help,
            no_args_is_help=True,
            cls=_HelpGroup,
            context_settings={"help_option_names": ["-h", "--help"]},
            add_completion=False,
            pretty_exceptions_enable=False,
            rich_markup_mode=None,
        )

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        kwargs.setdefault("cls", _HelpCommand)
        return super().command(*args, **kwargs)


app = _App(
    name="mlops-scaffold",
    help="Start ML projects at an MLOps maturity level (0-4), move them up, and provision their infra.",
)


class _Console(Console):
    """rich's Console, except where output is not a terminal (a pipe, a file, a CI log): there no
    line is broken (not even inside a command, a path or a number) and tables take the width they
    need. Decided at each print, as the output may change (tests swap sys.stdout)."""

    @property
    def soft_wrap(self) -> bool:
        return self._soft_wrap or not self.is_terminal

    @soft_wrap.setter
    def soft_wrap(self, value: bool) -> None:
        self._soft_wrap = value

    @property
    def size(self) -> ConsoleDimensions:
        size = super().size
        return size if self.is_terminal else ConsoleDimensions(_UNWRAPPED_WIDTH, size.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


_UNWRAPPED_WIDTH = 1000  # columns of a console that is not a terminal: wider than any line we print
console = _Console()
err_console = _Console(stderr=True)


def _print_next_steps(heading: str, steps: list[tuple[str, str]]) -> None:
    """A blank line, the heading, then each command with what it does as an aligned comment."""
    console.print(f"\n{heading}", highlight=False)
    width = max(len(command) for command, _ in steps)
    for command, purpose in steps:
        line = f"  {escape(command):<{width}}  [dim]# {escape(purpose)}[/]"
        console.print(line, highlight=False, soft_wrap=True)


@contextmanager
def _handle_errors(interrupted: str | Callable[[], str] = "stopped before it finished.") -> Iterator[None]:
    """Turn our errors into a one-line message and the error's exit code (no traceback).

    Ctrl-C and SIGTERM (which ``__main__`` turns into KeyboardInterrupt) that the core did not
    already report as RunInterruptedError end the command the same way, with exit status 130;
    ``interrupted`` (or what it returns, asked at that moment) says what had happened by then.
    """
    try:
        yield
    except (KeyboardInterrupt, EOFError):
        _report(RunInterruptedError(outcome=interrupted() if callable(interrupted) else interrupted))
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
    from mlops_core.levels import all_levels

    with _handle_errors():
        manifest = all_levels()
    if json_output:
        typer.echo(json.dumps([level.to_dict() for level in manifest], indent=2))
        return
    _print_levels()


def _print_levels() -> None:
    from rich.table import Table

    from mlops_core.levels import all_levels

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
    from rich.prompt import InvalidResponse, Prompt

    from mlops_core.levels import built_levels

    choices = [str(number) for number in built_levels()]

    class LevelPrompt(Prompt):  # rich's own message does not say which options there are
        illegal_choice_message = f"[prompt.invalid.choice]Please type one of the levels: {', '.join(choices)}"

        def on_validate_error(self, value: str, error: InvalidResponse) -> None:
            self.console.print(error, highlight=False)

    _print_levels()
    return LevelPrompt.ask("MLOps maturity level for the new project", choices=choices, console=console)


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
    lock: Annotated[
        bool,
        typer.Option(
            "--lock/--no-lock",
            help="PyTorch projects: create uv.lock with `uv lock` (needs PyPI and PyTorch's index).",
        ),
    ] = True,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create a new ML project at an MLOps maturity level."""
    from mlops_scaffold.generate import generate, merge_options, parse_data

    def project_there() -> bool:
        try:
            return (path.expanduser() / ".copier-answers.yml").is_file()
        except OSError:
            return False

    there_before = project_there()

    def outcome() -> str:  # asked when interrupted outside generate(), which reports its own
        if project_there() and not there_before:
            return f"the project was created in {path}; only this summary was cut short."
        return "nothing was written."

    with _handle_errors(interrupted=outcome):
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
            "lock": lock,
        }
        if interactive or json_output or not err_console.is_terminal:  # no spinner to show
            result = generate(path, defaults=not interactive, **options)
        else:
            with err_console.status("Starting") as status:
                result = generate(
                    path, defaults=True, on_progress=lambda message: status.update(f"{message}..."), **options
                )
    with _handle_errors(interrupted=outcome):
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
                        "next_steps": [
                            {"command": s.command, "purpose": s.purpose} for s in result.next_steps
                        ],
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
        for note in result.notes:  # before the next steps, which they may change (a missing lock)
            err_console.print(f"[yellow]Note:[/] {escape(note)}", highlight=False, soft_wrap=True)
        _print_next_steps(
            "Next steps (you need uv, https://docs.astral.sh/uv/):",
            [(step.command, step.purpose) for step in result.next_steps],
        )


@app.command()
def plan(
    project_path: Annotated[
        Path | None,
        typer.Argument(
            help="A generated project (its .copier-answers.yml gives the level).", metavar="PROJECT_PATH"
        ),
    ] = None,
    *,
    level: Annotated[
        str | None,
        typer.Option("--level", "-l", metavar="LEVEL", help="Plan a level, 0-4, for an example project."),
    ] = None,
    platform: Annotated[
        bool, typer.Option("--platform", help="Plan the environment's platform stack (platform-<env>).")
    ] = False,
    env: Annotated[str, typer.Option(metavar="ENV", help="Environment (stack) name.")] = "dev",
    settings: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            metavar="KEY=VALUE",
            help="A stack config value, e.g. servingImage=... (repeatable).",
            show_default=False,
        ),
    ] = None,
    show_policies: Annotated[
        bool, typer.Option("--show-policies", help="Print every IAM, key and bucket policy document.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Show offline what `pulumi up` would create, and its idle cost.

    Every resource with its inputs and policies, the security rules' verdict and the monthly idle
    cost, from Pulumi mocks: no cloud, no credentials.
    """
    from mlops_scaffold.generate import parse_data
    from mlops_scaffold.infra import PolicyViolationError
    from mlops_scaffold.infra import plan as plan_infra

    with _handle_errors():
        values = parse_data(settings or [], option="--set")
        result = plan_infra(
            level=level, project_path=project_path, env=env, settings=values, platform=platform
        )
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        _print_plan(result, show_policies=show_policies)
    if result.violations:
        with _handle_errors():
            raise PolicyViolationError(count=len(result.violations))


def _print_plan(result: Any, *, show_policies: bool) -> None:
    from mlops_platform.cost import usd

    what = "platform" if result.tier == "platform" else f"level {result.level}"
    console.print(f"[bold]{result.stack}[/]: {what}, {result.count} resources", highlight=False)
    for component, resources in result.by_component().items():
        console.print(f"\n[bold]{component}[/] ({len(resources)})", highlight=False)
        width = max(len(_short_type(r.type)) for r in resources)
        for resource in resources:
            props = ", ".join(f"{k}={v}" for k, v in resource.properties.items())
            cost = (
                f"  [cyan]${resource.monthly_idle_usd:,.2f}/month idle[/]"
                if resource.monthly_idle_usd
                else ""
            )
            console.print(
                f"  {_short_type(resource.type):<{width}}  {resource.name}"
                + (f"  [dim]{props}[/]" if props else "")
                + cost,
                highlight=False,
                soft_wrap=True,
            )
            if show_policies:
                for key, document in resource.policies.items():
                    console.print(f"    [dim]{key}:[/]", highlight=False)
                    console.print_json(json.dumps(document), indent=2)
    _print_serving(result.serving)
    _print_cost(result.cost)
    console.print()
    for note in result.notes:
        err_console.print(f"[yellow]Note:[/] {note}", highlight=False, soft_wrap=True)
    if result.exceptions:
        # Documented and accepted (docs/infrastructure.md, "Documented exceptions"): part of the
        # plan, on stdout, in green; only violations are failures.
        console.print(
            f"Accepted policy exceptions ({len(result.exceptions)}, documented in docs/infrastructure.md):",
            highlight=False,
        )
        for exception in result.exceptions:
            console.print(
                f"  [green]accepted[/] {exception.rule} on {_short_type(exception.resource_type)} "
                f"{exception.resource_name}: {exception.reason}",
                highlight=False,
                soft_wrap=True,
            )
    for violation in result.violations:
        where = f"{violation.resource_type} {violation.resource_name}"
        err_console.print(f"[red]{violation.rule}[/] {where}: {violation.message}", highlight=False)
    if not result.violations:
        count = len(result.exceptions)
        accepted = f" ({count} accepted exception{'s' * (count != 1)})" if count else ""
        console.print(
            f"{result.count} resources, 0 policy violations{accepted}, "
            f"{usd(round(result.cost.monthly_idle_usd, 2))}/month idle.",
            highlight=False,
        )


def _print_serving(serving: Any) -> None:
    """The endpoint: the image and model it starts on, or why it is not created yet."""
    if serving is None:
        return
    console.print("\n[bold]Endpoint[/]", highlight=False)
    for line in serving.lines():
        console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)


def _print_cost(cost: Any) -> None:
    from rich.table import Table

    from mlops_platform.cost import usd

    table = Table(
        title=f"Idle cost per month ({cost.region}, list prices as of {cost.prices_as_of})",
        title_justify="left",
    )
    table.add_column("Resource")
    table.add_column("Basis", style="dim")
    table.add_column("USD/month", justify="right")
    paying = [c for c in cost.by_resource if c.monthly_usd]
    for item in paying:
        table.add_row(f"{_short_type(item.type)} {item.name}", item.basis, f"{item.monthly_usd:,.2f}")
    free = len(cost.by_resource) - len(paying)
    table.add_row(f"{free} other resources", "no charge while idle", "0.00")
    table.add_row("[bold]Total[/]", "", f"[bold]{cost.monthly_idle_usd:,.2f}[/]")
    console.print()
    console.print(table)
    if cost.usage:
        usage = Table(title="Billed by use (unit prices)", title_justify="left")
        usage.add_column("Item")
        usage.add_column("Price", justify="right")
        usage.add_column("Per")
        for price in cost.usage:
            usage.add_row(price.item, usd(price.usd), price.unit + (f" ({price.note})" if price.note else ""))
        console.print(usage)


def _short_type(token: str) -> str:
    """aws:ecr/repository:Repository -> ecr.Repository (--json has the full token)."""
    return f"{token.split(':')[1].split('/')[0]}.{token.split(':')[-1]}"


@app.command("infra-config")
def infra_config(
    project_path: Annotated[
        Path, typer.Argument(help="A generated project (with .copier-answers.yml).", metavar="PROJECT_PATH")
    ],
    *,
    env: Annotated[str, typer.Option(metavar="ENV", help="Environment (stack) name.")] = "dev",
    output: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Directory for the stack files, created if missing (default: the Pulumi project root).",
            show_default=False,
        ),
    ] = None,
    ci_repository: Annotated[
        str | None,
        typer.Option(
            metavar="OWNER/REPO",
            help="The repository whose CI may deploy (default: the git remote).",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Write the Pulumi stack files of a project and its platform.

    The project's stack (at the project's level) and its environment's platform stack.
    """
    from mlops_scaffold.infra import write_stack_config

    with _handle_errors():
        result = write_stack_config(project_path, env=env, output_dir=output, ci_repository=ci_repository)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
        return
    change = "Wrote" if result.platform_created else "Kept"
    console.print(
        f"[green]{change}[/] {result.platform_path}: stack {result.platform_stack}", highlight=False
    )
    change = "Wrote" if result.created else "Updated"
    moved = "" if result.previous_level in (None, result.level) else f" (was level {result.previous_level})"
    console.print(
        f"[green]{change}[/] {result.path}: stack {result.stack} at level {result.level}{moved}",
        highlight=False,
    )
    for note in result.notes:
        err_console.print(f"[yellow]Note:[/] {note}", highlight=False, soft_wrap=True)
    console.print(
        f"Next: pulumi up --stack {result.platform_stack} (once per account and environment), "
        f"then pulumi up --stack {result.stack}",
        highlight=False,
        soft_wrap=True,
    )


platform_app = _App(name="platform", help="The platform engineer's own Pulumi project of the stacks.")
app.add_typer(platform_app, name="platform")


@platform_app.command("init")
def platform_init(
    directory: Annotated[
        Path,
        typer.Argument(help="The new platform repository (must not exist, or be empty).", metavar="DIR"),
    ],
    *,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Write a platform repository: your own Pulumi project of the stacks.

    It installs this mlops-scaffold (pinned in requirements.txt) and runs its stacks, with the
    policy pack and the steps (Pulumi CLI, credentials, state backend, preview, up) in a README.
    """
    from mlops_scaffold.platform_repo import init_platform

    with _handle_errors():
        result = init_platform(directory)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2))
        return
    pinned = escape(f"mlops-scaffold[infra]=={result.version}")
    console.print(
        f"[green]Created[/] the platform repository {escape(str(result.path))} ({pinned})",
        highlight=False,
        soft_wrap=True,
    )
    _print_next_steps(
        "Next steps (the README has them all, with the Pulumi CLI and credentials first):",
        list(result.next_steps),
    )
    for note in result.notes:
        err_console.print(f"[yellow]Note:[/] {escape(note)}", highlight=False, soft_wrap=True)


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
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Answer a template question, e.g. ci=gitlab when a level-0 project gets CI (repeatable).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Show the files that would be added, changed or conflict; change nothing."
        ),
    ] = False,
    fleet: Annotated[
        Path | None,
        typer.Option(
            "--fleet",
            metavar="DIR",
            help="With --dry-run: preview the upgrade of every repository in DIR (its subdirectories).",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Move a project up a level and template version, keeping edits.

    Without --level, to the installed template version at the project's own level.
    """
    from mlops_core.errors import UpgradeConflictsError
    from mlops_scaffold.generate import parse_data
    from mlops_scaffold.upgrade import upgrade as upgrade_project

    if fleet is not None:
        _upgrade_fleet(fleet, level=level, data=data, dry_run=dry_run, json_output=json_output)
        return

    done: list[Any] = []  # the result, once upgrade() has returned

    def outcome() -> str:  # asked when interrupted outside upgrade(), which reports its own
        if not done or done[0].dry_run:
            return "the project was left exactly as it was."
        return "the upgrade was applied; only this summary was cut short: review `git status`, then commit."

    with _handle_errors(interrupted=outcome):
        answers = parse_data(data or [])
        if json_output:
            done.append(upgrade_project(path, level=level, data=answers, dry_run=dry_run))
        else:
            with err_console.status("Starting") as status:
                done.append(
                    upgrade_project(
                        path,
                        level=level,
                        data=answers,
                        dry_run=dry_run,
                        on_progress=lambda m: status.update(f"{m}..."),
                    )
                )
        result = done[0]
        _print_upgrade(result, json_output)
        if result.conflicts and not result.dry_run:
            raise UpgradeConflictsError(conflicts=result.conflicts, binary=result.binary_conflicts)


def _upgrade_fleet(
    fleet: Path, *, level: str | None, data: list[str] | None, dry_run: bool, json_output: bool
) -> None:
    """`upgrade --fleet DIR --dry-run`: one row per repository, what it would change or why it cannot."""
    from mlops_core.errors import EmptyFleetError
    from mlops_scaffold.assess import fleet_paths
    from mlops_scaffold.upgrade import dry_run_fleet

    with _handle_errors():
        if not dry_run or data:
            raise InvalidInputError(
                "--fleet previews upgrades (with --dry-run) and takes no --data: it changes no repository.",
                fix="Add --dry-run; then upgrade each repository (`mlops-scaffold upgrade PATH`), or let "
                "its scheduled template-upgrade CI job open the pull request.",
            )
        paths = fleet_paths(fleet)
        if not paths:
            raise EmptyFleetError(path=fleet.expanduser().absolute())
        if json_output:
            found = dry_run_fleet(paths, level=level)
        else:
            with err_console.status("Starting") as status:
                found = dry_run_fleet(paths, level=level, on_progress=lambda m: status.update(f"{m}..."))
    if json_output:
        typer.echo(json.dumps([item.to_dict() for item in found], indent=2, default=str))
        return
    from rich.table import Table

    table = Table(title=f"Upgrade preview of {len(found)} repositories (dry run: nothing changed)")
    for column in ("Repository", "Level", "Template", "Would change", "Conflicts"):
        table.add_column(column, overflow="fold")
    for item in found:
        result = item.result
        if result is None:
            table.add_row(escape(item.name), "-", "-", f"[red]cannot:[/] {escape(item.error or '')}", "-")
            continue
        levels = str(result.from_level) + (
            "" if result.to_level == result.from_level else f" -> {result.to_level}"
        )
        versions = result.from_version + (
            "" if result.to_version == result.from_version else f" -> {result.to_version}"
        )
        counts = ", ".join(
            f"{len(paths)} {label}"
            for label, paths in (
                ("added", result.added),
                ("changed", result.changed),
                ("removed", result.removed),
            )
            if paths
        )
        conflicts = f"[bold red]{escape(', '.join(result.conflicts))}[/]" if result.conflicts else "-"
        table.add_row(escape(item.name), levels, escape(versions), counts or "up to date", conflicts)
    (console if console.is_terminal else Console(width=160)).print(table)
    states = [item.state for item in found]
    console.print(
        ", ".join(
            f"{states.count(s)} {s}"
            for s in ("would upgrade", "would conflict", "up to date", "cannot upgrade")
            if states.count(s)
        ),
        highlight=False,
    )


def _print_upgrade(result: Any, json_output: bool) -> None:
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
        if result.next_steps:
            _print_next_steps("Next steps:", [(step.command, step.purpose) for step in result.next_steps])


@app.command()
def status(
    path: Annotated[
        Path,
        typer.Argument(
            help="The generated project (default: the current directory).", metavar="PATH", show_default=False
        ),
    ] = Path("."),
    *,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Only check the template version, in one line: exit 0 when the project is on the newest "
            "one the installed mlops-scaffold offers, 19 when it is behind (for CI).",
        ),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Say if a project is behind the template; show its next level.

    Whether the project is behind the installed template version, whether this machine can
    reproduce the version that generated it, and what the next level adds.
    """
    from mlops_core.errors import TemplateBehindError
    from mlops_scaffold.project import status as project_status

    with _handle_errors():
        result = project_status(path)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
    elif check and not result.behind:
        console.print(result.versions_line, highlight=False, soft_wrap=True, markup=False)
    if check and result.behind:
        with _handle_errors():
            raise TemplateBehindError(summary=result.versions_line)
    if json_output or check:
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
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Repositories to assess (default: the current directory).",
            metavar="PATH...",
            show_default=False,
        ),
    ] = None,
    *,
    fleet: Annotated[
        Path | None,
        typer.Option(
            "--fleet",
            metavar="DIR",
            help="A directory whose subdirectories are repositories: assess them all.",
            show_default=False,
        ),
    ] = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Print a Markdown fleet report.")] = False,
    html_output: Annotated[
        bool, typer.Option("--html", help="Print a self-contained HTML fleet report (one file).")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write the report to this file instead of printing it.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Report a repository's MLOps maturity level, evidence and plan.

    Its level with the evidence found, and a plan for the next level. One path: a detailed
    report. Several paths or --fleet: one row per repository (level, score per level, template
    version, top missing capability).
    """
    from mlops_core.errors import EmptyFleetError, InvalidInputError
    from mlops_scaffold.assess import assess as assess_repository
    from mlops_scaffold.assess import assess_many, fleet_paths
    from mlops_scaffold.project import full_path

    with _handle_errors():
        if json_output + markdown + html_output > 1:
            raise InvalidInputError(
                "--json, --markdown and --html each choose the output format; give one.",
                fix="Drop all but one of them.",
            )
        targets = list(paths or [])
        if fleet is not None:
            found = fleet_paths(fleet)
            if not found:
                raise EmptyFleetError(path=full_path(fleet))
            targets += found
        single = len(targets) <= 1 and fleet is None and not (markdown or html_output)
        if single:
            result = assess_repository(targets[0] if targets else Path("."))
            if json_output:
                _emit(json.dumps(result.to_dict(), indent=2, default=str), output)
            elif output is not None:
                _emit(_assessment_text(result), output)
            else:
                _print_assessment(result)
            return
        if json_output or markdown or html_output or output is not None:
            results = assess_many(targets)
        else:
            with err_console.status("Assessing") as status:
                results = assess_many(targets, on_progress=lambda m: status.update(f"{m}..."))
    from mlops_scaffold.assess import fleet as report

    rows = report.rows(results)
    with _handle_errors():
        if json_output:
            _emit(json.dumps(report.to_json(rows), indent=2, default=str), output)
        elif markdown:
            _emit(report.to_markdown(rows), output)
        elif html_output:
            _emit(report.to_html(rows), output)
        elif output is not None:
            _emit(report.to_markdown(rows), output)
        else:
            _print_fleet(rows)


def _emit(text: str, output: Path | None) -> None:
    """Print ``text``, or write it to ``output`` whole (a temporary file renamed into place)."""
    if output is None:
        typer.echo(text, nl=not text.endswith("\n"))
        return
    import os
    import tempfile

    from mlops_core.errors import ReportNotWritableError
    from mlops_scaffold.project import full_path

    target = full_path(output)
    try:
        handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    except OSError as error:
        raise ReportNotWritableError(path=target, reason=error.strerror or str(error)) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(partial, 0o666 & ~umask)  # a report, readable like any file the user writes
        os.replace(partial, target)
    except BaseException as error:
        Path(partial).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ReportNotWritableError(path=target, reason=error.strerror or str(error)) from None
        raise
    err_console.print(f"Wrote {target}", highlight=False, soft_wrap=True, markup=False)


def _assessment_lines(result: Any) -> tuple[list[str], list[str]]:
    """The headline and plan of one assessment, as plain lines: (heading lines, plan lines)."""
    heading = [f"{result.path}: {result.verdict}"]
    if result.generated:
        heading.append(
            f"On the mlops-scaffold template at level {result.generated_level} ({result.template_version})."
        )
    heading.append(
        "Scores (found/total per level): "
        + ", ".join(f"L{s.level} {s.found}/{s.total}" for s in result.scores)
    )
    plan: list[str] = []
    if result.next_level is not None:
        plan.append(f"To reach level {result.next_level} ({result.next_level_name}), required:")
        plan += [f"  - {step.title}: {step.text}" for step in result.plan.required] or ["  - (nothing)"]
    elif result.ml_project:
        plan.append(f"Every required capability up to level {result.level} is present.")
    if result.plan.recommended:
        plan.append("Recommended practices missing:")
        plan += [f"  - {step.title}: {step.text}" for step in result.plan.recommended]
    return heading, plan


def _assessment_text(result: Any) -> str:
    if result.projects:  # a monorepo: each project on its own
        head = [f"{result.path}: {result.verdict}", *(f"Note: {n}" for n in result.notes)]
        return "\n".join(head) + "\n\n" + "\n".join(_assessment_text(p) for p in result.projects)
    heading, plan = _assessment_lines(result)
    rows = [
        f"  L{f.level} {'required   ' if f.required else 'recommended'} "
        f"{'yes' if f.found else 'no '} {f.title}"
        + (f": {', '.join(e.path for e in f.evidence)}" if f.evidence else "")
        for f in result.findings
    ]
    return "\n".join([*heading, *rows, *plan, *(f"Note: {n}" for n in result.notes)]) + "\n"


def _print_assessment(result: Any) -> None:
    from rich.table import Table

    if result.projects:  # a monorepo: each project on its own
        console.print(f"{result.path}: {result.verdict}", highlight=False, soft_wrap=True, markup=False)
        for project in result.projects:
            console.print()
            _print_assessment(project)
        return
    heading, plan = _assessment_lines(result)
    for line in heading:
        console.print(line, highlight=False, soft_wrap=True, markup=False)
    table = Table(caption="* required for the level; the others are recommended practices")
    table.add_column("Level", justify="center")
    table.add_column("Capability")
    table.add_column("Found", justify="center")
    table.add_column("Evidence", overflow="fold")
    for finding in result.findings:
        table.add_row(
            str(finding.level),
            finding.title + (" *" if finding.required else ""),
            "[green]yes[/]" if finding.found else "[red]no[/]",
            "\n".join(escape(e.path) for e in finding.evidence)
            + (f"\n(+{finding.more} more)" if finding.more else ""),
        )
    console.print(table)
    for note in result.notes:
        err_console.print(f"[yellow]Note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    for line in plan:
        console.print(line, highlight=False, soft_wrap=True, markup=False)


def _print_fleet(rows: list[Any]) -> None:
    from rich.table import Table

    if not rows:
        return
    table = Table(
        title=f"MLOps maturity (installed template {rows[0].installed})",
        caption="L0-L4: capabilities found/total; * required for the next level",
    )
    table.add_column("Repository", no_wrap=True)
    table.add_column("Level", no_wrap=True)
    for score in rows[0].assessment.scores:
        table.add_column(f"L{score.level}", justify="center", no_wrap=True)
    table.add_column("Template", no_wrap=True)
    table.add_column("Top missing", overflow="fold")
    for row in rows:
        a = row.assessment
        kind = "template" if a.kind == "template" else "not ML"
        level = str(a.level) if a.ml_project else f"{a.level} ({kind})"
        template = escape(a.template_version or "-")
        if row.lags:
            template += f" [red]({row.behind_by} behind)[/]"
        step = (a.plan.required + a.plan.recommended)[:1]
        if a.error is not None:
            missing = f"(not assessed: {a.error})"
        elif not a.ml_project:
            missing = "(a project template)" if a.kind == "template" else "(not an ML project)"
        else:
            missing = f"{step[0].title} (L{step[0].level}){' *' if step[0].required else ''}" if step else "-"
        table.add_row(escape(row.name), level, *row.scores(), template, escape(missing))
    console.print(table)  # on a terminal it fits the width; piped, it keeps whole rows (see _Console)
    from mlops_scaffold.assess.fleet import lagging_lines

    lagging = lagging_lines(rows)
    if lagging:
        console.print(f"Behind the installed template ({len(lagging)}):", highlight=False)
        for line in lagging:
            console.print(f"  {line}", highlight=False, soft_wrap=True, markup=False)


@app.command()
def adopt(
    path: Annotated[
        Path,
        typer.Argument(
            help="The repository (default: the current directory).", metavar="PATH", show_default=False
        ),
    ] = Path("."),
    *,
    level: Annotated[
        str | None,
        typer.Option(
            "--level",
            "-l",
            metavar="LEVEL",
            help="Level to adopt at, 0-4 (default: what `assess` finds).",
            show_default=False,
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
        bool, typer.Option("--defaults", help="Never ask: use the template's defaults for what is not found.")
    ] = False,
    cookiecutter_template: Annotated[
        Path | None,
        typer.Option(
            "--cookiecutter-template",
            metavar="DIR",
            help="A local checkout of the cookiecutter template the project came from (the merge base).",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="List the files that would be added or merged; change nothing.")
    ] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Adopt even what `assess` finds is no ML project (no ML, a template, a monorepo's root).",
        ),
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Put an existing repository on the template, keeping its files.

    At a level (default: what `assess` finds); files both have are merged, never overwritten.
    """
    from mlops_core.errors import AdoptConflictsError
    from mlops_scaffold.adopt import adopt as adopt_repository
    from mlops_scaffold.bounded import printable
    from mlops_scaffold.generate import parse_data

    def ask(key: str, question: str, default: str) -> str:
        return str(typer.prompt(f"{question} [{key}]", default=default, err=True))

    def confirm(question: str) -> bool:
        return bool(typer.confirm(question, default=False, err=True))

    with _handle_errors():
        answers = parse_data(data or [])
        interactive = not defaults and not json_output and sys.stdin.isatty()
        options: dict[str, Any] = {
            "level": level,
            "data": answers,
            "dry_run": dry_run,
            "cookiecutter_template": cookiecutter_template,
            "ask": ask if interactive else None,
            "force": force,
            "confirm": confirm if interactive else None,
        }
        if json_output or interactive:
            result = adopt_repository(path, **options)
        else:
            with err_console.status("Starting") as status:
                result = adopt_repository(path, on_progress=lambda m: status.update(f"{m}..."), **options)
    if json_output:
        typer.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        would = "would be " if result.dry_run else ""
        console.print(
            f"{'Dry run: ' if result.dry_run else ''}{result.path}: adopted at level {result.level} "
            f"({result.level_name}; assessed {result.assessed_level}), template {result.template_version}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
        if result.merge_base:
            console.print(f"Merge base: {result.merge_base}", highlight=False, soft_wrap=True, markup=False)
        for label, style, paths in (
            ("added", "green", result.added),
            ("merged", "yellow", result.merged),
            ("conflict", "bold red", result.conflicts),
        ):
            for changed in paths:
                console.print(
                    f"  [{style}]{would}{label}[/] {escape(changed)}", highlight=False, soft_wrap=True
                )
        inferred = ", ".join(
            f"{k}={printable(str(v))} ({result.answer_sources.get(k, '?')})"
            for k, v in result.answers.items()
            if k != "level"
        )
        console.print(f"Answers: {inferred}", highlight=False, soft_wrap=True, markup=False)
        for note in result.notes:
            err_console.print(f"[yellow]Note:[/] {escape(note)}", highlight=False, soft_wrap=True)
    if result.conflicts and not result.dry_run:
        with _handle_errors():
            raise AdoptConflictsError(conflicts=result.conflicts)


def main() -> None:
    """The console script's entry point (kept for callers of ``mlops_scaffold.cli:main``)."""
    from mlops_scaffold.__main__ import main as run

    run()


if __name__ == "__main__":
    main()
