"""The `mlops-scaffold` command (and `python -m mlops_scaffold`).

It starts the Typer application only after Ctrl-C and SIGTERM are taken care of, so that an
interruption at any moment, even while Python is still importing the CLI, ends with one line and
exit status 130, never a traceback. SIGTERM becomes KeyboardInterrupt, so everything that cleans
up after Ctrl-C (staging and scratch directories, the upgrade's transaction) runs for it too.
"""

from __future__ import annotations

import signal
import sys
from types import FrameType


def _terminate(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main() -> None:
    try:
        signal.signal(signal.SIGTERM, _terminate)
        from mlops_scaffold.cli import app

        app()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted; stopped before it finished.\n")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
