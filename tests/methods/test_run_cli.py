"""``sqlfoundry run``: the demo, a TOML config against the fake endpoint, mistakes in one line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sqlfoundry.cli.main import app

runner = CliRunner()


def test_the_demo_runs_the_offline_method_and_the_vote_on_the_demo_databases(demo_root, tmp_path):
    result = runner.invoke(
        app, ["run", "--db-root", str(demo_root), "--out", str(tmp_path / "demo")]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "demo" / "report.json").read_text())
    assert list(report["tasks"]) == ["retrieval", "exec_vote"]
    assert report["tasks"]["retrieval"]["count"] == 24
    assert report["tasks"]["retrieval"]["oracle"]["candidates_per_item"] == 5
    assert 0.0 < report["tasks"]["exec_vote"]["ex"] <= 1.0
    assert "retrieval" in result.output and "exec_vote" in result.output
    assert (tmp_path / "demo" / "report.html").is_file()


def test_the_demo_without_its_databases_says_how_to_build_them(tmp_path):
    result = runner.invoke(app, ["run", "--db-root", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "the demo databases are not under" in result.output and "make demo" in result.output


def test_a_toml_config_with_llm_flags(questions_file, demo_root, fake_llm, tmp_path):
    gold = questions_file(("demo-1", "demo-16"))
    config = tmp_path / "run.toml"
    config.write_text(
        'exec_process = ["zero", ["din", "vote_demo", "~p"]]\n\n'
        f'[dataset]\ngold = "{gold.name}"\ndb_root = "{demo_root}"\n\n'
        "[llm]\nmax_retries = 0\n\n"
        '[[tasks]]\nid = "zero"\ntype = "generate"\nmethod = "zero_shot"\neval = ["ex", "em"]\n\n'
        '[[tasks]]\nid = "din"\ntype = "generate"\nmethod = "din_sql"\n\n'
        '[[tasks]]\nid = "vote_demo"\ntype = "generate"\nmethod = "self_consistency"\nn = 3\n'
    )
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "out"),
                                 "--llm-base-url", fake_llm.base_url, "--llm-model", "fake-model",
                                 "--cache-dir", str(tmp_path / "cache")])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {k: v["ex"] for k, v in report["tasks"].items()} == {
        "zero": 1.0,
        "din": 1.0,
        "vote_demo": 1.0,
    }
    assert "em" not in report["tasks"]["zero"]  # a question file has no tables.json


def test_a_config_mistake_is_one_line_and_exit_code_2(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        '[dataset]\nsource = "spider:dev"\n\n[[tasks]]\nid = "x"\ntype = "generate"\n'
    )
    result = runner.invoke(app, ["run", str(config)])
    assert result.exit_code == 2
    assert result.output.startswith("error: ")
    assert (
        f"{config}: invalid run config: tasks.0: Value error, a generate task needs a method"
        in " ".join(result.output.split())
    )


def test_a_relative_gold_path_is_read_from_the_config_folder(questions_file, demo_root, tmp_path):
    gold = questions_file(("demo-1",))
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "run.toml").write_text(
        f'[dataset]\ngold = "../{gold.name}"\ndb_root = "{demo_root}"\n\n'
        '[[tasks]]\nid = "g"\ntype = "generate"\nmethod = "retrieval"\nnum_per_db = 40\n'
    )
    result = runner.invoke(app, ["run", str(folder / "run.toml"), "--out", str(tmp_path / "out"),
                                 "--limit", "1"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert Path(tmp_path / "out" / "tasks" / "g" / "pred.sql").read_text().count("\n") == 1


def test_the_example_config_runs_against_an_endpoint(demo_root, fake_llm, responder, tmp_path):
    example = Path(__file__).resolve().parents[2] / "examples" / "methods.toml"
    result = runner.invoke(app, ["run", str(example), "--db-root", str(demo_root), "--limit", "3",
                                 "--out", str(tmp_path / "out"), "--llm-base-url", fake_llm.base_url,
                                 "--llm-model", "fake-model", "--cache-dir", str(tmp_path / "cache")])  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert list(report["tasks"]) == ["offline", "zero", "din", "pipeline"]
    assert report["tasks"]["pipeline"]["stages"] == ["lexical_linker", "tree", "exec_vote_selector"]
    assert all(t["count"] == 3 for t in report["tasks"].values())
    assert report["tasks"]["zero"]["ex"] == 1.0 and report["tasks"]["din"]["ex"] == 1.0


def test_a_yaml_config(questions_file, demo_root, tmp_path):
    gold = questions_file(("demo-1", "demo-2"))
    config = tmp_path / "run.yaml"
    config.write_text(
        f"dataset:\n  gold: {gold}\n  db_root: {demo_root}\n"
        "tasks:\n  - id: offline\n    type: generate\n    method: retrieval\n    num_per_db: 40\n"
        "    candidates: 2\n"
        "  - id: first\n    type: select\n    method: first_valid\n    from: offline\n"
        "exec_process:\n  type: sequence\n  tasks: [offline, first]\n"
    )
    result = runner.invoke(app, ["run", str(config), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["tasks"]["first"]["stages"] == ["first_valid_selector"]
