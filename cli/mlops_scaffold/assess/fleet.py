"""The fleet view: one row per repository, as JSON, Markdown or a self-contained HTML page.

A row holds the level reached, the score of every level (found/total capabilities), the template
version of projects on the mlops-scaffold template and whether it lags the installed one, and
the top missing capability (the first step of the plan). The renderers return text; the CLI
prints it or writes it to a file. The HTML page needs nothing but itself: styles are inline,
there is no script, no font, image or stylesheet to fetch, so it opens offline and can be
attached to a ticket or published as a dashboard artifact.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from packaging.version import InvalidVersion, Version

from mlops_scaffold.assess import Assessment


def installed_template() -> str:
    """The template version this mlops-scaffold installation renders (its version tag)."""
    from mlops_scaffold import __version__
    from mlops_scaffold.template_store import version_tag

    return version_tag(__version__)


def _public(ref: str) -> Version | None:
    try:
        return Version(Version(ref.removeprefix("v")).public)
    except InvalidVersion:
        return None


def lags(template_version: str | None, installed: str) -> bool | None:
    """Whether a project's template version is behind the installed one (None: not on the template).

    Same rule as `mlops-scaffold status`: behind when it differs and is not newer.
    """
    if template_version is None:
        return None
    current, newest = _public(template_version), _public(installed)
    ahead = current is not None and newest is not None and current > newest
    return template_version != installed and not ahead


@dataclass(frozen=True)
class Row:
    assessment: Assessment
    installed: str

    @property
    def name(self) -> str:
        return self.assessment.path.name

    @property
    def lags(self) -> bool | None:
        return lags(self.assessment.template_version, self.installed)

    @property
    def top_missing(self) -> str:
        a = self.assessment
        if a.error is not None:
            return f"(not assessed: {a.error})"
        if not a.ml_project:
            return "(not an ML project)"
        step = (a.plan.required + a.plan.recommended)[:1]
        if not step:
            return "-"
        kind = "required" if step[0].required else "recommended"
        return f"{step[0].title} (level {step[0].level}, {kind})"

    def scores(self) -> list[str]:
        return [f"{s.found}/{s.total}" for s in self.assessment.scores]

    def template(self) -> str:
        version = self.assessment.template_version
        if version is None:
            return "-"
        return f"{version} (behind {self.installed})" if self.lags else version

    def to_dict(self) -> dict[str, Any]:
        a = self.assessment
        return {
            "name": self.name,
            "path": str(a.path),
            "ml_project": a.ml_project,
            "level": a.level,
            "level_name": a.level_name,
            "verdict": a.verdict,
            "scores": {str(s.level): f"{s.found}/{s.total}" for s in a.scores},
            "template_version": a.template_version,
            "template_lags": self.lags,
            "top_missing": self.top_missing,
            "error": a.error,
            "assessment": a.to_dict(),
        }


def rows(assessments: list[Assessment], installed: str | None = None) -> list[Row]:
    version = installed or installed_template()
    return [Row(a, version) for a in assessments]


def to_json(report: list[Row]) -> dict[str, Any]:
    installed = report[0].installed if report else installed_template()
    return {"installed_template": installed, "repositories": [row.to_dict() for row in report]}


def _cell(text: str) -> str:
    """A Markdown table cell: pipes escaped, no line breaks, no raw HTML."""
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def to_markdown(report: list[Row]) -> str:
    levels = [s.level for s in report[0].assessment.scores] if report else []
    installed = report[0].installed if report else installed_template()
    header = ["Repository", "Level", *[f"L{n}" for n in levels], "Template", "Top missing capability"]
    lines = [
        f"# MLOps maturity of {len(report)} repositor{'y' if len(report) == 1 else 'ies'}",
        "",
        f"Installed mlops-scaffold template: `{installed}`. Scores are capabilities found/total per level; "
        "the level is the highest whose required capabilities (and all lower levels') are present.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in report:
        a = row.assessment
        level = f"{a.level} ({a.level_name})" if a.ml_project else f"{a.level} (not ML)"
        cells = [row.name, level, *row.scores(), row.template(), row.top_missing]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1b1f24;background:#fff}
h1{font-size:1.4rem;margin:0 0 .3rem} p.meta{color:#57606a;margin:0 0 1.2rem}
table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}
th,td{border:1px solid #d0d7de;padding:.35rem .55rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f6f8fa} td.num{text-align:center;white-space:nowrap}
.level{display:inline-block;min-width:1.6rem;text-align:center;border-radius:.8rem;padding:.05rem .45rem;
color:#fff;font-weight:600;background:#8c959f}
.l0{background:#cf222e}.l1{background:#bc4c00}.l2{background:#9a6700}.l3{background:#1a7f37}.l4{background:#0969da}
.bar{display:inline-block;height:.5rem;background:#2da44e;border-radius:.2rem;vertical-align:middle}
.bar.empty{background:#d0d7de}
.lag{color:#cf222e;font-weight:600} .notml{color:#57606a;font-style:italic}
details{border:1px solid #d0d7de;border-radius:.4rem;padding:.5rem .8rem;margin:.6rem 0}
summary{cursor:pointer;font-weight:600} .yes{color:#1a7f37;font-weight:600} .no{color:#cf222e}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85em}
"""


