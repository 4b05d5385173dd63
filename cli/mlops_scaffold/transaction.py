"""All-or-nothing changes to a directory of files and to its git index.

``atomic`` opens a transaction: every file it writes or deletes is backed up first (content,
mode or link target, or its absence), and so is the git index. If anything fails before the
transaction ends, every path and the index are restored, so the directory is exactly as it was.

Ctrl-C and SIGTERM are held back while a transaction runs (in the main thread): a transaction
is short, and stopping it halfway is what would leave a mix of old and new files. The signals
that arrived meanwhile are in ``Transaction.signals`` once it has ended, for the caller to honour
knowing that the transaction was completed (or rolled back).
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType


@dataclass
class Transaction:
    """The changes made so far to files below ``root`` (and to ``index_file``), to undo them."""

    root: Path
    index_file: Path | None = None
    _files: dict[Path, tuple[bytes, int] | str | None] = field(default_factory=dict, init=False)
    _created_dirs: list[Path] = field(default_factory=list, init=False)
    _index: bytes | None = field(default=None, init=False)
    signals: list[int] = field(default_factory=list)  # SIGINT/SIGTERM held back during the transaction

    def __post_init__(self) -> None:
        if self.index_file is not None and self.index_file.exists():
            self._index = self.index_file.read_bytes()

    def _keep(self, path: Path) -> None:
        if path in self._files:
            return
        if path.is_symlink():
            self._files[path] = os.readlink(path)
        elif path.is_file():
            self._files[path] = (path.read_bytes(), stat.S_IMODE(os.stat(path).st_mode))
        else:
            self._files[path] = None

    def _make_parents(self, path: Path) -> None:
        for folder in [p for p in reversed(path.parents) if not p.exists()]:
            folder.mkdir()
            self._created_dirs.append(folder)

    def copy(self, source: Path, rel: str) -> None:
        """Make ``root/rel`` a copy of ``source`` (a file or a symbolic link)."""
        target = self.root / rel
        self._keep(target)
        if target.is_symlink() or target.is_file():
            target.unlink()
        self._make_parents(target)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        else:
            shutil.copyfile(source, target)
            os.chmod(target, stat.S_IMODE(os.stat(source).st_mode))

    def remove(self, rel: str) -> None:
        """Delete ``root/rel``, and the folders that this leaves empty (as copier does)."""
        target = self.root / rel
        self._keep(target)
        if target.is_symlink() or target.is_file():
            target.unlink()
        for folder in target.parents:
            if folder == self.root or not folder.is_relative_to(self.root) or any(folder.iterdir()):
                break
            folder.rmdir()

    def rollback(self) -> None:
        for path, before in self._files.items():
            if path.is_symlink() or path.is_file():
                path.unlink()
            if before is None:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(before, str):
                os.symlink(before, path)
            else:
                path.write_bytes(before[0])
                os.chmod(path, before[1])
        for folder in sorted(self._created_dirs, key=lambda p: len(p.parts), reverse=True):
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
        if self.index_file is not None:
            if self._index is None:
                self.index_file.unlink(missing_ok=True)
            else:
                self.index_file.write_bytes(self._index)


@contextmanager
def signals_held() -> Iterator[list[int]]:
    """Record SIGINT and SIGTERM instead of acting on them; yields the signals received.

    Only the main thread can install signal handlers; elsewhere nothing is held back.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def hold(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def atomic(root: Path, *, index_file: Path | None = None) -> Iterator[Transaction]:
    """A transaction on ``root``: rolled back if the block raises, kept if it completes.

    Ctrl-C and SIGTERM are held back until it ends; ``signals`` lists those that came.
    """
    with signals_held() as received:
        transaction = Transaction(root, index_file, signals=received)
        try:
            yield transaction
        except BaseException:
            transaction.rollback()
            raise
