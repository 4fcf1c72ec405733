"""The bounded caches: LRU, SharedLRU across threads, per_object by identity."""

import threading

from sqlfoundry.core.lru import LRU, SharedLRU, per_object


def test_the_least_recently_used_entry_goes_first():
    for kept in (LRU(2), SharedLRU(2)):
        kept.put("a", 1)
        kept.put("b", 2)
        assert kept.get("a") == 1  # now the most recent
        kept.put("c", 3)
        assert (kept.get("a"), kept.get("b"), kept.get("c"), len(kept)) == (1, None, 3, 2)


def test_a_shared_lru_takes_puts_and_gets_from_many_threads():
    kept: SharedLRU[int, int] = SharedLRU(50)

    def work(base: int) -> None:
        for i in range(2000):
            kept.put(base + i % 100, i)
            kept.get(base + (i * 7) % 100)

    threads = [threading.Thread(target=work, args=(1000 * t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(kept) == 50


class Schema:  # hashed by identity, as schemas are
    def __init__(self, name: str) -> None:
        self.name = name


def test_per_object_keeps_a_value_per_object_not_per_equal_id():
    made: list[str] = []

    @per_object(2)
    def words(schema: Schema) -> str:
        made.append(schema.name)
        return schema.name.upper()

    a, b, c = Schema("a"), Schema("b"), Schema("c")
    assert [words(a), words(b), words(a)] == ["A", "B", "A"]
    assert made == ["a", "b"]
    words(c)  # b, asked about least recently, is let go
    assert words(b) == "B" and made == ["a", "b", "c", "b"]
    assert words.__name__ == "words"
