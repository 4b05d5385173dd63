"""Render a cookiecutter template that a repository names or ships as data: in a sandbox.

``adopt`` re-renders the cookiecutter template a project came from, as the base of its 3-way
merge. That template is foreign input. cookiecutter's own rendering would run it as code: its Jinja
is unsandboxed (``{{ cycler.__init__.__globals__.os.system("id") }}`` runs a command), it imports the
modules that ``_extensions`` names, passes ``_jinja2_env_vars`` to Jinja as options, and writes
wherever a rendered file name points (``{{ cookiecutter.name }}`` = ``../../.bashrc``). So here:

1. The template's files are copied into scratch first: regular files only (a symlink, to a file
   or a folder, is never followed; a FIFO is never opened), without ``.git`` and ``hooks/``, within
   ``MAX_FILES`` files and ``MAX_BYTES`` bytes, and ``directory`` must stay inside it.
2. cookiecutter renders that copy in a child process (``python -P -m mlops_scaffold.sandbox``:
   the current directory is not on its import path) with a time limit (``TIMEOUT``) and an
   address-space limit (``MEMORY``), so a template that loops or allocates cannot stall adopt.
3. In the child, every Jinja environment cookiecutter makes is a
   ``jinja2.sandbox.SandboxedEnvironment`` (no attribute of Python's internals is reachable) with
   only cookiecutter's built-in extensions and only the syntax options of ``_jinja2_env_vars``;
   cookiecutter's own environment class refuses to be created, so a cookiecutter release that
   made one somewhere else fails closed instead of rendering unsandboxed; hooks never run.
4. Every rendered path must stay inside the output folder.

``render_cookiecutter`` returns the rendered project folder or raises ``SandboxError`` with a
one-line reason.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlops_scaffold.bounded import one_line

MAX_FILES = 5_000
MAX_BYTES = 50_000_000
TIMEOUT = 30.0  # seconds; cookiecutter-data-science renders in about 0.5 s
MEMORY = 2 * 1024**3  # bytes of address space for the rendering process

# https://jinja.palletsprojects.com/en/stable/api/#jinja2.Environment: the options that only change
# the template syntax or whitespace, the ones `_jinja2_env_vars` may set here.
_SYNTAX_OPTIONS = frozenset(
    {
        "block_start_string",
        "block_end_string",
        "variable_start_string",
        "variable_end_string",
        "comment_start_string",
        "comment_end_string",
        "line_statement_prefix",
        "line_comment_prefix",
        "trim_blocks",
        "lstrip_blocks",
        "newline_sequence",
        "keep_trailing_newline",
    }
)
# cookiecutter's built-in extensions (filters jsonify/slugify, random_ascii_string, uuid4, {% now %}).
_BUILTIN_EXTENSIONS = (
    "cookiecutter.extensions.JsonifyExtension",
    "cookiecutter.extensions.RandomStringExtension",
    "cookiecutter.extensions.SlugifyExtension",
    "cookiecutter.extensions.TimeExtension",
    "cookiecutter.extensions.UUIDExtension",
)


class SandboxError(Exception):
    """The template could not be rendered in the sandbox; the message is one line."""


# --- the parent: copy, then render in a child process ------------------------------------------------


def copy_template(source: Path, target: Path) -> None:
    """Copy the regular files and folders of ``source`` to ``target`` (see the module docstring)."""
    from mlops_scaffold.bounded import walk

    files = size = 0
    for folder, dirs, names in walk(source):
        rel = Path(folder).relative_to(source)
        dirs[:] = [d for d in dirs if d != ".git" and not (rel == Path(".") and d == "hooks")]
        (target / rel).mkdir(parents=True, exist_ok=True)
        for name in names:
            path = Path(folder, name)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError:
                continue  # a symlink (ELOOP) or unreadable: not part of the copy
            with os.fdopen(fd, "rb") as handle:
                info = os.fstat(handle.fileno())
                if not stat.S_ISREG(info.st_mode):
                    continue
                files += 1
                size += info.st_size
                if files > MAX_FILES or size > MAX_BYTES:
                    raise SandboxError(
                        f"the template has more than {MAX_FILES} files or {MAX_BYTES // 1_000_000} MB"
                    )
                copy = target / rel / name
                with open(copy, "wb") as out:
                    out.write(handle.read(MAX_BYTES + 1))
                os.chmod(copy, stat.S_IMODE(info.st_mode) & 0o755)


def render_cookiecutter(
    template: Path, context: dict[str, Any], scratch: Path, *, directory: str | None = None
) -> Path:
    """Render the cookiecutter template at ``template`` (its ``directory``) with ``context`` into a
    new folder of ``scratch``, in the sandbox; returns the rendered project folder."""
    copy = scratch / "cookiecutter-template-copy"
    try:
        copy_template(template, copy)
    except OSError as error:
        raise SandboxError(f"cannot copy the template: {error.strerror or error}") from None
    root = (copy / directory) if directory else copy
    if os.path.normpath(root) != os.path.normpath(copy) and not os.path.normpath(root).startswith(
        f"{os.path.normpath(copy)}{os.sep}"
    ):
        raise SandboxError(f"its directory {directory!r} leaves the template")
    if not (root / "cookiecutter.json").is_file():
        where = f"its directory {directory!r}" if directory else "it"
        raise SandboxError(f"{where} has no cookiecutter.json")
    output = scratch / "cookiecutter-base"
    output.mkdir()
    request = json.dumps({"template": str(root), "context": context, "output": str(output)}, default=str)
    try:
        done = subprocess.run(
            [sys.executable, "-P", "-m", "mlops_scaffold.sandbox"],
            input=request.encode(),
            capture_output=True,
            cwd=scratch,
            check=False,
            timeout=TIMEOUT,
            process_group=0,
        )
    except subprocess.TimeoutExpired:
        raise SandboxError(f"rendering took longer than {TIMEOUT:.0f} s") from None
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if not isinstance(answer, dict) or "project" not in answer:
        errors = done.stderr.decode(errors="replace").strip().splitlines()
        reason = answer.get("error") if isinstance(answer, dict) else None
        raise SandboxError(
            one_line(
                reason or (errors[-1] if errors else f"the renderer ended with status {done.returncode}")
            )
        )
    project = Path(answer["project"])
    if not project.is_dir() or not project.resolve().is_relative_to(output.resolve()):
        raise SandboxError("the rendered project is not in the output folder")
    return project


# --- the child: cookiecutter with a sandboxed Jinja --------------------------------------------------


def _limit_memory() -> None:
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    except (ImportError, ValueError, OSError):  # not on this platform: the time limit still holds
        pass


def _syntax_options(context: dict[str, Any]) -> dict[str, Any]:
    raw = (context.get("cookiecutter") or {}).get("_jinja2_env_vars") or {}
    options: dict[str, Any] = {"keep_trailing_newline": True}
    if isinstance(raw, dict):
        options |= {k: v for k, v in raw.items() if k in _SYNTAX_OPTIONS and isinstance(v, str | bool)}
    return options


def _inside(path: str, folder: str) -> str:
    """``path`` when, joined to ``folder`` (absolute paths as they are), it stays inside ``folder``."""
    if "\0" in path:
        raise ValueError("a rendered path holds a NUL character")
    target = os.path.normpath(os.path.join(folder, path))
    if target != folder and not target.startswith(folder + os.sep):
        raise ValueError(f"a rendered path leaves the output folder: {one_line(path, 80)!r}")
    return path


def _render_in_child(template: Path, context: dict[str, Any], output: Path) -> Path:
    import cookiecutter.environment as cookiecutter_environment
    import cookiecutter.generate as cookiecutter_generate
    import cookiecutter.prompt as cookiecutter_prompt
    import cookiecutter.utils as cookiecutter_utils
    from jinja2 import StrictUndefined, Template
    from jinja2.sandbox import SandboxedEnvironment

    folder = os.path.normpath(output)

    class Sandboxed(SandboxedEnvironment):
        """cookiecutter's environment, sandboxed; with ``paths``, every string it renders is a path
        (cookiecutter's generate_files renders file and folder names with from_string) that must
        stay inside the output folder."""

        def __init__(self, *, paths: bool, **options: Any) -> None:
            super().__init__(undefined=StrictUndefined, extensions=list(_BUILTIN_EXTENSIONS), **options)
            self.paths = paths

        def from_string(self, source: Any, globals: Any = None, template_class: Any = None) -> Template:
            template = super().from_string(source, globals, template_class)
            if self.paths:
                render = template.render
                template.render = lambda *a, **k: _inside(render(*a, **k), folder)  # type: ignore[method-assign]
            return template

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("cookiecutter made an unsandboxed Jinja environment; nothing was rendered")

    for module in (cookiecutter_generate, cookiecutter_prompt, cookiecutter_utils):
        if not hasattr(module, "create_env_with_context"):  # a cookiecutter this code does not know
            raise RuntimeError(f"{module.__name__}.create_env_with_context is gone; nothing was rendered")
    cookiecutter_generate.create_env_with_context = lambda c: Sandboxed(paths=True, **_syntax_options(c))
    cookiecutter_prompt.create_env_with_context = lambda c: Sandboxed(paths=False, **_syntax_options(c))
    cookiecutter_utils.create_env_with_context = refuse
    cookiecutter_environment.StrictEnvironment.__init__ = refuse

    recorded = cookiecutter_generate.generate_context(
        context_file=str(template / "cookiecutter.json"), default_context={}, extra_context=context
    )
    recorded["cookiecutter"] = cookiecutter_prompt.prompt_for_config(recorded, no_input=True)
    recorded["cookiecutter"]["_template"] = str(template)
    recorded["_cookiecutter"] = {k: v for k, v in recorded["cookiecutter"].items() if not k.startswith("_")}
    project = cookiecutter_generate.generate_files(
        repo_dir=str(template), context=recorded, output_dir=str(output), accept_hooks=False
    )
    return Path(_inside(project, folder))


def main() -> int:
    """The child process: read the request on stdin, answer one JSON line on stdout."""
    _limit_memory()
    answer_to = sys.stdout
    sys.stdout = sys.stderr  # whatever cookiecutter prints stays out of the answer
    try:
        request = json.loads(sys.stdin.read())
        project = _render_in_child(Path(request["template"]), request["context"], Path(request["output"]))
        answer: dict[str, str] = {"project": str(project)}
    except MemoryError:
        answer = {"error": f"rendering needed more than {MEMORY // 1024**3} GB of memory"}
    except RecursionError:
        answer = {"error": "the template nests too deeply to render"}
    except Exception as error:  # any failure of a foreign template is reported, in one line
        answer = {"error": one_line(f"{type(error).__name__}: {error}")}
    answer_to.write(json.dumps(answer) + "\n")
    answer_to.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
