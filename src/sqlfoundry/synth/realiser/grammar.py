"""Small English helpers: lists, articles, plurals of phrases, number words."""

from __future__ import annotations

from sqlfoundry.synth.naming import plural, singular

_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                 "ten")  # fmt: skip
# Nouns whose plural is the same word; naming.plural does not know them all.
_SAME_PLURAL = {"aircraft", "spacecraft", "news", "sheep", "fish", "deer", "personnel", "feedback"}
# Words that take "a" although they start with a vowel letter, or "an" with a consonant.
_A_WORDS = ("uni", "use", "usu", "eu", "one", "once", "ur")
_AN_WORDS = ("hour", "honest", "honor", "honour", "heir")
# Letters whose spoken name starts with a vowel sound (for acronyms: "an ID", "an SSN").
_VOWEL_SOUND_LETTERS = set("AEFHILMNORSX")


def join_words(items: list[str], conjunction: str = "and") -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    items = [i for i in items if i]
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + f" {conjunction} " + items[-1]


def article(phrase: str) -> str:
    """``"a"`` or ``"an"`` for the phrase that follows."""
    word = phrase.split(" ", 1)[0] if phrase else ""
    if not word:
        return "a"
    if len(word) > 1 and word.isupper():
        return "an" if word[0] in _VOWEL_SOUND_LETTERS else "a"
    low = word.lower()
    if low.startswith(_AN_WORDS):
        return "an"
    if low.startswith(_A_WORDS):
        return "a"
    if low[0].isdigit():
        return "an" if low.startswith(("8", "11", "18")) else "a"
    return "an" if low[0] in "aeiou" else "a"


def with_article(phrase: str) -> str:
    """The phrase with "a" or "an" before it."""
    return f"{article(phrase)} {phrase}"


def plural_noun(noun: str) -> str:
    """Plural of a noun phrase: ``"cost of treatment"`` -> ``"costs of treatment"``."""
    head, sep, tail = noun.partition(" of ")
    if sep and head:
        return f"{plural_noun(head)} of {tail}"
    last = noun.rsplit(" ", 1)[-1].lower()
    if last in _SAME_PLURAL or (len(last) > 1 and last.isupper()):
        return noun + ("s" if last.isupper() and len(last) > 1 else "")
    return plural(noun)


def singular_noun(noun: str) -> str:
    """The singular of a noun phrase (nouns with the same plural left alone)."""
    last = noun.rsplit(" ", 1)[-1].lower()
    if last in _SAME_PLURAL:
        return noun
    return singular(noun)


def number_word(n: int) -> str:
    """``3`` -> ``"three"``; numbers past ten stay digits."""
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


def counted(n: int | float | str, noun: str) -> str:
    """``(1, "pet")`` -> ``"one pet"``; ``(3, "pet")`` -> ``"3 pets"``."""
    if n == 1 or n == "1":
        return f"one {noun}"
    return f"{n} {plural_noun(noun)}"


def sentence(text: str, end: str) -> str:
    """Capitalise the first letter and put ``end`` (``?`` or ``.``) at the end."""
    text = " ".join(text.split())
    if not text:
        return text
    return text[0].upper() + text[1:] + end


def possessive(noun: str) -> str:
    """The possessive of a noun: "singer's", "singers'"."""
    return noun + ("'" if noun.endswith("s") and not noun.endswith("ss") else "'s")
