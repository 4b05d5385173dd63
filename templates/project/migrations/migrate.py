"""Carry a project across template versions: renamed answers and moved files.

copier runs this script (``_migrations`` in copier.yml) during ``copier update`` /
``mlops-scaffold upgrade``, in the project directory, *before* it works out the owner's edits,
with VERSION_PEP440_FROM and VERSION_PEP440_TO in the environment. It applies every entry of
changes.yml (next to this script, in the template version being upgraded to) whose version is in
(FROM, TO], in version order:

- ``rename_answers``: renames keys of .copier-answers.yml, keeping the owner's value, so the new
  template asks nothing and renders with the answer given years ago;
- ``move_files``: moves files with ``git mv``; copier computes the owner's edits from the git
  index, so the edits follow the file to its new path instead of being dropped with the old one.
  git has no common ancestor for the moved file, so lines the owner changed that differ from the
  new template come out between conflict markers: kept, and flagged for review.

It only uses what copier itself needs (PyYAML, packaging) and runs with copier's Python.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from packaging.version import Version

CHANGES = Path(__file__).resolve().with_name("changes.yml")
ANSWERS = Path(".copier-answers.yml")


def pending(changes: list[dict[str, Any]], start: Version, end: Version) -> list[dict[str, Any]]:
    """The changes a project at template version ``start`` needs on its way to ``end``."""
    chosen = [change for change in changes if start < Version(str(change["version"])) <= end]
    return sorted(chosen, key=lambda change: Version(str(change["version"])))


def rename_answers(answers_file: Path, renames: dict[str, str]) -> None:
    text = answers_file.read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    answers = yaml.safe_load(text) or {}
    done = [old for old in renames if old in answers and renames[old] not in answers]
    migrated = {(renames[key] if key in done else key): value for key, value in answers.items()}
    answers_file.write_text(
        header + yaml.safe_dump(migrated, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )


def move_files(moves: dict[str, str]) -> None:
    for old, new in moves.items():
        source, target = Path(old), Path(new)
        if not source.exists() or target.exists():
            continue  # deleted by the owner, or the new path is taken: leave both alone
        target.parent.mkdir(parents=True, exist_ok=True)
        tracked = subprocess.run(
            ["git", "ls-files", "--error-unmatch", "--", old], capture_output=True, check=False
        )
        if tracked.returncode == 0:
            subprocess.run(["git", "mv", "--", old, new], check=True, capture_output=True)
        else:
            source.rename(target)


def main() -> int:
    start = Version(os.environ["VERSION_PEP440_FROM"])
    end = Version(os.environ["VERSION_PEP440_TO"])
    changes = (yaml.safe_load(CHANGES.read_text(encoding="utf-8")) or {}).get("changes") or []
    for change in pending(changes, start, end):
        rename_answers(ANSWERS, change.get("rename_answers") or {})
        move_files(change.get("move_files") or {})
    return 0


if __name__ == "__main__":
    sys.exit(main())
