"""The fleet view: one row per repository, as JSON, Markdown or a self-contained HTML page.

A row holds the level reached, the score of every level (found/total capabilities), the template
version of projects on the mlops-scaffold template, how many template versions it lags the
installed one and what closes the gap (the project's weekly template-upgrade pull request, or
`mlops-scaffold upgrade`), and the top missing capability (the first step of the plan). A row is
named by the shortest end of its path that no other row shares (`team-a/churn`, `team-b/churn`).
The renderers return text; the CLI
prints it or writes it to a file. The HTML page needs nothing but itself: styles are inline,
there is no script, no font, image or stylesheet to fetch, so it opens offline and can be
attached to a ticket or published as a dashboard artifact.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlops_scaffold.assess import Assessment
from mlops_scaffold.project import is_behind, releases_behind


def installed_template() -> str:
    """The template version this mlops-scaffold installation renders (its version tag)."""
    from mlops_scaffold import __version__
    from mlops_scaffold.template_store import version_tag

    return version_tag(__version__)


def lags(template_version: str | None, installed: str) -> bool | None:
    """Whether a project's template version is behind the installed one (None: not on the template).

    Same rule as `mlops-scaffold status`: behind when it differs and is not newer.
    """
    return None if template_version is None else is_behind(template_version, installed)


def _known_versions() -> set[str]:
    from mlops_scaffold.template_store import available_versions

    return available_versions()


UPGRADE_JOB = "ci/template_upgrade.py"  # the generated CI's scheduled template upgrade (level 1+)


def display_names(paths: list[Path]) -> list[str]:
    """For each path, the shortest end of it ('churn', 'team-a/churn') that no other path shares."""
    depth = dict.fromkeys(range(len(paths)), 1)

    def tail(index: int) -> str:
        parts = paths[index].parts
        return "/".join(parts[max(len(parts) - depth[index], 1) :]) or str(paths[index])

    while True:
        names = [tail(i) for i in range(len(paths))]
        clashes = {i for i, name in enumerate(names) if names.count(name) > 1}
        grown = {i for i in clashes if depth[i] < len(paths[i].parts) - 1}
        if not grown:
            return names
        for i in grown:
            depth[i] += 1


@dataclass(frozen=True)
class Row:
    assessment: Assessment
    installed: str
    name: str = ""  # the end of its path that tells it apart from the other rows
    known: frozenset[str] = frozenset()  # the template versions this machine knows (for behind_by)

    @property
    def lags(self) -> bool | None:
        return lags(self.assessment.template_version, self.installed)

    @property
    def behind_by(self) -> int | None:
        """How many template versions the project lags the installed one (None: not on the template)."""
        version = self.assessment.template_version
        return None if version is None else releases_behind(version, self.installed, set(self.known))

    @property
    def closes(self) -> str | None:
        """What brings a lagging project to the installed template (None when it does not lag)."""
        if not self.lags:
            return None
        command = f"mlops-scaffold upgrade {self.assessment.path}"
        if (self.assessment.path / UPGRADE_JOB).is_file():
            return f"merge its template-upgrade pull request (weekly CI job), or `{command}`"
        return f"`{command}`"

    @property
    def top_missing(self) -> str:
        a = self.assessment
        if a.error is not None:
            return f"(not assessed: {a.error})"
        if a.kind == "template":
            return "(a project template)"
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
        if not self.lags:
            return version
        count = self.behind_by
        return f"{version} ({count} version{'' if count == 1 else 's'} behind {self.installed})"

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
            "template_behind_by": self.behind_by,
            "template_closed_by": self.closes,
            "top_missing": self.top_missing,
            "error": a.error,
            "assessment": a.to_dict(),
        }


def _not_ml(assessment: Assessment) -> str:
    return "a project template" if assessment.kind == "template" else "not ML"


def rows(
    assessments: list[Assessment], installed: str | None = None, known: set[str] | None = None
) -> list[Row]:
    """One row per repository, and per project of a monorepo (each at its own level, never pooled),
    against the ``installed`` template version (default: this installation's) and the template
    versions this machine ``known``s (default: the store's). A monorepo's project is named by its
    repository's name and its folder (``mono/churn``)."""
    version = installed or installed_template()
    versions = frozenset(_known_versions() if known is None else known)
    report = []
    for a, name in zip(assessments, display_names([a.path for a in assessments]), strict=True):
        for project in a.projects or [a]:
            inner = project.path.relative_to(a.path).as_posix() if project is not a else ""
            report.append(Row(project, version, f"{name}/{inner}" if inner else name, versions))
    return report


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
        level = f"{a.level} ({a.level_name})" if a.ml_project else f"{a.level} ({_not_ml(a)})"
        cells = [row.name, level, *row.scores(), row.template(), row.top_missing]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lagging = [row for row in report if row.lags]
    if lagging:
        lines += ["", f"## Behind the installed template ({len(lagging)})", ""]
        lines += [f"- {_cell(line)}" for line in lagging_lines(lagging)]
    return "\n".join(lines) + "\n"


def lagging_lines(report: list[Row]) -> list[str]:
    """One line per project behind the installed template: how far, and what closes the gap."""
    return [f"{row.name}: {row.template()}; {row.closes}" for row in report if row.lags]


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
p.legend{color:#57606a;margin:-.8rem 0 1.2rem;font-size:.85rem}
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


# What the level badges' colours mean: from red (no MLOps) to blue (full automated operations).
_LEGEND = (
    '<p class="legend">Level badges: '
    + " ".join(
        f'<span class="level l{n}">{n}</span> {name}'
        for n, name in (
            (0, "no MLOps"),
            (1, "DevOps, no MLOps"),
            (2, "automated training"),
            (3, "automated model deployment"),
            (4, "full automated operations"),
        )
    )
    + ' <span class="level">0</span> grey: not an ML project (its practices still place it on the scale).</p>'
)


def _lagging_html(report: list[Row]) -> str:
    lagging = [row for row in report if row.lags]
    if not lagging:
        return ""
    e = html.escape
    items = "".join(f"<li>{e(line)}</li>" for line in lagging_lines(lagging))
    return f"<h2>Behind the installed template ({len(lagging)})</h2><ul id=\"lagging\">{items}</ul>"


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
            label = "a project template" if a.kind == "template" else "not an ML project"
            level = f'<span class="level">{a.level}</span> <span class="notml">{label}</span>'
        cells = "".join(f'<td class="num">{_bar(s.found, s.total)}</td>' for s in a.scores)
        template = e(a.template_version or "-")
        if row.lags:
            behind = row.template().removeprefix(a.template_version or "").strip(" ()")
            template += f' <span class="lag">{e(behind)}</span>'  # "2 versions behind v0.4.0"
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
        + _LEGEND
        + _lagging_html(report)
        + "".join(_details(index, row) for index, row in enumerate(report, 1))
        + "</body></html>\n"
    )
