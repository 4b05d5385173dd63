"""`mlops-scaffold platform init DIR`: a platform repository of the team's own (returns data, never prints).

Platform teams keep infrastructure in a repository of their own, not in a clone of a tool. The
repository this writes is a Pulumi project that installs itself and runs our stacks:

- ``Pulumi.yaml``: project ``mlops-platform`` (the name ``infra-config`` looks for and the
  platform StackReference uses), Python runtime with ``toolchain: pip`` and ``virtualenv: venv``,
  so ``pulumi install`` creates ``venv`` and installs ``requirements.txt``
  (https://www.pulumi.com/docs/iac/languages-sdks/python/).
- ``requirements.txt``: ``mlops-scaffold[infra]==<this version>``, the one line to bump to move to
  a newer release.
- ``__main__.py``: the program, ``mlops_stacks.program.main()``, the same as this repository's.
- ``policy/``: the policy pack (``pulumi preview --policy-pack policy``), the rules of the pinned
  release (https://www.pulumi.com/docs/iac/using-pulumi/crossguard/).
- ``.gitignore`` and a ``README.md`` with the steps, in order.

``infra-config`` then writes the stack files into it (it finds ``Pulumi.yaml`` at or above the
working directory). Files are written into a staging directory beside ``DIR`` and moved into
place at the end, so an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_core.errors import DestinationNotEmptyError, DestinationNotWritableError
from mlops_scaffold import scratch
from mlops_scaffold.infra import PULUMI_PROJECT  # the name infra-config and the StackReference use

VIRTUALENV = "venv"
PULUMI_INSTALL_DOCS = "https://www.pulumi.com/docs/iac/download-install/"
STATE_DOCS = "https://www.pulumi.com/docs/iac/concepts/state-and-backends/"
# A release version of PyPI (PEP 440, no local label): what the pin can install from PyPI.
_RELEASE = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?$")


@dataclass(frozen=True)
class PlatformRepo:
    path: Path
    version: str
    files: list[str]
    notes: list[str] = field(default_factory=list)
    next_steps: list[tuple[str, str]] = field(default_factory=list)  # (command, purpose)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "version": self.version,
            "files": self.files,
            "notes": self.notes,
            "next_steps": [{"command": c, "purpose": p} for c, p in self.next_steps],
        }


def _pulumi_yaml() -> str:
    return f"""\
name: {PULUMI_PROJECT}
description: AWS infrastructure of our ML projects, with the stacks of mlops-scaffold (requirements.txt).
runtime:
  name: python
  options:
    # `pulumi install` creates {VIRTUALENV}/ and installs requirements.txt into it.
    toolchain: pip
    virtualenv: {VIRTUALENV}
"""


def _requirements(version: str) -> str:
    return f"""\
# The mlops-scaffold stacks, components and policy rules this platform runs. Moving to a newer
# release is this pin: bump it, `pulumi install`, `pulumi preview` every stack, then `pulumi up`.
mlops-scaffold[infra]=={version}
"""


MAIN = '''\
"""The Pulumi program: the platform stack or a project stack, whichever the stack's config
(Pulumi.<stack>.yaml, written by `mlops-scaffold infra-config`) describes."""

from mlops_stacks.program import main

main()
'''

POLICY_YAML = f"""\
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: {VIRTUALENV}
description: mlops-scaffold security rules for the AWS stacks (the same rules `mlops-scaffold plan` checks).
"""

POLICY_MAIN = '''\
"""Pulumi policy pack: `pulumi preview --policy-pack policy`, the rules of the pinned mlops-scaffold."""

from mlops_platform.policy.pack import build_pack

build_pack()
'''

POLICY_REQUIREMENTS = """\
# The same pin as the program's (one line to bump, in ../requirements.txt).
-r ../requirements.txt
"""

GITIGNORE = f"""\
# Virtual environments `pulumi install` creates
/{VIRTUALENV}/
/policy/{VIRTUALENV}/
__pycache__/
*.pyc
# Stack files (Pulumi.<stack>.yaml) belong in git: secrets in them are encrypted.
"""


def _readme(version: str) -> str:
    return f"""\
# Platform infrastructure

