"""`mlops-scaffold new` with odd names, paths and values, and interrupted or killed at any moment."""

from __future__ import annotations

import email.parser
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from helpers import git, runner, snapshot
from pytorch_index import TORCH_VERSION, find_torch_wheel
from upgrade_support import wait_for

from mlops_core.resources import template_dir
from mlops_scaffold.cli import app
from mlops_scaffold.generate import dependency_names
from mlops_scaffold.template_store import store_path

CLI = Path(sys.executable).with_name("mlops-scaffold")


def new(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["new", *args])
    return result.exit_code, " ".join(result.output.split())


def leftovers(*folders: Path) -> list[str]:
    """Staging and scratch directories of earlier runs."""
    found = []
    for folder in folders:
        for entry in folder.iterdir() if folder.is_dir() else ():
            if entry.name.endswith(".partial") or entry.name.startswith("mlops-scaffold-"):
                found.append(str(entry))
    return found


# --- names and values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["mlflow", "feast", "torch", "fastapi", "pandas", "numpy", "sklearn", "scikit_learn", "scikit-learn",
     "scipy", "boto3", "pandera", "pyarrow", "uvicorn", "starlette", "pytest", "yaml", "jsonschema", "s3fs",
     "click", "PyYAML"],
)  # fmt: skip
def test_names_that_shadow_the_projects_own_dependencies_are_refused(tmp_path: Path, name: str) -> None:
    code, output = new(str(tmp_path / "p"), "--level", "1", "--defaults", "--name", name)
    assert code == 3, output
    assert "cannot be a project name" in output and "Fix:" in output
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    ("name", "framework"),
    [("sympy", "pytorch"), ("networkx", "pytorch"), ("mpmath", "pytorch"), ("triton", "pytorch"),
     ("nvidia-cublas", "pytorch"), ("nvidia", "pytorch"), ("fsspec", "sklearn")],
)  # fmt: skip
def test_names_that_shadow_torchs_dependencies_are_refused(tmp_path: Path, name: str, framework: str) -> None:
    args = ["--level", "1", "--framework", framework, "--defaults", "--no-lock"]
    code, output = new(str(tmp_path / name), *args)
    assert code == 3, output
    assert "cannot be a project name" in output and "Fix:" in output
    assert not (tmp_path / name).exists()


def test_the_dependency_list_comes_from_the_template() -> None:
    names = dependency_names()
    assert {"mlflow", "feast", "torch", "fastapi", "scikit-learn", "pyyaml", "s3fs", "starlette"} <= names
    assert {"sympy", "networkx", "mpmath", "triton", "nvidia-cudnn-cu13"} <= names  # torch's, in no lock
    assert "lock-template-project" not in names and "churn-model" not in names


def test_the_torch_dependency_list_matches_the_pinned_torch() -> None:
    """The list scripts/refresh_torch_dependencies.py writes is for the torch the template pins, and
    holds every requirement of PyTorch's own CPU wheel (read from its metadata, where it is here)."""
    listing = (template_dir() / "locks" / "torch-dependencies.txt").read_text(encoding="utf-8")
    pyproject = (template_dir() / "project" / "pyproject.toml.jinja").read_text(encoding="utf-8")
    pinned = set(re.findall(r'"torch==([^"]+)"', pyproject))
    assert pinned == {TORCH_VERSION}, "the pytorch index fixture serves another torch than the template pins"
    stale = "stale list: run `python scripts/refresh_torch_dependencies.py`"
    assert f"torch=={TORCH_VERSION} " in listing, stale
    listed = {line for line in listing.splitlines() if line and not line.startswith("#")}
    wheel = find_torch_wheel()
    if wheel is None:
        pytest.skip("PyTorch's CPU wheel is not on this machine (MLOPS_TEST_TORCH_WHEEL)")
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        metadata = email.parser.BytesParser().parsebytes(archive.read(name))
    required = {
        re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        for requirement in metadata.get_all("Requires-Dist", [])
        if "extra ==" not in requirement
    }
    assert {"sympy", "networkx", "filelock"} <= required, required
    assert required <= listed, f"missing from the list: {sorted(required - listed)}"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--level", "0", "--data", "level=4"], "--level 0 and --data level=4 disagree"),
        (["--level", "1", "--framework", "pytorch", "--data", "framework=sklearn"], "disagree"),
        (["--level", "1", "--name", "churn", "--data", "project_name=fraud"], "disagree"),
        (["--level", "1", "--data", "ci=github", "--data", "ci=gitlab"], "sets ci twice"),
    ],
)
def test_conflicting_values_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    code, output = new(str(tmp_path / "p"), "--defaults", *args)
    assert code == 2, output
    assert message in output and "Fix:" in output
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("level", [" 1", "1 ", "\u0661", "+1", "1_0", "01x", "1.0", ""])
def test_only_the_documented_level_forms_are_levels(tmp_path: Path, level: str) -> None:
    code, output = new(str(tmp_path / "p"), "--defaults", "--level", level)
    assert code == 4, output
    assert "does not exist" in output
    assert not (tmp_path / "p").exists()


