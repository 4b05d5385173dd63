"""The lineage record: what every trained model was made from, written next to the model.

The record is YAML, validated against lineage.schema.json (JSON Schema) both when it is written
and when it is read, so a record that does not say where a model came from cannot exist.
"""

from __future__ import annotations

import json
import subprocess
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jsonschema
import yaml

RECORD_FILE = "lineage.yaml"
SCHEMA_VERSION = 1


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(
        files(__package__).joinpath("lineage.schema.json").read_text("utf-8")
    )
    return loaded


def code_version(root: Path) -> dict[str, Any] | None:
    """The git commit of ``root`` and whether the work tree had uncommitted changes."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"git_sha": sha, "dirty": bool(status.strip())}


def validate(record: dict[str, Any]) -> dict[str, Any]:
    """Raise ``jsonschema.ValidationError`` naming the bad field if the record is invalid."""
    jsonschema.validate(record, schema())
    return record


def write_record(record: dict[str, Any], directory: Path) -> Path:
    path = directory / RECORD_FILE
    path.write_text(yaml.safe_dump(validate(record), sort_keys=False), encoding="utf-8")
    return path


def read_record(path: Path) -> dict[str, Any]:
    if path.is_dir():
        path = path / RECORD_FILE
    record: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return validate(record)
