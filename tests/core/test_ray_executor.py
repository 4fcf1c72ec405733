"""The Ray Data executor: the same pipelines give the same files as the local executor.

One Ray instance per module (``ray.init(num_cpus=2)``, no dashboard), with its temp
folder and HOME under the test's tmp; the cluster test starts ``ray start --head``
plus one worker node as processes of this machine and stops exactly those.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
psutil = pytest.importorskip("psutil")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "llm"))

from fake_openai import FakeOpenAI, Reply  # noqa: E402

from demo_builder import demo_builder  # noqa: E402
from sqlfoundry.api import synthesis  # noqa: E402
from sqlfoundry.core.executors import ExecutorSettings  # noqa: E402
from sqlfoundry.core.executors.ray import RayExecutor  # noqa: E402
from sqlfoundry.core.operator import Operator, StepOutput  # noqa: E402

pytestmark = pytest.mark.slow
VENV_BIN = Path(sys.executable).parent


def _ray_processes(marker: str) -> list[psutil.Process]:
    """This test's Ray processes: those whose command line names its temp folder."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if any(marker in part for part in proc.info["cmdline"] or ()):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


@pytest.fixture(scope="module")
def ray_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """HOME, caches and Ray's token switch for this module, so nothing lands outside tmp."""
    home = tmp_path_factory.mktemp("rayhome")
    settings = {"HOME": str(home), "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0",
                "SQLFOUNDRY_CACHE_DIR": str(home / "cache"), "XDG_CACHE_HOME": str(home / "xdg")}  # fmt: skip
    with pytest.MonkeyPatch.context() as env:  # a module fixture gets no monkeypatch
        for key, value in settings.items():
            env.setenv(key, value)
        yield home


@pytest.fixture(scope="module")
def local_ray(ray_home: Path) -> Iterator[str]:
    """One Ray instance on this machine for the module (2 CPUs, no dashboard)."""
    temp = Path("/tmp") / f"sqlf-ray-{os.getpid()}"  # Ray's socket paths must stay short
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=150 * 2**20, _temp_dir=str(temp))  # fmt: skip
    yield str(temp)
    ray.shutdown()
    deadline = time.monotonic() + 30
    while _ray_processes(str(temp)) and time.monotonic() < deadline:
        time.sleep(0.5)
    left = _ray_processes(str(temp))
    shutil.rmtree(temp, ignore_errors=True)
    assert not left, f"Ray processes left behind: {[p.pid for p in left]}"


@pytest.fixture(scope="module")
def dbs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ray_dbs")
    demo_builder().build_all(root)
    return root


def _files(run_dir: Path) -> tuple[str, str]:
    return (run_dir / "data.jsonl").read_text(), (run_dir / "rejects.jsonl").read_text()


