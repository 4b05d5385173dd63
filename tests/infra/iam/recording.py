"""Record a generated project's AWS calls, and check them against calls.yaml.

For the slow lifecycle tests (tests/test_levels_2_4.py), which run generated projects'
`make integration` and `make pipeline` against LocalStack:

    log = tmp_path / "aws-calls.jsonl"
    run([...], project, bin_dir, localstack.env() | recording_env(log, project / "src"))
    assert_calls_covered(log, level)

``recording_env`` puts the recorder (recorder/sitecustomize.py) in front of the project's
PYTHONPATH; ``assert_calls_covered`` fails, naming each call, when the project made an AWS call
that calls.yaml does not list for the principal that makes it on AWS: then the IAM
sufficiency tests would not check it (add it with ``update_calls.py``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .calls import ENTRY_POINTS, matches, principal_of, principals, recorded_action_and_resource

RECORDER = Path(__file__).with_name("recorder")
LOCALSTACK_ACCOUNT = "000000000000"


def recording_env(log_path: Path | str, pythonpath: Path | str | None = None) -> dict[str, str]:
    """Environment variables that make Python processes record their AWS calls to ``log_path``
    (``pythonpath``: the project's own PYTHONPATH, kept after the recorder)."""
    parts = [str(RECORDER)] + ([str(pythonpath)] if pythonpath else [])
    return {"MLOPS_AWS_CALL_LOG": str(log_path), "PYTHONPATH": os.pathsep.join(parts)}


def read_log(log_path: Path | str) -> list[dict[str, Any]]:
    path = Path(log_path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def package_of(entries: Iterable[dict[str, Any]]) -> str | None:
    """The generated project's package: the one whose modules are the known entry points."""
    modules = {module for module, _ in ENTRY_POINTS}
    for entry in entries:
        for frame in entry.get("stack", []):
            parts = frame.split(".")
            if len(parts) >= 3 and parts[1] in modules:
                return parts[0]
    return None


def bucket_values(entries: Iterable[dict[str, Any]]) -> dict[str, set[str]]:
    """Which recorded buckets are the data and which the artifact bucket: those the project
    resolved from its SSM contract, and, for runs that set their buckets otherwise (tests pass
    settings directly), the LocalStack stand-ins' names (``<project>-<env>-data-...``,
    ``...-artifacts-...``). Only the buckets are told apart: other placeholders match any value
    in a recording (``calls.pattern``)."""
    values: dict[str, set[str]] = {"data-bucket": set(), "artifact-bucket": set()}
    for entry in entries:
        if entry.get("kind") == "contract":
            for name, value in entry["values"].items():
                key = name.rsplit("/", 1)[-1]
                if key in values:
                    values[key].add(value)
        bucket = (entry.get("params") or {}).get("Bucket")
        if entry.get("service") == "s3" and bucket:
            if "artifact" in bucket:
                values["artifact-bucket"].add(bucket)
            elif "data" in bucket:
                values["data-bucket"].add(bucket)
    return values


@dataclass(frozen=True)
class RecordedCall:
    principal: str
    action: str
    resource: str
    where: str

    def __str__(self) -> str:
        return f"{self.principal}: {self.action} on {self.resource} (from {self.where})"


def recorded_calls(log_path: Path | str) -> tuple[list[RecordedCall], dict[str, set[str]]]:
    """The attributed calls of a recording (calls of local-only code and of tests themselves are
    left out) and the bucket names it used."""
    entries = read_log(log_path)
    values = bucket_values(entries)
    package = package_of(entries)
    found = []
    for entry in entries:
        if entry.get("kind") not in ("aws", "mlflow") or package is None:
            continue
        principal = principal_of(entry.get("stack", []), package)
        if principal in (None, "local"):
            continue
        mapped = recorded_action_and_resource(entry, "us-east-1", LOCALSTACK_ACCOUNT)
        if mapped is None:
            continue
        where = next((f for f in reversed(entry["stack"]) if f.startswith(f"{package}.")), "?")
        found.append(RecordedCall(principal, mapped[0], mapped[1], where))
    return list(dict.fromkeys(found)), values


def uncovered(log_path: Path | str, level: int) -> list[RecordedCall]:
    """Recorded calls that calls.yaml does not list for their principal at ``level``."""
    calls, values = recorded_calls(log_path)
    listed = principals()
    missing = []
    for call in calls:
        principal = listed.get(call.principal)
        candidates = [c for c in principal.calls if c.level <= level] if principal else []
        if not any(matches(c, call.action, call.resource, values) for c in candidates):
            missing.append(call)
    return missing


def assert_calls_covered(log_path: Path | str, level: int) -> None:
    """Fail when the recording holds a call that tests/infra/iam/calls.yaml does not list."""
    missing = uncovered(log_path, level)
    assert not missing, (
        "AWS calls the IAM sufficiency tests do not check (add them to tests/infra/iam/calls.yaml, "
        "e.g. with `python tests/infra/iam/update_calls.py LOG --level N`, and grant them in the stack):\n"
        + "\n".join(f"  {call}" for call in missing)
    )
