"""Sample verified SQL for one database: quotas per hardness level, no duplicates.

:func:`sample_database` is a pure function of (database, n, seed, mix), so a
process pool can run many databases at once and the same seed always gives the
same queries. It profiles the database, then draws candidates aimed at the
levels whose quota is still open, measures each one's real Spider hardness,
drops duplicates, runs it (read-only, with a timeout) and keeps it when it
returns rows that are not all NULL. A level that cannot be filled within the
attempt budget is filled with spare queries from the nearest other levels.

Candidates run one by one on the sampler's own connection, which goes through
the same read-only guard, timeout and row cap as ``SafeExecutor``: each answer
decides what is drawn next, and no result rows travel between processes.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter, OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlglot import exp

from sqlfoundry.core.errors import DatabaseError, SqlfoundryError, SQLSyntaxError
from sqlfoundry.db.base import Database, DatabaseSpec
from sqlfoundry.db.manager import open_database
from sqlfoundry.db.sqlite import SQLiteDatabase
from sqlfoundry.sql.hardness import HARDNESS_LEVELS, spider_hardness
from sqlfoundry.sql.parse import parse_one, sql_text
from sqlfoundry.sql.skeleton import masked_sql
from sqlfoundry.synth.sampling.builder import Builder, Draft
from sqlfoundry.synth.sampling.levels import draw
from sqlfoundry.synth.sampling.profile import (
    DatabaseProfile,
    limited,
    plain_rows,
    profile_database,
)
from sqlfoundry.synth.sampling.scope import FromClause
from sqlfoundry.synth.sampling.styles import draw_style, render, restyle

log = logging.getLogger(__name__)

ATTEMPTS_PER_QUERY = 12  # candidate budget per wanted query
RESULT_ROWS = 1000  # rows fetched when checking a candidate
PROBE_ROWS = 500
DEFAULT_TIMEOUT = 5.0
DEFAULT_MIX = {level: 0.25 for level in HARDNESS_LEVELS}


@dataclass
class GeneratedQuery:
    """One kept query.

    Attributes:
        sql: the text in the output dialect.
        hardness: its Spider hardness.
        target_level: the quota it fills (differs from ``hardness`` only when
            that level could not be filled from its own queries).
        attempts: candidates drawn since the previous kept query, this one included.
    """

    sql: str
    hardness: str
    target_level: str
    shape: str
    style: dict[str, Any]
    attempts: int
    rows: int


@dataclass
class RejectedQuery:
    """A candidate that ran and returned rows but failed a semantic check.

    Attributes:
        sql: the text in the output dialect.
        hardness: its Spider hardness.
        shape: the composition it was drawn from.
        reason: the check's reason, as ``sql_semantic_filter`` words it
            (``"fan-out: ..."``, ``"tie at the LIMIT cutoff: ..."``).
    """

    sql: str
    hardness: str
    shape: str
    reason: str


@dataclass
class SamplerStats:
    """What sampling one database took.

    ``executed`` candidates split into ``nonempty``, ``empty``, ``null_only``,
    ``errors`` and ``timeouts``; ``nonempty / executed`` is the raw share of
    useful candidates before any filtering.
    """

    drawn: int = 0
    unbuildable: int = 0
    duplicates: int = 0
    level_full: int = 0
    repeated_skeleton: int = 0
    executed: int = 0
    nonempty: int = 0
    empty: int = 0
    null_only: int = 0
    semantic: dict[str, int] = field(default_factory=dict)  # rejected by check kind
    errors: int = 0
    timeouts: int = 0
    probes: int = 0
    filled_from_other_levels: int = 0
    profile_seconds: float = 0.0
    sample_seconds: float = 0.0
    cpu_seconds: float = 0.0  # CPU time of the whole call, whatever else the machine runs

    def to_dict(self) -> dict[str, Any]:
        """The counts as plain data."""
        return asdict(self)


@dataclass
class SampleOutcome:
    db_id: str
    queries: list[GeneratedQuery] = field(default_factory=list)
    rejected: list[RejectedQuery] = field(default_factory=list)  # by the semantic checks
    stats: SamplerStats = field(default_factory=SamplerStats)
    error: str | None = None


def quotas(n: int, mix: dict[str, float]) -> dict[str, int]:
    """Split ``n`` over the levels by ``mix`` (largest remainder; ties to the earlier level)."""
    total = sum(mix.get(level, 0.0) for level in HARDNESS_LEVELS)
    shares = {level: n * mix.get(level, 0.0) / total for level in HARDNESS_LEVELS}
    out = {level: int(share) for level, share in shares.items()}
    rest = n - sum(out.values())
    order = sorted(
        HARDNESS_LEVELS, key=lambda lv: (-(shares[lv] - out[lv]), HARDNESS_LEVELS.index(lv))
    )
    for level in order[:rest]:
        out[level] += 1
    return out


# Profiles by file identity (path, size, mtime), so a re-run in the same process skips profiling.
_PROFILES: OrderedDict[tuple, DatabaseProfile] = OrderedDict()
_PROFILE_CACHE_SIZE = 16


def _profile_key(spec: DatabaseSpec) -> tuple | None:
    if spec.kind != "sqlite" or not spec.path:
        return None
    stat = Path(spec.path).stat()
    return (str(Path(spec.path).resolve()), stat.st_size, stat.st_mtime_ns)


def load_profile(db: Database) -> DatabaseProfile:
    """The database's profile, from the cache when the file has not changed."""
    key = _profile_key(db.spec)
    if key is not None and key in _PROFILES:
        _PROFILES.move_to_end(key)
        return _PROFILES[key]
    schema = db.introspect(sample_values=0)

    def fetch(sql: str) -> list[tuple[Any, ...]] | None:
        result = db.execute(sql, timeout=DEFAULT_TIMEOUT, max_rows=None)
        return rows_of(db, result.rows) if result.ok else None

    profile = profile_database(schema, fetch)
    if key is not None:
        _PROFILES[key] = profile
        while len(_PROFILES) > _PROFILE_CACHE_SIZE:
            _PROFILES.popitem(last=False)
    return profile


