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

import heapq
from array import array
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from hashlib import blake2b
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
SHOWN = 12  # example records in report.html
NOT_GRADED = {"offline": "not graded (offline engine)", "llm": "not graded"}
UNCLASSIFIED = "unclassified (SQL not parsed)"


def _ordered(counter: Counter, missing: str = UNCLASSIFIED) -> dict[str, int]:
    known = [k for k in LEVELS if k in counter]
    rest = sorted((k for k in counter if k not in LEVELS), key=lambda k: (k is None, str(k)))
    return {(missing if k is None else str(k)): counter[k] for k in known + rest}


class SpreadPicks:
    """What :func:`spread_samples` needs of a stream of records, and no more: for each
    level, its first ``count`` databases and each one's first ``count`` records (the
    round-robin below never reaches further), so a run of any size holds at most
    ``count``² records per level. Parts made from consecutive stretches of the stream
    merge, in order, into the picks of the whole stream."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.total = 0
        self.by_level: dict[Any, dict[str, list[Any]]] = {}

    def add(self, sample: Any) -> None:
        """Take the next record of the stream."""
        self.total += 1
        self._place(sample.component_difficulty, sample.db_id, sample)

    def _place(self, level: Any, db_id: str, sample: Any) -> None:
        databases = self.by_level.setdefault(level, {})
        kept = databases.get(db_id)
        if kept is None:
            if len(databases) >= self.count:
                return
            kept = databases[db_id] = []
        if len(kept) < self.count:
            kept.append(sample)

    def merge(self, later: SpreadPicks) -> None:
        """Add the picks of the records that come after this part's."""
        self.total += later.total
        for level, databases in later.by_level.items():
            for db_id, kept in databases.items():
                for sample in kept:
                    self._place(level, db_id, sample)

    def picked(self) -> list[Any]:
        """One of each level in turn, each level's picks spread over its databases."""
        queues = []
        for databases in self.by_level.values():
            # Round-robin over the level's databases, so one database does not fill the level.
            lists = list(databases.values())
            order = [lst[i] for i in range(max(map(len, lists))) for lst in lists if i < len(lst)]
            queues.append(iter(order))
        count = self.count
        picked: list[Any] = []
        while len(picked) < min(count, self.total) and queues:
            for queue in list(queues):
                item = next(queue, None)
                if item is None:
                    queues.remove(queue)
                elif len(picked) < count:
                    picked.append(item)
        return picked


def spread_samples(samples: Iterable[Sample], count: int) -> list[Sample]:
    """``count`` samples across difficulty levels and databases, in a stable order:
    one of each level in turn, each level's picks spread over its databases. The
    samples are read once, as a stream."""
    picks = SpreadPicks(count)
    for s in samples:
        picks.add(s)
    return picks.picked()


class DistinctHashes:
    """A set of 64-bit hashes held in 8 bytes each: a sorted array, and a small set of
    new ones merged into it when it fills up. Counting distinct n-grams as hashes of
    this width is exact short of a collision (odds about 10^-8 at a million n-grams)."""

    _MERGE_AT = 1 << 16

    def __init__(self) -> None:
        self._sorted = array("Q")
        self._new: set[int] = set()

    def add(self, text: str) -> None:
        """Add the hash of ``text``."""
        self.update((text,))

    def update(self, texts: Iterable[str]) -> None:
        """Add the hash of each of ``texts`` (a question's words, say)."""
        self._new.update(int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "little")
                         for text in texts)  # fmt: skip
        if len(self._new) >= self._MERGE_AT:
            self._merge()

    def merge(self, other: DistinctHashes) -> None:
        """Add every hash ``other`` holds."""
        other._merge()
        # A part holds a batch's n-grams: few, next to the run's, and they go to the set.
        self._new.update(other._sorted)
        if len(self._new) >= self._MERGE_AT:
            self._merge()

    def _merge(self) -> None:
        if not self._new:
            return
        merged, last = array("Q"), None
        for value in heapq.merge(self._sorted, sorted(self._new)):
            if value != last:
                merged.append(value)
                last = value
        self._sorted, self._new = merged, set()

    def __len__(self) -> int:
        self._merge()
        return len(self._sorted)


