"""The tree search against a scripted model on the fake endpoint and a real SQLite database.

The numbers in these tests are worked out by hand from the formulas in
``sqlfoundry/methods/search/rewards.py`` (alpha 0.4, scale 100, uct_c 1, Q = max):
a step with log probability lp is worth 0.4 * (1 + lp / 100), and the last one
also 0.6 * (1 + lp(query) / 100), lp(query) being the path's sum in chat mode.
"""

from __future__ import annotations

import math

import pytest
from fake_openai import error_reply
from search_testing import GROWING, ScriptedModel, answer, run_operator, run_search

from sqlfoundry.core.errors import LLMEndpointError
from sqlfoundry.core.sample import Sample

CHAT = "/v1/chat/completions"


def q(text: str = "How many singers are there?", **fields) -> Sample:
    return Sample(id=fields.pop("id", "q1"), db_id=fields.pop("db_id", "singers"), question=text,
                  **fields)  # fmt: skip


def test_the_tree_grows_and_follows_the_formulas(fake, root):
    model = ScriptedModel(GROWING)
    fake.handler = model.handler
    search = run_search(fake.base_url, root, "How many singers?", samples=2, iterations=4)
    # 1: expand the root; children "SELECT count(*)" (lp -0.2, prior 0.3992) and "SELECT name"
    #    (lp -1.0, prior 0.396); roll out the first along its completion: return 0.697.
    # 2: root N=1, ln 1 = 0: Q decides, 0.697 > 0.396: expand "SELECT count(*)"; roll out
    #    "FROM singer" + "WHERE age > 30": (0.3992 + 0.3992 + 0.3952 + 0.5904) / 3 = 0.594667.
    # 3: root N=2: 0.697 + sqrt(ln 2 / 2) = 1.2857 > 0.396 + sqrt(ln 2) = 1.2286: down again,
    #    expand "... FROM singer": the model says the query is whole: a terminal child,
    #    lps -0.2, -0.2, 0: (0.3992 + 0.3992 + 0.4 + 0.6 * 0.996) / 3 = 0.598667.
    # 4: root N=3: 0.697 + sqrt(ln 3 / 3) = 1.3021 < 0.396 + sqrt(ln 3) = 1.4441: "SELECT name",
    #    whose completion "FROM singer" ends the query: (0.396 + 0.3992 + 0.5928) / 2 = 0.694.
    assert model.asked == ["", "SELECT count(*)", "SELECT count(*) FROM singer", "SELECT name"]
    left, right = search.root.children
    assert (left.action, left.visits, right.action, right.visits) == (
        "SELECT count(*)",
        3,
        "SELECT name",
        1,
    )
    assert left.returns == pytest.approx([0.697, 0.594667, 0.598667], abs=1e-6)
    assert right.returns == pytest.approx([0.694])
    assert search.root.visits == 4
    (grandchild,) = left.children
    assert grandchild.prefix == "SELECT count(*) FROM singer" and not grandchild.terminal
    (end,) = grandchild.children
    assert end.terminal and end.prefix == "SELECT count(*) FROM singer"
    result = search.final
    assert result.tree == {"nodes": 6, "expanded": 4, "depth": 3, "iterations": 4, "root_visits": 4}
    assert [(c["sql"], c["reward"], c["visits"]) for c in result.candidates] == [
        ("SELECT count(*) FROM singer", pytest.approx(0.697), 2),
        ("SELECT name FROM singer", pytest.approx(0.694), 1),
        ("SELECT count(*) FROM singer WHERE age > 30", pytest.approx(0.594667, abs=1e-6), 1),
    ]
    assert result.sql == "SELECT count(*) FROM singer" and result.chosen_by == "reward"
    assert result.samples == {"drawn": 8, "unusable": {}}
    assert result.usage["calls"] == 4 and result.full_logprob == "path"
    # UCT as the test worked it out
    assert 0.697 + math.sqrt(math.log(3) / 3) < 0.396 + math.sqrt(math.log(3))


def test_identical_segments_are_merged_and_children_pruned(fake, root):
    model = ScriptedModel({"": [
        answer("SELECT name FROM singer", -0.3, -0.3, -0.1, -0.1),
        answer("SELECT name FROM singer WHERE age > 40", -0.1, -0.1, -0.1, -0.1, -1, -1, -1, -1),
        answer("SELECT age FROM singer", -2, -2, -0.1, -0.1),
        answer("SELECT country FROM singer", -3, -3, -0.1, -0.1),
    ]})  # fmt: skip
    fake.handler = model.handler
    search = run_search(fake.base_url, root, "Names?", samples=4, children=2, iterations=1)
    kept = [(c.action, c.count, c.logprob) for c in search.root.children]
    # "SELECT name" came twice: one child, its best log probability; "SELECT country" pruned.
    assert kept == [("SELECT name", 2, pytest.approx(-0.2)), ("SELECT age", 1, pytest.approx(-4.0))]
    assert len(search.root.children[0].draws) == 2 and search.final.tree["nodes"] == 3


