"""The benchmark registry: ids, subsets, where their files live, and selection strings.

A selection string is ``bench[:subset][:filter[,filter...]]``, for example
``spider:dev:difficulty-hard`` or ``bird:minidev:db_id-california_schools``.
Filters: ``difficulty-X`` (Spider hardness, or the label the data came with),
``db_id-X``, ``first-N``; and Squrve's benchmark-identifier filters, joined by
``.`` as Squrve writes them (or by ``,``):

- ``db_size-[OP-]N``: the database's number of columns compared with N, where OP
  is ``l`` (<, the default, as in Squrve), ``e`` (=), ``m`` (>), ``le`` (<=) or ``me`` (>=);
- ``ques_length-[OP-]N`` / ``query_length-[OP-]N``: the question's / gold SQL's
  length in characters;
- ``db_type-X``: the database engine (``sqlite``, ``postgres``...);
- ``has_label`` or ``has_label-FIELD``: only items with a gold ``query`` (or ``sql``,
  ``question``, ``evidence``).

Squrve's ``spider:dev:`` (empty filter) is ``spider:dev``.

Where the data lives: a base folder holding the releases under their usual
folder names (``spider``, ``bird_minidev``, ...), from ``[bench] root`` in a
config file or ``SQLFOUNDRY_BENCH_ROOT``; one benchmark can be moved with
``[bench.roots] <id> = DIR`` or ``SQLFOUNDRY_<ID>_ROOT`` (``SPIDER_SYN`` for
``spider-syn``). BIRD's databases come from ``SQLFOUNDRY_BIRD_DB_ROOT`` or a
``dev_databases`` folder inside the BIRD release; Defog's from a PostgreSQL
server named by ``SQLFOUNDRY_DEFOG_SERVER``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlfoundry.bench import loaders
from sqlfoundry.core.errors import ConfigError, SqlfoundryError
from sqlfoundry.core.sample import Sample
from sqlfoundry.db.manager import DatabaseManager, ServerSettings

# Default folder name of each benchmark under the base root.
FOLDERS = {
    "spider": "spider",
    "spider-syn": "spider_syn",
    "spider-dk": "spider_dk",
    "spider-realistic": "spider_realistic",
    "bird": "bird_minidev",
    "bird-dev": "bird_dev",
    "kaggledbqa": "kaggledbqa",
    "geoquery": "text2sql_data",
    "defog": "defog_sql_eval",
}


@dataclass
class BenchRoots:
    """Where each benchmark's files are."""

    base: Path | None = None
    overrides: dict[str, Path] = field(default_factory=dict)
    bird_databases: Path | None = None
    defog_server: str | None = None

    @classmethod
    def from_sources(
        cls, config: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
    ) -> BenchRoots:
        """Config ``[bench]`` section first, then the environment on top."""
        env = os.environ if env is None else env
        config = config or {}
        base = env.get("SQLFOUNDRY_BENCH_ROOT") or config.get("root")
        overrides = {k: Path(v) for k, v in (config.get("roots") or {}).items()}
        for name in FOLDERS:
            value = env.get(f"SQLFOUNDRY_{name.upper().replace('-', '_')}_ROOT")
            if value:
                overrides[name] = Path(value)
        bird_db = env.get("SQLFOUNDRY_BIRD_DB_ROOT") or config.get("bird_databases")
        return cls(
            base=Path(base) if base else None,
            overrides=overrides,
            bird_databases=Path(bird_db) if bird_db else None,
            defog_server=env.get("SQLFOUNDRY_DEFOG_SERVER") or config.get("defog_server"),
        )

    def folder(self, name: str) -> Path:
        """The folder of benchmark ``name``; ConfigError naming how to set it when none is known."""
        if name in self.overrides:
            return self.overrides[name]
        if self.base is None:
            raise ConfigError(
                f"no folder known for benchmark {name!r}",
                hint="set SQLFOUNDRY_BENCH_ROOT to the folder holding "
                f"{FOLDERS[name]}/, or SQLFOUNDRY_{name.upper().replace('-', '_')}_ROOT to "
                f"{FOLDERS[name]}/ itself (a `sqlfoundry run` config may also say [bench] root)",
            )
        return self.base / FOLDERS[name]


@dataclass
class Benchmark:
    """A loaded benchmark subset: its samples and how to reach its databases."""

    id: str
    subset: str
    samples: list[Sample]
    db_roots: list[Path] = field(default_factory=list)
    db_paths: dict[str, Path] = field(default_factory=dict)
    server: ServerSettings | None = None
    dialect: str = "sqlite"
    mode: str = "spider"
    tables_json: Path | None = None

    @property
    def name(self) -> str:
        """``id:subset``, e.g. ``spider:dev``."""
        return f"{self.id}:{self.subset}"

    def manager(self) -> DatabaseManager:
        """The databases; folders that do not exist are left out (their items then fail)."""
        roots = [r for r in self.db_roots if r.is_dir()]
        paths = {k: v for k, v in self.db_paths.items() if v.is_file()}
        return DatabaseManager(root=roots or None, server=self.server, paths=paths)


