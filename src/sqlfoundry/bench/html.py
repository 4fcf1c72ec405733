"""The HTML evaluation report: one self-contained file, inline SVG charts, no CDN."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from sqlfoundry.bench.execution import FAILURE_CATEGORIES, RESULTS_DIFFER, ItemVerdict
from sqlfoundry.core.html import STYLE, grouped_bar_chart

MAX_FAILURES = 300


def _accuracy_chart(title: str, groups: dict[str, dict[str, Any]], metrics: list[str]) -> str:
    """One group per row of a breakdown, one bar per metric (EX beside EM)."""
    rows = []
    for name, row in groups.items():
        values = []
        for metric in metrics:
            value = float(row.get(metric, 0.0))
            values.append((value, f"{metric.upper()} {value * 100:.1f}%"))
        values[-1] = (values[-1][0], f"{values[-1][1]} (n={row.get('count', 0)})")
        rows.append((name, values))
    return (
        f'<div class="chart">{grouped_bar_chart(title, rows, [m.upper() for m in metrics])}</div>'
    )


def _confusion(report: dict[str, Any]) -> str:
    """The EX x EM table: how often the two metrics disagree, and which way."""
    cells = report.get("confusion")
    if not cells:
        return ""
    total = report["count"] or 1

    def cell(n: int) -> str:
        return f"<td>{n} <span class='muted'>({100 * n / total:.1f}%)</span></td>"

    ex_row = cells["ex_em"] + cells["ex_not_em"]
    not_ex_row = cells["em_not_ex"] + cells["neither"]
    note = ""
    if cells["em_not_ex"]:
        note = (f"<p class='warn'>{cells['em_not_ex']} predictions are exact-set matches of the "
                "gold query (EM) yet return other rows: EM alone would count them right.</p>")  # fmt: skip
    return (
        "<h2>EX × EM</h2><table class='narrow'>"
        "<tr><th></th><th>EM right</th><th>EM wrong</th><th>total</th></tr>"
        f"<tr><th>EX right</th>{cell(cells['ex_em'])}{cell(cells['ex_not_em'])}{cell(ex_row)}</tr>"
        f"<tr><th>EX wrong</th>{cell(cells['em_not_ex'])}{cell(cells['neither'])}{cell(not_ex_row)}</tr>"
        "</table>" + note
    )


def _failure_summary(report: dict[str, Any]) -> str:
    """Wrong items per category, with their share of all items."""
    counts = report.get("failures") or {}
    if not counts:
        return ""
    total = report["count"] or 1
    rows = "".join(
        f"<tr><td><a href='#{_anchor(c)}'>{escape(c)}</a></td><td>{n}</td>"
        f"<td>{100 * n / total:.1f}%</td></tr>"
        for c, n in counts.items()
    )
    return (
        "<h2>Why items are wrong</h2><table class='narrow'>"
        f"<tr><th>category</th><th>items</th><th>of all</th></tr>{rows}</table>"
    )


def _anchor(category: str) -> str:
    return "fail-" + category.replace(" ", "-")


def _rows(preview: dict[str, Any] | None) -> str:
    if not preview:
        return '<span class="muted">no result</span>'
    head = " | ".join(map(str, preview["columns"]))
    body = "\n".join(
        " | ".join(json.dumps(v, ensure_ascii=False) for v in r) for r in preview["rows"]
    )
    more = preview["row_count"] - len(preview["rows"])
    tail = f"\n… {more} more rows" if more > 0 else ""
    return f"<pre>{escape(head)}\n{escape(body)}{escape(tail)}</pre>"


def render_html(
    report: dict[str, Any], verdicts: Sequence[ItemVerdict], warnings: Sequence[str] = ()
) -> str:
    """The whole report page: cards, EX/EM charts, the EX x EM table, the failure
    categories, oracle metrics, and the failed items grouped by category."""
    metrics = [k for k in ("ex", "em", "ves", "r_ves") if k in report]
    cards = "".join(
        f'<div class="card">{k.upper()}<b>{report[k] * 100:.1f}%</b></div>'
        if k in ("ex", "em")
        else f'<div class="card">{k.upper()}<b>{report[k]:.1f}</b></div>'
        for k in metrics
    )
    cards += f'<div class="card">items<b>{report["count"]}</b></div>'
    cards += f'<div class="card">with errors<b>{len(report["errors"])}</b></div>'
    shown = [k for k in ("ex", "em") if k in report]
    charts = [_accuracy_chart(f"{' and '.join(m.upper() for m in shown)} by {what}", report[key], shown)
              for what, key in (("difficulty", "by_difficulty"), ("database", "by_db"))]  # fmt: skip
    oracle = report.get("oracle")
    oracle_html = ""
    if oracle:
        cells = "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>"
                        for k, v in oracle.items())  # fmt: skip
        oracle_html = f"<h2>Oracle metrics (not EX)</h2><table>{cells}</table>"
    failures = [v for v in verdicts if not v.ex]
    failures.sort(key=lambda v: (FAILURE_CATEGORIES.index(v.category or RESULTS_DIFFER), v.index))
    rows = []
    seen: set[str] = set()
    for v in failures[:MAX_FAILURES]:
        category = v.category or RESULTS_DIFFER
        anchor = "" if category in seen else f" id='{_anchor(category)}'"
        seen.add(category)
        reason = f"<br><span class='err'>{escape(v.error)}</span>" if v.error else ""
        rows.append(
            f"<tr{anchor}><td>{v.index}</td><td>{escape(v.db_id)}<br><span class='muted'>"
            f"{escape(v.hardness or '')} {escape(v.difficulty or '')}</span></td>"
            f"<td><code>{escape(v.gold_sql)}</code>{_rows(v.gold_preview)}</td>"
            f"<td><code>{escape(v.pred_sql or '')}</code>{_rows(v.pred_preview)}</td>"
            f"<td><b>{escape(category)}</b>{'' if v.em is None else (' · EM ✓' if v.em else ' · EM ✗')}"
            f"{reason}</td></tr>"
        )
    more = (f"<p class='muted'>{len(failures) - MAX_FAILURES} more failures are in the items file.</p>"
            if len(failures) > MAX_FAILURES else "")  # fmt: skip
    warn = "".join(f"<p class='warn'>⚠ {escape(w)}</p>" for w in warnings)
    title = escape(f"sqlfoundry evaluation — {report.get('benchmark') or 'custom'}")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{STYLE}</style></head><body>
<h1>{title}</h1>
<p class="muted">comparison mode: {escape(report["mode"])} · {report.get("seconds", "?")} s</p>
{warn}
<div class="cards">{cards}</div>
<h2>Accuracy</h2>
{"".join(charts)}
{_confusion(report)}
{_failure_summary(report)}
{oracle_html}
<h2>Failures ({len(failures)}), by category</h2>
<table><tr><th>#</th><th>database</th><th>gold SQL and first rows</th>
<th>predicted SQL and first rows</th><th>why</th></tr>
{"".join(rows)}</table>{more}
</body></html>
"""
