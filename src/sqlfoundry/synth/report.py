"""The end of a synthesis run: a summary (JSON and console) and ``report.html``.

The summary has the counts per step, the rejects by operator and reason, the
difficulty distributions, the SQL component distribution, the time and the LLM
usage. The HTML page draws the distributions as inline SVG and shows a few
samples; it opens offline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from html import escape
from typing import Any

from sqlfoundry.core.html import bar_chart, page
from sqlfoundry.core.pipeline import RunResult
from sqlfoundry.core.sample import Sample

LEVELS = ("easy", "medium", "hard", "extra")
# Shown in the component chart: (label, Components field).
_COMPONENTS = (
    ("JOIN", "joins"),
    ("WHERE", "where_conditions"),
    ("aggregate", "aggregates"),
    ("GROUP BY", "group_by"),
    ("HAVING", "having_conditions"),
    ("ORDER BY", "order_by"),
    ("LIMIT", "limit"),
    ("nested query", "nested_subqueries"),
    ("UNION", "union"),
    ("INTERSECT", "intersect"),
    ("EXCEPT", "except_"),
    ("DISTINCT", "distinct"),
    ("LIKE", "like"),
    ("OR", "or_conditions"),
    ("CASE", "case_expressions"),
    ("CTE", "ctes"),
)
REASON_EXAMPLES = 3


def _ordered(counter: Counter) -> dict[str, int]:
    known = [k for k in LEVELS if k in counter]
    rest = sorted((k for k in counter if k not in LEVELS), key=lambda k: (k is None, str(k)))
    return {str(k): counter[k] for k in known + rest}


def component_shares(samples: Sequence[Sample]) -> dict[str, float]:
    """The share of samples whose SQL uses each component (unparseable SQL counts as none)."""
    from sqlfoundry.core.errors import SqlfoundryError
    from sqlfoundry.sql.components import components

    used: Counter = Counter()
    for s in samples:
        try:
            found = components(s.sql or "")
        except (SqlfoundryError, ValueError):
            continue
        for label, name in _COMPONENTS:
            if getattr(found, name, 0):
                used[label] += 1
    total = len(samples) or 1
    return {label: round(used[label] / total, 4) for label, _ in _COMPONENTS}


def summarize(
    result: RunResult,
    *,
    mode: str,
    engine: str,
    seconds: float,
    input_count: int,
    usage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The run's summary, as written to ``summary.json``."""
    rejects: dict[str, Counter] = {}
    examples: dict[tuple[str, str], list[str]] = {}
    for r in result.rejects:
        reason = str(r.get("reason", ""))
        kind = reason.split(":", 1)[0]
        rejects.setdefault(r.get("operator", "?"), Counter())[kind] += 1
        where = r.get("source") or (r.get("sample") or {}).get("id", "")
        bucket = examples.setdefault((r.get("operator", "?"), kind), [])
        if len(bucket) < REASON_EXAMPLES:
            bucket.append(f"{where}: {reason}" if where else reason)
    samples = result.samples
    return {
        "mode": mode,
        "engine": engine,
        "inputs": input_count,
        "records": len(samples),
        "seconds": round(seconds, 3),
        "samples_per_second": round(len(samples) / seconds, 1) if seconds > 0 else None,
        "steps": [
            {
                "operator": s.operator,
                "in": s.inputs,
                "out": s.outputs,
                "rejected": s.rejects,
                "seconds": round(s.seconds, 3),
                "reused": s.reused,
            }  # fmt: skip
            for s in result.steps
        ],
        "rejects": {
            op: [
                {"reason": kind, "count": n, "examples": examples[(op, kind)]}
                for kind, n in counter.most_common()
            ]
            for op, counter in rejects.items()
        },
        "component_difficulty": _ordered(Counter(s.component_difficulty for s in samples)),
        "hardness": _ordered(Counter(s.hardness for s in samples)),
        "execution_difficulty": _ordered(Counter(s.execution_difficulty for s in samples)),
        "components": component_shares(samples),
        "databases": len({s.db_id for s in samples}),
        "llm_usage": usage,
    }


def _distribution_chart(title: str, counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    return bar_chart(
        title, [(k, v / total, f"{100 * v / total:.1f}% (n={v})") for k, v in counts.items()]
    )


def render_report(summary: dict[str, Any], samples: Sequence[Sample], shown: int = 8) -> str:
    """``report.html``: cards, step table, distribution charts, rejects and example samples."""
    cards = "".join(
        f'<div class="card">{escape(label)}<b>{escape(str(value))}</b></div>'
        for label, value in (
            ("records", summary["records"]),
            ("databases", summary["databases"]),
            ("seconds", summary["seconds"]),
            ("samples / s", summary["samples_per_second"]),
            ("engine", summary["engine"]),
        )
    )
    steps = "".join(
        f"<tr><td>{escape(s['operator'])}</td><td>{s['in']}</td><td>{s['out']}</td>"
        f"<td>{s['rejected']}</td><td>{s['seconds']}</td><td>{'yes' if s['reused'] else ''}</td></tr>"
        for s in summary["steps"]
    )
    rejects = (
        "".join(
            f"<tr><td>{escape(op)}</td><td>{escape(r['reason'])}</td><td>{r['count']}</td>"
            f"<td><code>{'<br>'.join(escape(e) for e in r['examples'])}</code></td></tr>"
            for op, rows in summary["rejects"].items()
            for r in rows
        )
        or '<tr><td colspan="4" class="muted">none</td></tr>'
    )
    charts = [
        _distribution_chart("Component difficulty", summary["component_difficulty"]),
        _distribution_chart("Execution difficulty", summary["execution_difficulty"]),
        bar_chart(
            "SQL components (share of samples using each)",
            [(k, v, f"{100 * v:.1f}%") for k, v in summary["components"].items()],
        ),  # fmt: skip
    ]
    examples = "".join(
        f"<tr><td>{escape(s.db_id)}</td><td>{escape(s.question or '')}</td>"
        f"<td><pre>{escape(s.sql or '')}</pre></td><td>{escape(str(s.component_difficulty))}</td></tr>"
        for s in samples[:shown]
    )
    body = (
        f"<h1>sqlfoundry {escape(summary['mode'])} run</h1><div class=cards>{cards}</div>"
        "<h2>Steps</h2><table><tr><th>operator</th><th>in</th><th>out</th><th>rejected</th>"
        f"<th>seconds</th><th>reused</th></tr>{steps}</table>"
        f"<h2>Distributions</h2>{''.join(c for c in charts if c)}"
        "<h2>Rejects</h2><table><tr><th>operator</th><th>reason</th><th>count</th>"
        f"<th>examples</th></tr>{rejects}</table>"
        "<h2>Samples</h2><table><tr><th>db_id</th><th>question</th><th>SQL</th>"
        f"<th>difficulty</th></tr>{examples}</table>"
    )
    return page(f"sqlfoundry {summary['mode']} run", body)
