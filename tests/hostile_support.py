"""A corpus of hostile repositories, built here: each case is a git repository someone else wrote to
run code on, stall, crash or leak from whoever assesses or adopts it.

Every program a case plants writes its own canary file into ``canaries`` when it runs; a command
handled the case safely when that folder is still empty afterwards. The cases are shared by
tests/test_hostile_repos.py (which runs them through every command) and benchmarks/bench_hostile.py
(which times each command on each case).
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable
from pathlib import Path

from assess_support import build_tree, git_commit_all

# Enough to look like a repository assess and adopt have something to say about.
OWN_FILES = {
    "pyproject.toml": '[project]\nname = "victim"\nversion = "0.1.0"\nrequires-python = ">=3.11"\n',
    "src/victim/__init__.py": "",
    "src/victim/train.py": "import sklearn\n\n\ndef train() -> None:\n    pass\n",
    "README.md": "# victim\n",
}
SSTI = "{{ cycler.__init__.__globals__.os.system('touch %s') }}"
SECRET = "LEAKED-SECRET-VALUE"


def canary_command(canaries: Path, name: str) -> str:
    """A shell command that leaves ``canaries/name`` behind when anything runs it (and passes its
    input through, so a filter that does run changes nothing else)."""
    return f"sh -c 'touch {canaries / name}; cat' --"


def _hook_dir(folder: Path, canaries: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for hook in (
        "pre-commit",
        "post-checkout",
        "post-commit",
        "post-merge",
        "post-index-change",
        "reference-transaction",
        "pre-auto-gc",
        "post-rewrite",
        "fsmonitor-watchman",
    ):
        script = folder / hook
        script.write_text(f"#!/bin/sh\ntouch {canaries / ('hook-' + hook)}\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


# Each program git can be told to run, with the canary it leaves (see GIT_PROGRAMS below).
def plant_git_programs(repo: Path, canaries: Path) -> None:
    """Configure every program setting in ``repo``'s own .git/config (and a file it includes), with
    attributes that select the drivers, after the repository's last commit (our own test helpers
    use plain git). The work tree's files get a new mtime, so git re-reads (and would filter) them."""
    hooks = _hook_dir(repo / ".git" / "evil-hooks", canaries)
    _hook_dir(repo / ".git" / "hooks", canaries)
    included = repo / ".git" / "evil.config"
    included.write_text(
        f'[filter "inc=luded"]\n\tclean = {canary_command(canaries, "included-filter-clean")}\n'
        "\trequired = true\n"
    )
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "attributes").write_text(
        "* filter=evil diff=evil merge=evil\n*.md filter=inc=luded\n"
    )
    settings = {
        "core.fsmonitor": canary_command(canaries, "fsmonitor"),
        "core.hooksPath": str(hooks),
        "core.sshCommand": canary_command(canaries, "ssh-command"),
        "core.pager": canary_command(canaries, "core-pager"),
        "pager.status": canary_command(canaries, "pager-status"),
        "core.askPass": canary_command(canaries, "askpass"),
        "core.editor": canary_command(canaries, "editor"),
        "credential.helper": canary_command(canaries, "credential-helper"),
        "diff.external": canary_command(canaries, "diff-external"),
        "diff.evil.textconv": canary_command(canaries, "diff-textconv"),
        "diff.evil.command": canary_command(canaries, "diff-command"),
        "merge.evil.driver": canary_command(canaries, "merge-driver"),
        "filter.evil.clean": canary_command(canaries, "filter-clean"),
        "filter.evil.smudge": canary_command(canaries, "filter-smudge"),
        "filter.evil.process": canary_command(canaries, "filter-process"),
        "filter.evil.required": "true",
        "gpg.program": canary_command(canaries, "gpg-program"),
        "remote.origin.url": str(repo),
        "remote.origin.uploadpack": canary_command(canaries, "uploadpack"),
        "include.path": str(included),
    }
    config = repo / ".git" / "config"
    lines = [config.read_text()]
    for key, value in settings.items():
        section, _, rest = key.partition(".")
        subsection, _, name = rest.rpartition(".")
        header = f'[{section} "{subsection}"]' if subsection else f"[{section}]"
        lines.append(
            f'{header}\n\t{name} = "{value}"\n' if " " in value else f"{header}\n\t{name} = {value}\n"
        )
    config.write_text("".join(lines))
    later = os.stat(config).st_mtime + 5
    for folder, _dirs, files in os.walk(repo):
        if ".git" in Path(folder).relative_to(repo).parts[:1]:
            continue
        for name in files:
            path = Path(folder, name)
            if not path.is_symlink():
                os.utime(path, (later, later))