def test_synthesis_on_ray_writes_what_the_local_executor_writes(local_ray, dbs, tmp_path):
    local = synthesis.synthesize(dbs, num_per_db=12, seed=3, run_dir=tmp_path / "local")
    on_ray = synthesis.synthesize(dbs, num_per_db=12, seed=3, run_dir=tmp_path / "ray",
                                  executor=RayExecutor(actors=(1, 2)))  # fmt: skip
    assert len(local.samples) > 20
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")  # order included
    assert [s.id for s in on_ray.samples] == [s.id for s in local.samples]
    steps = json.loads((tmp_path / "ray" / "manifest.json").read_text())["steps"]
    local_steps = json.loads((tmp_path / "local" / "manifest.json").read_text())["steps"]
    assert [(s["inputs"], s["outputs"], s["rejects"]) for s in steps] == [
        (s["inputs"], s["outputs"], s["rejects"]) for s in local_steps
    ]
    assert all(s["reused"] is False for s in steps)

    # Resume: the last two steps lose their marker and one of them a part file; the rerun
    # reuses the finished steps and what the parts hold, and writes the same files.
    step_dirs = sorted((tmp_path / "ray" / "steps").iterdir())
    for folder in step_dirs[-2:]:
        (folder / "done").unlink()
    (step_dirs[-1] / "ordered.jsonl").unlink()
    parts_before = {d.name: sorted(p.name for p in d.glob("part-*.jsonl")) for d in step_dirs}
    lost = parts_before[step_dirs[-2].name][0]
    (step_dirs[-2] / lost).unlink()
    (tmp_path / "ray" / "data.jsonl").unlink()
    synthesis.synthesize(dbs, num_per_db=12, seed=3, run_dir=tmp_path / "ray",
                         executor=RayExecutor(actors=(1, 1)))  # fmt: skip
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")
    steps = json.loads((tmp_path / "ray" / "manifest.json").read_text())["steps"]
    assert [s["reused"] for s in steps] == [True] * (len(steps) - 2) + [False, False]
    # The last step had nothing to run again: its parts are the ones it had.
    assert (
        sorted(p.name for p in step_dirs[-1].glob("part-*.jsonl"))
        == parts_before[step_dirs[-1].name]
    )
    assert len(list(step_dirs[-2].glob("part-*.jsonl"))) == len(parts_before[step_dirs[-2].name])

    # The local executor reads the steps Ray finished instead of running them again.
    (tmp_path / "ray" / "data.jsonl").unlink()
    (tmp_path / "ray" / "rejects.jsonl").unlink()
    again = synthesis.synthesize(dbs, num_per_db=12, seed=3, run_dir=tmp_path / "ray")
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")
    assert [s.id for s in again.samples] == [s.id for s in local.samples]
    steps = json.loads((tmp_path / "ray" / "manifest.json").read_text())["steps"]
    assert all(s["reused"] for s in steps)
    assert not list((tmp_path / "ray" / "steps").glob("*/batch-*.jsonl"))


def test_a_method_config_on_ray_answers_as_it_does_locally(local_ray, dbs, tmp_path):
    from sqlfoundry.api.methods import run_methods
    from sqlfoundry.methods.engine.config import demo_config

    config = demo_config(dbs)
    local = run_methods(config.model_dump(mode="json", by_alias=True), run_dir=tmp_path / "l")
    on_ray = run_methods(config.model_dump(mode="json", by_alias=True), run_dir=tmp_path / "r",
                         executor="ray")  # fmt: skip
    for task in local["tasks"]:
        assert on_ray["tasks"][task]["ex"] == local["tasks"][task]["ex"]
        ours = (tmp_path / "r" / "tasks" / task / "pred.sql").read_text()
        assert ours == (tmp_path / "l" / "tasks" / task / "pred.sql").read_text()


def test_refine_on_ray_and_the_executor_section_of_a_config(local_ray, dbs, tmp_path):
    pairs = [
        {"db_id": "bookshop", "question": "How many books are there?",
         "SQL": "SELECT count(*) FROM books"},
        {"db_id": "clinic", "question": "List the last name of every doctor.",
         "SQL": "SELECT last_name FROM doctors"},
        {"db_id": "nowhere", "question": "?", "SQL": "SELECT 1"},
    ]  # fmt: skip
    local = synthesis.refine(pairs, dbs, run_dir=tmp_path / "local")
    on_ray = synthesis.refine(pairs, dbs, run_dir=tmp_path / "ray",
                              config={"executor": {"kind": "ray", "actors": [1, 1]}})  # fmt: skip
    assert _files(tmp_path / "ray") == _files(tmp_path / "local")
    assert len(on_ray.rejects) == len(local.rejects) >= 1
    assert len(on_ray.samples) == len(local.samples) >= 2
    # The databases behind an fsspec URL: each actor opens its own local copy.
    synthesis.refine(pairs, f"file://{dbs}", run_dir=tmp_path / "url",
                     config={"executor": {"kind": "ray", "actors": [1, 1]}})  # fmt: skip
    assert _files(tmp_path / "url") == _files(tmp_path / "local")
    # A pool of actors per step (fuse = false) writes the same files.
    synthesis.refine(pairs, dbs, run_dir=tmp_path / "apart",
                     config={"executor": {"kind": "ray", "actors": [1, 1], "fuse": False}})  # fmt: skip
    assert _files(tmp_path / "apart") == _files(tmp_path / "local")


