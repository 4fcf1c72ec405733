"""The stages' own rules: answer readers, the vote, schema subsets, pool ranking, prompts."""

from __future__ import annotations

import pytest

from sqlfoundry.core.sample import Sample
from sqlfoundry.db.schema import Column, ForeignKey, Schema, Table
from sqlfoundry.llm.templates import load_template, template_names
from sqlfoundry.methods.calls import list_of, sql_of
from sqlfoundry.methods.compose import TreeOperator
from sqlfoundry.methods.generate.din_sql import read_classification
from sqlfoundry.methods.generate.mac_sql import sub_questions
from sqlfoundry.methods.generate.pool import PoolPair, PoolRanker, mask_question, skeleton_tokens
from sqlfoundry.methods.link.din_sql import links_list, read_links, split_items
from sqlfoundry.methods.schema_view import format_links, resolve, restrict
from sqlfoundry.methods.select.execution import CandidateRun
from sqlfoundry.methods.select.vote import vote
from sqlfoundry.methods.stage import StageError


def _schema() -> Schema:
    return Schema(db_id="library", tables=[
        Table(name="Author", columns=[Column(name="author_id"), Column(name="name"), Column(name="country")],
              primary_key=["author_id"]),
        Table(name="book", columns=[Column(name="book_id"), Column(name="title"), Column(name="author_id"),
                                    Column(name="price")],
              primary_key=["book_id"],
              foreign_keys=[ForeignKey(columns=["author_id"], ref_table="Author", ref_columns=["author_id"])]),
        Table(name="shelf", columns=[Column(name="shelf_id"), Column(name="room")]),
    ])  # fmt: skip


# ----------------------------------------------------------------- answer readers


@pytest.mark.parametrize(
    ("text", "sql"),
    [
        ("```sql\nSELECT 1;\n```", "SELECT 1"),
        ("Reasoning first.\nSQL: SELECT name FROM author\nWHERE country = 'Chile'\n\nDone.",
         "SELECT name FROM author\nWHERE country = 'Chile'"),
        ("<think>```sql\nSELECT 0\n```</think>\n```sql\nSELECT 2\n```", "SELECT 2"),
    ],
)  # fmt: skip
def test_sql_of_reads_fences_and_sql_labels(text, sql):
    assert sql_of(text) == sql


def test_sql_of_keeps_the_raw_answer_when_there_is_no_sql():
    with pytest.raises(StageError) as info:
        sql_of("I am not sure.")
    assert info.value.kind == "parse" and info.value.raw == "I am not sure."


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ('```python\n["Ana Ruiz", "2021"]\n```', ["Ana Ruiz", "2021"]),
        ("```python\n['Men\\'s', 'Berlin']\n```", ["Men's", "Berlin"]),
        ('Keywords are ["a", "b"] as asked.', ["a", "b"]),
    ],
)
def test_list_of_reads_json_and_python_lists(text, items):
    assert list_of(text) == items


def test_din_sql_links_split_joins_columns_tables_and_values():
    answer = "A: Let's think.\nSchema_links: [book.title,book.author_id = Author.author_id,author.country,'Chile, South',20,shelf.*,book.isbn]"
    items = links_list(answer)
    assert items == ["book.title", "book.author_id = Author.author_id", "author.country",
                     "'Chile, South'", "20", "shelf.*", "book.isbn"]  # fmt: skip
    links, unknown = read_links(_schema(), items)
    assert links == {
        "tables": ["book", "Author", "shelf"],
        "columns": ["book.title", "book.author_id", "Author.author_id", "Author.country"],
        "values": ["Chile, South", "20"],
        "joins": ["book.author_id = Author.author_id"],
    }
    assert unknown == ["book.isbn"]


def test_split_items_keeps_quoted_commas():
    assert split_items("[a.b, 'x, y', \"p,q\"]") == ["a.b", "'x, y'", '"p,q"']


@pytest.mark.parametrize(
    ("text", "label", "subs"),
    [
        ('needs tables = [a], and we need the answer to the questions = [""].\nLabel: "EASY"', "EASY", []),
        ('the answer to the questions = ["What is the average price?"].\nLabel: "NESTED"', "NESTED",
         ["What is the average price?"]),
        ("Label: non-nested", "NON-NESTED", []),
    ],
)  # fmt: skip
def test_din_sql_classification(text, label, subs):
    assert read_classification(text) == (label, subs)


def test_mac_sql_sub_questions():
    text = "Sub question 1: Which runners finished?\nSQL\n```sql\nSELECT 1\n```\nSub question 2: The oldest?\n"
    assert sub_questions(text) == ["Which runners finished?", "The oldest?"]


# ----------------------------------------------------------------- schema views


def test_restrict_keeps_listed_columns_plus_the_keys_that_join_kept_tables():
    subset = restrict(_schema(), {"book": ["title"], "author": ["name"]})
    assert [(t.name, [c.name for c in t.columns]) for t in subset.tables] == [
        ("Author", ["author_id", "name"]), ("book", ["book_id", "title", "author_id"])]  # fmt: skip
    assert subset.tables[1].foreign_keys[0].ref_table == "Author"
    assert [t.name for t in restrict(_schema(), {"shelf": []}).tables] == ["shelf"]


def test_resolve_spells_names_as_the_schema_does():
    assert resolve(_schema(), ["AUTHOR.Name", "`book`.`price`", "room", "title.x", "nowhere"]) == (
        ["Author", "book", "shelf"], ["Author.name", "book.price", "shelf.room"], ["title.x", "nowhere"])  # fmt: skip


