"""Every code block of the README, run as written.

A workspace stands in for the reader's machine: ``examples/`` as in the repo with
the demo databases built, ``spider/`` a three-database copy of Spider (``dev_gold.sql``
and ``pred.sql`` its first queries), ``dbs/`` the demo databases, the inputs the
commands name (``pairs.jsonl``, ``chats.jsonl``, ``queries.sql``, ``pred.json``), and
a benchmark root of small copies of the shared benchmarks. The README's TOML and JSON
blocks are written where its commands read them (``synth.toml``, ``methods.toml``,
``squrve_startup_config.json``, ...). Three things are swapped, nothing else:

* the model at ``http://127.0.0.1:8000/v1`` (``:8001``, ``:8002`` in the example
  gateway configs) is a fake endpoint on a free
  port (``readme_model.ReadmeModel`` answers every prompt kind);
* the gateway's ``--port 8000`` is a free port (the machine is shared);
* ``/data/benchmarks`` is the small benchmark root.

Skipped, and why (the whole list):

* ``make demo`` / ``make test`` (the first block): make test would run this test
  inside itself, make demo installs into the repo's .venv and writes runs/ into the
  repo; both targets are checked by tests/test_makefile.py;
* ``pip install`` (the second block): it would change the environment under test;
* ``llamafactory-cli train``: LlamaFactory's trainer is not a dependency of ours;
* the cluster commands (``--executor ray``, ``--ray-address``): they name a Ray cluster
  and its shared folders (``/shared/...``); the same commands run on a local Ray
  instance and on a two-node cluster in ``tests/core/test_ray_executor.py``.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from demo_builder import demo_builder
from readme_model import ReadmeModel
from server_data import SPIDER, missing

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = SPIDER.parent
BIN = Path(sys.executable).parent
BLOCK = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
SKIPPED_BLOCKS = {0: "make targets (see the module doc)", 1: "pip install (see the module doc)"}
SKIPPED_COMMANDS = ("llamafactory-cli train",)
CLUSTER_FLAGS = ("--executor ray", "--ray-address")  # commands for a real cluster
SMALL = 20  # items kept of each benchmark file (Spider dev's first 20 hold hard ones)


def blocks() -> list[tuple[int, str, str]]:
    text = (REPO / "README.md").read_text()
    return [(i, lang, body) for i, (lang, body) in enumerate(BLOCK.findall(text))]


def commands(body: str) -> list[str]:
    """The block's commands: continuation lines joined, comment-only lines dropped."""
    out, current = [], ""
    for line in body.splitlines():
        current += line.rstrip("\\").rstrip() + " " if line.rstrip().endswith("\\") else line
        if line.rstrip().endswith("\\"):
            continue
        if current.strip() and not current.strip().startswith("#"):
            out.append(current.strip())
        current = ""
    return out


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --------------------------------------------------------------------------- the workspace


def _small_json(src: Path, dst: Path) -> list:
    data = json.loads(src.read_text())[:SMALL]
    dst.write_text(json.dumps(data))
    return data


def _small_lines(src: Path, dst: Path) -> None:
    dst.write_text("".join(src.read_text().splitlines(True)[:SMALL]))


def _benchmarks(root: Path) -> None:
    """Small copies of the benchmarks the README names; databases linked."""
    root.mkdir(parents=True)
    for name in os.listdir(BENCHMARKS):
        if name not in ("spider", "spider_dk", "bird_minidev", "bird_dev"):
            (root / name).symlink_to(BENCHMARKS / name)
    spider = root / "spider"
    spider.mkdir()
    for name in ("database", "tables.json"):
        (spider / name).symlink_to(SPIDER / name)
    _small_json(SPIDER / "dev.json", spider / "dev.json")
    _small_lines(SPIDER / "dev_gold.sql", spider / "dev_gold.sql")
    _small_lines(SPIDER / "train_gold.sql", spider / "train_gold.sql")
    dk = root / "spider_dk"
    dk.mkdir()
    for name in ("database", "tables.json"):
        (dk / name).symlink_to(BENCHMARKS / "spider_dk" / name)
    _small_json(BENCHMARKS / "spider_dk" / "Spider-DK.json", dk / "Spider-DK.json")
    for bird, files in (("bird_minidev", ("mini_dev_sqlite.json", "mini_dev_sqlite_gold.sql")),
                        ("bird_dev", ("dev.json", "dev_gold.sql"))):  # fmt: skip
        (root / bird).mkdir()
        (root / bird / "dev_tables.json").symlink_to(BENCHMARKS / bird / "dev_tables.json")
        for name in files:
            if name.endswith(".json"):
                _small_json(BENCHMARKS / bird / name, root / bird / name)
            else:
                _small_lines(BENCHMARKS / bird / name, root / bird / name)


