"""Build templates/project/history.bundle: every released template version, for offline upgrades.

Run before tagging a release (and commit the result), so the package ships every earlier
template version:

    python scripts/build_template_history.py [--repo .] [--output templates/project/history.bundle]

copier re-renders the template version that generated a project when it upgrades it. For each
`v*` tag of the repository that parses as a PEP 440 version and holds templates/project/copier.yml,
this script takes templates/project as of that tag (`git archive`), and writes them all, oldest
first, as tags `v<version>` of a git bundle. At run time `template_store.ensure_version` imports the
tags the local template store lacks. A development build's template is not in the bundle: only
the machine that ran it can reproduce it. tests/test_template_store.py fails when a release tag
is missing from the shipped bundle.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

from packaging.version import InvalidVersion, Version

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "cli"))

from mlops_scaffold.template_store import HISTORY_BUNDLE, build_history_bundle  # noqa: E402

TEMPLATE = "templates/project"


def git(repo: Path, *args: str) -> bytes:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True).stdout


def release_tags(repo: Path) -> list[tuple[Version, str]]:
    """(version, tag) of every `v*` tag that holds a template, oldest first."""
    found = []
    for tag in git(repo, "tag", "--list", "v*").decode().split():
        try:
            version = Version(tag[1:])
        except InvalidVersion:
            continue
        probe = subprocess.run(["git", "cat-file", "-e", f"{tag}:{TEMPLATE}/copier.yml"], cwd=repo)
        if probe.returncode == 0:
            found.append((version, tag))
    return sorted(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="git repository with v* tags")
    parser.add_argument("--output", type=Path, default=None, help="bundle to write")
    args = parser.parse_args(argv)
    repo = args.repo.resolve()
    output = (args.output or repo / TEMPLATE / HISTORY_BUNDLE).resolve()
    tags = release_tags(repo)
    if not tags:
        output.unlink(missing_ok=True)
        print(f"No v* release tags with a template in {repo}; no history to ship.")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        versions = []
        for _version, tag in tags:
            target = Path(scratch) / tag
            archive = git(repo, "archive", "--format=tar", tag, TEMPLATE)
            with tarfile.open(fileobj=BytesIO(archive)) as tar:
                tar.extractall(target, filter="data")
            versions.append((tag[1:], target / TEMPLATE))
        written = build_history_bundle(versions, output)
    print(f"Wrote {output} ({output.stat().st_size} bytes): {', '.join(written)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
