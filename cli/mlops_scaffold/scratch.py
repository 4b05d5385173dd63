"""Scratch directories that an interrupted or killed run cannot leave behind for long.

``new`` renders into a hidden ``.NAME.XXXXXXXX.partial`` directory beside (or inside) its
destination and ``upgrade`` works in a ``mlops-scaffold-upgrade.XXXXXXXX`` directory in the
system temp directory; copier's own temporary clones go inside our temp directory too.

A run *holds* each scratch directory it makes: it keeps an exclusive ``flock`` on the directory
for as long as it works in it. The kernel drops that lock when the process ends, however it ends
(SIGKILL included), so a scratch directory that nobody holds is the leftover of a run that died:
``sweep_temp`` and ``sweep_partials``, called at the start of every run, delete those. A
directory is only swept once it is a few seconds old, so a run that has just made one and is
about to lock it is never robbed of it. Normal exits, exceptions, Ctrl-C and (through the CLI's
handler) SIGTERM remove a run's own scratch directories on the way out.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

TEMP_PREFIX = "mlops-scaffold-"
PARTIAL_SUFFIX = ".partial"
# mkdtemp's names: prefix + 8 characters of [a-z0-9_] + suffix.
_PARTIAL_NAME = re.compile(r"^\..*\.[a-z0-9_]{8}\.partial$")
# Younger than this, an unheld scratch directory may be one whose run has not locked it yet.
GRACE_SECONDS = 5.0
# Clones copier made in the temp directory before we gave it ours (older mlops-scaffold releases).
_LEGACY_CLONE_PREFIX = "copier._vcs.clone."
_LEGACY_AGE_SECONDS = 3600.0


def _hold(path: Path) -> int | None:
    """Lock ``path`` (a directory) for this process; the descriptor to close, None if unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # a file system without flock: the directory is cleaned up on exit only
        os.close(fd)
        return None
    return fd


def _release(fd: int | None) -> None:
    if fd is not None:
        with suppress(OSError):
            os.close(fd)


def _is_abandoned(path: Path, now: float) -> bool:
    """Nobody holds ``path`` and it is older than the grace period."""
    try:
        if not path.is_dir() or path.is_symlink() or now - path.stat().st_mtime < GRACE_SECONDS:
            return False
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # held by a running process (or no flock here: leave it)
    finally:
        os.close(fd)  # closing drops our probe lock too
    return True


def _remove(path: Path) -> bool:
    shutil.rmtree(path, ignore_errors=True)
    return not path.exists()


def sweep_temp(temp_dir: Path | None = None) -> list[Path]:
    """Remove the scratch directories of dead runs from the temp directory; return what went."""

    def stale(entry: Path, now: float) -> bool:
        ours = entry.name.startswith(TEMP_PREFIX) and _is_abandoned(entry, now)
        return ours or (entry.name.startswith(_LEGACY_CLONE_PREFIX) and _is_legacy_store_clone(entry, now))

    return _sweep(Path(temp_dir or tempfile.gettempdir()), stale)


def _is_legacy_store_clone(path: Path, now: float) -> bool:
    """A clone of our template store that an older release left in the temp directory, an hour old."""
    from mlops_scaffold.template_store import store_path

    try:
        if now - path.stat().st_mtime < _LEGACY_AGE_SECONDS:
            return False
        config = (path / ".git" / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return f"url = {store_path()}" in config


def sweep_partials(parent: Path) -> list[Path]:
    """Remove the ``.NAME.XXXXXXXX.partial`` directories of dead ``new`` runs in ``parent``."""
    return _sweep(
        parent, lambda entry, now: bool(_PARTIAL_NAME.match(entry.name)) and _is_abandoned(entry, now)
    )


def _sweep(root: Path, stale: Callable[[Path, float], bool]) -> list[Path]:
    """Remove the entries of ``root`` that ``stale(entry, now)`` picks; return those that went."""
    now = time.time()
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    return [entry for entry in entries if stale(entry, now) and _remove(entry)]


class Held:
    """A scratch directory this process holds; ``release()`` when its content has moved on."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = _hold(path)

    def release(self) -> None:
        _release(self._fd)
        self._fd = None


def partial_dir(parent: Path, name: str) -> Held:
    """A new held staging directory ``.NAME.XXXXXXXX.partial`` in ``parent`` (raises OSError)."""
    # Keep the name short enough for any file system, whatever the project's name.
    path = Path(tempfile.mkdtemp(prefix=f".{name[:40]}.", suffix=PARTIAL_SUFFIX, dir=parent))
    return Held(path)


def move_into_place(staging: Path, dst: Path, *, fill: bool, moved: list[Path]) -> None:
    """Put a finished staging directory's content at ``dst`` (``undo_moves(moved)`` takes it back).

    ``fill``: ``dst`` is an existing empty directory (maybe a mount point), which is kept: the
    entries move into it, each appended to ``moved``. Otherwise the staging directory becomes
    ``dst``, with the mode a directory the user makes gets (mkdtemp made it 0700).
    """
    if fill:
        for entry in list(staging.iterdir()):
            entry.rename(dst / entry.name)
            moved.append(dst / entry.name)
        staging.rmdir()
        return
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    staging.rename(dst)


def undo_moves(moved: list[Path]) -> None:
    """Remove what ``move_into_place`` moved into a kept directory (all or nothing)."""
    for entry in moved:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


@contextmanager
def workspace(kind: str) -> Iterator[Path]:
    """A held scratch directory in the temp directory, removed on the way out.

    While it is open, Python's temporary files and directories go inside it (``tempfile.tempdir``),
    copier's clones of the template included, so a killed run leaves one directory that the next
    run's ``sweep_temp`` removes.
    """
    sweep_temp()
    held = Held(Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{kind}.")))
    previous = tempfile.tempdir
    tempfile.tempdir = str(held.path)
    try:
        yield held.path
    finally:
        tempfile.tempdir = previous
        try:
            shutil.rmtree(held.path, ignore_errors=True)
        finally:  # even when interrupted right here: the next run then sweeps the directory
            held.release()