@dataclass(frozen=True)
class _Spec:
    subsets: tuple[str, ...]
    load: Callable[[BenchRoots, str], Benchmark]


def _spider(roots: BenchRoots, subset: str) -> Benchmark:
    folder = roots.folder("spider")
    if subset == "dev":
        samples = loaders.spider_json(folder / "dev.json", "spider-dev")
    else:
        parts = [folder / "train_spider.json", folder / "train_others.json"]
        if all(p.is_file() for p in parts):
            samples = [s for p in parts for s in loaders.spider_json(p, "spider-train")]
            for i, s in enumerate(samples):
                s.id = f"spider-train-{i}"
        else:  # the gold file alone still serves SQL-only jobs
            samples = loaders.spider_gold(folder / "train_gold.sql", "spider-train")
    return Benchmark("spider", subset, samples, [folder / "database"],
                     tables_json=folder / "tables.json")  # fmt: skip


def _spider_syn(roots: BenchRoots, subset: str) -> Benchmark:
    folder = roots.folder("spider-syn")
    name = "dev.json" if subset == "dev" else "train_spider.json"
    samples = loaders.spider_json(folder / name, f"spider-syn-{subset}", "SpiderSynQuestion")
    spider = roots.folder("spider")
    return Benchmark("spider-syn", subset, samples, [spider / "database"],
                     tables_json=spider / "tables.json")  # fmt: skip


def _spider_dk(roots: BenchRoots, subset: str) -> Benchmark:
    folder = roots.folder("spider-dk")
    samples = loaders.spider_json(folder / "Spider-DK.json", "spider-dk")
    return Benchmark("spider-dk", subset, samples,
                     [folder / "database", roots.folder("spider") / "database"],
                     tables_json=folder / "tables.json")  # fmt: skip


def _spider_realistic(roots: BenchRoots, subset: str) -> Benchmark:
    folder = roots.folder("spider-realistic")
    samples = loaders.spider_json(folder / "spider-realistic.json", "spider-realistic")
    spider = roots.folder("spider")
    return Benchmark("spider-realistic", subset, samples, [spider / "database"],
                     tables_json=spider / "tables.json")  # fmt: skip


def _bird(roots: BenchRoots, subset: str) -> Benchmark:
    if subset == "minidev":
        folder = roots.folder("bird")
        samples = loaders.bird_minidev(folder / "mini_dev_sqlite.json", "bird-minidev")
    else:
        folder = roots.folder("bird-dev")
        samples = loaders.spider_json(folder / "dev.json", "bird-dev")
    db_roots = [roots.bird_databases] if roots.bird_databases else []
    db_roots += [folder / "dev_databases"]
    return Benchmark("bird", subset, samples, db_roots, mode="bird",
                     tables_json=folder / "dev_tables.json")  # fmt: skip


def _kaggledbqa(roots: BenchRoots, subset: str) -> Benchmark:
    folder = roots.folder("kaggledbqa")
    return Benchmark("kaggledbqa", subset, loaders.kaggledbqa(folder, "kaggledbqa"),
                     [folder / "databases"], tables_json=folder / "KaggleDBQA_tables.json")  # fmt: skip


def _geoquery(roots: BenchRoots, subset: str) -> Benchmark:
    folder = roots.folder("geoquery")
    split = None if subset == "all" else subset
    samples = loaders.geoquery(folder / "geography.json", f"geoquery-{subset}", split)
    return Benchmark("geoquery", subset, samples,
                     db_paths={"geography": folder / "geography-db.added-in-2020.sqlite"})  # fmt: skip


def _defog(roots: BenchRoots, subset: str) -> Benchmark:
    folder = roots.folder("defog") / "questions"
    name = "idk.csv" if subset == "idk" else f"{subset}_postgres.csv"
    samples = loaders.defog(folder / name, f"defog-{subset}")
    server = ServerSettings.from_url(roots.defog_server) if roots.defog_server else None
    return Benchmark("defog", subset, samples, server=server, dialect="postgres",
                     mode="spider")  # fmt: skip


REGISTRY: dict[str, _Spec] = {
    "spider": _Spec(("dev", "train"), _spider),
    "spider-syn": _Spec(("dev", "train"), _spider_syn),
    "spider-dk": _Spec(("dev",), _spider_dk),
    "spider-realistic": _Spec(("dev",), _spider_realistic),
    "bird": _Spec(("minidev", "dev"), _bird),
    "kaggledbqa": _Spec(("all",), _kaggledbqa),
    "geoquery": _Spec(("all", "train", "dev", "test"), _geoquery),
    "defog": _Spec(("questions_gen", "instruct_basic", "instruct_advanced", "idk"), _defog),
}


def parse_selector(selector: str) -> tuple[str, str, list[tuple[str, str]]]:
    """Split ``bench:subset:filters`` into its parts, checking each against the registry."""
    bench, _, rest = selector.partition(":")
    subset, _, filter_text = rest.partition(":")
    if bench not in REGISTRY:
        raise ConfigError(f"unknown benchmark {bench!r}",
                          hint=f"choose one of {', '.join(REGISTRY)}")  # fmt: skip
    spec = REGISTRY[bench]
    subset = subset or spec.subsets[0]
    if subset not in spec.subsets:
        raise ConfigError(f"benchmark {bench} has no subset {subset!r}",
                          hint=f"choose one of {', '.join(spec.subsets)}")  # fmt: skip
    filters = []
    for part in filter(None, filter_text.replace(".", ",").split(",")):
        filters.append(_filter(part, selector))
    return bench, subset, filters