The AWS infrastructure of our ML projects, as Pulumi stacks: one **platform stack** per account
and environment (`platform-<env>`: network, CI OIDC providers, log bucket) and one **project
stack** per project and environment (`<project>-<env>`), from the components and stacks of
[mlops-scaffold](https://pypi.org/project/mlops-scaffold/) {version}, pinned in
`requirements.txt`. The program is `__main__.py`; the security rules are the policy pack in
`policy/`.

## Prerequisites

1. **The Pulumi CLI**: {PULUMI_INSTALL_DOCS} (e.g. `curl -fsSL https://get.pulumi.com | sh`), and
   Python 3.11 or newer.
2. **AWS credentials** for the account of the environment: on a laptop, AWS IAM Identity Center
   (`aws configure sso` once, then `aws sso login --profile platform-dev` and
   `export AWS_PROFILE=platform-dev`); in CI, a role assumed through OpenID Connect (no stored
   keys).
3. **A state backend** ({STATE_DOCS}): an S3 bucket of your own,
   `pulumi login s3://<state-bucket>` (then `export PULUMI_CONFIG_PASSPHRASE=...`, which
   encrypts the stacks' secrets), or Pulumi Cloud (`pulumi login`). `pulumi login --local` keeps
   the state on this machine only: for trying things out.

## Install

```bash
pulumi install                     # creates {VIRTUALENV}/ and installs requirements.txt
(cd policy && pulumi install)      # the policy pack's own {VIRTUALENV}/, same pin
```

`{VIRTUALENV}/bin/mlops-scaffold` is the pinned release's command line (`plan`, `infra-config`).

## Stacks, in this order

```bash
# Both stack files of a project (run here; reads ../churn/.copier-answers.yml)
{VIRTUALENV}/bin/mlops-scaffold infra-config ../churn --env dev

# 1. The platform of the environment: once per account and environment
pulumi stack select --create platform-dev
pulumi preview --policy-pack policy
pulumi up --policy-pack policy

# 2. Each project's stack
pulumi stack select --create churn-dev
pulumi config set mlops:trainingImageTag <commit SHA CI published>   # level 2+
pulumi preview --policy-pack policy
pulumi up --policy-pack policy
pulumi stack output ci_variables   # what the project's CI needs, per environment
```

`{VIRTUALENV}/bin/mlops-scaffold plan ../churn --env dev` shows, offline, what a stack would create
and what it costs idle. Commit the `Pulumi.<stack>.yaml` files.

## Moving to a newer mlops-scaffold

Bump the version in `requirements.txt`, run `pulumi install` (and in `policy/`), run
`infra-config` again for each project whose level changed, then `pulumi preview` each stack
before `pulumi up`.
"""


def _files(version: str) -> dict[str, str]:
    return {
        "Pulumi.yaml": _pulumi_yaml(),
        "requirements.txt": _requirements(version),
        "__main__.py": MAIN,
        "policy/PulumiPolicy.yaml": POLICY_YAML,
        "policy/__main__.py": POLICY_MAIN,
        "policy/requirements.txt": POLICY_REQUIREMENTS,
        ".gitignore": GITIGNORE,
        "README.md": _readme(version),
    }


def _check_directory(path: Path) -> bool:
    """Whether ``path`` exists (empty); raises when it cannot be the new repository."""
    try:
        if path.exists() and not path.is_dir():
            raise DestinationNotWritableError(path=path, reason="it is a file, not a directory")
        if path.is_dir():
            scratch.sweep_partials(path)  # a killed run's staging directory is not the user's content
            if any(path.iterdir()):
                raise DestinationNotEmptyError(path=path)
            return True
    except OSError as error:
        raise DestinationNotWritableError(path=path, reason=error.strerror or str(error)) from None
    return False


def init_platform(directory: Path, *, version: str | None = None) -> PlatformRepo:
    """Write a platform repository into ``directory`` (new, or an empty directory) pinned to
    ``version`` (default: this mlops-scaffold's)."""
    from mlops_scaffold import __version__

    path = Path(directory).absolute()
    version = version or __version__
    fill = _check_directory(path)
    files = _files(version)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        scratch.sweep_partials(path.parent)
        staging = scratch.partial_dir(path if fill else path.parent, path.name)
    except OSError as error:
        raise DestinationNotWritableError(path=path, reason=error.strerror or str(error)) from None
    moved: list[Path] = []
    try:
        for name, text in files.items():
            target = staging.path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        scratch.move_into_place(staging.path, path, fill=fill, moved=moved)
    except BaseException as error:
        shutil.rmtree(staging.path, ignore_errors=True)
        scratch.undo_moves(moved)
        if isinstance(error, OSError):
            raise DestinationNotWritableError(path=path, reason=error.strerror or str(error)) from None
        raise
    finally:
        staging.release()
    notes = []
    if not _RELEASE.match(version):
        notes.append(
            f"mlops-scaffold {version} is a development build, not a release on PyPI: `pulumi install` "
            "can install the pin only from a wheel of that build (pip --find-links); pin a release for "
            "real use."
        )
    steps = [
        (f"cd {path}", "the platform repository"),
        ("pulumi install && (cd policy && pulumi install)", f"{VIRTUALENV}/ with mlops-scaffold {version}"),
        (
            f"{VIRTUALENV}/bin/mlops-scaffold infra-config ../PROJECT --env dev",
            "the stack files of a project",
        ),
        ("pulumi up --stack platform-dev --policy-pack policy", "the platform, once per account and env"),
    ]
    return PlatformRepo(path=path, version=version, files=sorted(files), notes=notes, next_steps=steps)