FAILING = {
    "": [answer("SELECT nme FROM singer", -0.1, -0.1, -0.1, -0.1),
         answer("SELECT name FROM singer", -0.5, -0.5, -0.1, -0.1)],
    "SELECT nme": [answer("SELECT nme FROM singer", -0.01, -0.01, -0.01, -0.01)],
    "SELECT name": [answer("SELECT name FROM singer", -0.01, -0.01, -0.01, -0.01)],
}  # fmt: skip


@pytest.mark.parametrize(
    "penalty, reward, chosen",
    [(1.0, 0.698 - 1.0, "SELECT name FROM singer"), (0.0, 0.6989, "SELECT nme FROM singer")],
)
def test_a_failing_query_is_penalised(fake, root, penalty, reward, chosen):
    fake.handler = ScriptedModel(FAILING).handler
    (out,) = run_operator(
        fake.base_url, root, [q()], samples=2, iterations=2, error_penalty=penalty
    )
    # "SELECT nme" has the better prior (0.3992 against 0.396) and is tried first; its query
    # fails (no column nme): lps -0.2, -0.2: (0.3992 + 0.3992 + 0.6 * 0.996) / 2 - penalty.
    # Penalised, it falls below the other child's prior, which the second iteration tries.
    # Unpenalised, the second iteration goes down the failing query again: under it, "FROM
    # singer" (lp -0.02) ends it: (0.3992 + 0.39992 + 0.6 * 0.9978) / 2 = 0.6989, the best.
    candidates = {c["sql"]: c for c in out.meta["mcts"]["candidates"]}
    failed = candidates["SELECT nme FROM singer"]
    assert failed["status"] == "error" and "nme" in failed["error"]
    assert failed["reward"] == pytest.approx(reward)
    assert out.pred_sql == chosen


def test_an_empty_result_is_penalised(fake, root):
    fake.handler = ScriptedModel({
        "": [answer("SELECT country FROM singer WHERE age > 99", *[-0.1] * 8),
             answer("SELECT name FROM singer", -1, -1, -0.1, -0.1)],
        "SELECT name": [answer("SELECT name FROM singer", -0.01, -0.01, -0.1, -0.1)],
    }).handler  # fmt: skip
    (out,) = run_operator(fake.base_url, root, [q()], samples=2, iterations=2)
    rewards = {c["sql"]: (c["reward"], c["rows"]) for c in out.meta["mcts"]["candidates"]}
    # lps -0.2, -0.2, -0.4 (path -0.8): (0.3992 + 0.3992 + 0.4 * 0.996 + 0.6 * 0.992) / 3 - 0.5
    assert rewards["SELECT country FROM singer WHERE age > 99"] == (
        pytest.approx(0.597333 - 0.5, abs=1e-6),
        0,
    )
    assert out.pred_sql == "SELECT name FROM singer"


CONSISTENT = {"": [
    answer("SELECT count(*) FROM singer", -1, -1, -1, -1),
    answer("SELECT count(name) FROM singer", -1, -1, -1, -1),
    answer("SELECT max(age) FROM singer", -1, -1, -1, -1),
    answer("SELECT count(singer_id) FROM singer", -1, -1, -1, -1),
]}  # fmt: skip


def test_the_consistency_reward_is_the_share_of_the_querys_result_group(fake, root):
    model = ScriptedModel(CONSISTENT, logprobs=False)  # this reward needs no log probabilities
    fake.handler = model.handler
    search = run_search(fake.base_url, root, "How many?", reward="consistency", samples=4,
                        children=4, iterations=1)  # fmt: skip
    assert "logprobs" not in fake.requests[-1].body
    # priors: each action was chosen by 1 of the 4 samples; the first is rolled out
    assert [c.prior for c in search.root.children] == [0.25] * 4
    # three of the four completions count 3 singers: the share is 0.75
    assert search.final.candidates[0]["sql"] == "SELECT count(*) FROM singer"
    assert search.final.candidates[0]["reward"] == 0.75


