"""mlops-scaffold: start ML projects at a chosen MLOps maturity level and move them up."""

__all__ = ["__version__"]


def __getattr__(name: str) -> str:
    # Looked up on first use, not at import: the `mlops-scaffold` command starts in
    # ``mlops_scaffold.__main__`` with nothing slow before its Ctrl-C handling is in place.
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("mlops-scaffold")
    except PackageNotFoundError:  # running from a source tree that was never installed
        found = "0.0.0"
    globals()["__version__"] = found
    return found