_FILTER_HINT = (
    "use difficulty-X, db_id-X or first-N, or Squrve's db_size-[l|e|m|le|me-]N, "
    "ques_length-[OP-]N, query_length-[OP-]N, db_type-X, has_label[-FIELD] (joined by ',' or '.')"
)
_COMPARISONS: dict[str, Callable[[int, int], bool]] = {
    "l": lambda a, b: a < b,
    "e": lambda a, b: a == b,
    "m": lambda a, b: a > b,
    "le": lambda a, b: a <= b,
    "me": lambda a, b: a >= b,
}
_LABEL_FIELDS = {"query": "sql", "sql": "sql", "question": "question", "evidence": "evidence"}


def _filter(part: str, selector: str) -> tuple[str, str]:
    """One filter as ``(key, value)``; a comparison's value is ``OP-N``."""
    key, sep, value = part.partition("-")
    if key == "has_label":
        value = value or "query"
        if value not in _LABEL_FIELDS:
            raise ConfigError(f"bad filter {part!r} in {selector!r}",
                              hint=f"has_label takes one of {', '.join(_LABEL_FIELDS)}")  # fmt: skip
        return key, value
    if not sep or key not in ("difficulty", "db_id", "first", "db_type", *_SIZES):
        raise ConfigError(f"bad filter {part!r} in {selector!r}", hint=_FILTER_HINT)
    if key == "first" and not value.isdigit():
        raise ConfigError(f"bad filter {part!r}: first-N needs a number")
    if key in _SIZES:
        op, dash, number = value.rpartition("-")
        op = op if dash else "l"
        if op not in _COMPARISONS or not number.isdigit():
            raise ConfigError(f"bad filter {part!r}: {key} takes [OP-]N with OP one of "
                              f"{', '.join(_COMPARISONS)}")  # fmt: skip
        return key, f"{op}-{number}"
    return key, value


_SIZES = ("db_size", "ques_length", "query_length")


def _db_sizes(benchmark: Benchmark, db_ids: set[str]) -> dict[str, int]:
    """Columns per database: from tables.json when the benchmark has one, else by introspection."""
    sizes: dict[str, int] = {}
    if benchmark.tables_json is not None and benchmark.tables_json.is_file():
        import json

        for entry in json.loads(benchmark.tables_json.read_text(encoding="utf-8")):
            if entry.get("db_id") in db_ids:
                sizes[entry["db_id"]] = sum(1 for t, _ in entry["column_names_original"] if t >= 0)
    missing = db_ids - set(sizes)
    if missing:
        manager = benchmark.manager()
        for db_id in missing:
            try:
                schema = manager.schema(db_id, sample_values=0)
                sizes[db_id] = sum(len(t.columns) for t in schema.tables)
            except SqlfoundryError:
                sizes[db_id] = 0
    return sizes


def _compare(value: str, measured: int) -> bool:
    op, _, number = value.partition("-")
    return _COMPARISONS[op](measured, int(number))


def load(selector: str, roots: BenchRoots | None = None) -> Benchmark:
    """Load the samples a selection string names, with hardness filled in."""
    from sqlfoundry.sql.hardness import spider_hardness  # parsing is only needed here

    bench, subset, filters = parse_selector(selector)
    benchmark = REGISTRY[bench].load(roots or BenchRoots.from_sources(), subset)

    def fill_hardness(samples: list[Sample]) -> None:
        # Parsing is the costly part of loading: only the samples kept are parsed.
        for sample in samples:
            if sample.hardness is None and sample.sql:
                try:
                    sample.hardness = spider_hardness(sample.sql, benchmark.dialect)
                except Exception:  # noqa: BLE001 - an unparseable gold keeps hardness None
                    sample.hardness = None

    samples = benchmark.samples
    for key, value in filters:
        if key == "db_id":
            samples = [s for s in samples if s.db_id == value]
        elif key == "difficulty":
            fill_hardness(samples)
            samples = [s for s in samples if value in (s.difficulty, s.hardness)]
        elif key == "first":
            samples = samples[: int(value)]
        elif key == "db_type":
            samples = samples if value.lower() == benchmark.dialect else []
        elif key == "has_label":
            field = _LABEL_FIELDS[value]
            samples = [s for s in samples if (getattr(s, field) or "").strip()]
        elif key == "db_size":
            sizes = _db_sizes(benchmark, {s.db_id for s in samples})
            samples = [s for s in samples if _compare(value, sizes.get(s.db_id, 0))]
        else:
            field = "question" if key == "ques_length" else "sql"
            samples = [s for s in samples if _compare(value, len(getattr(s, field) or ""))]
    fill_hardness(samples)
    benchmark.samples = samples
    return benchmark
