"""Install the `mlops-scaffold` command from this clone, the way command-line tools are installed.

    python3 scripts/install.py [--extra infra]

It checks what mlops-scaffold needs first (Python 3.11+, git; make, which generated projects run
their tasks with from level 1, gets a warning), then installs mlops-scaffold as a uv tool: its own
environment, its command in uv's tool directory (`~/.local/bin` by default), as `pipx install`
would, so no virtual environment is activated in your shell and none leaks into the projects you
generate (whose `make` targets run uv in the project's own `.venv`). The install is editable: the
command follows this clone. When uv is missing it is installed first, from PyPI, as a uv tool too
(a throw-away virtual environment with `pip install uv` bootstraps it); generated projects run on
uv. Running it again updates both. `--extra infra` adds the Pulumi SDKs that `plan` and
`infra-config` need.

Every failure is one line saying what is wrong and one saying how to fix it; exit status 1.
This script runs on any Python 3 (it checks the version before anything else).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
UV_DOCS = "https://docs.astral.sh/uv/getting-started/installation/"


class InstallError(Exception):
    def __init__(self, message: str, fix: str) -> None:
        super().__init__(message)
        self.message, self.fix = message, fix


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run(command: list[str], what: str, fix: str) -> str:
    """Run ``command``; InstallError naming ``what`` failed (with the command's last line) if it does."""
    try:
        done = subprocess.run(command, capture_output=True, text=True)
    except OSError as error:
        raise InstallError(f"{what} failed: {error}.", fix) from None
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise InstallError(f"{what} failed: {lines[-1].strip()}", fix)
    return done.stdout.strip()


def check_prerequisites() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 (this script runs on any Python 3, to say so)
        raise InstallError(
            f"mlops-scaffold needs Python 3.11 or newer; this is Python {sys.version.split()[0]}.",
            "Run this script with a newer Python (e.g. `python3.12 scripts/install.py`); uv can install "
            "one: `uv python install 3.12`.",
        )
    if shutil.which("git") is None:
        raise InstallError(
            "git is not installed; mlops-scaffold keeps template versions in git and projects are git "
            "repositories.",
            "Install git (e.g. `apt-get install git`, `brew install git`, https://git-scm.com/downloads) "
            "and run this again.",
        )
    if shutil.which("make") is None:
        say(
            "Warning: make is not installed; projects from level 1 run their tasks with it "
            "(`make train`): install it (e.g. `apt-get install make`)."
        )


def bootstrap_uv() -> str:
    """Install uv from PyPI as a uv tool (through a throw-away virtual environment); its path."""
    say("uv is not on your PATH: installing it from PyPI (pip install uv, then uv tool install uv)")
    fix = f"Install uv yourself ({UV_DOCS}, e.g. `pipx install uv`), then run this again."
    with tempfile.TemporaryDirectory(prefix="mlops-scaffold-uv.") as scratch:
        boot = Path(scratch) / "venv"
        run(
            [sys.executable, "-m", "venv", str(boot)],
            "Creating a virtual environment (python3 -m venv)",
            "On Debian or Ubuntu install python3-venv (`apt-get install python3-venv`); or " + fix,
        )
        python = boot / "bin" / "python"
        run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "uv"],
            "pip install uv",
            fix,
        )
        run([str(boot / "bin" / "uv"), "tool", "install", "--force", "uv"], "uv tool install uv", fix)
        bin_dir = run([str(boot / "bin" / "uv"), "tool", "dir", "--bin"], "uv tool dir --bin", fix)
    return str(Path(bin_dir) / "uv")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--extra", action="append", default=[], choices=["infra"], help="an optional extra to install"
    )
    args = parser.parse_args(argv)
    try:
        check_prerequisites()
        uv = shutil.which("uv") or bootstrap_uv()
        target = f"{REPO}[{','.join(args.extra)}]" if args.extra else str(REPO)
        say(f"Installing mlops-scaffold from {REPO} as a uv tool (uv tool install --editable)")
        run(
            # Compiled once here, so that no run pays for it (plan imports all of pulumi_aws).
            [uv, "tool", "install", "--compile-bytecode", "--python", sys.executable, "--editable", target],
            "uv tool install",
            f"Check that {REPO} is a complete clone of mlops-scaffold and that PyPI can be reached, "
            "then run this again.",
        )
        bin_dir = Path(run([uv, "tool", "dir", "--bin"], "uv tool dir --bin", "Run this again."))
    except InstallError as error:
        say(f"Error: {error.message}")
        say(f"Fix: {error.fix}")
        return 1
    say(f"Installed: mlops-scaffold and uv are in {bin_dir}")
    on_path = {Path(p).resolve() for p in os.environ.get("PATH", "").split(os.pathsep) if p}
    if bin_dir.resolve() not in on_path:
        say(
            f'{bin_dir} is not on your PATH: run `export PATH="{bin_dir}:$PATH"` (and `uv tool '
            "update-shell` to add it for every new shell)."
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