@dataclass(slots=True)
class RecordView:
    """What the report shows of a record."""

    id: str
    db_id: str
    question: str | None
    sql: str | None
    component_difficulty: str | None


class SummaryTally:
    """The summary's figures of a run's records, counted as they stream past, so the
    summary never holds the run: counters, word counts, the distinct n-grams as
    hashes, and the few records the report shows (:class:`SpreadPicks`). Tallies of
    consecutive stretches of the records merge, in order, into the tally of them all,
    so workers can count stretches side by side.

    Args:
        shown: how many example records the report keeps.
    """

    def __init__(self, shown: int = SHOWN) -> None:
        self.records = 0
        self.component_difficulty: Counter = Counter()
        self.hardness: Counter = Counter()
        self.execution_difficulty: Counter = Counter()
        self.per_database: Counter = Counter()
        self.components: Counter = Counter()
        self.checked_by_generator = False
        self.questions = self.words = self.whose = self.contrived = 0
        self.unigrams, self.bigrams = DistinctHashes(), DistinctHashes()
        self.level_words: dict[str, list[int]] = {}
        self.picks = SpreadPicks(shown)

    def add(self, s: Sample, schema_of: Callable[[str], Any] | None = None) -> None:
        """Count one record (``schema_of``: db_id -> Schema, for the contrived filters)."""
        from sqlfoundry.core.errors import SqlfoundryError
        from sqlfoundry.sql.components import summed_counts
        from sqlfoundry.synth.quality import words_of

        self.records += 1
        self.component_difficulty[s.component_difficulty] += 1
        self.hardness[s.hardness] += 1
        self.execution_difficulty[s.execution_difficulty] += 1
        self.per_database[s.db_id] += 1
        try:
            # Only the counts summed over the tree: the Spider counts are not shown here.
            found = summed_counts(s.sql or "")
        except (SqlfoundryError, ValueError):
            found = None
        for label, name in _COMPONENTS if found is not None else ():
            if found.get(name, 0):
                self.components[label] += 1
        if (s.meta.get("semantic") or {}).get("by") == "sql_generator":
            self.checked_by_generator = True
        if s.question:
            words = words_of(s.question)
            tokens = [w.lower() for w in words]
            self.questions += 1
            self.words += len(tokens)
            self.whose += "whose" in tokens
            self.unigrams.update(tokens)
            self.bigrams.update(f"{a} {b}" for a, b in zip(tokens, tokens[1:], strict=False))
            level = s.hardness or s.component_difficulty
            if level:
                counted = self.level_words.setdefault(level, [0, 0])
                counted[0] += len(words)
                counted[1] += 1
        if schema_of is not None and s.sql:
            from sqlfoundry.synth.contrived import contrived_filters

            schema = schema_of(s.db_id)
            if schema is not None and contrived_filters(s.sql, schema, schema.dialect):
                self.contrived += 1
        self.picks.add(RecordView(s.id, s.db_id, s.question, s.sql, s.component_difficulty))

    def merge(self, later: SummaryTally) -> None:
        """Add the tally of the records that come after these."""
        self.records += later.records
        for mine, theirs in ((self.component_difficulty, later.component_difficulty),
                             (self.hardness, later.hardness),
                             (self.execution_difficulty, later.execution_difficulty),
                             (self.per_database, later.per_database),
                             (self.components, later.components)):  # fmt: skip
            mine.update(theirs)
        self.checked_by_generator = self.checked_by_generator or later.checked_by_generator
        self.questions += later.questions
        self.words += later.words
        self.whose += later.whose
        self.contrived += later.contrived
        self.unigrams.merge(later.unigrams)
        self.bigrams.merge(later.bigrams)
        for level, (words, n) in later.level_words.items():
            counted = self.level_words.setdefault(level, [0, 0])
            counted[0] += words
            counted[1] += n
        self.picks.merge(later.picks)

    def text_figures(self) -> dict[str, Any]:
        """As :func:`sqlfoundry.synth.quality.text_figures` gives them for the questions."""
        n, total = self.questions, self.words
        if not n:
            return {"questions": 0}
        return {
            "questions": n,
            "mean_words": round(total / n, 2),
            "whose_share": round(self.whose / n, 4),
            "distinct_1": round(len(self.unigrams) / max(1, total), 4),
            "distinct_2": round(len(self.bigrams) / max(1, total - n), 4),
        }

    def words_by_level(self) -> dict[str, float]:
        """As :func:`sqlfoundry.synth.quality.words_by_level` gives them."""
        counted = self.level_words
        return {lv: round(counted[lv][0] / counted[lv][1], 2) for lv in LEVELS if lv in counted}

    def contrived_share(self) -> float:
        """The share of records whose SQL has a contrived filter."""
        return round(self.contrived / self.records, 4) if self.records else 0.0

    def component_shares(self) -> dict[str, float]:
        """The share of records whose SQL uses each component."""
        total = self.records or 1
        return {label: round(self.components[label] / total, 4) for label, _ in _COMPONENTS}


