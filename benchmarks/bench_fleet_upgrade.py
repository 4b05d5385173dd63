"""Benchmark: `upgrade --fleet DIR --dry-run` over 20 generated projects at mixed template versions.

Prints figures; asserts nothing. Run: `.venv/bin/python benchmarks/bench_fleet_upgrade.py`.
The fleet is built here, in a temporary HOME (its own template store): two older template
versions (v0.0.0a1 and v0.0.0a2, the shipped template with a renamed README section) and the
installed one; 20 projects at levels 0 and 1 spread over the three, those at v0.0.0a1 with an
owner's edit that conflicts. The baseline, measured in the same run, is one `copier copy` of a
level-1 project from the store: a preview re-renders each lagging project twice (old and new
template) and diffs it, so its cost per project is a small multiple of that.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Owner",
    "GIT_AUTHOR_EMAIL": "owner@example.com",
    "GIT_COMMITTER_NAME": "Owner",
    "GIT_COMMITTER_EMAIL": "owner@example.com",
}
PROJECTS = int(os.environ.get("BENCH_PROJECTS", "20"))


def older_template(dst: Path, heading: str) -> Path:
    """The shipped template with its README's first section titled ``heading``."""
    from mlops_core.resources import template_dir

    shutil.copytree(template_dir(), dst, ignore=shutil.ignore_patterns("__pycache__", "history.bundle"))
    readme = dst / "project" / "README.md.jinja"
    readme.write_text(readme.read_text(encoding="utf-8").replace("## Quick start", heading), encoding="utf-8")
    return dst


def commit(project: Path, message: str) -> None:
    env = {**os.environ, **GIT_ENV}
    for args in (
        ["add", "--all"],
        ["-c", "commit.gpgsign=false", "commit", "--quiet", "--no-verify", "-m", message],
    ):
        subprocess.run(["git", *args], cwd=project, env=env, check=True, capture_output=True)


def render(tag: str, dst: Path, level: int) -> float:
    """Render a project at ``tag`` as `new` does, commit it; the seconds copier took."""
    import copier

    from mlops_scaffold.template_store import STORE_URL

    started = time.perf_counter()
    copier.run_copy(
        STORE_URL,
        dst,
        vcs_ref=tag,
        data={"project_name": dst.name, "level": level, "python_version": "3.11"},
        defaults=True,
        quiet=True,
    )
    seconds = time.perf_counter() - started
    subprocess.run(["git", "init", "--quiet", "--initial-branch=main"], cwd=dst, check=True)
    commit(dst, f"Start at {tag}")
    return seconds


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-fleet-upgrade.") as scratch:
        root = Path(scratch)
        os.environ["HOME"] = str(root / "home")  # the store of this run only
        from mlops_scaffold.template_store import ensure_version
        from mlops_scaffold.upgrade import dry_run_fleet

        versions = [
            ensure_version("0.0.0a1", source=older_template(root / "t1", "## Getting started")),
            ensure_version("0.0.0a2", source=older_template(root / "t2", "## First steps")),
            ensure_version(),
        ]
        fleet = root / "fleet"
        renders = []
        for index in range(PROJECTS):
            tag = versions[index % 3]
            project = fleet / f"project-{index:02d}"
            renders.append(render(tag, project, level=index % 2))
            if index % 3 == 0:  # at v0.0.0a1: an owner's edit of a line the new template changes
                readme = project / "README.md"
                text = readme.read_text(encoding="utf-8")
                readme.write_text(text.replace("\n## ", "\n## Our team: ", 1), encoding="utf-8")
                commit(project, "Our heading")
        paths = sorted(fleet.iterdir())

        started = time.perf_counter()
        found = dry_run_fleet(paths)
        elapsed = time.perf_counter() - started

        states = [item.state for item in found]
        baseline = statistics.median(renders)
        previewed = [item for item in found if item.result is not None and not item.result.up_to_date]
        print(f"fleet dry-run upgrade of {len(paths)} projects at {len(versions)} template versions:")
        print(f"  total              {elapsed:7.2f} s")
        print(f"  per project        {elapsed / len(paths):7.2f} s")
        print(f"  per lagging project{elapsed / max(1, len(previewed)):7.2f} s ({len(previewed)} previewed)")
        print(f"  baseline: one copier copy of a project {baseline:.2f} s (median of {len(renders)})")
        print(f"  ratio per project to one copier copy   {elapsed / len(paths) / baseline:.1f}x")
        print("  " + ", ".join(f"{states.count(s)} {s}" for s in sorted(set(states))))
        for item in found:
            if item.error:
                print(f"  {item.name}: cannot upgrade: {item.error}")


if __name__ == "__main__":
    main()