def _cookiecutter_template(root: Path, canaries: Path, *, readme: str, **context: str) -> Path:
    """A cookiecutter template whose hooks, extension module and defaults would leave canaries."""
    evil_module = f"open({str(canaries / 'extension-imported')!r}, 'w').close()\n"
    return build_tree(
        root,
        {
            "cookiecutter.json": json.dumps(
                {"repo_name": "victim", "payload": "safe", **context, "_extensions": ["evil_ext.Evil"]}
            ),
            "evil_ext.py": evil_module,
            "hooks/pre_gen_project.py": evil_module.replace("extension-imported", "hook-ran"),
            "{{cookiecutter.repo_name}}/README.md": readme,
        },
    )


def outside(repo: Path, what: str) -> Path:
    """A folder beside the fleet folder (never one of its repositories) for ``repo``'s case."""
    return repo.parent.parent / "outside" / f"{repo.name}-{what}"


def _committed(repo: Path, files: dict[str, str | bytes]) -> Path:
    build_tree(repo, {**OWN_FILES, **files})
    git_commit_all(repo)
    return repo


def cruft_template_path(repo: Path, canaries: Path) -> Path:
    """The repository ships its own cookiecutter template whose cookiecutter.json runs a command,
    and .cruft.json names it by absolute path."""
    _cookiecutter_template(
        repo / "tpl", canaries, readme="{{ cookiecutter.payload }}\n", payload=SSTI % (canaries / "ssti-path")
    )
    (repo / "evil_ext.py").write_text(f"open({str(canaries / 'extension-imported')!r}, 'w').close()\n")
    cruft = {
        "template": str(repo / "tpl"),
        "commit": None,
        "context": {"cookiecutter": {"repo_name": "victim"}},
    }
    return _committed(repo, {".cruft.json": json.dumps(cruft)})


def cruft_relative_path(repo: Path, canaries: Path) -> Path:
    """The same, but .cruft.json names the template by a relative path (never resolved)."""
    _cookiecutter_template(
        repo / "tpl",
        canaries,
        readme="{{ cookiecutter.payload }}\n",
        payload=SSTI % (canaries / "ssti-relative"),
    )
    cruft = {"template": "tpl", "commit": None, "context": {"cookiecutter": {"repo_name": "victim"}}}
    return _committed(repo, {".cruft.json": json.dumps(cruft)})


def cruft_context(repo: Path, canaries: Path) -> Path:
    """A benign local template checkout; the payload is in .cruft.json's recorded context."""
    template = _cookiecutter_template(
        outside(repo, "template"), canaries, readme="{{ cookiecutter.payload }}\n"
    )
    context = {"repo_name": "victim", "payload": SSTI % (canaries / "ssti-context")}
    cruft = {"template": str(template), "commit": None, "context": {"cookiecutter": context}}
    return _committed(repo, {".cruft.json": json.dumps(cruft)})


def cruft_escape(repo: Path, canaries: Path) -> Path:
    """The recorded context names a file outside the render for the template to write."""
    template = build_tree(
        outside(repo, "template"),
        {
            "cookiecutter.json": json.dumps({"repo_name": "victim", "escape": "x"}),
            "{{cookiecutter.repo_name}}/{{cookiecutter.escape}}": "written outside\n",
        },
    )
    context = {"repo_name": "victim", "escape": str(canaries / "escaped-file")}
    cruft = {"template": str(template), "commit": None, "context": {"cookiecutter": context}}
    return _committed(repo, {".cruft.json": json.dumps(cruft)})


def git_programs(repo: Path, canaries: Path) -> Path:
    _committed(repo, {".gitattributes": "* filter=evil diff=evil merge=evil\n"})
    plant_git_programs(repo, canaries)
    return repo


def worktree_elsewhere(repo: Path, canaries: Path) -> Path:
    """core.worktree points git at another folder (where status would scan, and paths would not
    be relative to the repository)."""
    _committed(repo, {})
    elsewhere = outside(repo, "elsewhere")
    build_tree(elsewhere, {"README.md": "not the repository\n"})
    with open(repo / ".git" / "config", "a") as config:
        config.write(f"[core]\n\tworktree = {elsewhere}\n")
    return repo