def test_level_is_required_without_a_terminal(tmp_path: Path) -> None:
    for extra in ([], ["--defaults"]):
        code, output = new(str(tmp_path / "p"), *extra)
        assert code == 2, output
        assert "--level is required" in output and "Fix: Add --level N" in output
    assert not (tmp_path / "p").exists()


def test_new_ends_with_the_next_steps_for_its_level(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    without_uv = [d for d in os.environ["PATH"].split(os.pathsep) if not (Path(d) / "uv").exists()]
    monkeypatch.setenv("PATH", os.pathsep.join(without_uv))
    assert shutil.which("uv") is None and shutil.which("git") is not None
    code, output = new(str(tmp_path / "zero"), "--level", "0", "--defaults")
    assert code == 0, output
    assert "you need uv" in output and "uv sync" in output
    assert "uv run python -m zero.train" in output and "make " not in output  # no Makefile at level 0
    assert "uv is not on your PATH" in output
    code, output = new(str(tmp_path / "two"), "--level", "2", "--defaults")
    assert code == 0, output
    for command in ("uv sync", "make test", "make train", "make pipeline"):
        assert command in output
    assert "make promote" not in output


# --- destinations ---------------------------------------------------------------------------------------


def test_a_name_too_long_for_the_file_system_is_a_clear_error(tmp_path: Path) -> None:
    code, output = new(str(tmp_path / ("a" * 300)), "--level", "0", "--defaults")
    assert code == 3 and "more than the 100 allowed" in output, output
    code, output = new(str(tmp_path / ("a" * 300)), "--level", "0", "--defaults", "--name", "churn")
    assert code == 6 and "longer than the 255 bytes" in output, output
    assert "Traceback" not in output and list(tmp_path.iterdir()) == []


def test_a_dangling_symlink_destination_is_a_clear_error(tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "missing")
    code, output = new(str(link), "--level", "0", "--defaults")
    assert code == 6, output
    assert "symbolic link" in output and "which does not exist" in output and "Traceback" not in output
    assert link.is_symlink() and sorted(p.name for p in tmp_path.iterdir()) == ["link"]


def test_a_symlink_destination_needs_consent_and_then_fills_the_target(tmp_path: Path) -> None:
    target = tmp_path / "volume"
    target.mkdir()
    link = tmp_path / "churn"
    link.symlink_to(target)
    code, output = new(str(link), "--level", "0", "--defaults")
    assert code == 18, output
    assert f"the project would be created in '{target}'" in output and "--follow-symlink" in output
    assert list(target.iterdir()) == []
    code, output = new(str(link), "--level", "0", "--defaults", "--follow-symlink", "--name", "churn")
    assert code == 0, output
    assert (target / "pyproject.toml").is_file() and link.is_symlink()


def test_a_destination_inside_another_repository_needs_consent(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    outer.mkdir()
    git(outer, "init", "--quiet")
    (outer / ".gitignore").write_text("ignored/\n")
    before = snapshot(outer)
    code, output = new(str(outer / "demo"), "--level", "0", "--defaults")
    assert code == 18, output
    assert "nested" in output and "--force-nested" in output and "--no-git" in output
    assert snapshot(outer) == before
    code, output = new(str(outer / "nested"), "--level", "0", "--defaults", "--force-nested")
    assert code == 0 and (outer / "nested" / ".git").is_dir(), output
    code, output = new(str(outer / "part"), "--level", "0", "--defaults", "--no-git")
    assert code == 0 and not (outer / "part" / ".git").exists(), output
    code, output = new(str(outer / "ignored" / "demo"), "--level", "0", "--defaults")
    assert code == 0, output  # git in outer does not see it


def test_an_empty_existing_destination_on_another_file_system_is_filled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A mount point (e.g. a devcontainer volume): nothing may be moved into it across devices."""
    volume = tmp_path / "volume"
    volume.mkdir()
    original = Path.rename

    def rename(self: Path, target: str | os.PathLike[str]) -> Path:
        if self.is_relative_to(volume) != Path(target).is_relative_to(volume):
            raise OSError(18, "Invalid cross-device link")  # EXDEV, as across a mount point
        return original(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    code, output = new(str(volume), "--level", "0", "--defaults")
    assert code == 0, output
    assert (volume / "pyproject.toml").is_file() and not leftovers(volume, tmp_path)


def test_a_real_empty_mount_point_is_filled(tmp_path: Path) -> None:
    volume = tmp_path / "volume"
    volume.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "none", str(volume)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        code, output = new(str(volume), "--level", "0", "--defaults")
        assert code == 0, output
        assert (volume / "pyproject.toml").is_file() and not leftovers(volume, tmp_path)
    finally:
        subprocess.run(["umount", str(volume)], check=True)


# --- interruption ---------------------------------------------------------------------------------------


def run_cli(
    args: list[str], home: Path, temp_dir: Path, hang_in_copier: Path | None = None
) -> subprocess.Popen[bytes]:
    """`mlops-scaffold ARGS` in a process of its own; with ``hang_in_copier``, it writes that file
    when copier starts rendering and then waits there (to be interrupted)."""
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(temp_dir)}
    if hang_in_copier is None:
        command = [str(CLI), *args]
    else:
        command = [
            sys.executable,
            "-c",
            "import sys, time, copier\n"
            "def hang(*args, **kwargs):\n"
            f"    open({str(hang_in_copier)!r}, 'w').close()\n"
            "    time.sleep(120)\n"
            "copier.run_copy = hang\n"
            f"sys.argv = ['mlops-scaffold', *{args!r}]\n"
            "from mlops_scaffold.__main__ import main\nmain()\n",
        ]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("delay", [0.05, 0.2, 0.5, 1.0])
def test_ctrl_c_at_any_moment_prints_no_traceback_and_leaves_nothing(
    tmp_path: Path, isolated_home: Path, delay: float
) -> None:
    """From the first line of mlops-scaffold on, Ctrl-C ends with one line and exit 130.

    (Python's own start-up, up to the console script importing our entry point, is not ours to
    handle: a traceback from there shows no frame of a file of the mlops_scaffold package.)
    """
    temp_dir, dst = tmp_path / "tmp", tmp_path / "work" / "demo"
    temp_dir.mkdir()
    process = run_cli(["new", str(dst), "--level", "1", "--defaults"], isolated_home, temp_dir)
    time.sleep(delay)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert not re.search(rb'File "[^"]*[/\\]mlops_scaffold[/\\]', err), err.decode()
    finished = b"Created " in out or b"cut short" in err or b"had been created" in err
    if process.returncode == 0 or finished:  # the signal came after the project was in place
        assert (dst / ".copier-answers.yml").is_file() and not leftovers(tmp_path / "work", temp_dir)
        return
    if process.returncode == 1:  # click's own Ctrl-C handling, while it parses the command line
        assert b"Aborted!" in err, err.decode()
    else:
        assert process.returncode in (130, -signal.SIGINT), err.decode()
    assert not dst.exists() and not leftovers(tmp_path / "work", temp_dir), err.decode()


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_a_terminated_or_killed_new_leaves_nothing_that_blocks_the_next(
    tmp_path: Path, isolated_home: Path, how: signal.Signals
) -> None:
    temp_dir, dst, marker = tmp_path / "tmp", tmp_path / "work" / "demo", tmp_path / "rendering"
    temp_dir.mkdir()
    process = run_cli(["new", str(dst), "--level", "0", "--defaults"], isolated_home, temp_dir, marker)
    wait_for(marker, process)
    process.send_signal(how)
    _out, err = process.communicate(timeout=60)
    assert not dst.exists()
    if how == signal.SIGTERM:
        assert process.returncode == 130 and b"nothing was written" in err, err.decode()
        assert not leftovers(tmp_path / "work", temp_dir)
    else:  # the staging and scratch directories stay behind, held by nobody
        stale = leftovers(tmp_path / "work", temp_dir)
        assert len(stale) == 2, stale
        for path in stale:
            os.utime(path, (time.time() - 60, time.time() - 60))
    again = run_cli(["new", str(dst), "--level", "0", "--defaults"], isolated_home, temp_dir)
    _out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err.decode()
    assert (dst / "pyproject.toml").is_file() and not leftovers(tmp_path / "work", temp_dir)


def test_a_git_lock_left_in_the_store_by_a_killed_git_does_not_block(tmp_path: Path) -> None:
    code, output = new(str(tmp_path / "first"), "--level", "0", "--defaults")
    assert code == 0, output
    lock = store_path() / ".git" / "index.lock"
    lock.write_text("")  # what a git killed while staging the template leaves
    code, output = new(str(tmp_path / "second"), "--level", "0", "--defaults")
    assert code == 0, output
    assert not lock.exists()


# --- help --------------------------------------------------------------------------------------------


COMMANDS = ["new", "upgrade", "status", "levels", "assess", "adopt", "plan", "infra-config", "platform init"]


def test_the_help_tests_cover_every_command() -> None:
    import typer.core
    import typer.main

    def names(group: typer.core.TyperGroup, prefix: str = "") -> list[str]:  # "platform init"
        return [
            found
            for name, command in group.commands.items()
            for found in (
                names(command, f"{prefix}{name} ") if hasattr(command, "commands") else [f"{prefix}{name}"]
            )
        ]

    assert sorted(names(typer.main.get_command(app))) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_reads_like_uvs(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: mlops-scaffold {command} [OPTIONS]")
    for odd in ("<bool>", "<str>", "<path>", "<list", "{path}", "{PATH}", "TEXT", "BOOLEAN"):
        assert odd not in result.output, (odd, result.output)


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_every_help_takes_h_and_ends_with_examples(command: str) -> None:
    """`-h` works like `--help`, and every help ends with one or two examples of that command."""
    args = command.split()
    short = runner.invoke(app, [*args, "-h"])
    assert short.exit_code == 0, short.output
    assert short.output == runner.invoke(app, [*args, "--help"]).output
    examples = short.output.split("\nExamples:\n", 1)[1].splitlines()
    commands = [line.strip() for line in examples if line.strip().startswith("mlops-scaffold ")]
    assert 1 <= len(commands) <= 2, short.output
    assert all(line.startswith(f"mlops-scaffold {command}".rstrip()) for line in commands)
    assert all(line.strip().startswith(("# ", "mlops-scaffold ")) for line in examples if line.strip())


# The words that name an option's value: what it is, never the Python parameter's name.
METAVARS = {"LEVEL", "NAME", "FRAMEWORK", "VENDOR", "VERSION", "KEY=VALUE", "ENV", "DIR", "FILE"}
METAVARS |= {"OWNER/REPO"}


@pytest.mark.parametrize("command", COMMANDS)
def test_option_values_are_named_alike(command: str) -> None:
    import typer.main

    click_command = typer.main.get_command(app)
    for word in command.split():  # "platform init": the group, then its command
        click_command = click_command.commands[word]  # type: ignore[attr-defined]
    for param in click_command.params:
        if param.param_type_name == "option" and not param.is_flag:
            assert param.metavar in METAVARS, (command, param.opts, param.metavar)
        if param.param_type_name == "argument":
            assert param.metavar in {"PATH", "PATH...", "PROJECT_PATH", "DIR"}, (command, param.metavar)


def test_the_top_level_help_lists_each_commands_whole_summary() -> None:
    import typer.main

    output = runner.invoke(app, ["--help"]).output
    listed = " ".join(output.split("\nCommands:\n", 1)[1].split("\nExamples:", 1)[0].split())
    assert "..." not in listed
    for name, command in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
        summary = " ".join(command.help.split("\n\n", 1)[0].split())
        assert f"{name} {summary}" in listed, (name, listed)
        assert len(summary) <= 62, f"{name}: keep the summary to one line of the list: {summary}"


def test_a_default_is_shown_once() -> None:
    output = runner.invoke(app, ["adopt", "--help"], env={"COLUMNS": "200"}).output
    assert "PATH  The repository (default: the current directory).\n" in output


def test_the_readme_usage_block_lists_every_option() -> None:
    import typer.main

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    usage = readme.split("## Usage\n", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    blocks: dict[str, str] = {}
    for line in usage.splitlines():
        words = line.split()
        if words[:1] == ["mlops-scaffold"] and len(words) > 1 and not words[1].startswith("-"):
            current = words[1]
        blocks[current] = blocks.get(current, "") + " " + line
    for name, command in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            if param.param_type_name == "option" and "--help" not in param.opts:
                names = [*param.opts, *param.secondary_opts]
                assert any(re.search(rf"{re.escape(n)}\b", blocks[name]) for n in names), (name, names)


def test_new_help_names_its_values() -> None:
    output = runner.invoke(app, ["new", "--help"], env={"COLUMNS": "200"}).output
    assert "Usage: mlops-scaffold new [OPTIONS] PATH\n" in output
    for label in ("-l, --level LEVEL", "-d, --data KEY=VALUE", "--git / --no-git", "--force-nested"):
        assert label in output


def test_upgrade_of_a_path_too_long_is_a_clear_error(tmp_path: Path) -> None:
    for command in ("upgrade", "status"):
        result = runner.invoke(app, [command, str(tmp_path / ("a" * 300))])
        assert result.exit_code == 11, result.output
        assert "File name too long" in result.output and "Traceback" not in result.output
