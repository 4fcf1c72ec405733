"""With an LLM the local executor runs the steps at the same time: a step cuts its
batches from the step before as that step writes them. These tests hold it to the
files the steps write one after another: the same bytes, the same resume, the same
stop on a failing step."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from synth_testing import answer_with, in_styles, judge_answer, styles_asked

import sqlfoundry
from sqlfoundry.core.context import RunContext
from sqlfoundry.core.errors import SqlfoundryError
from sqlfoundry.core.executors.local import LocalExecutor
from sqlfoundry.core.operator import Operator, StepOutput
from sqlfoundry.core.pipeline import Pipeline
from sqlfoundry.core.sample import Sample
from sqlfoundry.llm import LLMClient, LLMConfig

CLI = Path(sys.executable).with_name("sqlfoundry")
SQL_BLOCK = re.compile(r"```sql\s*(.*?)\s*```", re.S)
TABLE = re.compile(r"CREATE TABLE\s+[`\"]?(\w+)[`\"]?\s*\((.*?)\n\s*\)", re.S | re.I)


def _pick(text: str, index: int) -> str:
    """A query over the prompt's tables that the prompt does not list to avoid, chosen
    by the prompt and the sample index: the same prompt, the same answer."""
    queries = []
    for table, body in TABLE.findall(text):
        columns = re.findall(r"^\s*(\w+) ", body, flags=re.M)
        queries += [f"SELECT count(*) FROM {table}"]
        queries += [f"SELECT DISTINCT {c} FROM {table}" for c in columns if c.isidentifier()]
    avoid = text.split("Do not repeat", 1)[1] if "Do not repeat" in text else ""
    seed = int(hashlib.sha256(f"{text}\0{index}".encode()).hexdigest(), 16)
    for attempt in range(len(queries)):
        sql = queries[(seed + attempt * 7919) % len(queries)]
        if sql not in avoid:
            return sql
    return queries[seed % len(queries)] if queries else "SELECT 1"


def model(messages: list[dict], n: int, index: int) -> str:
    text = messages[-1]["content"]
    if "Target complexity" in text:
        # One ```sql block for each query the prompt lists (one when it asks for one),
        # none repeating another.
        written: list[str] = []
        for j in range(len(re.findall(r"^\d+\. Target complexity", text, flags=re.M)) or 1):
            seen = "\nDo not repeat\n" + "\n".join(written)
            written.append(_pick(text + seen, index * 100 + j) if written else _pick(text, index))
        return "\n".join(f"{j}.\n```sql\n{sql}\n```" for j, sql in enumerate(written, 1))
    if "Verdict: yes" in text:
        return judge_answer(text, "It asks for what the query returns.\nVerdict: yes")
    if styles_asked(messages):
        digest = hashlib.sha256(text.encode()).hexdigest()[:6]
        return in_styles(lambda style: {"question": f"Which rows ({style}, {digest})?",
                                        "evidence": ""})(messages, n, index)  # fmt: skip
    if "Correct SQL query:" in text:
        return f"1. Read the rows.\n```sql\n{SQL_BLOCK.findall(text)[-1]}\n```"
    return f"```sql\n{_pick(text, index)}\n```"  # text-to-SQL answers


def _synth(demo_root: Path, fake, run_dir: Path, overlap: bool):
    return sqlfoundry.synthesize(
        demo_root, num_per_db=12, engine="llm", run_dir=run_dir, workers=0,
        llm={"base_url": fake.base_url, "model": "fake-model", "cache": "off"},
        config={"synth": {"batch_size": 4, "concurrent_batches": 2, "embedder": "endpoint"}},
        executor=LocalExecutor(overlap=overlap))  # fmt: skip


def _files(run_dir: Path) -> dict[str, bytes]:
    names = ["data.jsonl", "rejects.jsonl"]
    # (a temporary file a kill left behind is no checkpoint)
    names += sorted(str(p.relative_to(run_dir)) for p in (run_dir / "steps").rglob("*")
                    if p.is_file() and not p.name.endswith(".tmp"))  # fmt: skip
    return {name: (run_dir / name).read_bytes() for name in names}


@pytest.mark.slow
def test_overlapped_steps_write_the_bytes_of_steps_one_after_another(demo_root: Path, tmp_path: Path,
                                                                      fake, monkeypatch):  # fmt: skip
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    fake.handler = answer_with(model)
    fake.latency = 0.03  # answers take time, as a model's do: the steps meet
    after = _synth(demo_root, fake, tmp_path / "after", overlap=False)
    in_turn = _kinds(fake.requests)
    assert in_turn == sorted(in_turn, key=STEPS.index)  # one step, then the next
    asked = len(fake.requests)
    _synth(demo_root, fake, tmp_path / "overlapped", overlap=True)
    kinds = _kinds(fake.requests[asked:])
    # The steps ran at the same time: a step's requests went out before the last of
    # the step before it (the generator's first rounds are handed on before its last).
    for before, later in itertools.pairwise(STEPS):
        assert kinds.index(later) < len(kinds) - 1 - kinds[::-1].index(before), (before, later)
    assert len(after) > 12  # several batches in every step
    files = _files(tmp_path / "after")
    assert files == _files(tmp_path / "overlapped")
    assert sum(name.endswith("/done") for name in files) == len(after.summary["steps"])


STEPS = ["sql", "question", "judge", "cot", "text_to_sql"]


def _kinds(requests) -> list[str]:
    """The LLM steps the fake endpoint's chat requests came from, in arrival order."""
    kinds = []
    for request in requests:
        if request.path != "/v1/chat/completions":
            continue
        text = request.body["messages"][-1]["content"]
        if "Target complexity" in text:
            kinds.append("sql")
            continue
        kinds.append("judge" if "Verdict: yes" in text else "question"
                     if styles_asked(request.body["messages"]) else "cot"
                     if "Correct SQL query:" in text else "text_to_sql")  # fmt: skip
    return kinds


