"""On a terminal, `new` asks copier's questions (questionary) for every answer not given."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

DOWN, ENTER = "\x1b[B", "\r"


def _read_until(fd: int, needle: str, seen: list[str], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while needle not in "".join(seen):
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {needle!r}; screen so far:\n{''.join(seen)}")
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen.append(os.read(fd, 65536).decode(errors="replace"))
            except OSError:
                break


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_prompts_on_a_terminal(tmp_path: Path) -> None:
    main_fd, child_fd = os.openpty()
    cli = Path(sys.executable).with_name("mlops-scaffold")
    process = subprocess.Popen(
        [str(cli), "new", str(tmp_path / "asked"), "--level", "1"],
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
        env={**os.environ, "TERM": "xterm"},
    )
    os.close(child_fd)
    seen: list[str] = []
    try:
        for prompt, keys in [
            ("One-line description", "Churn model" + ENTER),  # replaces the default, not appended to it
            ("Author or team name", ENTER),  # the default
            ("Author or team e-mail", ENTER),
            ("Modelling framework", DOWN + ENTER),  # pytorch
            ("CI/CD vendor", DOWN + ENTER),  # gitlab
            ("Python version", ENTER),
        ]:
            _read_until(main_fd, prompt, seen)
            time.sleep(0.3)
            os.write(main_fd, keys.encode())
        assert process.wait(timeout=60) == 0, "".join(seen)
    finally:
        process.kill()
        os.close(main_fd)
    answers = yaml.safe_load((tmp_path / "asked" / ".copier-answers.yml").read_text())
    assert answers["description"] == "Churn model"
    assert answers["author_name"] == "ML team"
    assert answers["framework"] == "pytorch"
    assert answers["ci"] == "gitlab"
    assert answers["level"] == 1
    assert (tmp_path / "asked" / ".gitlab-ci.yml").is_file()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_without_level_on_a_terminal_new_shows_the_levels_and_asks(tmp_path: Path) -> None:
    main_fd, child_fd = os.openpty()
    cli = Path(sys.executable).with_name("mlops-scaffold")
    process = subprocess.Popen(
        [str(cli), "new", str(tmp_path / "asked")],
        stdin=child_fd,
        stdout=child_fd,
        stderr=child_fd,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "120"},
    )
    os.close(child_fd)
    seen: list[str] = []
    try:
        _read_until(main_fd, "MLOps maturity level for the new project", seen)
        screen = "".join(seen)
        assert "Full automated operations" in screen and "Experiment tracking" in screen  # the table
        time.sleep(0.3)
        for wrong in (b"7", b"two", b""):  # not a level: the valid ones are named, and asked again
            seen.clear()
            os.write(main_fd, wrong + b"\r")
            _read_until(main_fd, "Please type one of the levels: 0, 1, 2, 3, 4", seen)
            time.sleep(0.3)
        os.write(main_fd, b"2\r")
        for prompt in ("One-line description", "Author or team name", "Author or team e-mail"):
            _read_until(main_fd, prompt, seen)
            time.sleep(0.3)
            os.write(main_fd, ENTER.encode())
        for prompt in ("Modelling framework", "CI/CD vendor", "Python version"):
            _read_until(main_fd, prompt, seen)
            time.sleep(0.3)
            os.write(main_fd, ENTER.encode())
        _read_until(main_fd, "# every task", seen, timeout=120)
        assert process.wait(timeout=60) == 0, "".join(seen)
    finally:
        process.kill()
        os.close(main_fd)
    assert "make pipeline" in "".join(seen)
    answers = yaml.safe_load((tmp_path / "asked" / ".copier-answers.yml").read_text())
    assert answers["level"] == 2
