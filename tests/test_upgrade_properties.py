"""The upgrade guarantee, tested with random owner edits (hypothesis) on the real template.

For every pair of built levels and random sets of owner edits to random generated files
(insert, append and replace a line, add a file (also where the new level adds one, or needs the
other type of path), delete, rename, make executable, turn binary, CRLF line endings, UTF-16 and
Latin-1 encodings, a comment in the answers file), `mlops-scaffold upgrade`:

- exits 0, or 10 (conflicts), and then every byte the owner wrote is still there: plainly, inside
  a conflict block, or (for files git treats as binary) as the whole file; deleted files stay
  deleted, renamed files keep their content, and every reported conflict is a genuine one (a
  file both the owner and the template changed);
- or exits with another documented code (17: a path-type clash), and then the project, .git
  included, is byte-for-byte what it was.

A profile's examples are spread over the level pairs, at least one for each: `make test` (the
"fast" profile, see conftest.py) runs one derandomized example per pair; a long run (300 fresh
ones, 30 per pair): `pytest tests/test_upgrade_properties.py --hypothesis-profile=long` (or
HYPOTHESIS_PROFILE=long).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import git, runner, snapshot, tree_files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from upgrade_support import commit_all

from mlops_core.errors import CONFLICT_END, CONFLICT_START
from mlops_core.levels import built_levels
from mlops_scaffold.cli import app

ANSWERS = ".copier-answers.yml"
BUILT = built_levels()
PAIRS = [(a, b) for a in BUILT for b in BUILT if a < b]
ON_FILES = ("insert", "append", "replace", "delete", "rename", "mode", "binary", "crlf", "utf16", "latin1")
KINDS = (*ON_FILES, "add", "add-both", "clash", "comment")


@dataclass(frozen=True)
class Edit:
    kind: str
    path: str
    token: str
    position: float


@dataclass(frozen=True)
class Expect:
    """What must hold at ``path`` after an upgrade that did not refuse."""

    path: str
    contains: bytes | None = None
    exact: bytes | None = None
    absent: bool = False
    executable: bool = False


class Bases:
    """One project per level (default answers), rendered once per session; examples copy them."""

    def __init__(self, rendered: Callable[..., Path]) -> None:
        self.get: Callable[[int], Path] = rendered

    def files(self, level: int) -> list[str]:
        return sorted(tree_files(self.get(level)))


@pytest.fixture
def bases(rendered: Callable[..., Path]) -> Bases:
    return Bases(rendered)


def clash_candidates(bases: Bases, start: int, target: int) -> list[tuple[str, str]]:
    """(path, 'file'|'dir'): what an owner could have where the target level needs the other type."""
    before, after = set(bases.files(start)), bases.files(target)
    found: set[tuple[str, str]] = set()
    for path in after:
        if path in before:
            continue
        parts = path.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            if not any(p == folder or p.startswith(f"{folder}/") for p in before):
                found.add((folder, "file"))  # a file where the new level puts a directory
                break
        else:
            found.add((path, "dir"))  # a directory where the new level puts a file
    return sorted(found)


@st.composite
def owner_edits(draw: st.DrawFn, bases: Bases, start: int, target: int) -> list[Edit]:
    files = [f for f in bases.files(start) if f != ANSWERS]
    added = [f for f in bases.files(target) if f not in set(bases.files(start))]
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=6))
    used: set[str] = set()
    edits = []
    for number, kind in enumerate(kinds):
        text = draw(st.text(alphabet="abcxyzé -_", min_size=1, max_size=10))
        token = f"owner-{number}-{text}"
        position = draw(st.floats(min_value=0, max_value=1))
        if kind in ON_FILES:
            candidates = [f for f in files if f not in used]
            if not candidates:
                continue
            path = draw(st.sampled_from(candidates))
        elif kind == "add":
            folder = os.path.dirname(draw(st.sampled_from(files)))
            path = f"{folder}/owner_{number}.txt" if folder else f"owner_{number}.txt"
        elif kind == "add-both":
            candidates = [f for f in added if f not in used]
            if not candidates:
                continue
            path = draw(st.sampled_from(candidates))
        elif kind == "clash":
            candidates = [c for c in clash_candidates(bases, start, target) if c[0] not in used]
            if not candidates:
                continue
            path, shape = draw(st.sampled_from(candidates))
            kind = f"clash-{shape}"
        else:
            path = ANSWERS
        if path in used:
            continue
        used.add(path)
        edits.append(Edit(kind, path, token, position))
    return edits


def apply(project: Path, edit: Edit) -> list[Expect]:
    """Make ``edit`` in ``project``; what it leaves that an upgrade must keep."""
    file = project / edit.path
    line = edit.token.encode() + b"\n"
    if edit.kind in ("insert", "replace", "append"):
        lines = file.read_bytes().splitlines(keepends=True)
        if lines and not lines[-1].endswith(b"\n"):
            lines[-1] += b"\n"
        at = min(int(edit.position * len(lines)), max(len(lines) - 1, 0))
        if edit.kind == "insert" or not lines:
            lines.insert(at, line)
        elif edit.kind == "replace":
            lines[at] = line
        else:
            lines.append(line)
        file.write_bytes(b"".join(lines))
        return [Expect(edit.path, contains=line)]
    if edit.kind in ("add", "add-both"):
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_bytes(line)
        return [Expect(edit.path, contains=line)]
    if edit.kind == "clash-file":
        file.write_bytes(line)
        return []
    if edit.kind == "clash-dir":
        file.mkdir(parents=True)
        (file / "notes.md").write_bytes(line)
        return []
    if edit.kind == "delete":
        file.unlink()
        return [Expect(edit.path, absent=True)]
    if edit.kind == "rename":
        renamed = f"{edit.path}.renamed"
        file.rename(project / renamed)
        return [Expect(edit.path, absent=True), Expect(renamed, exact=(project / renamed).read_bytes())]
    if edit.kind == "mode":
        file.chmod(0o755)
        return [Expect(edit.path, executable=True)]
    if edit.kind == "binary":
        content = b"\x00\x01owner\x00" + line + bytes(range(256))
        file.write_bytes(content)
        return [Expect(edit.path, exact=content)]
    if edit.kind == "crlf":
        content = (
            file.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + edit.token.encode() + b"\r\n"
        )
        file.write_bytes(content)
        return [Expect(edit.path, contains=edit.token.encode() + b"\r\n")]
    if edit.kind == "utf16":
        content = file.read_text(encoding="utf-8").encode("utf-16")
        file.write_bytes(content)
        return [Expect(edit.path, exact=content)]
    if edit.kind == "latin1":
        ours = f"{edit.token} é".encode("latin-1") + b"\n"
        file.write_bytes(file.read_bytes() + ours)
        return [Expect(edit.path, contains=ours)]
    assert edit.kind == "comment"
    ours = f"# {edit.token}\n".encode()
    file.write_bytes(file.read_bytes() + ours)
    return [Expect(edit.path, contains=ours)]


def edited_paths(edits: list[Edit]) -> set[str]:
    """Every path an owner's edit touched (a renamed file under both its names)."""
    return {edit.path for edit in edits} | {f"{e.path}.renamed" for e in edits if e.kind == "rename"}