class _Data:
    """The builder's window on the database: anchor rows per join path, and probes."""

    def __init__(self, db: Database, profile: DatabaseProfile, stats: SamplerStats, timeout: float):
        self.db = db
        self.profile = profile
        self.stats = stats
        self.timeout = timeout
        self._rows: dict[tuple, list[tuple[Any, ...]]] = {}

    def rows(self, scope: FromClause) -> list[tuple[Any, ...]]:
        if not scope.joined:
            return scope.sources[0].table.rows
        key = scope.key
        if key not in self._rows:
            # A query built for this call alone: printed without sqlglot's copy.
            sql = sql_text(scope.rows_query(self.profile.dialect), self.profile.dialect,
                           copy=False)  # fmt: skip
            self.stats.probes += 1
            result = self.db.execute(sql, timeout=self.timeout, max_rows=None)
            self._rows[key] = rows_of(self.db, result.rows) if result.ok else []
        return self._rows[key]

    def probe(self, query: exp.Expression) -> list[tuple[Any, ...]] | None:
        own = isinstance(query, exp.Select)  # a copy with the LIMIT, printed once
        query = limited(query.copy(), PROBE_ROWS) if own else query
        self.stats.probes += 1
        result = self.db.execute(
            sql_text(query, self.profile.dialect, copy=not own),
            timeout=self.timeout,
            max_rows=PROBE_ROWS,
        )
        return rows_of(self.db, result.rows) if result.ok else None