def test_eval_runs_ex_as_a_pipeline_on_ray_with_the_same_verdicts(local_ray, dbs, tmp_path):
    from typer.testing import CliRunner

    from sqlfoundry.cli.main import app

    gold = tmp_path / "gold.sql"
    gold.write_text("SELECT count(*) FROM books\tbookshop\n"
                    "SELECT last_name FROM doctors\tclinic\n"
                    "SELECT title FROM books ORDER BY title\tbookshop\n")  # fmt: skip
    pred = tmp_path / "pred.sql"
    pred.write_text(
        "SELECT count(*) FROM books\nSELECT last_name FROM patients\nSELECT nope FROM books\n"
    )
    base = ["eval", "--pred", str(pred), "--gold", str(gold), "--db-root", str(dbs)]
    runs = {"direct": [], "run_dir": ["--run-dir", str(tmp_path / "ev")],
            "ray": ["--executor", "ray"]}  # fmt: skip
    items = {}
    for name, extra in runs.items():
        out = tmp_path / f"{name}.jsonl"
        done = CliRunner().invoke(app, [*base, *extra, "--items", str(out)])
        assert done.exit_code == 0, done.output
        items[name] = [json.loads(x) for x in out.read_text().splitlines()]
    assert [i["ex"] for i in items["direct"]] == [True, False, False]
    assert items["run_dir"] == items["direct"] and items["ray"] == items["direct"]
    assert list((tmp_path / "ev" / "steps").glob("01-execution_match-*/done"))


class Shout(Operator):
    """A step after the LLM step, so an unfinished record's children are seen too."""

    name = "shout"

    async def process(self, batch, ctx) -> StepOutput:
        return StepOutput(samples=[s.model_copy(update={"question": s.question.upper()})
                                   for s in batch])  # fmt: skip


def test_a_batch_with_failed_llm_requests_is_not_final_on_ray(local_ray, tmp_path):
    import llm_operators
    from llm_operators import AskOnce
    from sqlfoundry.core.context import RunContext
    from sqlfoundry.core.pipeline import Pipeline
    from sqlfoundry.core.sample import Sample
    from sqlfoundry.llm import LLMConfig
    from sqlfoundry.llm.context_spec import ContextSpec

    # The actors cannot import the tests: send these operators by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.cloudpickle.register_pickle_by_value(llm_operators)
    fake = FakeOpenAI().start()
    try:
        fake.handler = lambda r: (Reply(status=503, json={"error": {"message": "overloaded"}})
                                  if r.body and r.body["messages"][0]["content"] == "q1"
                                  else None)  # fmt: skip
        config = LLMConfig(base_url=fake.base_url, model="fake-model", cache_dir=tmp_path / "c",
                           max_retries=1, retry_base_delay=0.01, retry_max_delay=0.02)  # fmt: skip
        ctx = RunContext(spec=ContextSpec(llm=config))
        records = [Sample(id=f"q{i}", db_id="x") for i in range(4)]

        def run():
            pipeline = Pipeline([AskOnce(), Shout()], batch_size=2)
            return pipeline.run(records, tmp_path / "run", ctx,
                                executor=RayExecutor(actors=(1, 1)))  # fmt: skip

        first = run()
        assert [s.id for s in first.samples] == ["q0", "q2", "q3"]
        assert [r["sample"]["id"] for r in first.rejects] == ["q1"]
        steps = sorted((tmp_path / "run" / "steps").iterdir())
        # Neither step is final: the LLM step had a failure, the next one follows it.
        assert not [d for d in steps if (d / "done").exists()]
        fake.handler = None  # the endpoint recovers
        second = run()
        assert [s.id for s in second.samples] == ["q0", "q1", "q2", "q3"]
        assert not second.rejects
        assert all(s.question.isupper() for s in second.samples)
        assert all((d / "done").exists() for d in steps)
        lines = [json.loads(t) for d in steps for p in d.glob("part-*.jsonl")
                 for t in p.read_text().splitlines()]  # fmt: skip
        assert not [x for x in lines if x.get("u")]
        # The records of q1's batch ran again, but only q1 reached the endpoint: the cache.
        asked = [r.body["messages"][0]["content"] for r in fake.requests if r.body]
        assert asked.count("q0") == 1 and asked.count("q3") == 1
    finally:
        fake.stop()