# ------------------------------------------------------------------ resume and failure


class Slow(Operator):
    """Waits on the endpoint for each record (one chat request), keeps it with the answer."""

    name = "overlap_test_slow"

    async def process(self, batch, ctx):
        answers = await asyncio.gather(*(ctx.llm.generate([{"role": "user", "content": s.id}])
                                         for s in batch))  # fmt: skip
        out = StepOutput()
        for sample, answer in zip(batch, answers, strict=True):
            question = (sample.question or "") + answer[0].text
            out.samples.append(sample.model_copy(update={"question": question}))
        return out


class Fails(Operator):
    """Fails on the record ``q5``, after passing the batches before it on."""

    name = "overlap_test_fails"

    async def process(self, batch, ctx):
        if any(s.id == "q5" for s in batch):
            raise RuntimeError("q5 breaks this step")
        return StepOutput(samples=list(batch))


async def _pipeline_run(fake, run_dir: Path, operators, overlap: bool = True):
    config = LLMConfig(base_url=fake.base_url, model="fake-model", cache="off")
    async with LLMClient(config, env={}) as client:
        ctx = RunContext(llm=client)
        pipeline = Pipeline(operators, batch_size=2, concurrent_batches=2)
        return await LocalExecutor(overlap=overlap).execute(
            pipeline, [Sample(id=f"q{i}", db_id="x") for i in range(10)], run_dir, ctx
        )


def test_a_failing_step_stops_the_run_and_a_fixed_rerun_writes_what_steps_in_turn_write(
        fake, tmp_path: Path, monkeypatch):  # fmt: skip
    fake.handler = answer_with(lambda messages, n, i: f" answered {messages[-1]['content']}")
    with pytest.raises(RuntimeError, match="q5 breaks"):
        asyncio.run(_pipeline_run(fake, tmp_path / "run", [Slow(), Fails(), Slow()]))
    steps = sorted((tmp_path / "run" / "steps").iterdir())
    assert not (steps[1] / "done").exists()
    assert not (tmp_path / "run" / "data.jsonl").exists()
    # Batches the last step wrote while the failing step ran are not final.
    written = sorted(steps[2].glob("batch-*.jsonl"))
    assert len(list(steps[2].glob("unfinished-*"))) == len(written)
    monkeypatch.setattr(Fails, "process", lambda self, batch, ctx: _passed(batch))
    resumed = asyncio.run(_pipeline_run(fake, tmp_path / "run", [Slow(), Fails(), Slow()]))
    assert [r.reused for r in resumed.steps][1:] == [False, False]
    in_turn = asyncio.run(_pipeline_run(fake, tmp_path / "in-turn", [Slow(), Fails(), Slow()],
                                        overlap=False))  # fmt: skip
    assert _files(tmp_path / "run") == _files(tmp_path / "in-turn")
    assert [s.question for s in in_turn.samples] == [
        f" answered q{i} answered q{i}" for i in range(10)]  # fmt: skip


async def _passed(batch):
    return StepOutput(samples=list(batch))