def _workspace(root: Path) -> dict[str, str]:
    """Build the reader's folder; returns the gold the fake model answers with."""
    examples = root / "examples"
    shutil.copytree(REPO / "examples", examples)
    demo_builder().build_all(examples / "demo_dbs")
    (root / "src").symlink_to(REPO / "src")  # examples/methods.toml reads ../src/...
    (root / "dbs").symlink_to(examples / "demo_dbs")
    spider = root / "spider"
    (spider / "database").mkdir(parents=True)
    for db in ("concert_singer", "pet_1", "world_1"):
        (spider / "database" / db).symlink_to(SPIDER / "database" / db)
    (spider / "tables.json").symlink_to(SPIDER / "tables.json")
    (root / "path" / "to").mkdir(parents=True)
    (root / "path" / "to" / "concert_singer.sqlite").symlink_to(
        SPIDER / "database" / "concert_singer" / "concert_singer.sqlite"
    )
    _small_lines(SPIDER / "dev_gold.sql", root / "dev_gold.sql")
    gold_sql = [line.split("\t")[0] for line in (root / "dev_gold.sql").read_text().splitlines()]
    (root / "pred.sql").write_text("\n".join(gold_sql) + "\n")
    (root / "pred.json").write_text(json.dumps({"0": "SELECT 1\t----- bird -----\tformula_1"}))
    pairs = [{"db_id": "bookshop", "question": "How many books are there?",
              "SQL": "SELECT count(*) FROM books"},
             {"db_id": "bookshop", "question": "What is the average price of the books?",
              "SQL": "SELECT avg(price) FROM books"},
             {"db_id": "clinic", "question": "How many doctors are there?",
              "SQL": "SELECT count(*) FROM doctors"}]  # fmt: skip
    (root / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    chat = {"db_id": "bookshop", "messages": [
        {"role": "user", "content": "How many books are there?"},
        {"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {
            "name": "db_query", "arguments": json.dumps({"query": "SELECT count(*) FROM books"})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "[[60]]"},
        {"role": "user", "content": "and only the ones in English?"},
        {"role": "assistant", "tool_calls": [{"id": "c2", "type": "function", "function": {
            "name": "db_query", "arguments": json.dumps(
                {"query": "SELECT count(*) FROM books WHERE language = 'English'"})}}]},
        {"role": "tool", "tool_call_id": "c2", "content": "[[41]]"}]}  # fmt: skip
    (root / "chats.jsonl").write_text(json.dumps(chat) + "\n")
    (root / "queries.sql").write_text(
        "SELECT title, price FROM books ORDER BY price DESC LIMIT 3;\n"
        "SELECT o.status, count(*) FROM orders AS o JOIN order_items AS i "
        "ON o.order_id = i.order_id JOIN books AS b ON b.book_id = i.book_id GROUP BY o.status;\n"
    )
    _benchmarks(root / "benchmarks")
    (root / "spider_dk").symlink_to(
        root / "benchmarks" / "spider_dk"
    )  # `search ... spider_dk/database`
    gold = {p["question"]: p["SQL"] for p in pairs}
    for path in (REPO / "src/sqlfoundry/methods/demo/questions.jsonl",):
        for line in path.read_text().splitlines():
            item = json.loads(line)
            gold[item["question"]] = item.get("SQL") or item.get("query")
    for item in json.loads((root / "benchmarks/spider/dev.json").read_text()):
        gold[item["question"]] = item["query"]
    for item in json.loads((root / "benchmarks/spider_dk/Spider-DK.json").read_text()):
        gold[item["question"]] = item["query"]
    return gold


# --------------------------------------------------------------------------- running


class Reader:
    """Runs blocks in the workspace, as a reader would paste them."""

    def __init__(self, root: Path, fake_url: str) -> None:
        self.root = root
        self.fake_url = fake_url
        self.gateway_port = _free_port()
        self.env = {
            **os.environ,
            "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(root / "home"),
            "XDG_CACHE_HOME": str(root / "xdg"),
            "SQLFOUNDRY_CACHE_DIR": str(root / "cache"),
            "OPENAI_API_KEY": "sk-fake",
            "OPENAI_BASE_URL": fake_url,
            "MY_KEY": "my-key",
            "SQLFOUNDRY_GATEWAY_KEYS": "my-key",
            "COLUMNS": "160",
        }
        for name in ("SQLFOUNDRY_BENCH_ROOT", "SQLFOUNDRY_DB_ROOT", "SQLFOUNDRY_LLM_MODEL"):
            self.env.pop(name, None)

    def swap(self, text: str) -> str:
        text = re.sub(r"http://127\.0\.0\.1:800[0-2]/v1", self.fake_url, text)
        text = text.replace("/data/benchmarks", str(self.root / "benchmarks"))
        return re.sub(r"--port 8000\b", f"--port {self.gateway_port}", text)

    def bash(self, command: str, timeout: float = 600) -> None:
        if command.startswith(SKIPPED_COMMANDS) or any(f in command for f in CLUSTER_FLAGS):
            return
        if command.startswith("export "):
            name, _, value = command[len("export ") :].split("#")[0].strip().partition("=")
            self.env[name] = self.swap(value)
            return
        done = subprocess.run(["bash", "-c", self.swap(command)], cwd=self.root, env=self.env,
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip
        assert done.returncode == 0, f"{command}\n--- stderr:\n{done.stderr[-3000:]}"

    def python(self, code: str, timeout: float = 600) -> str:
        # The SDK example talks to the gateway the serve block started on :8000.
        code = code.replace("127.0.0.1:8000", f"127.0.0.1:{self.gateway_port}")
        done = subprocess.run([sys.executable, "-c", self.swap(code)], cwd=self.root,
                              env=self.env, capture_output=True, text=True, timeout=timeout)  # fmt: skip
        assert done.returncode == 0, f"{code[:200]}\n--- stderr:\n{done.stderr[-3000:]}"
        return done.stdout

    def serve(self, command: str, then=None) -> None:
        """Start a server command, wait for /health, run ``then``, stop it."""
        port = self.gateway_port
        command = shlex.join(shlex.split(self.swap(command), comments=True))
        if "--port" not in command:
            command += f" --port {port}"  # the flag wins over a config's port
        proc = subprocess.Popen(["bash", "-c", command], cwd=self.root, env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)  # fmt: skip
        try:
            deadline, status = time.monotonic() + 300, None
            while time.monotonic() < deadline and proc.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                        status = json.loads(r.read())["status"]
                    if status != "starting":
                        break
                except OSError:
                    pass
                time.sleep(0.2)
            assert proc.poll() is None, f"{command}\n{proc.stderr.read()[-2000:]}"
            assert status == "ok", f"{command}: /health says {status}"
            if then is not None:
                then()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)  # bash and the server it started
            proc.wait(timeout=30)


# Where the README's configuration blocks go: the file its commands read.
CONFIG_FILES = {
    ("toml", "[synth]"): "synth.toml",
    ("toml", 'exec_process = ["din"'): "methods.toml",
    ("json", '{\n  "llm"'): "squrve_startup_config.json",
    ("toml", 'exec_process = ["complex_actor"]'): "squrve_mapped.toml",
    ("toml", "[services.din]"): "gateway_methods.toml",
    ("toml", "[llm]"): "llm.toml",
    ("toml", "[executor]"): "executor.toml",
}


def _config_file(lang: str, body: str) -> str | None:
    return next((name for (kind, head), name in CONFIG_FILES.items()
                 if kind == lang and body.startswith(head)), None)  # fmt: skip


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory):
    if not (SPIDER / "database").is_dir():
        missing(f"the Spider benchmark is not at {SPIDER}")
    sys.path.insert(0, str(Path(__file__).parent / "llm"))
    from fake_openai import FakeOpenAI

    root = tmp_path_factory.mktemp("reader")
    gold = _workspace(root)
    models = ("Qwen2.5-Coder-7B-Instruct", "qwen2.5-coder", "qwen2.5-coder-7b-instruct",
              "my-model", "sqlo1", "qwen", "qwen-plus", "t5-3b-spider", "fake-model", "fake-embed")  # fmt: skip
    fake = FakeOpenAI(models=models).start()
    fake.handler = ReadmeModel(gold)
    reading = Reader(root, fake.base_url)
    for _, lang, body in blocks():
        name = _config_file(lang, body)
        if name:
            (root / name).write_text(reading.swap(body))
    for config in (root / "examples").glob("*.toml"):  # their upstream is the fake too
        config.write_text(reading.swap(config.read_text()))
    gateway = root / "gateway_methods.toml"
    gateway.write_text('[gateway]\ndb_root = "examples/demo_dbs"\n\n' + gateway.read_text())
    yield reading
    fake.stop()