def test_more_consistency_samples_are_drawn_once_when_asked(fake, root):
    script = {**CONSISTENT,
              "SELECT count(*)": [answer("SELECT count(*) FROM singer", -1, -1, -1, -1)]}  # fmt: skip
    fake.handler = ScriptedModel(script, logprobs=False).handler
    search = run_search(fake.base_url, root, "How many?", reward="consistency", samples=4,
                        children=4, iterations=2, consistency_samples=6)  # fmt: skip
    # Each node rewarded once draws the 2 completions its expansion lacks: at the root the
    # script's first two (both count 3), so 5 of 6 are in the group of 3; under
    # "SELECT count(*)" all 6 agree. A node's pool is drawn once.
    assert [r.body["n"] for r in fake.requests if r.path == CHAT] == [4, 2, 4, 2]
    assert search.root.children[0].returns == pytest.approx([5 / 6, 1.0])


def test_the_mixed_reward(fake, root):
    fake.handler = ScriptedModel(CONSISTENT).handler
    search = run_search(fake.base_url, root, "How many?", reward="mixed", samples=4, children=4,
                        iterations=1, mix=0.5)  # fmt: skip
    # self-reward: lps -2, -2 (path sum -4): (0.4 * 0.98 + 0.4 * 0.98 + 0.6 * 0.96) / 2 = 0.68
    assert search.final.candidates[0]["reward"] == pytest.approx(0.5 * 0.68 + 0.5 * 0.75)


def test_the_vote_follows_execution_results():
    from sqlfoundry.methods.search import MCTSParams
    from sqlfoundry.methods.search.mcts import Candidate, Outcome, Search

    three, fifty_two = (
        Outcome("ok", False, frozenset({(3,)})),
        Outcome("ok", False, frozenset({(52,)})),
    )
    failed = Outcome("error", True, None, "no such column")
    search = Search(MCTSParams(choose="vote"), None, None, "", seed=0, key="q")
    for order, (sql, outcome, visits, reward) in enumerate([
        ("SELECT max(age) FROM singer", fifty_two, 1, 0.9),
        ("SELECT count(*) FROM singer", three, 1, 0.5),
        ("SELECT count(name) FROM singer", three, 2, 0.4),
        ("SELECT nme FROM singer", failed, 5, 0.2),
    ]):  # fmt: skip
        search.candidates[sql] = Candidate(sql, order, outcome, visits, [reward])
    chosen, how = search.choose()
    # max(age) has the best reward; the count queries agree on one result with 3 visits
    # (the failing query's 5 do not vote); the group's best reward answers
    assert (how, chosen.sql) == ("vote", "SELECT count(*) FROM singer")
    search.p = search.p.model_copy(update={"choose": "reward"})
    assert search.choose() == (search.candidates["SELECT max(age) FROM singer"], "reward")


def test_a_seed_reproduces_the_search(fake, root):
    columns = ("name", "age", "country", "singer_id")
    script = {"": [answer(f"SELECT {c} FROM singer", -0.1 * (i + 1), -0.1, -0.1, -0.1)
                   for i, c in enumerate(columns)]}  # fmt: skip
    script.update({f"SELECT {c}": [answer(f"SELECT {c} FROM singer", -0.1, -0.1, -0.1, -0.1)]
                   for c in columns})  # fmt: skip

    def once(seed: int):
        fake.reset()
        fake.handler = ScriptedModel(script, shuffle=True).handler  # samples drawn by the seed
        (out,) = run_operator(fake.base_url, root, [q()], seed=seed, samples=2, iterations=3)
        seeds = [r.body["seed"] for r in fake.requests if r.path == CHAT]
        return out.pred_sql, out.meta["mcts"]["candidates"], seeds

    first, again, other = once(7), once(7), once(8)
    assert first == again
    assert first[2] != other[2] and first[1] != other[1]


def test_the_gold_is_never_read(fake, root):
    fake.handler = ScriptedModel(GROWING).handler

    def once(gold: str):
        fake.reset()
        fake.handler = ScriptedModel(GROWING).handler
        (out,) = run_operator(fake.base_url, root, [q(sql=gold)], samples=2, iterations=4)
        bodies = [r.body for r in fake.requests if r.path == CHAT]
        return out, bodies

    right, right_bodies = once("SELECT count(*) FROM singer")
    wrong, wrong_bodies = once("SELECT name FROM concert WHERE year = 1999")
    assert right_bodies == wrong_bodies
    assert not any("1999" in str(body) for body in wrong_bodies)
    assert (right.pred_sql, right.candidates) == (wrong.pred_sql, wrong.candidates)
    assert right.meta["mcts"] == wrong.meta["mcts"]


