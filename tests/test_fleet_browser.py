"""The fleet HTML report in a real headless browser (Chromium): the DOM it builds and a screenshot.

Chromium is installed by `make browser` (Debian's `chromium` package) when it is absent. The test
opens the report from a file:// URL with networking turned off, dumps the DOM the browser built and
takes a screenshot, both kept under test-artifacts/ (or $TEST_ARTIFACTS_DIR). The screenshot is
decoded here: the level badges must be drawn in their colours, so the page really rendered.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest
from assess_support import LEVEL_0, LEVEL_1, LEVEL_4, build_tree
from helpers import runner

from mlops_scaffold.cli import app

REPO = Path(__file__).resolve().parents[1]
BROWSER = next(
    (shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome") if shutil.which(name)),
    None,
)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="no Chromium: run `make browser` to install it")

# Badge colours of the report's stylesheet (fleet._STYLE): level 0 red, level 1 orange, level 4 blue.
BADGES = {0: (0xCF, 0x22, 0x2E), 1: (0xBC, 0x4C, 0x00), 4: (0x09, 0x69, 0xDA)}


def artifacts() -> Path:
    folder = Path(os.environ.get("TEST_ARTIFACTS_DIR", REPO / "test-artifacts"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run(
        [str(BROWSER), *flags, *args], capture_output=True, text=True, timeout=120, check=False
    )


def png_pixels(path: Path) -> tuple[int, int, set[tuple[int, int, int]]]:
    """Width, height and the set of RGB colours of an 8-bit RGB/RGBA PNG (what Chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    offset, chunks, header = 8, [], b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        offset += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    previous = bytearray(stride)
    colours: set[tuple[int, int, int]] = set()
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        colours.update(zip(line[0::channels], line[1::channels], line[2::channels], strict=True))
        previous = line
    return width, height, colours


class _Rows(HTMLParser):
    """The fleet table's rows as the browser serialised them: data-repo, data-level, cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, object]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and "data-repo" in found:
            self.rows.append({"repo": found["data-repo"], "level": found["data-level"], "cells": []})
        elif tag == "td" and self.rows and self._cell is None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append(" ".join("".join(self._cell).split()))  # type: ignore[union-attr]
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_fleet_report_renders_in_a_headless_browser(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet"
    build_tree(fleet / "a-notebook-repo", {**LEVEL_0, "tests/test_train.py": ""})
    build_tree(fleet / "b-devops-repo", LEVEL_1)
    build_tree(fleet / "c-full-loop", LEVEL_4)
    report = artifacts() / "fleet-report.html"
    result = runner.invoke(app, ["assess", "--fleet", str(fleet), "--html", "--output", str(report)])
    assert result.exit_code == 0, result.output

    dom = chromium("--dump-dom", report.as_uri(), profile=tmp_path / "profile-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    (artifacts() / "fleet-report.dom.html").write_text(dom.stdout, encoding="utf-8")
    parser = _Rows()
    parser.feed(dom.stdout)
    assert [(r["repo"], r["level"]) for r in parser.rows] == [
        ("a-notebook-repo", "0"),
        ("b-devops-repo", "1"),
        ("c-full-loop", "4"),
    ]
    cells = {str(r["repo"]): r["cells"] for r in parser.rows}
    assert cells["b-devops-repo"][:4] == ["b-devops-repo", "1 DevOps, no MLOps", "3/5", "1/5"]
    assert cells["c-full-loop"][1] == "4 Full automated operations"
    assert cells["a-notebook-repo"][-1] == "Unit tests (level 0, required)"
    assert re.search(r"<title>MLOps maturity of the fleet</title>", dom.stdout)

    screenshot = artifacts() / "fleet-report.png"
    screenshot.unlink(missing_ok=True)
    shot = chromium(
        f"--screenshot={screenshot}",
        "--window-size=1280,900",
        "--hide-scrollbars",
        report.as_uri(),
        profile=tmp_path / "profile-shot",
    )
    assert shot.returncode == 0 and screenshot.is_file(), shot.stderr[-2000:]
    width, height, colours = png_pixels(screenshot)
    assert (width, height) == (1280, 900)
    for level, colour in BADGES.items():
        assert colour in colours, f"the level-{level} badge colour {colour} is not on the screenshot"