def test_every_code_block_is_run_or_read(reader: Reader):
    """Each block is a config some command reads, code run below, or in the skip list."""
    for i, lang, body in blocks():
        if i in SKIPPED_BLOCKS or lang in ("", "text") or _config_file(lang, body):
            continue
        assert lang in ("bash", "python"), f"block {i} ({lang}) is neither run nor read"


def _sections() -> list[tuple[int, str, str]]:
    return [b for b in blocks() if b[1] in ("bash", "python") and b[0] not in SKIPPED_BLOCKS]


@pytest.mark.parametrize("index, lang, body", _sections(), ids=lambda v: str(v)[:40].split("\n")[0])
def test_block_runs_as_written(reader: Reader, index: int, lang: str, body: str):
    if lang == "python":
        if "from openai import OpenAI" in body:
            return  # run against the running gateway, in the gateway block below
        reader.python(body)
        return
    lines = commands(body)
    if any(line.startswith("sqlfoundry serve") for line in lines):
        sdk = next(b for _, kind, b in blocks() if kind == "python" and "from openai import" in b)
        for line in lines:
            if "gateway_local.toml" in line:
                reader.serve(line, then=lambda: _ask_the_demo_gateway(reader, sdk))
            else:
                reader.serve(line)
        return
    for line in lines:
        reader.bash(line)