def rows_of(db: Database, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """``plain_rows(rows)`` for rows ``db`` returned: SQLite's own are plain already
    (tuples of int, float, str, bytes and None), so they are not looked through."""
    return rows if type(db) is SQLiteDatabase else plain_rows(rows)


def measured_tree(tree: exp.Expression, text: str, dialect: str) -> exp.Expression:
    """The tree a candidate's hardness and skeleton are measured on, as if read back from
    its text: the built tree itself, which saves parsing the text again, except for the few
    constructs the parser reads back as other nodes (see ``_reads_back_differently``).
    Only SQLite's reader was compared with the built trees: other dialects always parse.

    Raises:
        SQLSyntaxError: the text does not parse back into one query.
    """
    if dialect != "sqlite" or _reads_back_differently(tree):
        return parse_one(text, dialect)
    return tree


def _reads_back_differently(tree: exp.Expression) -> bool:
    """Whether parsing ``tree``'s SQLite text gives a tree that the hardness or the skeleton
    tells apart from ``tree``: ``x IS NOT NULL`` is read as ``NOT x IS NULL`` (a negated
    condition for the hardness), a division as a safe one and ``CAST(... AS REAL)`` as
    DOUBLE (both printed otherwise in the skeleton). A SELECT without columns is parsed
    too, for ``parse_one`` to reject it as before."""
    for node in tree.find_all(exp.Div, exp.Cast, exp.Is, exp.Select):
        if isinstance(node, exp.Is):
            if node.args.get("negate"):
                return True
        elif isinstance(node, exp.Select):
            if not node.expressions:
                return True
        else:
            return True
    return False


def _spare_cap(quota: int) -> int:
    """Spare queries kept per full level, for levels that cannot be filled otherwise
    (a level short of its target is filled from its neighbours' spares)."""
    return max(3, quota)


def _useful(rows: list[tuple[Any, ...]]) -> str:
    """``ok``, ``empty`` or ``null_only`` (all NULL, or one all-zero aggregate row)."""
    if not rows:
        return "empty"
    blank = sum(1 for row in rows if row.count(None) == len(row))
    if blank * 2 > len(rows):
        return "null_only"
    if len(rows) == 1 and all(v is None or v == 0 for v in rows[0]):
        return "null_only"
    return "ok"


class Sampler:
    """Draws, checks and keeps queries for one open database.

    Args:
        db: the open database (read-only).
        profile: its profile.
        seed: the random stream's seed (derive it from the run seed and the db_id).
        dialect: the dialect of the kept SQL text (the database's own by default).
        timeout: seconds per candidate query.
        checks: run the semantic checks on every candidate (see ``sql_semantic_filter``).
    """

    def __init__(
        self,
        db: Database,
        profile: DatabaseProfile,
        seed: str,
        dialect: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        checks: bool = True,
    ) -> None:
        self.db = db
        self.checks = checks
        self.profile = profile
        self.rng = random.Random(seed)
        self.dialect = dialect or profile.dialect
        self.timeout = timeout
        self.stats = SamplerStats()
        self.rejected: list[RejectedQuery] = []
        self.builder = Builder(profile, self.rng, _Data(db, profile, self.stats, timeout))
        if checks:
            # The checks come with the operator layer: imported when used, once a sampler
            # (an import statement per candidate costs more than some of the checks).
            from sqlfoundry.synth import contrived, semantic_filter

            self._contrived, self._semantic = contrived, semantic_filter

    def sample(self, n: int, mix: dict[str, float] | None = None) -> list[GeneratedQuery]:
        """Up to ``n`` distinct queries that run and return rows, ``mix`` by level."""
        quota = quotas(n, mix or DEFAULT_MIX)
        kept: dict[str, list[GeneratedQuery]] = {level: [] for level in HARDNESS_LEVELS}
        spare: dict[str, list[GeneratedQuery]] = {level: [] for level in HARDNESS_LEVELS}
        seen: set[str] = set()
        skeletons: Counter[str] = Counter()
        budget = max(40, n * ATTEMPTS_PER_QUERY)
        # The mix is a target, not a quota to force: a level gets at most twice its
        # share of the draws; what it cannot fill goes to its neighbours at the end.
        level_budget = {lv: max(20, 2 * budget * quota[lv] // max(1, n)) for lv in HARDNESS_LEVELS}
        level_drawn: Counter[str] = Counter()
        since_kept = 0
        stats = self.stats
        while stats.drawn < budget:
            open_levels = [
                lv
                for lv in HARDNESS_LEVELS
                if len(kept[lv]) < quota[lv] and level_drawn[lv] < level_budget[lv]
            ]
            if not open_levels:
                break
            target = self.rng.choices(
                open_levels, weights=[quota[lv] - len(kept[lv]) for lv in open_levels]
            )[0]
            stats.drawn += 1
            level_drawn[target] += 1
            since_kept += 1
            draft = draw(self.builder, target)
            if draft is None:
                stats.unbuildable += 1
                continue
            # draft.tree is only read from here on (restyle works on its own copy).
            canonical = sql_text(draft.tree, self.profile.dialect, copy=False)
            if canonical in seen:
                stats.duplicates += 1
                continue
            seen.add(canonical)
            try:
                measured = measured_tree(draft.tree, canonical, self.profile.dialect)
                level = spider_hardness(measured)
            except SQLSyntaxError:
                stats.unbuildable += 1
                continue
            if len(kept[level]) >= quota[level] and len(spare[level]) >= _spare_cap(quota[level]):
                stats.level_full += 1
                continue
            skeleton = masked_sql(measured)  # leaves the tree as it was
            # A skeleton seen before is worth a query only late, when fresh ones run out.
            if skeletons[skeleton] and self.rng.random() > stats.drawn / budget:
                stats.repeated_skeleton += 1
                continue
            query = self._check(draft, level, since_kept)
            if query is None:
                continue
            skeletons[skeleton] += 1
            if len(kept[level]) < quota[level]:
                kept[level].append(query)
                since_kept = 0
            else:
                spare[level].append(query)
        self._fill_from_neighbours(kept, spare, quota)
        return [q for level in HARDNESS_LEVELS for q in kept[level]]

    def _check(self, draft: Draft, level: str, attempts: int) -> GeneratedQuery | None:
        style = draw_style(self.rng)
        # The draft is not used after: restyled in place, printed without copies (a tree
        # built in the database's dialect, which sqlglot's generator does not rewrite).
        tree = restyle(draft.tree, style, self.profile, copy=False)
        sql = render(tree, style, self.profile.dialect, copy=False)
        stats = self.stats
        stats.executed += 1
        result = self.db.execute(sql, timeout=self.timeout, max_rows=RESULT_ROWS)
        if result.status == "timeout":
            stats.timeouts += 1
            return None
        if not result.ok:
            stats.errors += 1
            log.debug("sampled SQL failed on %s: %s -- %s", self.profile.db_id, result.error, sql)
            return None
        verdict = _useful(result.rows)
        if verdict == "empty":
            stats.empty += 1
            return None
        stats.nonempty += 1
        if verdict == "null_only":
            stats.null_only += 1
            return None
        problem = self._semantic_problem(tree, result.rows) if self.checks else None
        if problem is not None:
            kind = problem.split(":", 1)[0]
            stats.semantic[kind] = stats.semantic.get(kind, 0) + 1
            if self.dialect != self.profile.dialect:
                sql = render(tree, style, self.dialect, copy=False)  # its last use
            self.rejected.append(RejectedQuery(sql, level, draft.shape, problem))
            return None
        if self.dialect != self.profile.dialect:
            sql = render(tree, style, self.dialect, copy=False)  # its last use
        return GeneratedQuery(
            sql=sql,
            hardness=level,
            target_level=level,
            shape=draft.shape,
            style=style.describe(),
            attempts=attempts,
            rows=len(result.rows),
        )

    def _semantic_problem(self, tree: exp.Expression, rows: list[tuple[Any, ...]]) -> str | None:
        """The first problem the semantic checks find (the same checks as the
        ``sql_semantic_filter`` step, run here so every kept query passes them)."""
        semantic = self._semantic
        dialect = self.profile.dialect
        schema = self.profile.schema
        found = semantic.result_problem(rows)
        if found:
            return found
        contrived = self._contrived.contrived_filters(tree, schema, dialect)
        if contrived:
            return f"contrived filter: {contrived[0]}"
        # Built one at a time: once a probe finds a problem, the rest are not built.
        for probe in semantic.iter_probes(tree, schema, dialect, semantic.ALL_CHECKS):
            self.stats.probes += 1
            result = self.db.execute(probe.sql, timeout=self.timeout, max_rows=RESULT_ROWS)
            if not result.ok:
                continue
            found = semantic.probe_problem(probe, rows_of(self.db, result.rows), None)
            if found:
                return found
        return None

    def _fill_from_neighbours(
        self,
        kept: dict[str, list[GeneratedQuery]],
        spare: dict[str, list[GeneratedQuery]],
        quota: dict[str, int],
    ) -> None:
        """Give an unfilled level spare queries of the nearest levels (recorded as such)."""
        for i, level in enumerate(HARDNESS_LEVELS):
            missing = quota[level] - len(kept[level])
            if missing <= 0:
                continue
            donors = sorted(
                HARDNESS_LEVELS, key=lambda lv: (abs(HARDNESS_LEVELS.index(lv) - i), lv != level)
            )
            for donor in donors:
                while missing > 0 and spare[donor]:
                    query = spare[donor].pop(0)
                    query.target_level = level
                    kept[level].append(query)
                    self.stats.filled_from_other_levels += 1
                    missing -= 1


def sample_database(
    spec: DatabaseSpec,
    n: int,
    seed: str,
    mix: dict[str, float] | None = None,
    dialect: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    checks: bool = True,
) -> SampleOutcome:
    """Profile one database and sample up to ``n`` verified queries from it.

    A pure function of its arguments (and the database contents), safe to run
    in a worker process. Never raises for a problem with the database: the
    outcome's ``error`` says what went wrong.

    Args:
        spec: where the database is.
        n: queries wanted.
        seed: the random stream's seed.
        mix: share of each Spider hardness level (equal quarters by default).
        dialect: dialect of the returned SQL text (the database's by default).
        timeout: seconds per query.
        checks: run the semantic checks on every candidate.
    """
    outcome = SampleOutcome(db_id=spec.db_id)
    start, cpu_start = time.perf_counter(), time.process_time()
    try:
        db = open_database(spec)
    except SqlfoundryError as err:
        outcome.error = f"database unreadable: {err.message}"
        return outcome
    try:
        profile = load_profile(db)
        outcome.stats.profile_seconds = time.perf_counter() - start
        if not profile.tables:
            outcome.error = "no usable tables: every table is empty or unreadable"
            return outcome
        sampler = Sampler(db, profile, seed, dialect=dialect, timeout=timeout, checks=checks)
        sampler.stats.profile_seconds = outcome.stats.profile_seconds
        started = time.perf_counter()
        outcome.queries = sampler.sample(n, mix)
        outcome.rejected = sampler.rejected
        sampler.stats.sample_seconds = time.perf_counter() - started
        outcome.stats = sampler.stats
    except DatabaseError as err:
        outcome.error = f"database unreadable: {err.message}"
    except Exception as err:  # one odd database must not stop the others
        log.error("sampling %s failed: %s: %s", spec.db_id, type(err).__name__, err)
        log.debug("sampling %s failed", spec.db_id, exc_info=True)
        outcome.error = f"sampling failed: {type(err).__name__}: {err}"
    finally:
        db.close()
        outcome.stats.cpu_seconds = time.process_time() - cpu_start
    return outcome