def deep_data(repo: Path, canaries: Path) -> Path:
    """JSON, a notebook, TOML, YAML and Python nested 100,000 deep (RecursionError bait)."""
    deep = "[" * 100_000 + "]" * 100_000
    return _committed(
        repo,
        {
            "configs/deep.json": deep,
            "notebooks/deep.ipynb": '{"cells": ' + deep + "}",
            "configs/deep.toml": "a = " + deep + "\n",
            "configs/deep.yaml": "a: " + deep + "\n",
            ".cruft.json": '{"context": ' + deep + "}",
            "src/victim/deep.py": "x = " + "(" * 50_000 + ")" * 50_000 + "\ny = " + "1+" * 50_000 + "1\n",
        },
    )


def yaml_bombs(repo: Path, canaries: Path) -> Path:
    """A billion-laughs anchor bomb in a CI file, and an alias that contains itself."""
    bomb = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
        f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    return _committed(
        repo,
        {".github/workflows/ci.yml": "on: push\n" + bomb, "configs/loop.yaml": "a: &a [*a]\n"},
    )


def symlinks(repo: Path, canaries: Path) -> Path:
    """Symlink loops, links to files and folders outside the repository (a secret there), and FIFOs
    (git neither tracks nor lists them)."""
    secrets = outside(repo, "secrets")
    build_tree(secrets, {"secret.toml": f'[project]\nname = "{SECRET}"\ndescription = "{SECRET}"\n'})
    (secrets / "secret-dir").mkdir()
    build_tree(repo, OWN_FILES)
    (repo / "pyproject.toml").unlink()
    (repo / "pyproject.toml").symlink_to(secrets / "secret.toml")
    (repo / ".python-version").symlink_to(secrets / "secret.toml")
    (repo / "docs").symlink_to(secrets / "secret-dir")  # the template writes docs/...
    (repo / "loop-a").symlink_to(repo / "loop-b")
    (repo / "loop-b").symlink_to(repo / "loop-a")
    (repo / "src" / "victim" / "self").symlink_to(repo / "src")
    git_commit_all(repo)
    for fifo in ("copier.yml", "setup.cfg", "configs.yaml"):  # opened for reading, each would block
        os.mkfifo(repo / fifo)
    return repo


def invalid_utf8(repo: Path, canaries: Path) -> Path:
    """Invalid UTF-8 in file contents, and control characters in a file name (a newline, a terminal
    escape sequence: a report quoting the name must not let them reach the terminal)."""
    bad = b"\xff\xfe\xc3\x28 not UTF-8 \x80\n"
    return _committed(
        repo,
        {
            "configs/\x1b]0;pwned\x07\x1b[31mred\nError: spoofed.json": "[" * 1000 + "]" * 1000,
            "setup.cfg": b"[metadata]\nname = " + bad,
            ".cruft.json": bad,
            "src/victim/bad.py": b"x = '" + bad + b"'\n",
            "configs/bad.yaml": b"a: " + bad,
            "notebooks/bad.ipynb": bad,
            "Makefile": b"all:\n\techo " + bad,
        },
    )


def big_answers(repo: Path, canaries: Path) -> Path:
    """A 50 MB .copier-answers.yml (valid YAML: a comment) that names our template (not committed:
    every command must refuse it before git is even asked)."""
    build_tree(repo, OWN_FILES)
    git_commit_all(repo)
    with open(repo / ".copier-answers.yml", "wb") as handle:
        handle.write(b"_commit: v0.1.0\n_src_path: ~/.local/share/mlops-scaffold/template\nlevel: 0\n")
        handle.write(b"project_name: victim\n#" + b"x" * 50_000_000 + b"\n")
    return repo


CASES: dict[str, Callable[[Path, Path], Path]] = {
    "cruft-template-path": cruft_template_path,
    "cruft-relative-path": cruft_relative_path,
    "cruft-context": cruft_context,
    "cruft-escape": cruft_escape,
    "git-programs": git_programs,
    "worktree-elsewhere": worktree_elsewhere,
    "deep-data": deep_data,
    "yaml-bombs": yaml_bombs,
    "symlinks": symlinks,
    "invalid-utf8": invalid_utf8,
    "answers-50mb": big_answers,
}


def build_case(name: str, root: Path) -> tuple[Path, Path]:
    """Build case ``name`` under ``root``: (the repository, its canary folder)."""
    canaries = root / f"{name}-canaries"
    canaries.mkdir(parents=True)
    repo = root / "fleet" / name
    repo.parent.mkdir(exist_ok=True)
    CASES[name](repo, canaries)
    return repo, canaries


def canaries_left(canaries: Path) -> list[str]:
    return sorted(path.name for path in canaries.iterdir())
