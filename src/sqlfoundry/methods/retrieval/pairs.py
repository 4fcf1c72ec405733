"""The synthesized pairs the retrieval method answers from: built offline once, then cached.

Pairs come from sqlfoundry's own offline synthesis, run as one pipeline of
operators: ``sql_generator`` (queries sampled from the schema and real values,
each checked by running it), ``sql_execution_filter`` and ``question_generator``
(the SQL-to-English realiser). Nothing else is read: no benchmark data, no model.

The cache holds one JSONL file per database, named by a key over what the pairs
depend on: the database (file path, modification time and size for SQLite; the
location and schema for a server), ``num_per_db``, the seed, the difficulty
mix and the versions of the synthesis operators. Change any of them and the
pairs are synthesized again. Each line also keeps the pair's ranking features
with the version of their format; features of an older format are computed
again from the cached question and SQL, without synthesizing. Files are
written atomically.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
import re
from pathlib import Path
from typing import Any

from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.core.io import atomic_write_jsonl
from sqlfoundry.core.registry import build, registered
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.pool import SafeExecutor
from sqlfoundry.db.schema import Schema
from sqlfoundry.methods.retrieval.features import Pair, make_pair
from sqlfoundry.methods.retrieval.templates import TEMPLATES_VERSION, template_samples

log = logging.getLogger(__name__)

SYNTH_OPERATORS = ("sql_generator", "sql_execution_filter", "question_generator")
# Bump when Pair's features change: cached features are then computed again.
PAIR_FORMAT = 8
# Spider-style shares of hardness: everyday questions are mostly easy and medium ones.
DIFFICULTY_MIX = {"easy": 0.3, "medium": 0.4, "hard": 0.15, "extra": 0.15}
SYNTH_TIMEOUT = 5.0


def default_cache_dir(env: dict[str, str] | None = None, folder: str = "retrieval") -> Path:
    """``$SQLFOUNDRY_CACHE_DIR/<folder>`` when set, else the user cache dir's ``sqlfoundry/<folder>``."""
    from sqlfoundry.core.cachedir import cache_root

    return cache_root(env) / folder


def _register_operators() -> dict[str, Any]:
    # Importing the modules registers their operators.
    import sqlfoundry.synth.execution_filter  # noqa: F401
    import sqlfoundry.synth.question_generator  # noqa: F401
    import sqlfoundry.synth.sql_generator  # noqa: F401

    known = registered(needing=SYNTH_OPERATORS)
    return {name: known[name] for name in SYNTH_OPERATORS}


def cache_key(databases: Any, db_id: str, num_per_db: int, seed: int) -> str:
    """The content key of one database's pairs (see the module doc).

    Raises:
        DatabaseNotFoundError: no database ``db_id``.
    """
    operators = _register_operators()
    payload = {
        "database": database_fingerprint(databases, db_id),
        "num_per_db": num_per_db,
        "seed": seed,
        "mix": DIFFICULTY_MIX,
        "operators": {name: cls.version for name, cls in operators.items()},
        "templates": TEMPLATES_VERSION,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:20]


def database_fingerprint(databases: Any, db_id: str) -> dict[str, Any]:
    """What identifies a database's content for a cache: a SQLite file's path, size and
    modification time; a server database's location and schema.

    Raises:
        DatabaseNotFoundError: no database ``db_id``.
    """
    spec = databases.spec(db_id)
    if spec.kind == "sqlite" and spec.path:
        path = Path(spec.path).resolve()
        stat = path.stat()
        return {"path": str(path), "mtime_ns": stat.st_mtime_ns, "size": stat.st_size}
    schema = databases.schema(db_id, sample_values=0)
    digest = hashlib.sha256(schema.model_dump_json().encode()).hexdigest()[:16]
    return {"location": spec.describe(), "schema": digest}


def cache_path(cache_dir: Path, db_id: str, key: str) -> Path:
    """The cache file of ``db_id``'s pairs under ``key`` (the db_id made safe for a file name)."""
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", db_id)[:80]
    return cache_dir / f"{safe}-{key}.jsonl"


def load_cached(path: Path, schema: Schema) -> list[Pair] | None:
    """The pairs of a cache file, or None when it is missing or unreadable.

    Lines written with an older feature format get their features computed again
    (and the file is rewritten); the pairs themselves are not synthesized again.
    """
    if not path.is_file():
        return None
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
        if all(r.get("format") == PAIR_FORMAT for r in records):
            return [Pair.from_dict(r) for r in records]
        samples = [Sample(id=r.get("id", ""), db_id=schema.db_id, question=r["question"],
                          sql=r["sql"], hardness=r.get("hardness"),
                          meta={"origin": r.get("origin", "synthesized")})
                   for r in records]  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("%s: unreadable retrieval cache, building again: %s", path, err)
        return None
    pairs = pairs_from_samples(samples, schema)
    save(path, pairs)
    return pairs


def save(path: Path, pairs: list[Pair]) -> None:
    """Write ``pairs`` to ``path`` atomically, one JSON line each with the cache format."""
    atomic_write_jsonl(path, ({**p.to_dict(), "format": PAIR_FORMAT} for p in pairs))


def synthesize(
    databases: Any, db_id: str, num_per_db: int, seed: int, templates: bool = True
) -> list[Sample]:
    """Run the offline synthesis pipeline for one database; its kept records.

    With ``templates``, the skeleton queries of :mod:`templates` join the
    sampled ones before the execution filter and the realiser.

    Safe to call from a thread that runs an event loop (the pipeline then runs
    on a worker thread of its own).
    """
    _register_operators()
    operators = [
        build("sql_generator", {"num_per_db": num_per_db, "engine": "offline",
                                "difficulty_mix": DIFFICULTY_MIX, "timeout": SYNTH_TIMEOUT}),
        build("sql_execution_filter", {"drop_empty": True}),
        build("question_generator", {"engine": "offline"}),
    ]  # fmt: skip

    async def run() -> list[Sample]:
        with SafeExecutor(databases, workers=0, timeout=SYNTH_TIMEOUT) as executor:
            ctx = RunContext(databases=databases, executor=executor, seed=seed)
            batch = [Sample(id=db_id, db_id=db_id)]
            for op in operators:
                result = await op.process(batch, ctx)
                for reject in result.rejects[:3]:
                    log.debug("%s: %s rejected a record: %s", db_id, op.name, reject.reason)
                batch = result.samples
                if op.name == "sql_generator" and templates:
                    batch = batch + template_samples(databases, db_id)
                if not batch:
                    break
            return batch

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, run()).result()


def pairs_from_samples(samples: list[Sample], schema: Schema) -> list[Pair]:
    """Pairs with their features; a record whose SQL does not parse is skipped."""
    pairs, seen = [], set()
    for sample in samples:
        if not sample.question or not sample.sql:
            continue
        key = (sample.question.strip().lower(), sample.sql)
        if key in seen:
            continue
        seen.add(key)
        try:
            origin = sample.meta.get("origin", "synthesized")
            pairs.append(make_pair(sample.question, sample.sql, schema, id=sample.id,
                                   hardness=sample.hardness, origin=origin))  # fmt: skip
        except SqlfoundryError as err:
            log.debug("%s: pair skipped: %s", sample.id, err)
    return pairs