def changed_by_the_template(bases: Bases, start: int, target: int) -> set[str]:
    """Paths whose generated content differs between the two levels (or that only one has)."""
    old, new = bases.get(start), bases.get(target)

    def content(root: Path, path: str) -> bytes | None:
        return (root / path).read_bytes() if (root / path).is_file() else None

    paths = tree_files(old) | tree_files(new)
    return {path for path in paths if content(old, path) != content(new, path)}


def check_kept(project: Path, expects: list[Expect], conflicts: list[str], binary: list[str]) -> None:
    for expect in expects:
        path = project / expect.path
        if expect.absent:
            assert not path.exists(), f"{expect.path} came back"
            continue
        content = path.read_bytes()
        if expect.exact is not None:
            assert content == expect.exact, f"{expect.path} lost the owner's bytes"
        if expect.contains is not None:
            assert expect.contains in content, f"{expect.path} lost {expect.contains!r}"
        if expect.executable and expect.path not in conflicts:
            assert path.stat().st_mode & stat.S_IXUSR, f"{expect.path} lost its executable bit"
    for conflict in conflicts:
        if conflict in binary or not (project / conflict).exists():
            continue
        text = (project / conflict).read_bytes()
        assert CONFLICT_START.encode() in text and CONFLICT_END.encode() in text, f"{conflict}: no markers"
    assert not list(project.rglob("*.rej")), "copier left rejected hunks behind"


def state(project: Path) -> tuple[dict[str, str], str]:
    return snapshot(project), git(
        project, "--no-optional-locks", "status", "--porcelain", "--untracked-files=all"
    )