def test_format_links_writes_din_sql_lists():
    links = {"tables": ["book", "shelf"], "columns": ["book.title"], "values": ["Chile", "20"]}
    assert format_links(links) == "[book.title, shelf.*, 'Chile', 20]"


# ----------------------------------------------------------------- the vote


def _run(index: int, rows, ms: float, ok: bool = True) -> CandidateRun:
    return CandidateRun(index, f"q{index}", ok, rows, ms, None if ok else "boom")


@pytest.mark.parametrize(
    ("runs", "winner"),
    [
        # The largest result group wins, its first member is chosen.
        ([_run(0, [(1,)], 5), _run(1, [(2,)], 1), _run(2, [(2,)], 9)], 1),
        # Row order and duplicates do not split a group.
        ([_run(0, [(1,), (2,)], 5), _run(1, [(2,), (1,), (1,)], 5), _run(2, [(3,)], 1)], 0),
        # Groups of the same size: the faster one.
        ([_run(0, [(1,)], 9.0), _run(1, [(2,)], 3.0)], 1),
        # Empty or all-NULL results compete only when nothing valid ran.
        ([_run(0, [], 1), _run(1, [], 1), _run(2, [(None,)], 1), _run(3, [(7,)], 5)], 3),
        ([_run(0, [], 2), _run(1, [(None,)], 1), _run(2, [], 3)], 0),
        # Failures never win.
        ([_run(0, [], 0, ok=False), _run(1, [(4,)], 8)], 1),
    ],
)  # fmt: skip
def test_exec_vote(runs, winner):
    assert vote(runs).index == winner


def test_exec_vote_without_any_run_chooses_nothing():
    assert vote([_run(0, [], 0, ok=False)]) is None


def test_exec_vote_ties_ask_the_timing_only_of_tied_groups():
    asked = []
    runs = [
        _run(0, [(1,)], 1),
        _run(1, [(2,)], 1),
        _run(2, [(2,)], 1),
        _run(3, [(1,)], 1),
        _run(4, [(5,)], 0),
    ]

    def timing(group):
        asked.append(group[0].index)
        return {0: 4.0, 1: 2.0}[group[0].index]

    assert vote(runs, timing).index == 1 and sorted(asked) == [0, 1]


# ----------------------------------------------------------------- few-shot ranking


def test_mask_question_hides_values_and_schema_words():
    masked = mask_question('How many books by "Ana Ruiz" cost more than 20?', {"books", "cost"})
    assert masked == "How many <mask> by <unk> <mask> more than <unk>?"


def test_the_pool_ranks_close_skeletons_first_then_by_question():
    pairs = [
        PoolPair("How many singers are there?", "SELECT count(*) FROM singer", "", "How many <mask> are there",
                 skeleton_tokens("SELECT count(*) FROM singer")),
        PoolPair("List the names of singers", "SELECT name FROM singer", "", "List the <mask> of <mask>",
                 skeleton_tokens("SELECT name FROM singer")),
    ]  # fmt: skip
    ranker = PoolRanker(pairs)
    assert ranker.rank("How many <mask> are there", None, 2)[0] is pairs[0]
    # A preliminary SQL with the second pair's skeleton puts it first.
    assert ranker.rank("How many <mask> are there", "SELECT title FROM book", 1)[0] is pairs[1]
    assert ranker.rank(
        "How many <mask>", None, 2, exclude_question="How many singers are there?"
    ) == [pairs[1]]


# ----------------------------------------------------------------- the tree's merge


def test_tree_merge_appends_sql_unites_links_sums_usage_and_keeps_errors():
    tree = TreeOperator(stages=["zero_shot_generator", "retrieval_sql_generator"])
    base = Sample(id="1", db_id="d", schema_links={"tables": ["a"], "columns": ["a.x"], "values": []},
                  meta={"usage": {"link": {"calls": 1, "seconds": 0.5}}})  # fmt: skip
    first = base.model_copy(deep=True)
    first.pred_sql = "SELECT 1"
    first.meta["usage"]["zero_shot_generator"] = {"calls": 1, "seconds": 0.25}
    second = base.model_copy(deep=True)
    second.pred_sql, second.candidates = "SELECT 2", ["SELECT 2", "SELECT 3"]
    second.schema_links = {"tables": ["a", "b"], "columns": ["b.y"], "values": ["v"]}
    second.meta["errors"] = [{"stage": "x", "kind": "parse", "message": "m"}]
    merged = tree.merge_record(base, [(tree.children[0], first), (tree.children[1], second)])
    assert merged.pred_sql == "SELECT 1"
    assert merged.candidates == ["SELECT 1", "SELECT 2", "SELECT 3"]
    assert merged.schema_links == {"tables": ["a", "b"], "columns": ["a.x", "b.y"], "values": ["v"]}
    every = {"calls": 1, "prompt_tokens": 0, "completion_tokens": 0, "cache_hits": 0}
    assert merged.meta["usage"] == {"link": {**every, "seconds": 0.5},
                                    "zero_shot_generator": {**every, "seconds": 0.25}}  # fmt: skip
    assert merged.meta["errors"] == [{"stage": "x", "kind": "parse", "message": "m"}]


# ----------------------------------------------------------------- prompts


@pytest.mark.parametrize("name", template_names())
def test_a_prompt_keeps_every_required_value_when_its_optional_ones_are_empty(name):
    template = load_template(name)
    text = template.render_text(**{v: f"<<{v}>>" for v in template.required})
    assert [v for v in template.required if f"<<{v}>>" not in text] == []


def test_exec_vote_can_break_ties_by_candidate_order():
    runs = [_run(0, [(1,)], 9.0), _run(1, [(2,)], 1.0)]
    assert vote(runs, lambda group: group[0].index).index == 0