def test_no_logprobs_stops_the_run_with_a_clear_error(fake, root):
    fake.handler = ScriptedModel(GROWING, logprobs=False).handler
    with pytest.raises(LLMEndpointError, match="no log probabilities") as caught:
        run_operator(fake.base_url, root, [q()], samples=2)
    assert "--reward consistency" in caught.value.hint
    # the consistency reward asks for none and works on the same endpoint
    (out,) = run_operator(fake.base_url, root, [q()], samples=2, reward="consistency")
    assert out.pred_sql


def test_base_models_through_completions_with_echo_scoring(fake, root):
    continuation = {
        "": [answer("SELECT count(*) FROM singer", -0.1, -0.1, -0.2, -0.2)],
    }
    model = ScriptedModel(
        continuation, scores={"SELECT count(*) FROM singer": [-1.0, -1.0, -1.0, -1.0]}
    )
    fake.handler = model.handler
    search = run_search(fake.base_url, root, "How many?", api="completions", samples=1,
                        iterations=1)  # fmt: skip
    echo = [r.body for r in fake.requests if r.path == "/v1/completions" and r.body.get("echo")]
    assert len(echo) == 1 and echo[0]["prompt"].endswith(
        "The incomplete SQL query:\nSELECT count(*) FROM singer"
    )
    first = [r.body for r in fake.requests if r.path == "/v1/completions"][0]
    assert first["prompt"].endswith("The incomplete SQL query:\n") and first["logprobs"] == 0
    # lps -0.2, -0.4; the whole query scored -4.0 by echo, not the path's -0.6
    r2 = 0.4 * (1 - 0.004) + 0.6 * (1 - 0.04)
    assert search.final.candidates[0]["reward"] == pytest.approx((0.3992 + r2) / 2)
    assert search.final.full_logprob == "echo"


def test_an_endpoint_refusing_echo_falls_back_to_the_path_sum(fake, root):
    model = ScriptedModel({"": [answer("SELECT count(*) FROM singer", -0.1, -0.1, -0.2, -0.2)]})

    def handler(request):
        if request.path == "/v1/completions" and request.body.get("echo"):
            return error_reply(400, "echo is not supported with logprobs")
        return model.handler(request)

    fake.handler = handler
    search = run_search(
        fake.base_url, root, "How many?", api="completions", samples=1, iterations=1
    )
    assert search.final.full_logprob == "path"
    assert search.final.candidates[0]["reward"] == pytest.approx(0.697)


def test_no_usable_completion_leaves_no_prediction_and_says_why(fake, root):
    fake.handler = ScriptedModel({"": [answer("I do not know.", -1, -1, -1, -1)]}).handler
    (out,) = run_operator(fake.base_url, root, [q()], samples=3)
    assert out.pred_sql is None and out.candidates == []
    assert out.meta["errors"][0]["message"] == "no usable query in 3 completions"
    assert out.meta["mcts"]["samples"]["unusable"] == {"no SQL in the answer": 3}


def test_one_questions_failure_does_not_stop_the_others(fake, root):
    model = ScriptedModel(GROWING)

    def handler(request):
        if request.path == CHAT and "broken" in request.body["messages"][-1]["content"]:
            return error_reply(500, "the GPU fell over")
        return model.handler(request)

    fake.handler = handler
    samples = [q("broken question", id="a"), q(id="b"), q(id="c", db_id="nowhere")]
    bad, good, unknown = run_operator(fake.base_url, root, samples, samples=2, iterations=2)
    assert [s.id for s in (bad, good, unknown)] == ["a", "b", "c"]
    assert bad.pred_sql is None and bad.meta["errors"][0]["kind"] == "llm"
    assert good.pred_sql == "SELECT count(*) FROM singer" and "errors" not in good.meta
    assert unknown.meta["errors"][0] == {"stage": "mcts_search", "kind": "input",
                                         "message": "unknown database 'nowhere'"}  # fmt: skip


def test_a_prepared_prompt_is_used_as_it_is(fake, root):
    from sqlfoundry.db.manager import DatabaseManager
    from sqlfoundry.synth.sft.prompt import SchemaPrompts

    prompt = SchemaPrompts(DatabaseManager(root=root), rows=1).prompt("singers", "Count them all")
    fake.handler = ScriptedModel(GROWING).handler
    (out,) = run_operator(fake.base_url, root, [Sample(id="p", db_id="singers", prompt=prompt)],
                          samples=2, iterations=1)  # fmt: skip
    first = next(r.body for r in fake.requests if r.path == CHAT)
    assert first["messages"] == [{"role": "user", "content": prompt}]
    assert out.pred_sql == "SELECT count(*) FROM singer"
    (broken,) = run_operator(fake.base_url, root, [Sample(id="x", db_id="singers", prompt="hi")])
    assert "not SQL-o1's schema-aware prompt" in broken.meta["errors"][0]["message"]
