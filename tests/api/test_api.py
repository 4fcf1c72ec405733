"""The Python API: ``import sqlfoundry`` and one call per job, on the demo databases."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import sqlfoundry
from server_data import SPIDER, missing
from sqlfoundry.core.errors import ConfigError, InputError

API = ("synthesize", "refine", "evaluate", "load_benchmark", "run_method", "run_methods",
       "run_pipeline", "method_names", "Pipeline", "Sample", "SqlfoundryError")  # fmt: skip
RETRIEVAL = {"num_per_db": 40}


def test_import_is_cheap_and_every_name_is_documented():
    code = (
        "import sys, sqlfoundry\n"
        "print(sorted(m for m in sys.modules if m.startswith('sqlfoundry')))\n"
        "print(sorted(n for n in dir(sqlfoundry) if not n.startswith('_')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, names = out.stdout.splitlines()
    assert loaded == "['sqlfoundry']"  # the names are imported on first use only
    assert set(API) <= set(eval(names))
    for name in API:
        assert (getattr(sqlfoundry, name).__doc__ or "").strip(), name
    assert sqlfoundry.__version__ == "0.1.0"
    with pytest.raises(AttributeError, match="no attribute 'synthesise'"):
        sqlfoundry.synthesise  # noqa: B018


def test_synthesize_is_one_call_and_deterministic(demo_dbs: Path, tmp_path: Path):
    first = sqlfoundry.synthesize(demo_dbs, db_ids=["bookshop"], num_per_db=12, seed=3,
                                  run_dir=tmp_path / "run", workers=0)  # fmt: skip
    again = sqlfoundry.synthesize(str(demo_dbs), db_ids=["bookshop"], num_per_db=12, seed=3,
                                  workers=0)  # fmt: skip
    assert len(first) == first.summary["records"] > 0
    assert first.run_dir == tmp_path / "run" and again.run_dir is None
    strip = [{k: v for k, v in r.items() if k != "meta"} for r in first.records]
    assert strip == [{k: v for k, v in r.items() if k != "meta"} for r in again.records]
    on_disk = [json.loads(x) for x in (tmp_path / "run" / "data.jsonl").read_text().splitlines()]
    assert on_disk == first.records
    assert (tmp_path / "run" / "summary.json").is_file()
    assert (tmp_path / "run" / "report.html").is_file()
    database = sqlite3.connect(demo_dbs / "bookshop" / "bookshop.sqlite")
    for record in first.records:
        assert record["db_id"] == "bookshop" and record["question"] and record["cot_reasoning"]
        database.execute(record["SQL"]).fetchall()  # every SQL runs


def test_synthesize_exports_and_takes_a_config_file(demo_dbs: Path, tmp_path: Path):
    config = tmp_path / "synth.toml"
    config.write_text("[synth]\nnum_per_db = 4\nseed = 1\n[synth.ops.prompt_generator]\n"
                      "template = \"plain\"\n")  # fmt: skip
    run = sqlfoundry.synthesize(demo_dbs / "clinic" / "clinic.sqlite", config=config, workers=0)
    assert run.summary["settings"]["num_per_db"] == 4
    assert all(r["prompt"].startswith("SQLite database schema:") for r in run.records)
    report = run.export("openai", tmp_path / "out")
    lines = (tmp_path / "out" / "openai.jsonl").read_text().splitlines()
    assert report.written == len(lines) == len(run)


def test_synthesize_refuses_bad_input_by_name(demo_dbs: Path, tmp_path: Path):
    with pytest.raises(ConfigError, match="unknown database\\(s\\): nope"):
        sqlfoundry.synthesize(demo_dbs, db_ids=["nope"])
    with pytest.raises(ConfigError, match="no such folder or file"):
        sqlfoundry.synthesize(tmp_path / "missing")
    with pytest.raises(ConfigError, match="num_per_db"):
        sqlfoundry.synthesize(demo_dbs, num_per_db=0)
    with pytest.raises(ConfigError, match="no LLM endpoint configured"):
        sqlfoundry.synthesize(demo_dbs, engine="llm", llm={"base_url": None})


def test_refine_records_in_memory_keeps_every_problem(demo_dbs: Path):
    pairs = [
        {"db_id": "bookshop", "question": "How many books are there?",
         "SQL": "SELECT count(*) FROM books", "source_note": "mine"},
        {"db_id": "library", "question": "How many?", "SQL": "SELECT 1"},
        "not a record",
    ]  # fmt: skip
    run = sqlfoundry.refine(pairs, demo_dbs, workers=0)
    reasons = sorted(r["reason"] for r in run.rejects)
    assert "unknown database: library" in reasons
    assert "unreadable record: not a mapping (str)" in reasons
    kept = [r for r in run.records if r["meta"].get("source") == "record:1"]
    assert kept and kept[0]["SQL"].lower().startswith("select count(*)")
    assert kept[0]["meta"]["input"] == {"source_note": "mine"}


def test_refine_reads_a_file(demo_dbs: Path, tmp_path: Path):
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"db_id": "clinic", "question": "How many doctors are there?", '
                    '"SQL": "SELECT count(*) FROM doctors"}\n{broken\n')  # fmt: skip
    run = sqlfoundry.refine(path, demo_dbs, workers=0)
    assert any(r["reason"].startswith("unreadable line") and r["source"] == f"{path}:2"
               for r in run.rejects)  # fmt: skip
    assert any(r["meta"]["source"] == f"{path}:1" for r in run.records)


def test_evaluate_in_memory(demo_dbs: Path):
    gold = [
        {"db_id": "bookshop", "SQL": "SELECT count(*) FROM books"},
        {"db_id": "bookshop", "SQL": "SELECT title FROM books ORDER BY price DESC LIMIT 1"},
        {"db_id": "clinic", "SQL": "SELECT count(*) FROM doctors"},
    ]
    preds = ["SELECT COUNT(*) FROM books", "SELECT title FROM books ORDER BY price LIMIT 1", None]
    run = sqlfoundry.evaluate(preds, gold, databases=demo_dbs)
    assert [v.ex for v in run.verdicts] == [True, False, False]
    assert run.report["ex"] == 0.3333 and run.report["count"] == 3
    assert run.verdicts[2].error == "prediction 3: no prediction"
    assert "<html" in run.html()
    with pytest.raises(ConfigError, match="needs databases="):
        sqlfoundry.evaluate(preds, gold)
    with pytest.raises(InputError, match="gold record 1 needs 'db_id'"):
        sqlfoundry.evaluate(preds, [{"SQL": "SELECT 1"}], databases=demo_dbs)
    with pytest.raises(ConfigError, match="unknown mode 'loose'"):
        sqlfoundry.evaluate(preds, gold, databases=demo_dbs, mode="loose")


def test_evaluate_files_as_the_cli_reads_them(demo_dbs: Path, tmp_path: Path):
    gold, pred = tmp_path / "gold.sql", tmp_path / "pred.sql"
    gold.write_text("SELECT count(*) FROM books\tbookshop\nSELECT count(*) FROM doctors\tclinic\n")
    pred.write_text("SELECT count(*) FROM books\n")
    run = sqlfoundry.evaluate(pred, gold, databases=demo_dbs)
    assert [v.ex for v in run.verdicts] == [True, False]
    assert run.warnings == [
        "the prediction file has 1 entries for 2 gold items: the last 1 count as missing predictions"
    ]


def test_run_method_answers_in_input_order_and_feeds_evaluate(demo_dbs: Path):
    questions = [
        {"question": "How many books are there?", "db_id": "bookshop"},
        {"question": "   ", "db_id": "bookshop"},
        {"question": "How many doctors are there?", "db_id": "nowhere"},
        {"question": "How many doctors are there?", "db_id": "clinic"},
    ]
    run = sqlfoundry.run_method(questions, databases=demo_dbs, params=RETRIEVAL)
    assert run.method == "retrieval" and len(run) == 4
    assert run.predictions[0] == "SELECT COUNT(*) FROM books"
    assert run.predictions[3] == "SELECT COUNT(*) FROM doctors"
    assert run.predictions[1] is None and run.predictions[2] is None
    assert run.samples[1].meta["error"] == "retrieval_sql_generator: missing field: question"
    assert run.samples[2].meta["error"] == "retrieval_sql_generator: unknown database: 'nowhere'"
    gold = [{"db_id": q["db_id"], "SQL": s} for q, s in zip(questions, [
        "SELECT count(*) FROM books", "SELECT 1", "SELECT 1", "SELECT count(*) FROM doctors"],
        strict=True)]  # fmt: skip
    scored = sqlfoundry.evaluate(run, gold[:2] + gold[3:] + gold[2:3], databases=demo_dbs)
    assert [v.ex for v in scored.verdicts] == [True, False, False, False]
    assert scored.verdicts[1].error == (
        "prediction 2: retrieval_sql_generator: missing field: question"
    )


def test_run_method_plain_questions_and_unknown_method(demo_dbs: Path):
    run = sqlfoundry.run_method("How many books are there?", db_id="bookshop",
                                databases=demo_dbs / "bookshop" / "bookshop.sqlite",
                                params=RETRIEVAL)  # fmt: skip
    assert run.predictions == ["SELECT COUNT(*) FROM books"]
    from sqlfoundry.methods.presets import presets

    names = sqlfoundry.method_names()
    assert names == sorted(presets())  # every preset of the methods engine
    assert {"retrieval", "zero_shot", "few_shot", "din_sql", "mac_sql", "chess"} <= set(names)
    with pytest.raises(ConfigError, match="unknown method 'din_sqll'.*methods: chess, din_sql, "):
        sqlfoundry.run_method("x", method="din_sqll", db_id="bookshop", databases=demo_dbs)
    with pytest.raises(ConfigError, match="need db_id="):
        sqlfoundry.run_method("How many books?", databases=demo_dbs)
    with pytest.raises(ConfigError, match="num_per_db"):
        sqlfoundry.run_method("x", db_id="bookshop", databases=demo_dbs, params={"num_per_db": 0})
    with pytest.raises(ConfigError, match="unknown parameter"):
        sqlfoundry.run_method("x", method="zero_shot", db_id="bookshop", databases=demo_dbs,
                              params={"shots": 3})  # fmt: skip


def test_run_method_with_a_model_through_the_fake_endpoint(demo_dbs: Path, fake):
    from synth_testing import answer_with

    fake.handler = answer_with(lambda messages, n, i: "```sql\nSELECT count(*) FROM books\n```")
    run = sqlfoundry.run_method(["How many books are there?", "How many books?"], db_id="bookshop",
                                databases=demo_dbs, method="zero_shot",
                                llm={"base_url": fake.base_url, "model": "fake-model"})  # fmt: skip
    assert run.predictions == ["SELECT count(*) FROM books"] * 2
    prompt = fake.requests[-1].body["messages"][-1]["content"]
    assert "CREATE TABLE" in prompt and "How many books" in prompt
    with pytest.raises(ConfigError, match="LLM"):
        sqlfoundry.run_method("How many books?", db_id="bookshop", databases=demo_dbs,
                              method="zero_shot")  # fmt: skip


def test_run_methods_runs_a_config_and_scores_it(demo_dbs: Path, tmp_path: Path):
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        '{"db_id": "bookshop", "question": "How many books are there?", '
        '"SQL": "SELECT count(*) FROM books"}\n'
        '{"db_id": "clinic", "question": "How many doctors are there?", '
        '"SQL": "SELECT count(*) FROM doctors"}\n'
    )
    config = tmp_path / "run.toml"
    config.write_text(f'[dataset]\ngold = "questions.jsonl"\ndb_root = "{demo_dbs}"\n\n'
                      '[[tasks]]\nid = "offline"\ntype = "generate"\nmethod = "retrieval"\n'
                      'num_per_db = 40\neval = ["ex"]\n')  # fmt: skip
    report = sqlfoundry.run_methods(config, run_dir=tmp_path / "run")
    assert list(report["tasks"]) == ["offline"]
    assert report["tasks"]["offline"]["ex"] == 1.0 and report["tasks"]["offline"]["count"] == 2
    assert (tmp_path / "run" / "report.json").is_file()
    with pytest.raises(ConfigError):
        sqlfoundry.run_methods(
            {
                "dataset": {"gold": str(questions)},
                "tasks": [{"id": "x", "type": "generate", "method": "no_such_method"}],
            },
            run_dir=tmp_path / "r2",
        )


def test_pipeline_from_a_config_file_runs_on_records(demo_dbs: Path, tmp_path: Path):
    config = tmp_path / "steps.toml"
    config.write_text('batch_size = 2\n\n[[steps]]\nop = "sql_generator"\nnum_per_db = 3\n\n'
                      '[[steps]]\nop = "sql_execution_filter"\n\n'
                      '[[steps]]\nop = "question_generator"\n')  # fmt: skip
    pipeline = sqlfoundry.Pipeline.from_file(config)
    assert [op.name for op in pipeline.operators] == [
        "sql_generator", "sql_execution_filter", "question_generator"]  # fmt: skip
    assert pipeline.batch_size == 2
    result = sqlfoundry.run_pipeline(pipeline, [{"id": "airline", "db_id": "airline"}],
                                     databases=demo_dbs, run_dir=tmp_path / "run",
                                     workers=0)  # fmt: skip
    assert len(result.samples) == 3 and all(s.question and s.sql for s in result.samples)
    assert (tmp_path / "run" / "data.jsonl").read_text().count("\n") == 3
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - op: no_such_operator\n")
    with pytest.raises(ConfigError, match="bad.yaml: unknown operator 'no_such_operator'"):
        sqlfoundry.Pipeline.from_file(bad)


def test_the_api_works_inside_a_running_event_loop(demo_dbs: Path):
    """A notebook cell runs inside an event loop; the API must still work there."""

    async def cell() -> int:
        return len(sqlfoundry.synthesize(demo_dbs, db_ids=["clinic"], num_per_db=3, workers=0))

    assert asyncio.run(cell()) > 0


def test_synthesize_with_the_llm_engine_through_the_fake_endpoint(demo_dbs: Path, fake):
    from synth_testing import answer_with

    def answer(messages, n, index):
        text = messages[-1]["content"]
        if "Target complexity" in text:
            return "```sql\nSELECT last_name FROM doctors\n```"
        if "SQL query" in text and "question" in text.lower() and "```sql" not in text:
            return "Which doctors work at the clinic?"
        return "Let me think.\n```sql\nSELECT last_name FROM doctors\n```"

    fake.handler = answer_with(answer)
    run = sqlfoundry.synthesize(demo_dbs, db_ids=["clinic"], num_per_db=2, engine="llm",
                                llm={"base_url": fake.base_url, "model": "fake-model"},
                                config={"synth": {"embedder": "endpoint"}}, workers=0)  # fmt: skip
    assert run.summary["engine"] == "llm" and run.usage is not None
    assert run.summary["llm_usage"]["total"]["calls"] > 0


def test_load_benchmark_and_score_the_gold(tmp_path: Path):
    if not (SPIDER / "dev.json").is_file():
        missing(f"the Spider benchmark is not at {SPIDER}")
    bench = sqlfoundry.load_benchmark("spider:dev:first-6", root=SPIDER.parent)
    assert bench.name == "spider:dev" and len(bench.samples) == 6
    run = sqlfoundry.evaluate([s.sql for s in bench.samples], bench, metrics=["ex", "em"])
    assert run.report["ex"] == 1.0 and run.report["em"] == 1.0
    with pytest.raises(ConfigError, match="unknown benchmark 'spyder'"):
        sqlfoundry.load_benchmark("spyder:dev")


def test_the_first_synthesis_step_moves_database_by_database(demo_dbs: Path):
    for workers in (0, 2):  # in this process, then in worker processes
        seen: list[tuple[str, float, int]] = []
        sqlfoundry.synthesize(demo_dbs, num_per_db=2, workers=workers,
                              progress=lambda *a, seen=seen: seen.append(a))  # fmt: skip
        first = [done for op, done, total in seen if op == "sql_generator"]
        assert first[:4] == [0, pytest.approx(1 / 3), pytest.approx(2 / 3), 1.0], workers
        assert first[-1] == 1


def test_the_readme_example_runs_as_written(demo_dbs: Path, tmp_path: Path, private_cache: Path):
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("<!-- api-example -->\n```python\n", 1)[1].split("```", 1)[0]
    code = block.replace("examples/demo_dbs", str(demo_dbs))
    env = {**os.environ, "SQLFOUNDRY_CACHE_DIR": str(private_cache)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[1] == "['SELECT COUNT(*) FROM books']"
    assert lines[2] == "1.0 {}"
    assert (tmp_path / "exports" / "demo" / "dataset_info.json").is_file()
