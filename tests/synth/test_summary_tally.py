"""The summary's tally: the figures of the records counted in one pass, and tallies of
consecutive stretches merged in order give the tally of the whole."""

from __future__ import annotations

import random

from sqlfoundry.core.sample import Sample
from sqlfoundry.synth.quality import text_figures, words_by_level
from sqlfoundry.synth.report import DistinctHashes, SummaryTally, spread_samples, tally_records

WORDS = "what are the names of singers whose age is above 30 how many concerts per stadium".split()
LEVELS = ["easy", "medium", "hard", "extra", None]


def _records(n: int) -> list[Sample]:
    rng = random.Random(3)
    out = []
    for i in range(n):
        words = rng.choices(WORDS, k=rng.randint(0, 12))
        question = " ".join(words).capitalize() + "?" if words else rng.choice(["", "?"])
        sql = rng.choice(["SELECT name FROM singer WHERE age > 30",
                          "SELECT count(*) FROM concert AS c JOIN stadium AS s ON c.sid = s.id",
                          "SELECT stadium_id, count(*) FROM concert GROUP BY stadium_id", "oops ("])  # fmt: skip
        level = rng.choice(LEVELS)
        meta = {"semantic": {"by": "sql_generator"}} if i == n - 3 else {}
        out.append(Sample(id=f"r{i}", db_id=f"db{rng.randint(0, 30)}", question=question or None,
                          sql=sql, hardness=level, component_difficulty=rng.choice(LEVELS),
                          meta=meta))  # fmt: skip
    return out


def test_the_tally_gives_the_figures_the_record_lists_give():
    records = _records(600)
    tally = tally_records(records)
    assert tally.text_figures() == text_figures([s.question for s in records if s.question])
    assert tally.words_by_level() == words_by_level(records)
    assert tally.records == 600 and sum(tally.per_database.values()) == 600
    assert tally.checked_by_generator
    shares = tally.component_shares()
    assert 0 < shares["JOIN"] < shares["WHERE"] + shares["GROUP BY"] < 1
    assert [s.id for s in tally.picks.picked()] == [s.id for s in spread_samples(records, 12)]


def test_tallies_of_stretches_merge_into_the_tally_of_the_whole():
    records = _records(900)
    whole = tally_records(records)
    merged = SummaryTally()
    for start, end in ((0, 1), (1, 250), (250, 251), (251, 700), (700, 900)):
        merged.merge(tally_records(records[start:end]))
    assert merged.text_figures() == whole.text_figures()
    assert merged.words_by_level() == whole.words_by_level()
    assert merged.component_shares() == whole.component_shares()
    assert (merged.hardness, merged.per_database) == (whole.hardness, whole.per_database)
    assert [s.id for s in merged.picks.picked()] == [s.id for s in whole.picks.picked()]


def test_distinct_hashes_count_exactly_across_their_merges():
    hashes, other = DistinctHashes(), DistinctHashes()
    hashes._MERGE_AT = other._MERGE_AT = 7  # merge into the sorted array often
    texts = [f"w{i % 113}" for i in range(1000)]
    for t in texts[:600]:
        hashes.add(t)
    for t in texts[400:]:
        other.add(t)
    hashes.merge(other)
    assert len(hashes) == 113
    at_once = DistinctHashes()
    at_once._MERGE_AT = 7
    at_once.update(texts[:50])
    at_once.update(texts[50:])
    at_once.merge(hashes)
    assert len(at_once) == 113 and len(hashes) == 113
