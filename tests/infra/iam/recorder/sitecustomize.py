"""Record the AWS calls a Python process makes (imported at start-up through PYTHONPATH).

Set ``MLOPS_AWS_CALL_LOG`` to a file and put this directory first on ``PYTHONPATH``: every
botocore API call (service, operation, the parameters that name resources) and every MLflow
tracking/registry store operation is appended to that file as one JSON line, with the project
functions on the call stack (which tell the tests which runtime principal made it). Nothing
happens when the variable is not set. ``tests/infra/iam/recording.py`` reads the log.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback

_LOG = os.environ.get("MLOPS_AWS_CALL_LOG")
# Parameters that name the resource of a call; nothing else is kept (no payloads, no secrets).
_KEEP = (
    "Bucket",
    "Key",
    "Prefix",
    "Name",
    "Names",
    "Path",
    "Namespace",
    "stateMachineArn",
    "jobQueue",
    "jobDefinition",
    "EndpointName",
    "EndpointConfigName",
    "ModelName",
    "ExecutionRoleArn",
    "TopicArn",
    "TableName",
    "RoleArn",
    "KmsKeyId",
    "AlarmName",
)
_lock = threading.Lock()


def _stack() -> list[str]:
    """``module.function`` of every frame outside the standard library and site-packages."""
    frames = []
    for frame in traceback.extract_stack()[:-2]:
        path = frame.filename
        if (
            "site-packages" in path
            or path.startswith(sys.prefix)
            or "<frozen" in path
            or "sitecustomize" in path
        ):
            continue
        module = os.path.splitext(os.path.basename(path))[0]
        parent = os.path.basename(os.path.dirname(path))
        frames.append(f"{parent}.{module}.{frame.name}")
    return frames


def _write(entry: dict) -> None:
    entry["stack"] = _stack()
    entry["argv"] = sys.argv[:4]
    line = json.dumps(entry, default=str)
    with _lock, open(_LOG, "a", encoding="utf-8") as log:  # type: ignore[arg-type]
        log.write(line + "\n")


def _on_call(params: dict, model: object, **_: object) -> None:
    operation = getattr(model, "name", "?")
    service = getattr(getattr(model, "service_model", None), "service_name", "?")
    kept = {key: params[key] for key in _KEEP if key in params}
    _write({"kind": "aws", "service": service, "operation": operation, "params": kept})


def _on_response(http_response: object, parsed: dict, model: object, **_: object) -> None:
    """Remember what the SSM contract resolved to, so recordings can be matched to placeholders."""
    if getattr(model, "name", "") == "GetParametersByPath" and isinstance(parsed, dict):
        values = {p.get("Name"): p.get("Value") for p in parsed.get("Parameters", [])}
        if values:
            _write({"kind": "contract", "values": values})


def _install_botocore() -> None:
    from botocore import session

    create_client = session.Session.create_client

    def create_recording_client(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        client = create_client(self, *args, **kwargs)
        client.meta.events.register("before-parameter-build.*.*", _on_call)
        client.meta.events.register("after-call.*.*", _on_response)
        return client

    session.Session.create_client = create_recording_client


_STORES = {
    "mlflow.store.tracking.sqlalchemy_store": "SqlAlchemyStore",
    "mlflow.store.tracking.rest_store": "RestStore",
    "mlflow.store.model_registry.sqlalchemy_store": "SqlAlchemyStore",
    "mlflow.store.model_registry.rest_store": "RestStore",
}


def _wrap_store(module: object) -> None:
    cls = getattr(module, _STORES[module.__name__], None)  # type: ignore[attr-defined]
    if cls is None or getattr(cls, "_mlops_recorded", False):
        return
    for name, method in list(vars(cls).items()):
        if name.startswith("_") or not callable(method):
            continue

        def recorded(self, *args, __name=name, __method=method, **kwargs):  # type: ignore[no-untyped-def]
            # A store operation calling another one is one client call: record the outer one only.
            if not getattr(_depth, "value", 0):
                _write({"kind": "mlflow", "operation": __name})
            _depth.value = getattr(_depth, "value", 0) + 1
            try:
                return __method(self, *args, **kwargs)
            finally:
                _depth.value -= 1

        setattr(cls, name, recorded)
    cls._mlops_recorded = True


_depth = threading.local()


class _AfterImport:
    """Wraps the MLflow store classes when (and if) their modules are imported."""

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname not in _STORES:
            return None
        import importlib.machinery

        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        exec_module = spec.loader.exec_module

        def exec_and_wrap(module):  # type: ignore[no-untyped-def]
            exec_module(module)
            _wrap_store(module)

        spec.loader.exec_module = exec_and_wrap  # type: ignore[method-assign]
        return spec


if _LOG:
    import contextlib

    with contextlib.suppress(ImportError):  # a process without botocore makes no AWS calls
        _install_botocore()
    sys.meta_path.insert(0, _AfterImport())
