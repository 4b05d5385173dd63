"""The git plumbing that upgrades and status need (read the work tree, the index and objects).

Every command runs without the project's hooks, and in its own process group: a Ctrl-C at the
terminal reaches only mlops-scaffold, which decides what to stop (and never kills git halfway
through writing the project's index).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

NULL_SHA = "0" * 40


class GitError(Exception):
    """A git command failed; the message has its stderr."""


def git(cwd: Path, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
    """Run ``git args`` in ``cwd``; its stdout ('' on failure when ``check`` is false)."""
    command = ["git", "-c", f"core.hooksPath={os.devnull}", *args]
    done = subprocess.run(command, cwd=cwd, input=stdin, capture_output=True, check=False, process_group=0)
    if check and done.returncode != 0:
        raise GitError(f"`git {' '.join(args)}` failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout if done.returncode == 0 else b""


def top(path: Path) -> Path | None:
    """The root of the work tree that holds ``path``; None outside git (or without git)."""
    if shutil.which("git") is None:
        return None
    found = git(path, "rev-parse", "--show-toplevel", check=False).decode().strip()
    return Path(found) if found else None


def has_head(repo: Path) -> bool:
    return bool(git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False).strip())


def is_ignored(repo: Path, path: Path) -> bool:
    """Whether ``path`` (inside ``repo``'s work tree) is ignored by it."""
    rel = os.path.relpath(path, repo)
    return (
        subprocess.run(
            ["git", "check-ignore", "--quiet", "--no-index", "--", rel],
            cwd=repo,
            capture_output=True,
            check=False,
            process_group=0,
        ).returncode
        == 0
    )


def uncommitted_files(project: Path, repo: Path) -> list[str]:
    """Modified, staged, deleted and untracked (not ignored) files of the project, from `git status`."""
    spec = project.relative_to(repo).as_posix() or "."
    # --no-optional-locks: a refused upgrade must not even refresh the index file.
    out = git(
        repo, "--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", spec
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


def binary_changes(repo: Path, spec: str) -> list[str]:
    """Paths (from the repository root) whose work-tree content differs from HEAD and that git
    treats as binary on either side, so that a text patch cannot carry their changes."""
    out = git(repo, "diff", "--numstat", "-z", "--no-renames", "HEAD", "--", spec).decode()
    paths = []
    for record in out.split("\0"):
        added, _, rest = record.partition("\t")
        deleted, _, path = rest.partition("\t")
        if path and added == "-" and deleted == "-":
            paths.append(path)
    return paths


def changed_files(repo: Path, spec: str) -> list[str]:
    """Paths (from the repository root) whose work-tree content or mode differs from HEAD."""
    out = git(repo, "diff", "--name-only", "-z", "--no-renames", "HEAD", "--", spec).decode()
    return [path for path in out.split("\0") if path]


def merge_file(work: Path, ours: bytes, base: bytes, theirs: bytes) -> tuple[bytes, bool]:
    """A 3-way merge of three versions of a file, byte for byte (``git merge-file``), with the
    conflict labels copier uses; returns the result and whether it has conflicts."""
    sides = []
    for name, content in (("ours", ours), ("base", base), ("theirs", theirs)):
        side = work / f"merge-{name}"
        side.write_bytes(content)
        sides.append(str(side))
    labels = ["-L", "before updating", "-L", "last update", "-L", "after updating"]
    done = subprocess.run(
        ["git", "merge-file", "-p", *labels, *sides], capture_output=True, check=False, process_group=0
    )
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
    return git(repo, "hash-object", "-w", "--stdin", stdin=content).decode().strip()


def has_object(repo: Path, sha: str) -> bool:
    return (
        subprocess.run(
            ["git", "cat-file", "-e", sha], cwd=repo, capture_output=True, check=False, process_group=0
        ).returncode
        == 0
    )


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
