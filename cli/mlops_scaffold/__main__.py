"""The `mlops-scaffold` command (and `python -m mlops_scaffold`).

It starts the Typer application only after Ctrl-C and SIGTERM are taken care of, so that an
interruption at any moment, even while Python is still importing the CLI, ends with one line and
exit status 130, never a traceback. SIGTERM becomes KeyboardInterrupt, so everything that cleans
up after Ctrl-C (staging and scratch directories, the upgrade's transaction) runs for it too.
This module imports nothing that Python has not loaded at start-up already (``_signal`` is the
interpreter's built-in signal module), so there is no moment before that handling is in place.
"""

import _signal  # type: ignore[import-not-found]  # the built-in behind `signal`, loaded already
import sys


def _terminate(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    try:
        _signal.signal(_signal.SIGTERM, _terminate)
        from mlops_scaffold.cli import app

        app()
    except KeyboardInterrupt:
        sys.stderr.write("Interrupted; stopped before it finished.\n")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