def _bar(found: int, total: int) -> str:
    width = round(48 * found / total) if total else 0
    return (
        f'<span class="bar" style="width:{width}px"></span>'
        f'<span class="bar empty" style="width:{48 - width}px"></span> {found}/{total}'
    )


def _anchor(index: int, row: Row) -> str:
    """A unique id for a repository's section (two may share a folder name; an id has no spaces)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", row.name).strip("-")
    return f"repo-{index}-{slug}" if slug else f"repo-{index}"


def _details(index: int, row: Row) -> str:
    a = row.assessment
    e = html.escape
    parts = [
        f'<details id="{_anchor(index, row)}"><summary>{e(row.name)}: {e(a.verdict)}</summary>',
        f"<p><code>{e(str(a.path))}</code></p>",
        "<table><thead><tr><th>Level</th><th>Capability</th><th>Kind</th><th>Found</th><th>Evidence</th></tr>"
        "</thead><tbody>",
    ]
    for f in a.findings:
        evidence = "<br>".join(f"<code>{e(ev.path)}</code> {e(ev.why)}" for ev in f.evidence)
        found = '<span class="yes">yes</span>' if f.found else '<span class="no">no</span>'
        kind = "required" if f.required else "recommended"
        parts.append(
            f'<tr><td class="num">{f.level}</td><td>{e(f.title)}</td><td>{kind}</td>'
            f'<td class="num">{found}</td>'
            f"<td>{evidence}</td></tr>"
        )
    parts.append("</tbody></table>")
    for label, steps in (
        ("Required for the next level", a.plan.required),
        ("Recommended", a.plan.recommended),
    ):
        if steps:
            items = "".join(f"<li><b>{e(s.title)}</b>: {e(s.text)}</li>" for s in steps)
            parts.append(f"<p>{label}:</p><ul>{items}</ul>")
    parts.append("</details>")
    return "".join(parts)


def to_html(report: list[Row], *, title: str = "MLOps maturity of the fleet") -> str:
    """A single self-contained HTML page (inline styles, no scripts, nothing fetched)."""
    e = html.escape
    levels = [(s.level, s.name) for s in report[0].assessment.scores] if report else []
    installed = report[0].installed if report else installed_template()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    head = "".join(f'<th title="{e(name)}">L{n}</th>' for n, name in levels)
    body = []
    for index, row in enumerate(report, 1):
        a = row.assessment
        if a.ml_project:
            level = f'<span class="level l{a.level}">{a.level}</span> {e(a.level_name)}'
        else:
            level = f'<span class="level">{a.level}</span> <span class="notml">not an ML project</span>'
        cells = "".join(f'<td class="num">{_bar(s.found, s.total)}</td>' for s in a.scores)
        template = e(a.template_version or "-")
        if row.lags:
            template += f' <span class="lag">behind {e(row.installed)}</span>'
        body.append(
            f'<tr data-repo="{e(row.name)}" data-level="{a.level}"><td><a href="#{_anchor(index, row)}">'
            f"{e(row.name)}</a></td><td>{level}</td>{cells}<td>{template}</td><td>{e(row.top_missing)}</td></tr>"
        )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{e(title)}</h1>"
        f'<p class="meta">{len(report)} repositor{"y" if len(report) == 1 else "ies"} assessed {now}; '
        f"installed mlops-scaffold template <code>{e(installed)}</code>. Scores are capabilities found/total "
        "per level; the level is the highest whose required capabilities, and all lower levels', are "
        "present.</p>"
        f'<table id="fleet"><thead><tr><th>Repository</th><th>Level</th>{head}<th>Template</th>'
        f"<th>Top missing capability</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
        + "".join(_details(index, row) for index, row in enumerate(report, 1))
        + "</body></html>\n"
    )
