"""The end of a synthesis run: a summary (JSON and console) and ``report.html``.

The summary has the counts per step, the rejects by operator and reason, the
difficulty distributions, the SQL component distribution, the records per
database, the quality figures (what the semantic checks dropped, in the
filter step and, offline, among the generator's candidates; contrived
filters, question length, "whose" share, distinct n-grams; see
:mod:`sqlfoundry.synth.quality`), the time and the LLM usage. The HTML page
draws the distributions as inline SVG and shows samples spread across levels
and databases; it opens offline.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
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
NOT_GRADED = {"offline": "not graded (offline engine)", "llm": "not graded"}
UNCLASSIFIED = "unclassified (SQL not parsed)"


def _ordered(counter: Counter, missing: str = UNCLASSIFIED) -> dict[str, int]:
    known = [k for k in LEVELS if k in counter]
    rest = sorted((k for k in counter if k not in LEVELS), key=lambda k: (k is None, str(k)))
    return {(missing if k is None else str(k)): counter[k] for k in known + rest}


def spread_samples(samples: Sequence[Sample], count: int) -> list[Sample]:
    """``count`` samples across difficulty levels and databases, in a stable order:
    one of each level in turn, each level's picks spread over its databases."""
    by_level: dict[Any, dict[str, list[Sample]]] = {}
    for s in samples:
        by_level.setdefault(s.component_difficulty, {}).setdefault(s.db_id, []).append(s)
    queues = []
    for databases in by_level.values():
        # Round-robin over the level's databases, so one database does not fill the level.
        lists = list(databases.values())
        order = [lst[i] for i in range(max(map(len, lists))) for lst in lists if i < len(lst)]
        queues.append(iter(order))
    picked: list[Sample] = []
    while len(picked) < min(count, len(samples)) and queues:
        for queue in list(queues):
            item = next(queue, None)
            if item is None:
                queues.remove(queue)
            elif len(picked) < count:
                picked.append(item)
    return picked


def quality(result: RunResult, schema_of: Callable[[str], Any] | None = None) -> dict[str, Any]:
    """The run's quality figures (see :mod:`sqlfoundry.synth.quality`)."""
    from sqlfoundry.synth.quality import check_counts, contrived_share, text_figures, words_by_level

    checked = sum(s.inputs for s in result.steps if s.operator == "sql_semantic_filter")
    samples = result.samples
    out: dict[str, Any] = {"semantic_checks": check_counts(result.iter_rejects(), checked)}
    generated = sum(s.outputs for s in result.steps if s.operator == "sql_generator")
    by_generator = check_counts(result.iter_rejects(), 0, operator="sql_generator")
    turned_down = sum(by_generator["dropped"].values())
    if turned_down or any(
        (s.meta.get("semantic") or {}).get("by") == "sql_generator" for s in samples
    ):
        # The offline generator runs the same checks on every candidate it keeps.
        out["generator_checks"] = check_counts(
            result.iter_rejects(), generated + turned_down, operator="sql_generator"
        )
    out.update(
        {
            **text_figures([s.question for s in samples if s.question]),
            "mean_words_by_level": words_by_level(samples),
        }
    )
    if schema_of is not None:
        out["contrived_filter_share"] = contrived_share(samples, schema_of)
    return out


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
    schema_of: Callable[[str], Any] | None = None,
) -> dict[str, Any]:
    """The run's summary, as written to ``summary.json``.

    Args:
        schema_of: db_id -> Schema, for the contrived-filter share (left out without it).
    """
    rejects: dict[str, Counter] = {}
    examples: dict[tuple[str, str], list[str]] = {}
    for r in result.iter_rejects():
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
        "execution_difficulty": _ordered(
            Counter(s.execution_difficulty for s in samples), NOT_GRADED.get(engine, "not graded")
        ),
        "components": component_shares(samples),
        "databases": len({s.db_id for s in samples}),
        "per_database": dict(sorted(Counter(s.db_id for s in samples).items())),
        "quality": quality(result, schema_of),
        "llm_usage": usage,
    }


def _distribution_chart(title: str, counts: dict[str, int]) -> str:
    total = sum(counts.values()) or 1
    return bar_chart(
        title, [(k, v / total, f"{100 * v / total:.1f}% (n={v})") for k, v in counts.items()]
    )


def _quality_table(figures: dict[str, Any]) -> str:
    """The quality figures as a two-column table."""
    rows: list[tuple[str, str]] = []
    for key, where in (("generator_checks", "candidates the generator turned down"),
                       ("semantic_checks", "records the filter step dropped")):  # fmt: skip
        checks = figures.get(key) or {}
        if not checks:
            continue
        seen = checks.get("checked", 0)
        for kind, n in (checks.get("dropped") or {}).items():
            share = (checks.get("dropped_share") or {}).get(kind, 0.0)
            rows.append((f"{where}: {kind.replace('_', '-')} check",
                         f"{n} of {seen} ({100 * share:.1f}%)"))  # fmt: skip
    if "contrived_filter_share" in figures:
        rows.append(
            ("records with a contrived filter", f"{100 * figures['contrived_filter_share']:.1f}%")
        )
    for key, label in (("mean_words", "mean words per question"),
                       ("whose_share", 'questions with "whose"'),
                       ("distinct_2", "distinct word bigrams per word")):  # fmt: skip
        if key in figures:
            value = figures[key]
            rows.append((label, f"{100 * value:.1f}%" if key == "whose_share" else str(value)))
    levels = figures.get("mean_words_by_level") or {}
    if levels:
        rows.append(("mean words by level", " · ".join(f"{k} {v}" for k, v in levels.items())))
    if not rows:
        return '<p class="muted">no records</p>'
    body = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def render_report(summary: dict[str, Any], samples: Sequence[Sample], shown: int = 12) -> str:
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
        f"<td><pre>{escape(s.sql or '')}</pre></td><td>{escape(s.component_difficulty or UNCLASSIFIED)}</td></tr>"
        for s in spread_samples(samples, shown)
    )
    per_db = "".join(
        f"<tr><td>{escape(db)}</td><td>{n}</td></tr>"
        for db, n in summary.get("per_database", {}).items()
    )
    body = (
        f"<h1>sqlfoundry {escape(summary['mode'])} run</h1><div class=cards>{cards}</div>"
        "<h2>Steps</h2><table><tr><th>operator</th><th>in</th><th>out</th><th>rejected</th>"
        f"<th>seconds</th><th>reused</th></tr>{steps}</table>"
        f"<h2>Distributions</h2>{''.join(c for c in charts if c)}"
        f"<h2>Quality</h2>{_quality_table(summary.get('quality') or {})}"
        "<h2>Rejects</h2><table><tr><th>operator</th><th>reason</th><th>count</th>"
        f"<th>examples</th></tr>{rejects}</table>"
        "<h2>Records per database</h2><table><tr><th>db_id</th><th>records</th></tr>"
        f"{per_db}</table>"
        "<h2>Samples</h2><table><tr><th>db_id</th><th>question</th><th>SQL</th>"
        f"<th>difficulty</th></tr>{examples}</table>"
    )
    return page(f"sqlfoundry {summary['mode']} run", body)
