"""OpenDCAI DataFlow's Text-to-SQL generation pipeline, run with its own operators.

    python benchmarks/peers/dataflow.py CHECKOUT --db-root DIR --base-url URL \\
        --num-per-db N --workers W --out DIR

runs the nine steps of DataFlow's ``statics/pipelines/api_pipelines/
text2sql_pipeline_gen.py`` (SQL generation, executability filter, question
generation with 3 candidates and embeddings, correspondence filter, prompt
generation, CoT generation and voting, component and execution classifiers,
with that file's settings) against an OpenAI-compatible endpoint at ``URL``
with ``W`` request threads, ``N`` queries per database. The pipeline class
itself is not instantiated because it hard-codes api.openai.com and a
download of its example databases; the steps, their order and their
parameters are the same. DataFlow's ``serving`` package imports every
backend it has (vLLM, Google, LiteLLM) on import; only its HTTP one is loaded.

Prints one JSON line: ``{"kept", "distinct", "seconds"}`` (records in the last
step's output, distinct (db_id, SQL) among them, wall time of the steps).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
import types
from pathlib import Path

try:
    from _peer import PeerMissing, checkout, need_modules
except ImportError:
    from ._peer import PeerMissing, checkout, need_modules

MARKER = "dataflow/statics/pipelines/api_pipelines/text2sql_pipeline_gen.py"
MODULES = ("pandas", "numpy", "scipy", "tqdm", "requests", "colorlog", "func_timeout", "pymysql",
           "sqlglot")  # fmt: skip


def command(
    db_root: Path,
    base_url: str,
    model: str,
    num_per_db: int,
    workers: int,
    out: Path,
    peer: str | Path | None,
) -> list[str]:
    """The command line running DataFlow's pipeline.

    Raises:
        PeerMissing: no checkout, or one of its packages is not installed.
    """
    path = checkout("dataflow", peer, marker=MARKER)
    need_modules("dataflow", *MODULES)
    return [sys.executable, __file__, str(path), "--db-root", str(db_root), "--base-url", base_url,
            "--model", model, "--num-per-db", str(num_per_db), "--workers", str(workers), "--out", str(out)]  # fmt: skip


def run_pipeline(path: Path, args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(path))
    serving = types.ModuleType("dataflow.serving")
    serving.__path__ = [str(path / "dataflow" / "serving")]  # its submodules, not its __init__
    sys.modules["dataflow.serving"] = serving
    os.environ.setdefault("DF_API_KEY", "stand-in")

    from dataflow.operators.text2sql import (
        SQLComponentClassifier,
        SQLExecutabilityFilter,
        SQLExecutionClassifier,
        SQLGenerator,
        Text2SQLCorrespondenceFilter,
        Text2SQLCoTGenerator,
        Text2SQLCoTVotingGenerator,
        Text2SQLPromptGenerator,
        Text2SQLQuestionGenerator,
    )
    from dataflow.prompts.text2sql import (
        SelectSQLGeneratorPrompt,
        Text2SQLCorrespondenceFilterPrompt,
        Text2SQLCotGeneratorPrompt,
        Text2SQLPromptGeneratorPrompt,
        Text2SQLQuestionGeneratorPrompt,
    )
    from dataflow.serving.api_llm_serving_request import APILLMServing_request
    from dataflow.utils.storage import FileStorage
    from dataflow.utils.text2sql.database_manager import DatabaseManager

    start = time.perf_counter()
    storage = FileStorage(
        first_entry_file_name=str(path / "dataflow/example/Text2SQLPipeline/empty.jsonl"),
        cache_path=str(args.out), file_name_prefix="dataflow_cache_step", cache_type="jsonl",
    )  # fmt: skip
    url = args.base_url.rstrip("/")
    llm = APILLMServing_request(api_url=f"{url}/chat/completions", model_name=args.model,
                                max_workers=args.workers)  # fmt: skip
    embedder = APILLMServing_request(api_url=f"{url}/embeddings", model_name=args.model,
                                     max_workers=args.workers)  # fmt: skip
    db = DatabaseManager(db_type="sqlite", config={"root_path": str(args.db_root)})
    keys = {"sql": "SQL", "db": "db_id", "question": "question", "evidence": "evidence"}
    SQLGenerator(llm_serving=llm, database_manager=db, generate_num=args.num_per_db,
                 prompt_template=SelectSQLGeneratorPrompt()).run(
        storage=storage.step(), output_sql_key=keys["sql"], output_db_id_key=keys["db"],
        output_sql_complexity_key="sql_complexity_type")  # fmt: skip
    SQLExecutabilityFilter(database_manager=db).run(
        storage=storage.step(), input_sql_key=keys["sql"], input_db_id_key=keys["db"]
    )
    Text2SQLQuestionGenerator(llm_serving=llm, embedding_serving=embedder, database_manager=db,
                              question_candidates_num=3,
                              prompt_template=Text2SQLQuestionGeneratorPrompt()).run(
        storage=storage.step(), input_sql_key=keys["sql"], input_db_id_key=keys["db"],
        output_question_key=keys["question"], output_evidence_key=keys["evidence"])  # fmt: skip
    Text2SQLCorrespondenceFilter(llm_serving=llm, database_manager=db,
                                 prompt_template=Text2SQLCorrespondenceFilterPrompt()).run(
        storage=storage.step(), input_sql_key=keys["sql"], input_db_id_key=keys["db"],
        input_question_key=keys["question"], input_evidence_key=keys["evidence"])  # fmt: skip
    Text2SQLPromptGenerator(database_manager=db,
                            prompt_template=Text2SQLPromptGeneratorPrompt()).run(
        storage=storage.step(), input_question_key=keys["question"], input_db_id_key=keys["db"],
        input_evidence_key=keys["evidence"], output_prompt_key="prompt")  # fmt: skip
    Text2SQLCoTGenerator(llm_serving=llm, database_manager=db,
                         prompt_template=Text2SQLCotGeneratorPrompt()).run(
        storage=storage.step(), input_sql_key=keys["sql"], input_question_key=keys["question"],
        input_db_id_key=keys["db"], input_evidence_key=keys["evidence"],
        output_cot_key="cot_reasoning")  # fmt: skip
    Text2SQLCoTVotingGenerator(database_manager=db).run(
        storage=storage.step(), input_cot_responses_key="cot_responses",
        input_db_id_key=keys["db"], output_cot_key="cot_reasoning")  # fmt: skip
    SQLComponentClassifier(difficulty_thresholds=[2, 4, 6],
                           difficulty_labels=["easy", "medium", "hard", "extra"]).run(
        storage=storage.step(), input_sql_key=keys["sql"],
        output_difficulty_key="sql_component_difficulty")  # fmt: skip
    SQLExecutionClassifier(llm_serving=llm, database_manager=db, num_generations=10,
                           difficulty_thresholds=[2, 5, 9],
                           difficulty_labels=["extra", "hard", "medium", "easy"]).run(
        storage=storage.step(), input_sql_key=keys["sql"], input_db_id_key=keys["db"],
        input_prompt_key="prompt", output_difficulty_key="sql_execution_difficulty")  # fmt: skip
    seconds = time.perf_counter() - start
    last = max(Path(args.out).glob("dataflow_cache_step*.jsonl"),
               key=lambda p: int(p.stem.rsplit("step", 1)[1]))  # fmt: skip
    rows = [json.loads(line) for line in last.read_text().splitlines() if line.strip()]
    distinct = {(r.get(keys["db"]), r.get(keys["sql"])) for r in rows}
    return {"kept": len(rows), "distinct": len(distinct), "seconds": round(seconds, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout")
    parser.add_argument("--db-root", type=Path, required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", default="fake-model")
    parser.add_argument("--num-per-db", type=int, default=100)
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    try:
        path = checkout("dataflow", args.checkout, marker=MARKER)
        need_modules("dataflow", *MODULES)
    except PeerMissing as missing:
        print(json.dumps({"skipped": str(missing)}))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    # DataFlow logs every step and draws progress bars; keep our one line on stdout.
    with open(args.out / "dataflow.log", "w") as log, contextlib.redirect_stdout(log):
        result = run_pipeline(path, args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
