"""Add the calls of recordings that calls.yaml does not list yet (source: recorded).

    python tests/infra/iam/update_calls.py LOG [LOG ...] --level N [--dry-run]

A recording is what ``recording.recording_env`` writes while a generated project runs (its
`make integration`, `make pipeline`, ...). Each new call is appended to its principal's list
in calls.yaml, its resource generalised (the contract's values become ``${...}``
placeholders, the object key below the first prefix ``{path...}``). Review the result: then
grant the call in the component that owns the principal, and run the IAM sufficiency tests.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from infra.iam.calls import CALLS_FILE
    from infra.iam.recording import LOCALSTACK_ACCOUNT, RecordedCall, recorded_calls, uncovered
else:
    from .calls import CALLS_FILE
    from .recording import LOCALSTACK_ACCOUNT, RecordedCall, recorded_calls, uncovered


def generalise(call: RecordedCall, values: dict[str, set[str]]) -> str:
    """The resource of a recorded call as a calls.yaml template."""
    resource = call.resource
    for name, names in values.items():
        for value in sorted(names, key=len, reverse=True):
            resource = resource.replace(f":::{value}", ":::${" + name + "}")
    resource = resource.replace(":us-east-1:", ":${region}:").replace(
        f":{LOCALSTACK_ACCOUNT}:", ":${account}:"
    )
    s3 = re.match(r"^(arn:aws:s3:::[^/]+/[^/]+)/.+$", resource)
    return f"{s3.group(1)}/{{path...}}" if s3 else resource


def entry_line(call: RecordedCall, level: int, values: dict[str, set[str]]) -> str:
    return (
        f'      - {{action: {call.action}, resource: "{generalise(call, values)}", level: {level}, '
        f"source: recorded, where: {call.where}}}"
    )


def add(lines: list[str], principal: str, new: list[str]) -> list[str]:
    """Insert ``new`` at the end of ``principal``'s calls in the lines of calls.yaml."""
    start = lines.index(f"  {principal}:")
    end = next((i for i in range(start + 1, len(lines)) if re.match(r"^  [a-z]", lines[i])), len(lines))
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[:end] + new + lines[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("logs", nargs="+", type=Path)
    parser.add_argument("--level", type=int, required=True, help="the level of the recorded project")
    parser.add_argument("--dry-run", action="store_true", help="print the new entries only")
    args = parser.parse_args(argv)
    lines = CALLS_FILE.read_text(encoding="utf-8").splitlines()
    added = 0
    for log in args.logs:
        _, values = recorded_calls(log)
        by_principal: dict[str, list[str]] = {}
        for call in uncovered(log, args.level):
            line = entry_line(call, args.level, values)
            if line not in lines and line not in by_principal.get(call.principal, []):
                by_principal.setdefault(call.principal, []).append(line)
        for principal, new in by_principal.items():
            print(f"{principal}:", *new, sep="\n")
            if f"  {principal}:" not in lines:
                lines += ["", f"  {principal}:", "    runs: TODO", "    calls:"]
            lines = add(lines, principal, new)
            added += len(new)
    if added and not args.dry_run:
        CALLS_FILE.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{added} call(s) {'found' if args.dry_run else 'added to ' + str(CALLS_FILE)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
