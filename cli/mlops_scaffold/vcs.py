"""The git plumbing that adopt, upgrade and status need (read the work tree, the index and objects).

Every git command mlops-scaffold runs goes through ``run`` (or ``git``), because most of them run
inside repositories someone else wrote (``adopt``, ``upgrade`` and ``status`` take any directory),
and a repository's own configuration can name programs for git to run. The rule: git runs no
program that a configuration names. ``run`` sets, for each command, as command-line
configuration (which wins over every configuration file, the repository's included):

- fixed settings: no fsmonitor, no hooks, no credential helper, no external diff, no network
  protocol (only local paths), no auto-gc, embedded bare repositories are not entered, and
  submodules are not recursed into;
- every filter (``filter.<x>.clean``/``smudge``/``process``), diff driver (``textconv``,
  ``command``), merge driver and the other program settings that ``git config --list`` shows for
  that directory (any scope, includes followed) set to nothing, so an attribute naming a driver
  (``.gitattributes`` or ``.git/info/attributes``) finds no program to run;
- ``--no-pager``, no prompts, stdin closed, and a time limit (an ``include.path`` naming a FIFO
  would otherwise keep git waiting forever); a command over it, or one whose configuration git
  cannot list, is a failed result, never run without the settings above.

The settings travel as ``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` pairs (not ``-c key=value``,
which a driver name containing ``=`` would split), and git passes them on to the git processes it
starts itself. Every command also runs in its own process group: a Ctrl-C at the terminal reaches
only mlops-scaffold, which decides what to stop (and never kills git halfway through writing the
project's index).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from mlops_scaffold.bounded import one_line

NULL_SHA = "0" * 40
TIMEOUT = 120.0  # seconds for one git command; far above any real repository's `git status`

# Settings that keep git from running anything a configuration names (see the module docstring).
# https://git-scm.com/docs/git-config (core.fsmonitor, core.hooksPath, protocol.allow,
# safe.bareRepository, credential.helper: an empty value clears the list)
SAFE_SETTINGS = {
    "core.fsmonitor": "false",
    "core.hooksPath": os.devnull,
    "credential.helper": "",
    "core.askPass": "",
    "core.sshCommand": "",
    "diff.external": "",
    "protocol.allow": "never",
    "protocol.file.allow": "always",
    "safe.bareRepository": "explicit",
    "submodule.recurse": "false",
    "gc.auto": "0",
    "maintenance.auto": "false",
}
# Settings whose value is a program (or a shell command) for git to run; each one configured is
# set to nothing. Section and variable names come lower-case from `git config --list`.
_PROGRAM_SETTING = re.compile(
    r"filter\..+\.(?:clean|smudge|process)"
    r"|diff\..+\.(?:textconv|command)"
    r"|merge\..+\.driver"
    r"|(?:diff|merge)tool\..+\.cmd"
    r"|credential\..+\.helper"
    r"|gpg\.(?:.+\.)?program"
    r"|remote\..+\.(?:uploadpack|receivepack)"
    r"|core\.(?:editor|pager|gitproxy|alternaterefscommand)"
    r"|sequence\.editor",
    re.DOTALL,
)
_OFF_SETTING = re.compile(r"filter\..+\.required|pager\..+", re.DOTALL)


class GitError(Exception):
    """A git command failed; the message has its stderr."""


def _environment(settings: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    start = int(env.get("GIT_CONFIG_COUNT") or 0)
    for number, (key, value) in enumerate(settings.items(), start):
        env[f"GIT_CONFIG_KEY_{number}"] = key
        env[f"GIT_CONFIG_VALUE_{number}"] = value
    env["GIT_CONFIG_COUNT"] = str(start + len(settings))
    return env


def _execute(
    cwd: Path, args: tuple[str, ...], env: dict[str, str], stdin: bytes | None
) -> subprocess.CompletedProcess[bytes]:
    """git's result; a command over the time limit is killed, a failure like any other."""
    command = ["git", "--no-pager", *args]
    try:
        return subprocess.run(
            command,
            cwd=cwd,
            env=env,
            input=stdin,
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            check=False,
            process_group=0,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        message = f"it did not finish within {TIMEOUT:.0f} s".encode()
        return subprocess.CompletedProcess(command, -9, b"", message)  # -9: killed, as run() reports it


def safe_settings(cwd: Path) -> dict[str, str] | subprocess.CompletedProcess[bytes]:
    """SAFE_SETTINGS plus every program setting configured for ``cwd``, set to nothing; or, when git
    cannot list the configuration (it is broken, or reading it does not end), that failure."""
    listed = _execute(cwd, ("config", "--list", "--name-only", "-z"), _environment(SAFE_SETTINGS), None)
    if listed.returncode != 0:
        return listed
    settings = dict(SAFE_SETTINGS)
    fixed = {key.lower() for key in SAFE_SETTINGS}
    for name in listed.stdout.decode(errors="surrogateescape").split("\0"):
        if name.lower() in fixed:
            continue
        if _PROGRAM_SETTING.fullmatch(name):
            settings[name] = ""
        elif _OFF_SETTING.fullmatch(name):
            settings[name] = "false"
    return settings


def run(
    cwd: Path, *args: str, stdin: bytes | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git args`` in ``cwd`` under ``safe_settings``: no program a configuration names runs.
    ``env``: more environment variables (a commit's identity, say).

    When the configuration cannot be listed, the command does not run at all: its result is that
    failure (git would have failed on the same configuration).
    """
    settings = safe_settings(cwd)
    if isinstance(settings, subprocess.CompletedProcess):
        return settings
    return _execute(cwd, args, {**_environment(settings), **(env or {})}, stdin)


def git(cwd: Path, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
    """Run ``git args`` in ``cwd`` (see ``run``); its stdout ('' on failure when ``check`` is false)."""
    done = run(cwd, *args, stdin=stdin)
    if check and done.returncode != 0:
        reason = one_line(" ".join(done.stderr.decode(errors="replace").split()), 300)
        raise GitError(f"`git {' '.join(args)}` failed: {reason}")
    return done.stdout if done.returncode == 0 else b""


def top(path: Path) -> Path | None:
    """The root of the work tree that holds ``path``; None outside git (or without git).

    Also None when the repository's configuration puts its work tree elsewhere (``core.worktree``):
    the root must hold ``path`` and its ``.git``, or git would read (and status would scan) a
    folder the repository chose.
    """
    if shutil.which("git") is None:
        return None
    found = git(path, "rev-parse", "--show-toplevel", check=False).decode().strip()
    if not found:
        return None
    root = Path(found)
    inside = Path(path).absolute().resolve().is_relative_to(root.resolve())
    return root if inside and os.path.lexists(root / ".git") else None


def has_head(repo: Path) -> bool:
    return bool(git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False).strip())


def is_ignored(repo: Path, path: Path) -> bool:
    """Whether ``path`` (inside ``repo``'s work tree) is ignored by it."""
    rel = os.path.relpath(path, repo)
    return run(repo, "check-ignore", "--quiet", "--no-index", "--", rel).returncode == 0


def uncommitted_files(project: Path, repo: Path) -> list[str]:
    """Modified, staged, deleted and untracked (not ignored) files of the project, from `git status`."""
    spec = project.relative_to(repo).as_posix() or "."
    # --no-optional-locks: a refused upgrade must not even refresh the index file.
    # --ignore-submodules=dirty: a submodule's changes would be read by a `git status` inside it.
    out = git(
        repo,
        "--no-optional-locks",
        "status",
        "--porcelain=v1",
        "-z",
        "--untracked-files=all",
        "--ignore-submodules=dirty",
        "--",
        spec,
    ).decode()
    entries = out.split("\0")
    files: list[str] = []
    index = 0
    while index < len(entries):
        entry = entries[index]
        index += 1
        if len(entry) < 4:
            continue
        files.append(entry[3:])
        if entry[0] in "RC":  # a rename is followed by its source path
            index += 1
    return sorted(files)


def index_entries(repo: Path, spec: str) -> dict[str, list[str]]:
    """Index entries per path (relative to the repository root): ['mode sha stage', ...]."""
    entries: dict[str, list[str]] = {}
    for item in git(repo, "ls-files", "--stage", "--full-name", "-z", "--", spec).decode().split("\0"):
        if item:
            meta, _, path = item.partition("\t")
            entries.setdefault(path, []).append(meta)
    return {path: sorted(metas) for path, metas in entries.items()}


# No external diff program and no textconv driver, whatever attributes and configuration say.
_DIFF_OPTIONS = ("--no-ext-diff", "--no-textconv")


def binary_changes(repo: Path, spec: str) -> list[str]:
    """Paths (from the repository root) whose work-tree content differs from HEAD and that git
    treats as binary on either side, so that a text patch cannot carry their changes."""
    out = git(repo, "diff", *_DIFF_OPTIONS, "--numstat", "-z", "--no-renames", "HEAD", "--", spec).decode()
    paths = []
    for record in out.split("\0"):
        added, _, rest = record.partition("\t")
        deleted, _, path = rest.partition("\t")
        if path and added == "-" and deleted == "-":
            paths.append(path)
    return paths


def changed_files(repo: Path, spec: str) -> list[str]:
    """Paths (from the repository root) whose work-tree content or mode differs from HEAD."""
    out = git(repo, "diff", *_DIFF_OPTIONS, "--name-only", "-z", "--no-renames", "HEAD", "--", spec).decode()
    return [path for path in out.split("\0") if path]


COPIER_LABELS = ("before updating", "last update", "after updating")


def merge_file(
    work: Path,
    ours: bytes,
    base: bytes,
    theirs: bytes,
    *,
    labels: tuple[str, str, str] = COPIER_LABELS,
    diff3: bool = False,
) -> tuple[bytes, bool]:
    """A 3-way merge of three versions of a file, byte for byte (``git merge-file``), with the
    conflict labels copier uses by default; returns the result and whether it has conflicts."""
    sides = []
    for name, content in (("ours", ours), ("base", base), ("theirs", theirs)):
        side = work / f"merge-{name}"
        side.write_bytes(content)
        sides.append(str(side))
    options = ["-p", *(["--diff3"] if diff3 else [])]
    for label in labels:
        options += ["-L", label]
    done = run(work, "merge-file", *options, *sides)
    if done.returncode < 0 or done.returncode > 127:
        raise GitError(f"`git merge-file` failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout, done.returncode > 0


def head_blob(repo: Path, path: str) -> tuple[str, str] | None:
    """(mode, sha) of ``path`` (from the repository root) at HEAD; None when HEAD lacks it."""
    out = git(repo, "ls-tree", "-z", "HEAD", "--", path, check=False).decode()
    meta = out.split("\t", 1)[0].split()
    return (meta[0], meta[2]) if len(meta) == 3 and meta[1] == "blob" else None


def read_blob(repo: Path, sha: str) -> bytes:
    return git(repo, "cat-file", "blob", sha)


def write_blob(repo: Path, content: bytes) -> str:
    return git(repo, "hash-object", "-w", "--no-filters", "--stdin", stdin=content).decode().strip()


def has_object(repo: Path, sha: str) -> bool:
    return run(repo, "cat-file", "-e", sha).returncode == 0


def set_index_entries(repo: Path, updates: dict[str, list[str]], *, objects_from: Path | None = None) -> None:
    """Replace the index entries of each path with ``updates[path]`` (['mode sha stage', ...]).

    An empty list removes the path from the index; stages 1-3 record a conflict. Blobs missing
    from ``repo`` are copied from ``objects_from``.
    """
    lines: list[str] = []
    for path, metas in sorted(updates.items()):
        lines.append(f"0 {NULL_SHA}\t{path}")
        for meta in metas:
            sha = meta.split()[1]
            if objects_from is not None and not has_object(repo, sha):
                write_blob(repo, read_blob(objects_from, sha))
            lines.append(f"{meta}\t{path}")
    git(repo, "update-index", "-z", "--index-info", stdin="\0".join(lines).encode() + b"\0")


def index_file(repo: Path) -> Path:
    return repo / git(repo, "rev-parse", "--git-path", "index").decode().strip()
