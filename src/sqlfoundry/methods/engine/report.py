"""``report.html``: every task of a run side by side, one self-contained page."""

from __future__ import annotations

from html import escape
from typing import Any

from sqlfoundry.core.html import bar_chart, page


def _pct(value: Any) -> str:
    return f"{value * 100:.1f}%" if isinstance(value, (int, float)) else "—"


def _scores(entry: dict[str, Any], part: str) -> str:
    found = entry.get(part)
    if not found:
        return "—"
    tables, columns = found["tables"], found["columns"]
    text = (f"tables R {_pct(tables['recall'])} P {_pct(tables['precision'])}<br>"
            f"columns R {_pct(columns['recall'])} P {_pct(columns['precision'])}")  # fmt: skip
    if part == "reduce":
        text += f"<br>reduction {_pct(found['reduction_rate'])}"
    if part == "parse":
        text += f"<br>values R {_pct(found['values']['recall'])}"
    return text


def _oracle(entry: dict[str, Any]) -> str:
    oracle = entry.get("oracle")
    if not oracle:
        return "—"
    return "<br>".join(f"{escape(k)} {_pct(v)}" for k, v in oracle.items()
                       if k.startswith(("pass@", "oracle_")))  # fmt: skip


def render_report(report: dict[str, Any]) -> str:
    """The run's page: a table of tasks (metrics, cost, errors) and EX bars."""
    tasks = report.get("tasks", {})
    rows = []
    for task_id, e in tasks.items():
        cost, errors = e["cost"], e["errors"]
        rows.append(
            f"<tr><td><b>{escape(task_id)}</b><br><span class='muted'>{escape(e['type'])} · "
            f"{escape(str(e['method']))}</span></td>"
            f"<td>{' → '.join(escape(s) for s in e['stages'])}</td><td>{e['count']}</td>"
            f"<td>{_pct(e.get('ex'))}</td><td>{_pct(e.get('em'))}</td><td>{_pct(e.get('ex_squrve'))}</td>"
            f"<td>{_oracle(e)}</td><td>{_scores(e, 'reduce')}</td><td>{_scores(e, 'parse')}</td>"
            f"<td>{cost['calls_per_question']}<br><span class='muted'>"
            f"{cost['prompt_tokens_per_question']:.0f} + {cost['completion_tokens_per_question']:.0f} tok"
            f"</span></td><td>{cost['llm_wait_p50_s']:.2f} / {cost['llm_wait_p95_s']:.2f} s</td>"
            f"<td class='{'err' if errors['records_with_errors'] else ''}'>"
            f"{errors['records_with_errors']}</td></tr>"
        )  # fmt: skip
    bars = [(task_id, e["ex"], f"{e['ex'] * 100:.1f}% (n={e['scored']})")
            for task_id, e in tasks.items() if isinstance(e.get("ex"), (int, float))]  # fmt: skip
    body = (
        "<h1>sqlfoundry run</h1>"
        f"<p class='muted'>{escape(str(report.get('created', '')))} · {report.get('seconds', '?')} s</p>"
        + bar_chart("EX by task", bars)
        + "<h2>Tasks</h2><table><tr><th>task</th><th>stages</th><th>questions</th><th>EX</th>"
        "<th>EM</th><th>EX (Squrve's match)</th><th>oracle (not EX)</th><th>reducer</th>"
        "<th>linker</th><th>LLM calls / question</th><th>LLM wait p50 / p95</th>"
        "<th>with errors</th></tr>" + "".join(rows) + "</table>"
    )  # fmt: skip
    return page("sqlfoundry run", body)
