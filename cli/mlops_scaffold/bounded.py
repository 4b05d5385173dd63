"""Readers of foreign files: what ``assess`` and ``adopt`` read in a repository, and answers files.

A repository being assessed or adopted is data. Every reader here is bounded so that no file can
stall, exhaust or crash mlops-scaffold:

- size: ``read_bytes`` reads at most ``limit`` bytes, and only a regular file (no symlink is
  followed, a FIFO or device is never opened for reading);
- depth: parsed JSON, TOML and YAML may nest at most ``MAX_DEPTH`` levels (real configuration
  and notebooks nest about 10); a deeper file is refused before anything walks it recursively;
- expansion: ``check_tree`` also caps how many values a document expands to when YAML aliases
  are followed (an answers file is written back out by copier, which would expand a "billion
  laughs" document);
- time: each check is linear in its input (iterative, no backtracking).

Over a limit, a reader raises ``NotRead`` whose message says why, in words meant to follow
"not read:" in a report ("nested deeper than 100 levels", "larger than 4 MB"); callers skip the
file and report it, never a traceback.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

MAX_DEPTH = 100
MAX_VALUES = 100_000  # values a document may expand to, aliases followed
_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class NotRead(ValueError):
    """A foreign file that is not read; the message says why ("nested deeper than 100 levels")."""


def one_line(text: str, limit: int = 200) -> str:
    """The first non-empty line of ``text``, printable and cut to ``limit`` characters (for a
    message quoting foreign input or a foreign tool's error)."""
    line = printable(next((line.strip() for line in str(text).splitlines() if line.strip()), ""))
    return line if len(line) <= limit else f"{line[: limit - 3]}..."


def printable(text: str) -> str:
    """``text`` safe to print on one line of a terminal: control characters (a newline, the escape
    that starts a terminal sequence) written as Python escapes (``\\n``, ``\\x1b``)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def size_words(limit: int) -> str:
    return f"{limit // 1_000_000} MB" if limit >= 1_000_000 else f"{limit // 1000} kB"


def read_bytes(path: Path | str, limit: int) -> bytes:
    """The content of the regular file ``path``, refused (NotRead) over ``limit`` bytes.

    Never follows a symlink and never blocks on a FIFO: the file is opened without following its
    last component and without waiting, then checked to be a regular file. OSError when it
    cannot be opened (a missing file, a symlink: ELOOP).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRead("not a regular file")
        if info.st_size > limit:
            raise NotRead(f"larger than {size_words(limit)}")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew since fstat
            raise NotRead(f"larger than {size_words(limit)}")
        return b"".join(chunks)
    finally:
        os.close(fd)


def check_tree(value: Any, *, max_depth: int = MAX_DEPTH, max_values: int | None = None) -> Any:
    """``value`` itself when its lists and mappings nest at most ``max_depth`` levels (and, with
    ``max_values``, it expands to at most that many values, shared ones counted each time)."""
    if not isinstance(value, dict | list):
        return value
    stack: list[tuple[dict[Any, Any] | list[Any], int]] = [(value, 1)]
    seen = 0
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise NotRead(f"nested deeper than {max_depth} levels")
        children = list(node.values()) if isinstance(node, dict) else node
        if max_values is not None:
            seen += len(children)
            if seen > max_values:
                raise NotRead(f"expands to more than {max_values} values (YAML aliases)")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return value


def _too_deep(max_depth: int) -> NotRead:
    return NotRead(f"nested deeper than {max_depth} levels")


def load_json(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parsed JSON (ValueError when invalid, NotRead when nested deeper than ``max_depth``)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise _too_deep(max_depth) from None
    return check_tree(value, max_depth=max_depth)


def load_toml(text: str, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """Parsed TOML (ValueError when invalid, NotRead when nested deeper than ``max_depth``)."""
    try:
        value = tomllib.loads(text)
    except RecursionError:
        raise _too_deep(max_depth) from None
    return check_tree(value, max_depth=max_depth)  # type: ignore[no-any-return]


def check_yaml_depth(text: str, *, max_depth: int = MAX_DEPTH) -> None:
    """NotRead when YAML ``text`` nests deeper than ``max_depth`` (read from the event stream, before
    a recursive composer sees it); invalid YAML is left to the parser that follows."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_YAML_LOADER):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > max_depth:
                    raise _too_deep(max_depth)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as error:
        if "nesting depth" in str(error):  # libyaml's own limit (1000)
            raise _too_deep(max_depth) from None


def load_yaml(text: str, *, max_depth: int = MAX_DEPTH, max_values: int = MAX_VALUES) -> Any:
    """One YAML document, safely loaded (yaml.YAMLError when invalid, NotRead over the limits)."""
    check_yaml_depth(text, max_depth=max_depth)
    value = yaml.load(text, Loader=_YAML_LOADER)  # the safe loader (C or Python): no tags build objects
    return check_tree(value, max_depth=max_depth, max_values=max_values)


def walk(root: Path | str) -> Iterator[tuple[str, list[str], list[str]]]:
    """Like ``os.walk(root)`` (top-down, ``dirs`` may be pruned), but iterative, so a tree nested
    thousands of folders deep costs no recursion, and a symlink (to a folder too) is listed in
    ``files`` and never followed. Unreadable folders are skipped."""
    stack = [os.fspath(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            continue
        dirs: list[str] = []
        files: list[str] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            (dirs if is_dir else files).append(entry.name)
        yield folder, dirs, files
        stack.extend(os.path.join(folder, name) for name in reversed(dirs))
