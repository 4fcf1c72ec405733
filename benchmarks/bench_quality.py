"""Would a person accept the data? Offline synthesis judged against Spider dev's human questions.

Runs the offline synthesis pipeline (``sqlfoundry synth``'s steps, in-process)
on the three demo databases and ten Spider databases, then reports:

- records faithful by the automatic checks: every semantic check
  (ties, fan-out, degenerate results, tautologies, contrived filters) and the
  offline consistency check run again on the finished records (target 100%);
- contrived-filter rate (target < 3%) and tie rate (target 0);
- mean words per question, per Spider level, against Spider dev's questions on
  the same ten databases (target: within 25%);
- the share of questions with "whose" (target < 15%; Spider dev: ~4%);
- distinct word bigrams per word (higher: less templated);
- a TF-IDF + logistic regression classifier's 5-fold accuracy at telling the
  generated questions from Spider dev's human ones on the same databases,
  balanced classes (target < 75%; 50% is chance), with the n-grams that weigh
  most for each side;
- throughput of the whole offline pipeline, and what the checks cost: the same
  run with the generator's semantic checks off (the filter step still runs).

``--samples N`` prints N random records (seeded) for the README.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

from _common import SHARED, machine, need

from sqlfoundry.core.sample import Sample
from sqlfoundry.db.manager import DatabaseManager
from sqlfoundry.sql.hardness import spider_hardness
from sqlfoundry.synth.consistency_filter_heuristic import check
from sqlfoundry.synth.pipelines import SynthSettings, build_pipeline, run_context
from sqlfoundry.synth.quality import (
    check_counts,
    contrived_share,
    text_figures,
    words_by_level,
    words_of,
)
from sqlfoundry.synth.records import database_seeds
from sqlfoundry.synth.semantic_filter import ALL_CHECKS, SQLSemanticFilter

SPIDER_DBS = ("concert_singer", "pets_1", "car_1", "flight_2", "employee_hire_evaluation",
              "cre_Doc_Template_Mgt", "dog_kennels", "world_1", "tvshow", "network_1")  # fmt: skip
DEMO_DBS = ("bookshop", "clinic", "airline")


def build_demo(root: Path) -> Path:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[1] / "examples" / "build_demo_dbs.py"
    subprocess.run([sys.executable, str(script), "--out", str(root), "--force"], check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    return root


def synthesize(manager: DatabaseManager, db_ids: list[str], num: int, seed: int, run_dir: Path,
               checks: bool = True) -> tuple[list[Sample], list[dict], float]:  # fmt: skip
    ops = {} if checks else {"sql_generator": {"semantic_checks": False}}
    settings = SynthSettings(num_per_db=num, seed=seed, workers=2, ops=ops)
    pipeline = build_pipeline("synth", settings)

    async def go():
        async with run_context(settings, manager) as ctx:
            return await pipeline.arun(database_seeds(db_ids), run_dir, ctx)

    start = time.perf_counter()
    result = asyncio.run(go())
    return result.samples, result.rejects, time.perf_counter() - start


def read_run(run_dir: Path) -> tuple[list[Sample], list[dict], float]:
    """The records, rejects and time of an earlier ``sqlfoundry synth`` run."""
    samples = []
    for line in (run_dir / "data.jsonl").read_text().splitlines():
        r = json.loads(line)
        samples.append(Sample(id=r["id"], db_id=r["db_id"], question=r["question"], sql=r["SQL"],
                              hardness=r.get("sql_component_difficulty")))  # fmt: skip
    rejects_file = run_dir / "rejects.jsonl"
    rejects = (
        [json.loads(x) for x in rejects_file.read_text().splitlines()]
        if rejects_file.exists()
        else []
    )
    seconds = json.loads((run_dir / "summary.json").read_text())["seconds"]
    return samples, rejects, seconds


def recheck(manager: DatabaseManager, samples: list[Sample]) -> dict[str, float]:
    """Every automatic check again, on the finished records."""
    from sqlfoundry.core.context import RunContext
    from sqlfoundry.db.pool import SafeExecutor

    with SafeExecutor(manager, workers=0, timeout=10) as executor:
        ctx = RunContext(databases=manager, executor=executor)
        out = asyncio.run(SQLSemanticFilter(checks=list(ALL_CHECKS)).process(samples, ctx))
    failed = {r.sample.id for r in out.rejects}
    ties = sum(r.reason.startswith("tie at") for r in out.rejects)
    inconsistent = 0
    for s in samples:
        schema = manager.schema(s.db_id, sample_values=0)
        verdict = check(s.question or "", s.evidence, s.sql or "", schema, schema.dialect)
        if verdict.contradictions or verdict.coverage < 0.6:
            failed.add(s.id)
            inconsistent += 1
    n = max(1, len(samples))
    return {
        "faithful": round(1 - len(failed) / n, 4),
        "tie_rate": round(ties / n, 4),
        "semantic_failures": len(out.rejects),
        "inconsistent": inconsistent,
    }


def spider_questions(db_ids: tuple[str, ...]) -> list[tuple[str, str, str]]:
    dev = json.loads(need(SHARED / "benchmarks" / "spider" / "dev.json").read_text())
    out = []
    for item in dev:
        if item["db_id"] in db_ids:
            out.append((item["db_id"], item["question"], spider_hardness(item["query"], "sqlite")))
    return out


def classifier_accuracy(
    generated: list[str], human: list[str], seed: int, top: int = 20
) -> tuple[float, dict[str, list[str]]]:
    """5-fold accuracy, and the n-grams that weigh most for each side once fitted on all."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline

    rng = random.Random(seed)
    n = min(len(generated), len(human))
    texts = rng.sample(generated, n) + rng.sample(human, n)
    labels = [1] * n + [0] * n
    model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
                          LogisticRegression(max_iter=2000))  # fmt: skip
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    accuracy = float(statistics.mean(cross_val_score(model, texts, labels, cv=folds)))
    model.fit(texts, labels)
    names = model.steps[0][1].get_feature_names_out()
    weights = model.steps[1][1].coef_[0]
    order = weights.argsort()
    features = {
        "generated": [f"{names[i]} ({weights[i]:.1f})" for i in order[::-1][:top]],
        "human": [f"{names[i]} ({weights[i]:.1f})" for i in order[:top]],
    }
    return accuracy, features


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--num-per-db", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--no-cost", action="store_true", help="skip the run without checks")
    parser.add_argument("--from-run", type=Path, default=None,
                        help="judge the data.jsonl of an earlier run (on the same databases) "
                        "instead of synthesizing")  # fmt: skip
    args = parser.parse_args()
    spider_root = need(SHARED / "benchmarks" / "spider" / "database")
    print(f"machine: {machine()}")
    print(f"load average: {Path('/proc/loadavg').read_text().split()[:3]}")
    with tempfile.TemporaryDirectory() as tmp:
        demo = build_demo(Path(tmp) / "demo")
        manager = DatabaseManager(root=[demo, spider_root])
        db_ids = [*DEMO_DBS, *SPIDER_DBS]
        if args.from_run is not None:
            samples, rejects, seconds = read_run(args.from_run)
        else:
            samples, rejects, seconds = synthesize(manager, db_ids, args.num_per_db, args.seed,
                                                   Path(tmp) / "run")  # fmt: skip
        cost = None
        if not args.no_cost and args.from_run is None:
            _, _, plain = synthesize(manager, db_ids, args.num_per_db, args.seed,
                                     Path(tmp) / "plain", checks=False)  # fmt: skip
            cost = plain
        checked = recheck(manager, samples)
        contrived = contrived_share(samples, lambda d: manager.schema(d, sample_values=0))
        spider_samples = [s for s in samples if s.db_id in SPIDER_DBS]
        human = spider_questions(SPIDER_DBS)
        human_levels: dict[str, list[int]] = {}
        for _, question, level in human:
            human_levels.setdefault(level, []).append(len(words_of(question)))
        human_words = {lv: round(statistics.mean(v), 2) for lv, v in human_levels.items()}
        ours = words_by_level(spider_samples)
        ratio = {lv: round(ours[lv] / human_words[lv], 3) for lv in ours if lv in human_words}
        accuracy, features = classifier_accuracy([s.question for s in spider_samples if s.question],
                                       [q for _, q, _ in human], args.seed)  # fmt: skip
        figures = {
            "records": len(samples),
            "seconds": round(seconds, 2),
            "samples_per_second": round(len(samples) / seconds, 1),
            "seconds_without_generator_checks": round(cost, 2) if cost else None,
            "rejected_by_semantic_filter": sum(
                r.get("operator") == "sql_semantic_filter" for r in rejects
            ),
            "turned_down_by_generator_checks": check_counts(rejects, 0, operator="sql_generator")[
                "dropped"
            ],
            **checked,
            "contrived_rate": contrived,
            "text_all": text_figures([s.question for s in samples if s.question]),
            "text_spider_dbs": text_figures([s.question for s in spider_samples if s.question]),
            "text_spider_dev_same_dbs": text_figures([q for _, q, _ in human]),
            "mean_words_by_level": ours,
            "spider_dev_mean_words_by_level": human_words,
            "words_ratio_by_level": ratio,
            "tfidf_classifier_accuracy": round(accuracy, 4),
            "tfidf_top_features": features,
            "mix": {
                lv: sum(s.hardness == lv for s in samples)
                for lv in ("easy", "medium", "hard", "extra")
            },  # fmt: skip
        }
        print(json.dumps(figures, indent=2))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
        rng = random.Random(args.seed)
        for s in rng.sample(samples, min(args.samples, len(samples))):
            print(f"- [{s.db_id}, {s.hardness}] {s.question}\n  `{' '.join(s.sql.split())}`")


if __name__ == "__main__":
    main()
