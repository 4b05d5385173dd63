"""LocalStack for the test suite, without Docker.

``ensure_localstack()`` uses a LocalStack that already listens at ``LOCALSTACK_ENDPOINT``, or
starts one itself as a host process from its own virtual environment (``.venv-localstack``,
Python 3.13, with the pins below: see ../shared/ENVIRONMENT.md), waits for its health
endpoint and, through ``LocalStack.stop()``, stops only what it started.

    python tests/localstack.py install     # build .venv-localstack (what `make test` does)
    python tests/localstack.py serve       # run one in the foreground, for manual work

LocalStack community 4.14.0 is the last Apache-2.0 release. It serves S3, SSM, STS, IAM, KMS,
SQS, SNS, CloudWatch, Logs, EventBridge, Scheduler and Step Functions in host mode; it has no
SageMaker, Batch, ECR or DynamoDB here, and the tests use real local backends for those.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv-localstack"
ENDPOINT_VARIABLE = "LOCALSTACK_ENDPOINT"
PINS = (
    "localstack-core[runtime]==4.14.0",
    "cbor2<6",
    "cryptography==44.0.3",
    "pyopenssl==24.3.0",
    "joserfc<1.1",
    "service_identity<25",
)
SERVICES = ("s3", "ssm", "sts", "iam", "kms", "sqs", "sns", "cloudwatch", "logs", "events", "stepfunctions")


class LocalStackError(RuntimeError):
    pass


def _python_ok(command: list[str]) -> bool:
    try:
        done = subprocess.run(
            [*command, "-c", "import sys; assert sys.version_info[:2] == (3, 13)"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def find_python() -> str:
    """A Python 3.13 interpreter, on PATH or under pyenv: LocalStack uses PEP 695 syntax (3.11
    cannot run it) and its S3 fails on 3.12 (`cannot import name 'deprecated' from 'warnings'`)."""
    for name in ("python3.13",):
        path = shutil.which(name)
        if path and _python_ok([path]):
            return path
    roots = [Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"]
    for root in roots:
        for candidate in sorted(root.glob("3.13*/bin/python3"), reverse=True):
            if _python_ok([str(candidate)]):
                return str(candidate)
    raise LocalStackError(
        "LocalStack needs Python 3.13 and none was found (tried python3.13 and "
        "pyenv versions). Install one, or point LOCALSTACK_ENDPOINT at a running LocalStack."
    )


def install(venv: Path = VENV) -> Path:
    """Create ``venv`` with LocalStack and the pins that work in host mode; return its python."""
    python = venv / "bin" / "python"
    marker = venv / ".installed"
    if marker.is_file() and marker.read_text() == "\n".join(PINS):
        marker.touch()  # up to date: tell make so
        return python
    shutil.rmtree(venv, ignore_errors=True)
    uv = Path(sys.executable).with_name("uv")  # a dev dependency; much faster than pip
    if uv.is_file():
        subprocess.run([str(uv), "venv", "--quiet", "--python", find_python(), str(venv)], check=True)
        subprocess.run([str(uv), "pip", "install", "--quiet", "--python", str(python), *PINS], check=True)
    else:
        subprocess.run([find_python(), "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--quiet", "--disable-pip-version-check", *PINS],
            check=True,
        )
    marker.write_text("\n".join(PINS))
    return python


def health(endpoint: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """LocalStack's health document, or None when nothing answers at ``endpoint``."""
    try:
        with urllib.request.urlopen(f"{endpoint.rstrip('/')}/_localstack/health", timeout=timeout) as reply:
            payload: dict[str, Any] = json.load(reply)
            return payload
    except (OSError, ValueError, urllib.error.URLError):
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LocalStack:
    endpoint: str
    process: subprocess.Popen[bytes] | None = None
    workdir: Path | None = None
    started_here: bool = field(init=False)

    def __post_init__(self) -> None:
        self.started_here = self.process is not None

    @property
    def port(self) -> int:
        return int(self.endpoint.rsplit(":", 1)[1].split("/")[0])

    def log_tail(self, lines: int = 40) -> str:
        log = self.workdir / "localstack.log" if self.workdir else None
        if log is None or not log.is_file():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def env(self) -> dict[str, str]:
        """Environment variables that point AWS SDKs (boto3, MLflow, s3fs) at this LocalStack."""
        return {
            ENDPOINT_VARIABLE: self.endpoint,
            "AWS_ENDPOINT_URL": self.endpoint,
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }

    def running_session(self, services: tuple[str, ...] = ("s3", "ssm", "sts")) -> Any:
        """A ``pytest_localstack`` RunningSession on this endpoint (boto3 clients via ``.boto3``)."""
        from pytest_localstack.session import RunningSession

        host = self.endpoint.split("://", 1)[1].rsplit(":", 1)[0]
        return RunningSession(host, services=dict.fromkeys(services, self.port), region_name="us-east-1")

    def stop(self) -> None:
        """Stop the LocalStack this harness started; one that was already running is left alone."""
        if self.process is not None:
            stop_process(self.process.pid, self.workdir)
            self.process.wait(timeout=10)
        self.process = None
        self.workdir = None


