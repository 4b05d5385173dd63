"""A newcomer's first command: the README's first shell block, run verbatim in a fresh clone on a
machine that has Python 3.11+, git and make but no uv, must end with a trained model.

The block installs uv (from PyPI) and mlops-scaffold as uv tools (scripts/install.py), creates
`../demo` and trains in it. The machine is played by a clean environment: HOME is empty, PATH holds
the system directories (git, make, no uv) and the Pythons a user may have (uv would download the
project's Python 3.12 where it is missing; these machines cannot, so it is on PATH). uv's shared
cache keeps it cheap (UV_CACHE_DIR, as every generated project of the suite uses).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from project_envs import PYTHONS, REPO, UV_CACHE, find_interpreter

SYSTEM_PATH = ("/usr/local/bin", "/usr/bin", "/bin")
# What the machine's network and package indexes need (proxies, certificates, pip's index settings).
KEPT = re.compile(
    r"^(PIP_|SSL_CERT_|REQUESTS_CA_BUNDLE$|(HTTPS?|NO|ALL)_PROXY$|LANG$|LC_|TZ$)", re.IGNORECASE
)


def first_shell_block(readme: str) -> str:
    return readme.split("```sh\n", 1)[1].split("```", 1)[0]


def fresh_clone(dst: Path) -> Path:
    """`git clone` of this repository, plus the working tree's changes not committed yet (so that the
    test checks the tree under test, as a newcomer's clone of it would be once committed)."""
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(dst)], check=True)
    diff = subprocess.run(
        ["git", "diff", "HEAD", "--binary"], cwd=REPO, capture_output=True, check=True
    ).stdout
    if diff:
        subprocess.run(["git", "apply", "--whitespace=nowarn"], cwd=dst, input=diff, check=True)
    untracked = subprocess.run(
        ["git", "ls-files", "--others", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, untracked.split("\0")):
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, dst / name)
    return dst


def newcomer_env(tmp_path: Path) -> dict[str, str]:
    """A fresh machine: an empty HOME, the system's programs, Python 3.11-3.13 (`python3` is 3.11)."""
    pythons = tmp_path / "pythons"
    pythons.mkdir()
    for version in PYTHONS:
        found = find_interpreter(version)
        assert found, f"python{version} is needed (see project_envs.find_interpreter)"
        (pythons / f"python{version}").symlink_to(found)
    (pythons / "python3").symlink_to(pythons / "python3.11")
    path = os.pathsep.join([str(pythons), *(d for d in SYSTEM_PATH if Path(d).is_dir())])
    assert shutil.which("uv", path=path) is None, "this check needs a PATH without uv"
    assert shutil.which("git", path=path) and shutil.which("make", path=path)
    home = tmp_path / "home"
    home.mkdir()
    kept = {key: value for key, value in os.environ.items() if KEPT.match(key)}
    return kept | {
        "HOME": str(home),
        "PATH": path,
        "UV_CACHE_DIR": str(UV_CACHE),
        "UV_PYTHON_DOWNLOADS": "never",  # see the module docstring
        "UV_NO_PROGRESS": "1",
    }


@pytest.mark.slow
def test_the_readmes_first_block_ends_with_a_trained_model(tmp_path: Path) -> None:
    clone = fresh_clone(tmp_path / "mlops-scaffold")
    block = first_shell_block((clone / "README.md").read_text(encoding="utf-8"))
    assert "scripts/install.py" in block and "make -C ../demo train" in block, block
    env = newcomer_env(tmp_path)
    done = subprocess.run(
        ["bash", "-c", block], cwd=clone, env=env, capture_output=True, text=True, timeout=900
    )
    output = f"{done.stdout}\n{done.stderr}"
    assert done.returncode == 0, output
    assert "VIRTUAL_ENV" not in output, output
    assert not [line for line in output.splitlines() if line.startswith("warning:")], output  # uv's
    demo = tmp_path / "demo"
    assert len(list((demo / "models").glob("*/lineage.yaml"))) == 1, output
    assert (Path(env["HOME"]) / ".local" / "bin" / "uv").exists(), "uv was installed as a uv tool"

    # A shell with some other virtual environment activated: the project's make targets run in the
    # project's own .venv, without uv's "VIRTUAL_ENV=... does not match" warning.
    bin_dir = Path(env["HOME"]) / ".local" / "bin"
    other = Path(env["HOME"]) / ".local" / "share" / "uv" / "tools" / "mlops-scaffold"
    activated = env | {"VIRTUAL_ENV": str(other), "PATH": f"{other / 'bin'}:{bin_dir}:{env['PATH']}"}
    evaluated = subprocess.run(
        ["make", "evaluate"], cwd=demo, env=activated, capture_output=True, text=True, timeout=300
    )
    assert evaluated.returncode == 0, evaluated.stdout + evaluated.stderr
    assert "VIRTUAL_ENV" not in evaluated.stdout + evaluated.stderr