def run_scenario(bases: Bases, start: int, target: int, edits: list[Edit]) -> None:
    with tempfile.TemporaryDirectory(prefix="upgrade-property.") as scratch:
        project = Path(shutil.copytree(bases.get(start), Path(scratch) / "churn-model", symlinks=True))
        expects = [expect for edit in edits for expect in apply(project, edit)]
        commit_all(project, "Owner edits")
        state(project)  # let git settle the index before taking the snapshot
        before = state(project)
        result = runner.invoke(app, ["upgrade", str(project), "--level", str(target), "--json"])
        clash = any(edit.kind.startswith("clash") for edit in edits)
        note = f"level {start} -> {target}, edits {edits}\n{result.output}"
        assert "Traceback" not in result.output, note
        if result.exit_code in (0, 10):
            assert not clash, f"a path-type clash was not refused: {note}"
            report = json.loads(result.stdout)
            assert (result.exit_code == 10) == bool(report["conflicts"]), note
            check_kept(project, expects, report["conflicts"], report["binary_conflicts"])
            # A genuine conflict: both the owner and the template changed that file.
            spurious = set(report["conflicts"]) - (
                edited_paths(edits) & changed_by_the_template(bases, start, target)
            )
            assert not spurious, f"conflicts in files only one side changed: {sorted(spurious)}: {note}"
        else:
            assert result.exit_code == 17 and clash, f"unexpected refusal: {note}"
            assert state(project) == before, f"a refusal changed the project: {note}"


# Slow tier (still part of `make test`, so CI runs it): one upgrade per level pair costs ~50 s of
# test time, which the fast tier's 3-minute budget cannot hold; the spelled-out cases below stay fast.
@pytest.mark.slow
@pytest.mark.parametrize(("start", "target"), PAIRS, ids=[f"{a}-{b}" for a, b in PAIRS])
def test_random_owner_edits_survive_every_level_pair(bases: Bases, start: int, target: int) -> None:
    """The profile's examples spread over the level pairs, at least one for each pair."""

    @settings(
        max_examples=max(1, settings().max_examples // len(PAIRS)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        print_blob=True,
    )
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        run_scenario(bases, start, target, data.draw(owner_edits(bases, start, target)))

    check()


# The edge cases spelled out, so that they run on every `make test` whatever the random draw:
# every kind of edit in one upgrade, and the two path-type clashes the issue names.
EXAMPLES: list[tuple[int, int, list[Edit]]] = [
    (
        0,
        2,
        [
            Edit("utf16", "README.md", "owner-0-a", 0.0),  # the template changes it: a binary conflict
            Edit("utf16", "docs/adr/0001-project-layout.md", "owner-1-b", 0.0),
            Edit("binary", "configs/train.yaml", "owner-2-c", 0.0),
            Edit("crlf", "src/churn_model/train.py", "owner-3-d", 0.0),
            Edit("latin1", "src/churn_model/features.py", "owner-4-é", 0.5),
            Edit("rename", "src/churn_model/metrics.py", "owner-5-e", 0.0),
            Edit("mode", "src/churn_model/evaluate.py", "owner-6-f", 0.0),
            Edit("delete", "docs/adr/0002-tooling.md", "owner-7-g", 0.0),
            Edit("insert", "pyproject.toml", "# owner-8-h", 0.3),
            Edit("add-both", "Makefile", "owner-9-i", 0.0),
            Edit("comment", ANSWERS, "owner-10-j", 0.0),
        ],
    ),
    (1, 2, [Edit("clash-file", "deploy", "owner-0-k", 0.0)]),
    (0, 1, [Edit("clash-dir", "Dockerfile", "owner-0-l", 0.0), Edit("append", "README.md", "owner-1-m", 0)]),
]


@pytest.mark.parametrize(
    ("start", "target", "edits"), EXAMPLES, ids=[f"{a}-{b}-{e[0].kind}" for a, b, e in EXAMPLES]
)
def test_spelled_out_owner_edits_survive(bases: Bases, start: int, target: int, edits: list[Edit]) -> None:
    if {start, target} - set(BUILT):
        pytest.skip("level not built")
    run_scenario(bases, start, target, edits)


def test_clash_candidates_name_paths_of_the_other_type(bases: Bases) -> None:
    assert ("deploy", "file") in clash_candidates(bases, 1, 2)
    assert ("Dockerfile", "dir") in clash_candidates(bases, 0, 1)
