"""The HTML evaluation report: one self-contained file, inline SVG charts, no CDN."""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

from sqlfoundry.bench.execution import ItemVerdict

MAX_FAILURES = 300

_STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .6rem 1rem; min-width: 8rem; }
.card b { display: block; font-size: 1.4rem; }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
th, td { border: 1px solid #ddd; padding: .3rem .5rem; vertical-align: top; text-align: left; }
th { background: #f5f5f5; }
code, pre { font: 12px/1.4 ui-monospace, monospace; white-space: pre-wrap; word-break: break-word; }
.err { color: #a00; } .warn { color: #a60; } .muted { color: #777; }
"""


def _bar_chart(title: str, groups: dict[str, dict[str, Any]], metric: str) -> str:
    """Horizontal bars: one per group, length = accuracy, label = accuracy and count."""
    if not groups:
        return ""
    row_h, label_w, bar_w = 22, 190, 520
    height = row_h * len(groups) + 30
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" width="{label_w + bar_w + 140}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (name, row) in enumerate(groups.items()):
        y = 24 + i * row_h
        value = float(row.get(metric, 0.0))
        width = max(1.0, bar_w * value)
        parts += [
            f'<text x="0" y="{y + 14}">{escape(name[:28])}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="14" fill="#eee"/>',
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="14" fill="#3b7dd8"/>',
            f'<text x="{label_w + bar_w + 8}" y="{y + 14}">{value * 100:.1f}% '
            f"(n={row.get('count', 0)})</text>",
        ]
    parts.append("</svg>")
    return "".join(parts)


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
<style>{_STYLE}</style></head><body>
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