@pytest.mark.slow
def test_killed_while_the_steps_overlap_the_same_command_finishes_the_run(
        demo_root: Path, tmp_path: Path, fake):  # fmt: skip
    """kill -9 while a later step has written batches and an earlier one has not ended;
    the same command then writes what an uninterrupted run writes."""
    fake.handler = answer_with(model)
    fake.latency = 0.05
    config = tmp_path / "synth.toml"
    config.write_text(f'[llm]\nbase_url = "{fake.base_url}"\nmodel = "fake-model"\ncache = "off"\n'
                      '[synth]\nbatch_size = 4\nconcurrent_batches = 2\nembedder = "endpoint"\n')  # fmt: skip
    base = [str(CLI), "synth", "--db-root", str(demo_root), "--num-per-db", "12", "--engine", "llm",
            "--workers", "0", "--config", str(config)]  # fmt: skip
    env = {**os.environ, "OPENAI_API_KEY": "x"}
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    proc = subprocess.Popen([*base, "--out", str(killed)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None and not _mid_pipeline(killed):
            time.sleep(0.002)
        assert proc.poll() is None, "the run ended before it could be interrupted"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    subprocess.run([*base, "--out", str(killed)], env=env, check=True, capture_output=True)
    subprocess.run([*base, "--out", str(clean)], env=env, check=True, capture_output=True)
    assert _files(killed) == _files(clean)


def _mid_pipeline(run_dir: Path) -> bool:
    """A step that has not ended, and a later one that has written a batch."""
    steps = sorted((run_dir / "steps").glob("*")) if (run_dir / "steps").is_dir() else []
    open_steps = [i for i, step in enumerate(steps) if not (step / "done").exists()]
    return bool(open_steps) and any(any(step.glob("rejects-*.jsonl"))
                                    for step in steps[open_steps[0] + 1:])  # fmt: skip


def test_step_bars_take_the_reports_of_steps_running_at_once():
    from sqlfoundry.cli.synth import _StepProgress

    bars = _StepProgress()
    reports = [("sql_generator", 0, 1), ("question_generator", 0, 1), ("sql_generator", 1, 1),
               ("question_generator", 0.5, 3), ("cot_generator", 0, 3), ("question_generator", 2, 2),
               ("cot_generator", 0, 2), ("cot_generator", 2, 2)]  # fmt: skip
    with bars:
        for report in reports:
            bars(*report)
    tasks = [(t.description, t.completed, t.total) for t in bars.progress.tasks]
    # A step still running that reports 0 again keeps its bar.
    assert tasks == [("1. sql_generator", 1, 1), ("2. question_generator", 2, 2),
                     ("3. cot_generator", 2, 2)]  # fmt: skip


class HandsOn(Operator):
    """Hands its batch on early, then returns it (or, with ``change``, something else)."""

    name = "overlap_test_hands_on"

    async def process(self, batch, ctx):
        from sqlfoundry.core.executors.stream import hand_on

        hand_on(batch[:1])
        await asyncio.sleep(0.01)
        if getattr(self, "change", False):
            batch = [batch[0].model_copy(update={"question": "changed"}), *batch[1:]]
        return StepOutput(samples=list(batch))


def test_records_handed_on_early_reach_the_next_step_and_must_begin_the_output(
        fake, tmp_path: Path):  # fmt: skip
    fake.handler = answer_with(lambda messages, n, i: f" answered {messages[-1]['content']}")
    early = asyncio.run(_pipeline_run(fake, tmp_path / "early", [HandsOn(), Slow()]))
    asyncio.run(_pipeline_run(fake, tmp_path / "in-turn", [HandsOn(), Slow()], False))
    assert _files(tmp_path / "early") == _files(tmp_path / "in-turn")
    assert [s.question for s in early.samples] == [f" answered q{i}" for i in range(10)]
    changing = HandsOn()
    changing.change = True
    with pytest.raises(SqlfoundryError, match="handed on records its output does not begin with"):
        asyncio.run(_pipeline_run(fake, tmp_path / "changed", [changing, Slow()]))


def test_llm_runs_take_small_batches_unless_the_settings_say_otherwise():
    from sqlfoundry.synth.pipelines import SynthSettings, build_pipeline

    def batching(section, engine):
        pipeline = build_pipeline("synth", SynthSettings.from_sources(section, {"engine": engine}))
        return pipeline.batch_size, pipeline.concurrent_batches

    assert batching({}, "llm") == (32, 16)
    assert batching({"batch_size": 256}, "llm") == (256, 16)
    assert batching({"concurrent_batches": 2}, "llm") == (32, 2)
    assert batching({}, "offline") == (256, 1)
