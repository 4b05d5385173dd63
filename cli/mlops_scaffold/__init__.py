"""mlops-scaffold: start ML projects at a chosen MLOps maturity level and move them up."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mlops-scaffold")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