def _ask_the_demo_gateway(reader: Reader, sdk: str) -> None:
    shown = reader.python(sdk)
    assert "GROUP BY" in shown.upper() and "genre" in shown, shown
    # The answer is right: its result equals the intended query's.
    import sqlite3

    sql = next(line for line in shown.splitlines() if line.upper().startswith("SELECT"))
    db = sqlite3.connect(reader.root / "examples/demo_dbs/bookshop/bookshop.sqlite")
    want = sorted(db.execute("SELECT genre, count(*) FROM books GROUP BY genre").fetchall())
    assert sorted(db.execute(sql).fetchall()) == want


def test_the_config_blocks_are_read_by_their_commands(reader: Reader):
    reader.bash("export SQLFOUNDRY_BENCH_ROOT=/data/benchmarks")  # as the Methods section says
    reader.bash("sqlfoundry llm-check --config llm.toml --prompt 'Say hi'")
    reader.bash("sqlfoundry run squrve_mapped.toml --out runs/squrve-mapped")
    reader.bash("sqlfoundry run methods.toml --out runs/methods-readme")
    reader.serve("sqlfoundry serve --config gateway_methods.toml")
    # The cluster's [executor] section: read and checked as a run reads it (no cluster here).
    shown = reader.python("from sqlfoundry.core.config import read_config\n"
                          "from sqlfoundry.core.executors import ExecutorSettings\n"
                          "print(ExecutorSettings.from_sources(read_config('executor.toml')"
                          "['executor'], {}))")  # fmt: skip
    assert "ray" in shown and "auto" in shown, shown
