"""The HTML evaluation report: one self-contained file, inline SVG charts, no CDN."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from sqlfoundry.bench.execution import ItemVerdict
from sqlfoundry.core.html import STYLE, bar_chart

MAX_FAILURES = 300


def _bar_chart(title: str, groups: dict[str, dict[str, Any]], metric: str) -> str:
    """One bar per group: length = accuracy, caption = accuracy and count."""
    bars = []
    for name, row in groups.items():
        value = float(row.get(metric, 0.0))
        bars.append((name, value, f"{value * 100:.1f}% (n={row.get('count', 0)})"))
    return bar_chart(title, bars)


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
    metrics = [k for k in ("ex", "em", "ves", "r_ves") if k in report]
    cards = "".join(
        f'<div class="card">{k.upper()}<b>{report[k] * 100:.1f}%</b></div>'
        if k in ("ex", "em")
        else f'<div class="card">{k.upper()}<b>{report[k]:.1f}</b></div>'
        for k in metrics
    )
    cards += f'<div class="card">items<b>{report["count"]}</b></div>'
    cards += f'<div class="card">with errors<b>{len(report["errors"])}</b></div>'
    charts = [_bar_chart(f"{k.upper()} by difficulty", report["by_difficulty"], k)
              for k in ("ex", "em") if k in report]  # fmt: skip
    charts += [_bar_chart(f"{k.upper()} by database", report["by_db"], k)
               for k in ("ex", "em") if k in report]  # fmt: skip
    oracle = report.get("oracle")
    oracle_html = ""
    if oracle:
        cells = "".join(f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>"
                        for k, v in oracle.items())  # fmt: skip
        oracle_html = f"<h2>Oracle metrics (not EX)</h2><table>{cells}</table>"
    failures = [v for v in verdicts if not v.ex]
    rows = []
    for v in failures[:MAX_FAILURES]:
        reason = escape(v.error) if v.error else "results differ"
        rows.append(
            f"<tr><td>{v.index}</td><td>{escape(v.db_id)}<br><span class='muted'>"
            f"{escape(v.hardness or '')} {escape(v.difficulty or '')}</span></td>"
            f"<td><code>{escape(v.gold_sql)}</code>{_rows(v.gold_preview)}</td>"
            f"<td><code>{escape(v.pred_sql or '')}</code>{_rows(v.pred_preview)}</td>"
            f"<td class='err'>{reason}</td></tr>"
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
{oracle_html}
<h2>Failures ({len(failures)})</h2>
<table><tr><th>#</th><th>database</th><th>gold SQL and first rows</th>
<th>predicted SQL and first rows</th><th>why</th></tr>
{"".join(rows)}</table>{more}
</body></html>
"""