def tally_records(samples: Iterable[Sample], schema_of: Callable[[str], Any] | None = None,
                  shown: int = SHOWN) -> SummaryTally:  # fmt: skip
    """A :class:`SummaryTally` of ``samples``, read once."""
    tally = SummaryTally(shown)
    for s in samples:
        tally.add(s, schema_of)
    return tally


def quality(result: RunResult, schema_of: Callable[[str], Any] | None = None,
            tally: SummaryTally | None = None) -> dict[str, Any]:  # fmt: skip
    """The run's quality figures (see :mod:`sqlfoundry.synth.quality`)."""
    from sqlfoundry.synth.quality import check_counts

    if tally is None:
        tally = tally_records(result.iter_samples(), schema_of)
    checked = sum(s.inputs for s in result.steps if s.operator == "sql_semantic_filter")
    out: dict[str, Any] = {"semantic_checks": check_counts(result.iter_rejects(), checked)}
    generated = sum(s.outputs for s in result.steps if s.operator == "sql_generator")
    by_generator = check_counts(result.iter_rejects(), 0, operator="sql_generator")
    turned_down = sum(by_generator["dropped"].values())
    if turned_down or tally.checked_by_generator:
        # The offline generator runs the same checks on every candidate it keeps.
        out["generator_checks"] = check_counts(
            result.iter_rejects(), generated + turned_down, operator="sql_generator"
        )
    out.update({**tally.text_figures(), "mean_words_by_level": tally.words_by_level()})
    if schema_of is not None:
        out["contrived_filter_share"] = tally.contrived_share()
    return out


def component_shares(samples: Iterable[Sample]) -> dict[str, float]:
    """The share of samples whose SQL uses each component (unparseable SQL counts as none)."""
    return tally_records(samples).component_shares()


def summarize(
    result: RunResult,
    *,
    mode: str,
    engine: str,
    seconds: float,
    input_count: int,
    usage: dict[str, Any] | None = None,
    schema_of: Callable[[str], Any] | None = None,
    tally: SummaryTally | None = None,
) -> dict[str, Any]:
    """The run's summary, as written to ``summary.json``.

    Args:
        schema_of: db_id -> Schema, for the contrived-filter share (left out without it).
        tally: the records' figures, when already counted (see :class:`SummaryTally`);
            else they are counted here from ``result``'s records, read once as a stream.
    """
    if tally is None:
        tally = tally_records(result.iter_samples(), schema_of)
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
    records = tally.records
    return {
        "mode": mode,
        "engine": engine,
        "inputs": input_count,
        "records": records,
        "seconds": round(seconds, 3),
        "samples_per_second": round(records / seconds, 1) if seconds > 0 else None,
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
        "component_difficulty": _ordered(tally.component_difficulty),
        "hardness": _ordered(tally.hardness),
        "execution_difficulty": _ordered(
            tally.execution_difficulty, NOT_GRADED.get(engine, "not graded")
        ),
        "components": tally.component_shares(),
        "databases": len(tally.per_database),
        "per_database": dict(sorted(tally.per_database.items())),
        "quality": quality(result, schema_of, tally),
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


def render_report(summary: dict[str, Any], samples: Iterable[Sample] | SpreadPicks,
                  shown: int = SHOWN) -> str:  # fmt: skip
    """``report.html``: cards, step table, distribution charts, rejects and example samples.

    ``samples``: the records, or the picks a :class:`SummaryTally` kept of them."""
    if isinstance(samples, SpreadPicks):
        examples_of = samples.picked()
    else:
        examples_of = spread_samples(samples, shown)
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
        for s in examples_of
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