def stop_process(pid: int, workdir: Path | str | None = None) -> None:
    """Stop a LocalStack started by ``start`` (its own process group) and remove its work dir."""
    for sig, wait in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if not _alive(pid):
            break
    if workdir is not None:
        shutil.rmtree(workdir, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reap it when it is our child
    except ChildProcessError:
        waited = 0
    if waited == pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def start(*, venv: Path = VENV, port: int | None = None, timeout: float = 120.0) -> LocalStack:
    """Start LocalStack as a host process on 127.0.0.1 and wait until its health endpoint answers."""
    python = install(venv)
    port = port or _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="localstack-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))},
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "LOCALSTACK_HOST": f"127.0.0.1:{port}",
        "DNS_ADDRESS": "0",  # no DNS server on port 53
        "DISABLE_EVENTS": "1",  # no analytics
        "SKIP_INFRA_DOWNLOADS": "1",
        "EAGER_SERVICE_LOADING": "0",
        "FILESYSTEM_ROOT": str(workdir / "fs"),
        "LOCALSTACK_VOLUME_DIR": str(workdir / "volume"),
        "TMPDIR": str(workdir),
    }
    log = (workdir / "localstack.log").open("wb")
    process = subprocess.Popen(
        [str(python), "-m", "localstack.runtime.main"],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    stack = LocalStack(endpoint=f"http://127.0.0.1:{port}", process=process, workdir=workdir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = stack.log_tail()
            stack.stop()
            raise LocalStackError(f"LocalStack exited with code {process.returncode}:\n{tail}")
        if health(stack.endpoint):
            return stack
        time.sleep(0.5)
    tail = stack.log_tail()
    stack.stop()
    raise LocalStackError(f"LocalStack did not answer its health check within {timeout:.0f} s:\n{tail}")


def ensure_localstack() -> LocalStack:
    """The LocalStack at LOCALSTACK_ENDPOINT when set (it must answer), else a new one."""
    endpoint = os.environ.get(ENDPOINT_VARIABLE)
    if endpoint:
        if health(endpoint) is None:
            raise LocalStackError(f"{ENDPOINT_VARIABLE}={endpoint} is set but no LocalStack answers there")
        return LocalStack(endpoint=endpoint.rstrip("/"))
    return start()


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "help"
    if command == "install":
        print(install())
        return 0
    if command == "serve":
        stack = start(port=int(argv[1]) if len(argv) > 1 else 4566)

        def interrupt(signum: int, frame: object) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, interrupt)  # `kill PID` stops LocalStack too
        signal.signal(signal.SIGINT, interrupt)  # also when started in the background
        print(f"LocalStack at {stack.endpoint}; Ctrl-C stops it")
        try:
            while stack.process is not None and stack.process.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            stack.stop()
        return 0
    print(__doc__)
    return 0 if command == "help" else 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
