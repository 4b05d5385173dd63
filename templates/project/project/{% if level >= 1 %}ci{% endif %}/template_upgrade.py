"""Keep this project on the newest mlops-scaffold template: CI's scheduled template upgrade.

CI runs it weekly and on demand (GitHub: .github/workflows/template-upgrade.yml; GitLab: the
`template-upgrade` job of .gitlab-ci.yml), as `python3 ci/template_upgrade.py` in a fresh checkout
of the default branch:

1. install mlops-scaffold as `[tool.mlops-scaffold]` in pyproject.toml says (`source`: a package
   index name, or a git URL whose vX.Y.Z tags are releases; `version`: the releases it may take),
   the newest release that matches and is not older than the project's template;
2. `mlops-scaffold status --check`: stop here when the project is on that release's template;
3. `mlops-scaffold upgrade` to it at the project's own level (your edits kept; conflicts marked);
4. `uv lock`, then `make sync` and `make test`: the lock is regenerated, never merged, and the
   tests run on the result;
5. commit it all, conflict markers included, on the branch `mlops-scaffold/template-upgrade`, push
   it, and open the one pull/merge request for it, or update the one already open: the change
   summary, the conflicts (flagged in the title) and the test result.

The job holds no cloud credentials. It pushes and calls the forge's API with a token: on GitHub
the job's own GITHUB_TOKEN (`contents: write`, `pull-requests: write`); on GitLab a project access
token in the protected, masked CI/CD variable TEMPLATE_UPGRADE_TOKEN (role Developer, scopes `api`
and `write_repository`). It uses only the Python standard library, git and uv.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

BRANCH = "mlops-scaffold/template-upgrade"
MARK = "Template-Upgrade: mlops-scaffold"  # the trailer of this job's commits
ANSWERS = ".copier-answers.yml"
IDENTITY = {
    "GIT_AUTHOR_NAME": "mlops-scaffold template upgrade",
    "GIT_AUTHOR_EMAIL": "template-upgrade@localhost",
    "GIT_COMMITTER_NAME": "mlops-scaffold template upgrade",
    "GIT_COMMITTER_EMAIL": "template-upgrade@localhost",
}
BEHIND = 19  # `mlops-scaffold status --check`: the project is behind the installed template
CONFLICTS = 10  # `mlops-scaffold upgrade`: applied, with conflicts
TAIL_LINES = 60  # of the tests' output, in the pull request


class JobError(Exception):
    """Something the job cannot do; the message says what and how to fix it."""


def run(
    *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if check and done.returncode != 0:
        raise JobError(
            f"`{' '.join(args)}` failed ({done.returncode}): {done.stderr.strip() or done.stdout}"
        )
    return done


# --- which mlops-scaffold ------------------------------------------------------------------------


def release(text: str) -> tuple[int, ...] | None:
    """A release version 'X.Y.Z' (or a tag 'vX.Y.Z') as numbers; None for anything else."""
    match = re.fullmatch(r"v?(\d+(?:\.\d+)*)", text.strip())
    return tuple(int(part) for part in match[1].split(".")) if match else None


def _padded(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    width = max(len(a), len(b))
    return a + (0,) * (width - len(a)), b + (0,) * (width - len(b))


def allows(spec: str, version: tuple[int, ...]) -> bool:
    """Whether a release matches a specifier of comparisons ('<1', '>=0.4,<0.6', '~=0.4')."""
    for clause in filter(None, (c.strip() for c in spec.split(","))):
        match = re.fullmatch(r"(~=|==|!=|<=|>=|<|>)\s*v?(\d+(?:\.\d+)*)", clause)
        if match is None:
            raise JobError(
                f"version {spec!r} in [tool.mlops-scaffold] is not a list of comparisons like '<1'"
            )
        operator, bound = match[1], tuple(int(p) for p in match[2].split("."))
        mine, other = _padded(version, bound)
        if operator == "~=":
            ok = mine >= other and version[: len(bound) - 1] == bound[:-1]
        else:
            ok = {
                "==": mine == other,
                "!=": mine != other,
                "<=": mine <= other,
                ">=": mine >= other,
                "<": mine < other,
                ">": mine > other,
            }[operator]
        if not ok:
            return False
    return True


def requirement(config: dict[str, Any], current: tuple[int, ...] | None) -> str:
    """What `uv tool install` installs: the newest allowed release, never older than ``current``."""
    source, spec = str(config.get("source", "mlops-scaffold")), str(config.get("version", ""))
    floor = ".".join(map(str, current)) if current else None
    if not source.startswith("git+"):  # a package index name: uv picks the newest match
        return source + ",".join(part for part in (spec, f">={floor}" if floor else "") if part)
    listing = run("git", "ls-remote", "--tags", "--refs", source.removeprefix("git+")).stdout
    tags = [line.split("refs/tags/", 1)[1] for line in listing.splitlines() if "refs/tags/" in line]
    found = [
        (version, tag)
        for tag in tags
        if (version := release(tag))
        and allows(spec, version)
        and (current is None or version >= current)
    ]
    if not found:
        raise JobError(
            f"{source} has no release tag vX.Y.Z that matches version {spec!r} and is not older "
            f"than this project's template; set [tool.mlops-scaffold] in pyproject.toml."
        )
    return f"{source}@{max(found)[1]}"


def install(config: dict[str, Any], current: tuple[int, ...] | None, where: Path) -> Path:
    """Install mlops-scaffold into ``where`` (not the user's tools); the path of its command."""
    wanted = requirement(config, current)
    print(f"Installing {wanted}", flush=True)
    env = {"UV_TOOL_DIR": str(where / "tools"), "UV_TOOL_BIN_DIR": str(where / "bin")}
    run("uv", "tool", "install", "--quiet", wanted, env=env)
    return where / "bin" / "mlops-scaffold"


# --- the forges ----------------------------------------------------------------------------------


def call(method: str, url: str, headers: dict[str, str], body: dict[str, Any] | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={**headers, "Accept": "application/json", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read() or b"null")


class GitHub:
    """Pull requests through GitHub's REST API, with the job's GITHUB_TOKEN."""

    def __init__(self) -> None:
        self.api = f"{os.environ['GITHUB_API_URL']}/repos/{os.environ['GITHUB_REPOSITORY']}"
        self.owner = os.environ["GITHUB_REPOSITORY"].split("/")[0]
        self.token = os.environ["GITHUB_TOKEN"]
        self.headers = {
            "Authorization": f"Bearer {self.token}",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        self.base = os.environ.get("GITHUB_REF_NAME") or "main"
        self.push_auth = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        self.remote = "origin"  # actions/checkout's remote; the token goes in a header, not on disk

    def open_or_update(self, title: str, body: str) -> str:
        query = urllib.parse.urlencode({"head": f"{self.owner}:{BRANCH}", "state": "open"})
        found = call("GET", f"{self.api}/pulls?{query}", self.headers)
        if found:
            number = found[0]["number"]
            call(
                "PATCH", f"{self.api}/pulls/{number}", self.headers, {"title": title, "body": body}
            )
            return f"updated pull request #{number}"
        made = call(
            "POST",
            f"{self.api}/pulls",
            self.headers,
            {"title": title, "body": body, "head": BRANCH, "base": self.base},
        )
        return f"opened pull request #{made['number']}"


class GitLab:
    """Merge requests through GitLab's REST API, with the project access token in
    TEMPLATE_UPGRADE_TOKEN."""

    def __init__(self) -> None:
        self.token = os.environ.get("TEMPLATE_UPGRADE_TOKEN", "")
        if not self.token:
            raise JobError(
                "TEMPLATE_UPGRADE_TOKEN is not set: add a project access token (role Developer, "
                "scopes api and write_repository) as a protected, masked CI/CD variable."
            )
        self.api = f"{os.environ['CI_API_V4_URL']}/projects/{os.environ['CI_PROJECT_ID']}"
        self.headers = {"PRIVATE-TOKEN": self.token}
        self.base = (
            os.environ.get("CI_COMMIT_BRANCH") or os.environ.get("CI_DEFAULT_BRANCH") or "main"
        )
        self.push_auth = base64.b64encode(f"template-upgrade:{self.token}".encode()).decode()
        # The checkout's origin carries the job's own token, which cannot push: the project's URL.
        self.remote = f"{os.environ['CI_SERVER_URL']}/{os.environ['CI_PROJECT_PATH']}.git"

    def open_or_update(self, title: str, body: str) -> str:
        query = urllib.parse.urlencode({"source_branch": BRANCH, "state": "opened"})
        found = call("GET", f"{self.api}/merge_requests?{query}", self.headers)
        if found:
            iid = found[0]["iid"]
            call(
                "PUT",
                f"{self.api}/merge_requests/{iid}",
                self.headers,
                {"title": title, "description": body},
            )
            return f"updated merge request !{iid}"
        made = call(
            "POST",
            f"{self.api}/merge_requests",
            self.headers,
            {
                "title": title,
                "description": body,
                "source_branch": BRANCH,
                "target_branch": self.base,
                "remove_source_branch": True,
            },
        )
        return f"opened merge request !{made['iid']}"


def forge() -> GitHub | GitLab:
    if os.environ.get("GITHUB_ACTIONS") == "true" or "GITHUB_API_URL" in os.environ:
        return GitHub()
    if os.environ.get("GITLAB_CI") == "true" or "CI_API_V4_URL" in os.environ:
        return GitLab()
    raise JobError("neither GitHub Actions nor GitLab CI: run this job from CI")


# --- the job -------------------------------------------------------------------------------------


def describe(
    upgrade: dict[str, Any], lock: str, tests: tuple[bool, str], tool: str
) -> tuple[str, str]:
    """The pull request's title and body."""
    conflicts, passed = upgrade["conflicts"], tests[0]
    flags = ("[conflicts] " if conflicts else "") + ("" if passed else "[tests failing] ")
    title = f"{flags}Upgrade to mlops-scaffold template {upgrade['to_version']}"
    lines = [
        f"Template {upgrade['from_version']} -> {upgrade['to_version']} at level "
        f"{upgrade['to_level']}, by the scheduled template upgrade (`ci/template_upgrade.py`) "
        f"with {tool}.",
        "",
    ]
    if conflicts:
        lines += [
            f"**Conflicts in {len(conflicts)} file(s)**: lines both you and the template changed. "
            "Resolve the `<<<<<<< before updating` ... `>>>>>>> after updating` blocks on this "
            "branch and push:",
            *(f"- `{path}`" for path in conflicts),
            "",
        ]
    lines.append("### Changes")
    for label in ("added", "changed", "removed"):
        lines += [f"- {label}: `{path}`" for path in upgrade[label]]
    lines += [
        "",
        "### Lock",
        lock,
        "",
        f"### Tests: {'passed' if passed else 'FAILED'} (`make test`)",
    ]
    tail = "\n".join(tests[1].strip().splitlines()[-TAIL_LINES:]).replace("```", "'''")
    lines += [
        "<details><summary>the last lines of the output</summary>",
        "",
        "```",
        tail,
        "```",
        "",
        "</details>",
    ]
    if upgrade["notes"]:
        lines += ["", "### Notes", *(f"- {note}" for note in upgrade["notes"])]
    return title, "\n".join(lines)


def push(remote: str, auth: str) -> bool:
    """Push HEAD to the upgrade branch; False when the branch already holds the same files.

    The branch belongs to this job: a commit of anyone else on it (a conflict resolved there) is
    never overwritten; the job stops and says so instead.
    """
    token_env = {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": "http.extraHeader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {auth}",
    }
    found = run("git", "ls-remote", "--heads", remote, BRANCH, env=token_env).stdout.split()
    if found:
        run("git", "fetch", "--quiet", "--no-tags", remote, found[0], env=token_env)
        if MARK not in run("git", "log", "-1", "--format=%B", found[0]).stdout:
            raise JobError(
                f"{BRANCH} has commits that are not this job's (a resolved conflict?): merge or "
                "close its pull request first, then run the job again"
            )
        if (
            run("git", "rev-parse", found[0] + "^{tree}").stdout
            == run("git", "rev-parse", "HEAD^{tree}").stdout
        ):
            return False
    run("git", "push", "--quiet", "--force", remote, f"HEAD:refs/heads/{BRANCH}", env=token_env)
    return True


def main() -> int:
    host = forge()
    config = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8")).get("tool", {})
    answers = Path(ANSWERS).read_text(encoding="utf-8")
    commit = re.search(r"(?m)^_commit:\s*(\S+)", answers)
    current = release(commit[1].split("+")[0]) if commit else None
    with tempfile.TemporaryDirectory(prefix="template-upgrade.") as scratch:
        scaffold = install(config.get("mlops-scaffold", {}), current, Path(scratch))
        tool = run(str(scaffold), "--version").stdout.strip()
        check = run(str(scaffold), "status", "--check", check=False)
        said = (check.stdout.strip() or check.stderr.strip()).splitlines() or [""]
        print(said[0].removeprefix("Error: "), flush=True)  # the versions, in one line
        if check.returncode == 0:
            return 0
        if check.returncode != BEHIND:
            raise JobError(check.stderr.strip())
        done = run(str(scaffold), "upgrade", "--json", check=False)
        if done.returncode not in (0, CONFLICTS):
            raise JobError(done.stderr.strip())
    upgrade = json.loads(done.stdout)
    if "pyproject.toml" in upgrade["conflicts"]:
        lock = "Not regenerated: resolve pyproject.toml, then run `uv lock` and commit uv.lock."
    else:
        locked = run("uv", "lock", check=False)
        lock = (
            "`uv lock`: uv.lock is the lock of the merged pyproject.toml."
            if locked.returncode == 0
            else (f"`uv lock` failed: {locked.stderr.strip()[-500:]}")
        )
    tests = run("make", "sync", "test", check=False)
    passed = tests.returncode == 0
    print(f"make test: {'passed' if passed else 'FAILED'}", flush=True)
    title, body = describe(upgrade, lock, (passed, tests.stdout + tests.stderr), tool)
    run("git", "add", "--all")  # conflicted files too, markers and all: the pull request shows them
    run("git", "checkout", "--quiet", "-B", BRANCH)
    message = f"{title}\n\n{upgrade['from_version']} -> {upgrade['to_version']}\n\n{MARK}\n"
    run(
        "git",
        "-c",
        "commit.gpgsign=false",
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        message,
        env=IDENTITY,
    )
    if not push(host.remote, host.push_auth):
        print(f"{BRANCH} already holds this upgrade", flush=True)
    print(host.open_or_update(title, body), flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (JobError, OSError, KeyError) as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(1)