def test_bad_executor_settings_are_one_line_errors():
    from sqlfoundry.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"bad \[executor\] settings: actors"):
        ExecutorSettings.from_sources({"kind": "ray", "actors": [3, 1]}, {})
    with pytest.raises(ConfigError, match=r"bad \[executor\] settings: kind"):
        ExecutorSettings.from_sources({"kind": "spark"}, {})
    assert ExecutorSettings.from_sources({}, {"address": "auto"}).kind == "ray"


def test_a_node_without_the_databases_says_which_node_and_folder(tmp_path):
    from sqlfoundry.core.errors import ConfigError
    from sqlfoundry.db.manager import DatabaseManager
    from sqlfoundry.llm.context_spec import ContextSpec

    folder = tmp_path / "dbs"
    folder.mkdir()
    manager = DatabaseManager(root=folder)
    folder.rmdir()  # as on a node that does not mount it
    with pytest.raises(ConfigError) as caught:
        ContextSpec(databases=manager).check_databases()
    assert socket.gethostname() in caught.value.message
    assert str(folder) in caught.value.message


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_head_and_a_worker_node_started_with_ray_start(ray_home, dbs, tmp_path):
    """``ray start --head`` plus ``ray start --address``: the CLI runs synth on that
    cluster and writes what the local executor writes; every process is stopped."""
    if ray.is_initialized():
        ray.shutdown()  # this test's driver is the CLI, in its own process
    temp = Path("/tmp") / f"sqlf-rayc-{os.getpid()}"
    port = _free_port()
    env = {**os.environ, "HOME": str(ray_home), "RAY_AUTH_MODE": "disabled",
           "RAY_USAGE_STATS_ENABLED": "0", "SQLFOUNDRY_CACHE_DIR": str(tmp_path / "cache")}  # fmt: skip
    ray_cli = str(VENV_BIN / "ray")
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    try:
        subprocess.run([ray_cli, "start", "--head", "--port", str(port), "--temp-dir", str(temp),
                        "--include-dashboard", "false", "--node-ip-address", "127.0.0.1",
                        *common], env=env, check=True, capture_output=True, timeout=120)  # fmt: skip
        subprocess.run([ray_cli, "start", "--address", f"127.0.0.1:{port}",
                        "--node-ip-address", "127.0.0.1", *common],
                       env=env, check=True, capture_output=True, timeout=120)  # fmt: skip
        cli = str(VENV_BIN / "sqlfoundry")
        args = ["synth", "--db-root", str(dbs), "--num-per-db", "8", "--seed", "1"]
        subprocess.run([cli, *args, "--out", str(tmp_path / "local")], env=env, check=True,
                       capture_output=True, timeout=300)  # fmt: skip
        done = subprocess.run([cli, *args, "--out", str(tmp_path / "ray"), "--executor", "ray",
                               "--ray-address", f"127.0.0.1:{port}"], env=env,
                              capture_output=True, text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        assert _files(tmp_path / "ray") == _files(tmp_path / "local")
        status = subprocess.run([ray_cli, "status", "--address", f"127.0.0.1:{port}"], env=env,
                                capture_output=True, text=True, timeout=60)  # fmt: skip
        assert status.stdout.count("node_") >= 2, status.stdout  # two nodes took part
    finally:
        for proc in _ray_processes(str(temp)) + _ray_processes(f"127.0.0.1:{port}"):
            with contextlib.suppress(psutil.NoSuchProcess):
                proc.terminate()
        _, alive = psutil.wait_procs(_ray_processes(str(temp)), timeout=20)
        for proc in alive:
            proc.kill()
        shutil.rmtree(temp, ignore_errors=True)
    time.sleep(1)
    assert not _ray_processes(str(temp)) and not _ray_processes(f"127.0.0.1:{port}")
