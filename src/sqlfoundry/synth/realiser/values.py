"""Literal values in English: names as they are, codes in quotes, dates spelled out."""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip
_DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?$")
# A proper name: capitalised words ("France", "New York", "O'Hare", "Ben Jones Jr.").
_PROPER = re.compile(r"^[A-Z][A-Za-z'.&-]*(?: (?:[A-Z][A-Za-z'.&-]*|of|the|de|la|and|von|van))*$")


@dataclass(frozen=True)
class Value:
    """One literal: ``text`` is how it reads in a sentence; ``kind`` is number, string,
    date, year or null; ``raw`` the value itself."""

    text: str
    kind: str
    raw: object


def number_text(raw: str) -> str:
    """Numbers read as they are written, without float noise (``"5.0"`` stays ``5.0``)."""
    return raw.strip()


def date_text(raw: str) -> str | None:
    """``"2023-03-05"`` -> ``"March 5, 2023"``; None when ``raw`` is not a date."""
    match = _DATE.match(raw.strip())
    if not match:
        return None
    year, month, day, hour, minute, second = match.groups()
    m = int(month)
    if not 1 <= m <= 12 or (day and not 1 <= int(day) <= 31):
        return None
    if not day:
        return f"{_MONTHS[m - 1]} {year}"
    text = f"{_MONTHS[m - 1]} {int(day)}, {year}"
    if hour is not None:
        clock = f"{hour}:{minute}" + (f":{second}" if second and second != "00" else "")
        if clock != "00:00":
            text += f" at {clock}"
    return text


def period_start(raw: str) -> str | None:
    """A first of January as its year ("2018"), a first of a month as the month
    ("March 2018"): how people say a bound that starts a period. None otherwise."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-01", raw.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    year, month = match.groups()
    return year if month == "01" else f"{_MONTHS[int(month) - 1]} {year}"


def period_end(raw: str) -> str | None:
    """A 31 December as its year, a month's last day as the month; None otherwise."""
    import calendar

    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", raw.strip())
    if not match:
        return None
    year, month, day = (int(g) for g in match.groups())
    if not 1 <= month <= 12 or day != calendar.monthrange(year, month)[1]:
        return None
    return str(year) if month == 12 else f"{_MONTHS[month - 1]} {year}"


def string_text(raw: str) -> str:
    """A string value as a reader expects it: proper names bare, everything else quoted."""
    if raw == "":
        return "an empty text"
    if _PROPER.match(raw) and any(c.islower() for c in raw):
        return raw
    return f"'{raw}'"


def string_value(raw: str, column_kind: str = "text") -> Value:
    """Read a string literal, knowing the kind of the column it is compared with."""
    stripped = raw.strip()
    if re.fullmatch(r"\d{4}", stripped) and column_kind in ("date", "year"):
        return Value(stripped, "year", raw)
    date = date_text(stripped)
    if date is not None:
        return Value(date, "date", raw)
    if column_kind in ("number", "year") and re.fullmatch(r"-?\d+(?:\.\d+)?", stripped):
        return Value(stripped, "number", raw)
    return Value(string_text(raw), "string", raw)


def like_pattern(pattern: str) -> tuple[str, str] | None:
    """Split a LIKE pattern into (how, text): ``contains``, ``starts``, ``ends`` or ``equals``.

    None when the pattern needs more than one piece of text or uses ``_``.
    """
    if "_" in pattern.replace("%", ""):
        return None
    inner = pattern.strip("%")
    if "%" in inner or not inner:
        return None
    starts, ends = pattern.startswith("%"), pattern.endswith("%")
    if starts and ends:
        return "contains", inner
    if ends:
        return "starts", inner
    if starts:
        return "ends", inner
    return "equals", inner
