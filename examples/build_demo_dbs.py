"""Build sqlfoundry's three demo SQLite databases: bookshop, clinic and airline.

Usage::

    python examples/build_demo_dbs.py [--out DIR] [--force]

The layout follows Spider, ``DIR/<db_id>/<db_id>.sqlite``; ``clinic`` also gets
BIRD-style column descriptions in ``DIR/clinic/database_description/<table>.csv``.

Every database comes from its own ``random.Random`` with a fixed seed and never
reads the clock, so two builds give the same ``iterdump()`` output, and questions
synthesised from the demo data can be reproduced anywhere. Only the standard
library is used and nothing is downloaded: the vocabularies are hand-written below.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import random
import sqlite3
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent / "demo_dbs"
DESCRIPTION_HEADER = (
    "original_column_name",
    "column_name",
    "column_description",
    "data_format",
    "value_description",
)

Rows = list[tuple[object, ...]]
# table -> one (column, description, data_format, value_description) per column, in table order
Descriptions = dict[str, list[tuple[str, str, str, str]]]


@dataclass(frozen=True)
class DemoDatabase:
    db_id: str
    seed: int
    ddl: str
    populate: Callable[[random.Random], dict[str, Rows]]
    descriptions: Descriptions | None = None


@dataclass(frozen=True)
class BuildResult:
    db_id: str
    path: Path
    skipped: bool
    tables: int = 0
    rows: int = 0


# ---------------------------------------------------------------------------
# Shared vocabularies and helpers

FEMALE_FIRST_NAMES = (
    "Emma", "Olivia", "Ava", "Sophia", "Isabella", "Mia", "Charlotte", "Amelia", "Harper",
    "Evelyn", "Abigail", "Emily", "Elizabeth", "Sofia", "Grace", "Chloe", "Victoria", "Hannah",
    "Zoe", "Nora", "Lily", "Eleanor", "Maya", "Aisha", "Fatima", "Priya", "Ananya", "Mei",
    "Yuki", "Sakura", "Hana", "Lucia", "Camila", "Valentina", "Gabriela", "Ines", "Clara",
    "Ingrid", "Freya", "Amara", "Chiara", "Leila", "Nadia", "Sara", "Anna", "Julia", "Laura",
    "Rachel", "Rebecca", "Margaret", "Catherine", "Diana", "Helen", "Ruth", "Naomi", "Ji-woo",
)  # fmt: skip
MALE_FIRST_NAMES = (
    "James", "Liam", "Noah", "William", "Oliver", "Elijah", "Lucas", "Benjamin", "Henry",
    "Alexander", "Michael", "Daniel", "Matthew", "David", "Joseph", "Samuel", "Thomas",
    "Andrew", "Christopher", "Ethan", "Jacob", "Ryan", "Nathan", "Arjun", "Rohan", "Omar",
    "Ahmed", "Hiroshi", "Kenji", "Wei", "Chen", "Min-jun", "Mateo", "Diego", "Carlos", "Javier",
    "Luca", "Marco", "Pierre", "Louis", "Lukas", "Felix", "Erik", "Lars", "Kwame", "Chidi",
    "Tariq", "Ivan", "Dmitri", "George", "Patrick", "Sean", "Robert", "Richard", "Peter", "Paul",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel", "Shah", "Kumar", "Singh",
    "Khan", "Ali", "Chen", "Wang", "Li", "Zhang", "Liu", "Kim", "Park", "Choi", "Tanaka",
    "Suzuki", "Sato", "Watanabe", "Mueller", "Schmidt", "Schneider", "Fischer", "Weber", "Rossi",
    "Russo", "Ferrari", "Bianchi", "Dubois", "Moreau", "Laurent", "Bernard", "Silva", "Santos",
    "Oliveira", "Costa", "Pereira", "O'Brien", "Murphy", "Kelly", "Byrne", "Walsh", "Andersson",
    "Johansson", "Larsen", "Nielsen", "Novak", "Kowalski", "Okafor", "Mensah", "Adeyemi",
    "Cohen", "Levi", "Haddad", "Nasser",
)  # fmt: skip

EMAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me")
# Phone country codes, used to make phone numbers that match the customer's country.
PHONE_CODES = {
    "United States": "1", "Canada": "1", "United Kingdom": "44", "Ireland": "353",
    "Australia": "61", "New Zealand": "64", "Germany": "49", "France": "33", "Spain": "34",
    "Italy": "39", "Netherlands": "31", "Sweden": "46", "Norway": "47", "Denmark": "45",
    "Japan": "81", "Singapore": "65", "India": "91", "Nigeria": "234", "South Africa": "27",
    "Mexico": "52", "Brazil": "55", "Argentina": "54",
}  # fmt: skip


def _cum(weights: Sequence[float]) -> list[float]:
    return list(accumulate(weights))


def _zipf(rng: random.Random, n: int, s: float) -> list[float]:
    """Cumulative Zipf-like weights in a shuffled order, so the popular ids are not just the low ones."""
    weights = [1.0 / (rank + 1) ** s for rank in range(n)]
    rng.shuffle(weights)
    return _cum(weights)


def _pick(rng: random.Random, items: Sequence, cum_weights: Sequence[float]):
    return rng.choices(items, cum_weights=cum_weights)[0]


def _weighted(rng: random.Random, table: Sequence[tuple[object, float]]):
    """Pick the first element of one ``(value, weight)`` pair."""
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _day_between(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, (end - start).days))


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _person(rng: random.Random, sex: str | None = None) -> tuple[str, str]:
    if sex is None:
        sex = rng.choice("FM")
    first = rng.choice(FEMALE_FIRST_NAMES if sex == "F" else MALE_FIRST_NAMES)
    return first, rng.choice(LAST_NAMES)


def _slug(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isascii() and ch.isalnum())


def _email(first: str, last: str, number: int, domain: str) -> str:
    return f"{_slug(first)}.{_slug(last)}{number}@{domain}"


def _unique(used: set[str], make: Callable[[], str]) -> str:
    """Draw codes from ``make`` until one is not in ``used``, and record it."""
    code = make()
    while code in used:
        code = make()
    used.add(code)
    return code


def _isbn13(rng: random.Random) -> str:
    digits = [9, 7, 8] + [rng.randint(0, 9) for _ in range(9)]
    check = (10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10
    return "".join(map(str, digits)) + str(check)


# ---------------------------------------------------------------------------
# bookshop: an online bookshop selling to customers around the world

BOOKSHOP_DDL = """
CREATE TABLE authors (
    author_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    birth_year INTEGER,
    country TEXT NOT NULL
);
CREATE TABLE publishers (
    publisher_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    founded_year INTEGER
);
CREATE TABLE books (
    book_id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    author_id INTEGER NOT NULL REFERENCES authors (author_id),
    publisher_id INTEGER REFERENCES publishers (publisher_id),
    genre TEXT NOT NULL,
    language TEXT NOT NULL,
    publication_date TEXT NOT NULL,
    page_count INTEGER,
    price REAL NOT NULL,
    isbn TEXT NOT NULL UNIQUE
);
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    phone TEXT,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    join_date TEXT NOT NULL
);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    order_date TEXT NOT NULL,
    status TEXT NOT NULL,
    payment_method TEXT NOT NULL,
    total_amount REAL NOT NULL,
    shipped_at TEXT
);
CREATE TABLE order_items (
    order_id INTEGER NOT NULL REFERENCES orders (order_id),
    book_id INTEGER NOT NULL REFERENCES books (book_id),
    quantity INTEGER NOT NULL,
    unit_price REAL NOT NULL,
    PRIMARY KEY (order_id, book_id)
);
CREATE TABLE reviews (
    review_id INTEGER PRIMARY KEY,
    book_id INTEGER NOT NULL REFERENCES books (book_id),
    customer_id INTEGER NOT NULL REFERENCES customers (customer_id),
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    review_date TEXT NOT NULL,
    review_text TEXT,
    helpful_votes INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_books_author_id ON books (author_id);
CREATE INDEX idx_books_publisher_id ON books (publisher_id);
CREATE INDEX idx_books_genre ON books (genre);
CREATE INDEX idx_orders_customer_id ON orders (customer_id);
CREATE INDEX idx_orders_order_date ON orders (order_date);
CREATE INDEX idx_order_items_book_id ON order_items (book_id);
CREATE INDEX idx_reviews_book_id ON reviews (book_id);
CREATE INDEX idx_reviews_customer_id ON reviews (customer_id);
"""

PUBLISHERS = (
    ("Harbor Lane Press", "New York", "United States"),
    ("Bluebird Books", "Boston", "United States"),
    ("Northwind Publishing", "London", "United Kingdom"),
    ("Meridian House", "New York", "United States"),
    ("Lantern & Quill", "Edinburgh", "United Kingdom"),
    ("Silver Birch Editions", "Toronto", "Canada"),
    ("Red Kite Press", "Oxford", "United Kingdom"),
    ("Atlas Street Books", "Chicago", "United States"),
    ("Greenleaf Publishing", "San Francisco", "United States"),
    ("Ironwood Press", "Dublin", "Ireland"),
    ("Starling House", "London", "United Kingdom"),
    ("Crescent Moon Books", "Sydney", "Australia"),
    ("Foxglove Editions", "London", "United Kingdom"),
    ("Granite Peak Publishing", "Denver", "United States"),
    ("Tidewater Press", "Seattle", "United States"),
    ("Juniper Books", "Melbourne", "Australia"),
    ("Orchard Hill Press", "New York", "United States"),
    ("Blackthorn Publishing", "Manchester", "United Kingdom"),
    ("Copperfield & Sons", "Boston", "United States"),
    ("Aurora Editions", "Vancouver", "Canada"),
)
AUTHOR_COUNTRIES = (
    ("United States", 30), ("United Kingdom", 18), ("Canada", 6), ("Ireland", 4),
    ("Australia", 4), ("France", 5), ("Germany", 4), ("Spain", 4), ("Italy", 3), ("Japan", 4),
    ("Nigeria", 3), ("India", 4), ("Brazil", 2), ("Mexico", 3), ("Sweden", 3), ("Norway", 2),
    ("Argentina", 2),
)  # fmt: skip
NATIVE_LANGUAGES = {
    "France": "French", "Germany": "German", "Spain": "Spanish", "Italy": "Italian",
    "Japan": "Japanese", "Brazil": "Portuguese", "Mexico": "Spanish", "Sweden": "Swedish",
    "Norway": "Norwegian", "Argentina": "Spanish",
}  # fmt: skip
CUSTOMER_CITIES = (
    ("New York", "United States", 14), ("Los Angeles", "United States", 8),
    ("Chicago", "United States", 6), ("Houston", "United States", 4),
    ("Seattle", "United States", 5), ("Boston", "United States", 5),
    ("Austin", "United States", 3), ("San Francisco", "United States", 5),
    ("Toronto", "Canada", 6), ("Vancouver", "Canada", 3), ("Montreal", "Canada", 2),
    ("London", "United Kingdom", 10), ("Manchester", "United Kingdom", 3),
    ("Edinburgh", "United Kingdom", 2), ("Dublin", "Ireland", 3), ("Sydney", "Australia", 4),
    ("Melbourne", "Australia", 3), ("Auckland", "New Zealand", 2), ("Berlin", "Germany", 3),
    ("Munich", "Germany", 2), ("Paris", "France", 3), ("Lyon", "France", 1),
    ("Madrid", "Spain", 2), ("Barcelona", "Spain", 2), ("Rome", "Italy", 1),
    ("Milan", "Italy", 1), ("Amsterdam", "Netherlands", 2), ("Stockholm", "Sweden", 1),
    ("Oslo", "Norway", 1), ("Copenhagen", "Denmark", 1), ("Tokyo", "Japan", 2),
    ("Singapore", "Singapore", 2), ("Mumbai", "India", 2), ("Bangalore", "India", 2),
    ("Lagos", "Nigeria", 1), ("Cape Town", "South Africa", 1), ("Mexico City", "Mexico", 2),
    ("São Paulo", "Brazil", 1), ("Buenos Aires", "Argentina", 1),
)  # fmt: skip
GENRES = (
    ("Fiction", 18), ("Mystery", 14), ("Thriller", 10), ("Romance", 10), ("Fantasy", 9),
    ("Science Fiction", 8), ("Historical Fiction", 6), ("Young Adult", 6), ("Children's", 5),
    ("Horror", 3), ("Biography", 5), ("History", 5), ("Science", 4), ("Self-Help", 5),
    ("Business", 4), ("Cookbooks", 3), ("Travel", 2), ("Poetry", 2),
)  # fmt: skip
# genre -> (price range in dollars, page range)
GENRE_SHAPE = {
    "Children's": ((6, 15), (24, 120)), "Poetry": ((9, 20), (60, 160)),
    "Cookbooks": ((18, 40), (180, 360)), "Science": ((16, 35), (220, 520)),
    "History": ((16, 38), (280, 720)), "Biography": ((15, 35), (260, 640)),
    "Business": ((15, 32), (200, 380)), "Fantasy": ((10, 28), (320, 880)),
}  # fmt: skip
TITLE_WORDS = {
    "adj": (
        "Silent", "Hidden", "Last", "Broken", "Golden", "Crimson", "Forgotten", "Distant",
        "Burning", "Quiet", "Midnight", "Secret", "Endless", "Wild", "Lost", "Frozen",
        "Shattered", "Gentle", "Hollow", "Bright", "Winter", "Summer", "Invisible", "Paper",
        "Glass", "Salt",
    ),
    "noun": (
        "River", "Garden", "House", "Shore", "Kingdom", "Orchard", "Lighthouse", "Harbor",
        "Letter", "Promise", "Storm", "Mirror", "Key", "Road", "Crown", "Forest", "Island",
        "Station", "Bridge", "Daughter", "Stranger", "Witness", "Machine", "Map", "Season",
        "Clockmaker", "Cartographer", "Archive", "Tide", "Empire",
    ),
    "city": (
        "Lisbon", "Venice", "Kyoto", "Prague", "Havana", "Marrakesh", "Istanbul", "Vienna",
        "Paris", "Berlin", "Cairo", "Dublin", "Oslo", "Seville", "Shanghai", "Edinburgh",
    ),
    "animal": ("Bear", "Fox", "Rabbit", "Owl", "Otter", "Badger", "Penguin", "Mouse", "Tiger"),
    "topic": (
        "the Ocean", "Salt", "the Silk Road", "the Printing Press", "Coffee", "the Railways",
        "Medicine", "the Roman Empire", "the Atlantic", "Money", "Cartography", "Spices",
    ),
    "science": (
        "the Brain", "Black Holes", "Genes", "Fungi", "Bees", "Quantum Physics", "Climate",
        "the Immune System", "Sleep", "Volcanoes", "Artificial Intelligence", "Birds",
    ),
    "habit": (
        "Focus", "Rest", "Saying No", "Slow Living", "Deep Work", "Listening", "Gratitude",
        "Letting Go", "Calm", "Habit", "Patience",
    ),
    "food": (
        "Vegetables", "Rice", "Lentils", "Bread", "Spices", "Tomatoes", "Noodles", "Citrus",
        "Cheese", "Fish",
    ),
    "cuisine": ("Italian", "Japanese", "Mexican", "Lebanese", "Indian", "Korean", "Greek"),
    "num": ("Seven", "Ten", "Twelve", "Fifty", "One Hundred"),
    "year": ("1848", "1914", "1929", "1968", "1989", "1492", "1776"),
}  # fmt: skip
FICTION_TITLES = (
    "The {adj} {noun}", "{adj} {noun}", "The {noun} of {city}", "A {noun} in {city}",
    "Beneath the {adj} {noun}", "The Last {noun}", "The {noun}'s Daughter", "What the {noun} Knew",
)  # fmt: skip
# Genre fiction sometimes gets a plain literary title too.
MIXED_TITLE_GENRES = (
    "Mystery",
    "Thriller",
    "Romance",
    "Fantasy",
    "Science Fiction",
    "Horror",
    "Young Adult",
)
GENRE_TITLES = {
    "Mystery": ("Murder at the {noun}", "Death in {city}", "The {city} Affair", "The {adj} Witness"),
    "Thriller": ("The {noun} Protocol", "Zero {noun}", "The {adj} Hour", "Kill Switch {city}"),
    "Romance": ("Love in {city}", "A {adj} Summer", "Letters from {city}", "The {noun} Between Us"),
    "Fantasy": ("The {adj} Crown", "Song of the {noun}", "Queen of the {adj} {noun}", "The {noun} Mage"),
    "Science Fiction": ("The {noun} Protocol", "Stars over {city}", "The {adj} Machine", "Orbit of the {noun}"),
    "Horror": ("The House on {adj} Street", "Whispers in the {noun}", "The {adj} Room"),
    "Young Adult": ("The Girl Who Stole the {noun}", "Everything {adj}", "We Were {adj}"),
    "Children's": ("{animal} and the {adj} {noun}", "Little {animal}'s Big Day", "Goodnight, {animal}"),
    "Biography": ("{first} {last}: A Life", "The {adj} Life of {first} {last}"),
    "History": ("A History of {topic}", "The Rise and Fall of {topic}", "{year}: The Year Everything Changed"),
    "Science": ("The Hidden World of {science}", "Understanding {science}", "A Short Guide to {science}"),
    "Self-Help": ("The Art of {habit}", "{num} Habits of {habit}", "The Power of {habit}"),
    "Business": ("The {noun} Strategy", "Leading with {habit}", "{num} Rules for Growth"),
    "Cookbooks": ("Cooking with {food}", "The {cuisine} Kitchen", "{num} Ways with {food}"),
    "Travel": ("{city}: A Traveler's Guide", "Walking in {city}", "{num} Days in {city}"),
    "Poetry": ("Poems from the {noun}", "{adj} Verses", "Notes on a {adj} {noun}"),
}  # fmt: skip
REVIEW_TEXTS = {
    5: ("An absolute masterpiece.", "Could not put it down.", "Beautifully written and deeply moving.",
        "One of the best books I have read this year.", "Exceeded every expectation."),
    4: ("A very enjoyable read.", "Strong characters and a satisfying ending.",
        "Well researched and engaging.", "Slow start, but worth it."),
    3: ("Decent, but not memorable.", "Some good moments, a bit too long.", "It was fine.",
        "Interesting ideas, uneven execution."),
    2: ("Disappointing after all the hype.", "Hard to finish.", "The plot dragged badly."),
    1: ("Not for me at all.", "Arrived damaged and the story was dull.", "Would not recommend."),
}  # fmt: skip
ORDER_STATUSES = (("delivered", 87), ("cancelled", 8), ("returned", 5))
PAYMENT_METHODS = (("credit_card", 58), ("paypal", 24), ("gift_card", 10), ("bank_transfer", 8))
SHOP_START, SHOP_END = date(2021, 1, 1), date(2024, 12, 31)


def _book_title(rng: random.Random, genre: str) -> str:
    templates = GENRE_TITLES.get(genre, FICTION_TITLES)
    if genre in MIXED_TITLE_GENRES and rng.random() < 0.3:
        templates = FICTION_TITLES
    template = rng.choice(templates)
    slots = {key: rng.choice(words) for key, words in TITLE_WORDS.items()}
    slots["first"], slots["last"] = _person(rng)
    words = template.format(**slots).split(" ")
    for i, word in enumerate(words[:-1]):
        if word in ("A", "a") and words[i + 1][0] in "AEIOU":
            words[i] += "n"
    return " ".join(words)


def _populate_bookshop(rng: random.Random) -> dict[str, Rows]:
    publishers: Rows = []
    for publisher_id, (name, city, country) in enumerate(PUBLISHERS, start=1):
        founded = None if rng.random() < 0.1 else rng.randint(1890, 2015)
        publishers.append((publisher_id, name, city, country, founded))

    authors: Rows = []
    author_genre: dict[int, str] = {}
    author_publisher: dict[int, int] = {}
    publisher_cum = _zipf(rng, len(publishers), 0.9)
    seen_names: set[tuple[str, str]] = set()
    while len(authors) < 90:
        name = _person(rng)
        if name in seen_names:
            continue
        seen_names.add(name)
        author_id = len(authors) + 1
        birth_year = None if rng.random() < 0.15 else rng.randint(1925, 1996)
        authors.append((author_id, *name, birth_year, _weighted(rng, AUTHOR_COUNTRIES)))
        author_genre[author_id] = _weighted(rng, GENRES)
        author_publisher[author_id] = _pick(rng, range(1, len(publishers) + 1), publisher_cum)

    books: Rows = []
    author_cum = _zipf(rng, len(authors), 0.6)  # a few prolific authors
    titles: set[str] = set()
    while len(books) < 420:
        author_id = _pick(rng, range(1, len(authors) + 1), author_cum)
        genre = author_genre[author_id] if rng.random() < 0.85 else _weighted(rng, GENRES)
        title = _book_title(rng, genre)
        if title in titles:
            continue
        titles.add(title)
        roll = rng.random()
        if roll < 0.05:
            publisher_id = None  # self-published
        elif roll < 0.85:
            publisher_id = author_publisher[author_id]
        else:
            publisher_id = rng.randint(1, len(publishers))
        country = authors[author_id - 1][4]
        native = NATIVE_LANGUAGES.get(country)
        language = native if native and rng.random() < 0.6 else "English"
        year = max(1955, 2024 - int(rng.expovariate(1 / 12)))
        published = _day_between(rng, date(year, 1, 1), date(year, 12, 31))
        (low_price, high_price), (low_pages, high_pages) = GENRE_SHAPE.get(
            genre, ((9, 26), (180, 520))
        )
        price = rng.randint(low_price, high_price) - rng.choice((0.01, 0.01, 0.51))
        pages = None if rng.random() < 0.04 else rng.randint(low_pages, high_pages)
        books.append(
            (len(books) + 1, title, author_id, publisher_id, genre, language,
             published.isoformat(), pages, round(price, 2), _isbn13(rng))
        )  # fmt: skip

    customers: Rows = []
    city_cum = _cum([w for _, _, w in CUSTOMER_CITIES])
    for customer_id in range(1, 381):
        first, last = _person(rng)
        city, country, _ = _pick(rng, CUSTOMER_CITIES, city_cum)
        phone = None
        if rng.random() < 0.65:
            phone = f"+{PHONE_CODES[country]} {rng.randint(200, 989)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
        joined = _day_between(rng, date(2019, 1, 1), date(2024, 9, 30))
        email = _email(first, last, customer_id, rng.choice(EMAIL_DOMAINS))
        customers.append(
            (customer_id, first, last, email, phone, city, country, joined.isoformat())
        )

    # Orders are generated first and numbered in date order, as a real shop would.
    customer_cum = _zipf(rng, len(customers), 0.7)
    drafts = []
    for _ in range(1000):
        customer = _pick(rng, customers, customer_cum)
        joined = date.fromisoformat(customer[7])
        drafts.append((_day_between(rng, max(joined, SHOP_START), SHOP_END), customer[0]))
    drafts.sort()

    book_cum = _zipf(rng, len(books), 0.65)  # bestsellers
    book_quality = [rng.gauss(0, 0.8) for _ in books]
    orders: Rows = []
    items: Rows = []
    delivered: list[tuple[int, int, date]] = []  # (customer_id, book_id, shipped day)
    for order_id, (ordered, customer_id) in enumerate(drafts, start=1):
        days_left = (SHOP_END - ordered).days
        # Orders from the last days of the data are still on their way.
        if days_left < 4:
            status = rng.choice(("processing", "shipped"))
        elif days_left < 10:
            status = rng.choice(("shipped", "delivered"))
        else:
            status = _weighted(rng, ORDER_STATUSES)
        shipped_at = None
        if status in ("shipped", "delivered", "returned"):
            ship_day = ordered + timedelta(
                days=rng.randint(0 if days_left < 4 else 1, min(3, days_left))
            )
            seconds = rng.randint(8 * 3600, 20 * 3600 - 1)  # the warehouse works 08:00 to 20:00
            shipped_at = datetime.combine(ship_day, datetime.min.time()) + timedelta(
                seconds=seconds
            )
        count = _weighted(rng, ((1, 50), (2, 25), (3, 13), (4, 8), (5, 4)))
        chosen: list[int] = []
        for _ in range(count * 20):
            if len(chosen) == count:
                break
            book = _pick(rng, books, book_cum)
            if book[6] <= ordered.isoformat() and book[0] not in chosen:
                chosen.append(book[0])
        if not chosen:  # only new releases drawn: fall back to any book already out
            chosen.append(rng.choice([b[0] for b in books if b[6] <= ordered.isoformat()]))
        total = 0.0
        for book_id in chosen:
            quantity = _weighted(rng, ((1, 80), (2, 15), (3, 5)))
            price = books[book_id - 1][8]
            if rng.random() < 0.15:
                price = round(price * rng.choice((0.7, 0.8, 0.9)), 2)
            items.append((order_id, book_id, quantity, price))
            total += quantity * price
            if status == "delivered":
                delivered.append((customer_id, book_id, shipped_at.date()))
        payment = _weighted(rng, PAYMENT_METHODS)
        shipped = _ts(shipped_at) if shipped_at else None
        orders.append((order_id, customer_id, ordered.isoformat(), status, payment,
                       round(total, 2), shipped))  # fmt: skip

    reviews: Rows = []
    reviewed: set[tuple[int, int]] = set()
    for customer_id, book_id, shipped in delivered:
        if (customer_id, book_id) in reviewed or rng.random() > 0.4:
            continue
        written = shipped + timedelta(days=rng.randint(4, 90))
        if written > SHOP_END:
            continue
        reviewed.add((customer_id, book_id))
        rating = min(5, max(1, round(4.0 + book_quality[book_id - 1] + rng.gauss(0, 0.9))))
        text = rng.choice(REVIEW_TEXTS[rating]) if rng.random() < 0.55 else None
        votes = int(rng.expovariate(1 / 4)) if text else 0
        reviews.append(
            (len(reviews) + 1, book_id, customer_id, rating, written.isoformat(), text, votes)
        )
    # Number reviews in the order they were written.
    reviews.sort(key=lambda r: (r[4], r[0]))
    reviews = [(i, *r[1:]) for i, r in enumerate(reviews, start=1)]

    return {
        "authors": authors,
        "publishers": publishers,
        "books": books,
        "customers": customers,
        "orders": orders,
        "order_items": items,
        "reviews": reviews,
    }


# ---------------------------------------------------------------------------
# clinic: an outpatient clinic in the Boston area

CLINIC_DDL = """
CREATE TABLE departments (
    department_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    floor INTEGER NOT NULL,
    phone_extension TEXT NOT NULL
);
CREATE TABLE doctors (
    doctor_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments (department_id),
    specialty TEXT NOT NULL,
    license_number TEXT NOT NULL UNIQUE,
    hire_date TEXT NOT NULL,
    annual_salary REAL NOT NULL,
    email TEXT NOT NULL UNIQUE
);
CREATE TABLE patients (
    patient_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    sex TEXT NOT NULL CHECK (sex IN ('F', 'M')),
    birth_date TEXT NOT NULL,
    city TEXT NOT NULL,
    phone TEXT NOT NULL,
    email TEXT,
    blood_type TEXT,
    insurance_provider TEXT,
    registered_on TEXT NOT NULL
);
CREATE TABLE medications (
    medication_id INTEGER PRIMARY KEY,
    generic_name TEXT NOT NULL UNIQUE,
    brand_name TEXT,
    drug_class TEXT NOT NULL,
    dosage_form TEXT NOT NULL,
    strength_mg REAL,
    unit_price REAL NOT NULL,
    is_controlled INTEGER NOT NULL CHECK (is_controlled IN (0, 1))
);
CREATE TABLE appointments (
    appointment_id INTEGER PRIMARY KEY,
    patient_id INTEGER NOT NULL REFERENCES patients (patient_id),
    doctor_id INTEGER NOT NULL REFERENCES doctors (doctor_id),
    scheduled_at TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    diagnosis TEXT,
    duration_minutes INTEGER,
    fee REAL
);
CREATE TABLE prescriptions (
    prescription_id INTEGER PRIMARY KEY,
    appointment_id INTEGER NOT NULL REFERENCES appointments (appointment_id),
    medication_id INTEGER NOT NULL REFERENCES medications (medication_id),
    frequency TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    refills INTEGER NOT NULL,
    start_date TEXT NOT NULL,
    end_date TEXT,
    instructions TEXT
);
CREATE INDEX idx_doctors_department_id ON doctors (department_id);
CREATE INDEX idx_appointments_patient_id ON appointments (patient_id);
CREATE INDEX idx_appointments_doctor_id ON appointments (doctor_id);
CREATE INDEX idx_appointments_scheduled_at ON appointments (scheduled_at);
CREATE INDEX idx_prescriptions_appointment_id ON prescriptions (appointment_id);
CREATE INDEX idx_prescriptions_medication_id ON prescriptions (medication_id);
"""


@dataclass(frozen=True)
class _Department:
    name: str
    floor: int
    doctors: int
    visit_weight: int  # 0: only reached through the age and sex rules below
    base_fee: int
    base_salary: int
    specialties: tuple[str, ...]
    visits: dict[str, tuple[str, ...]]  # reason for the visit -> plausible diagnoses
    treatments: dict[str, tuple[str, ...]]  # diagnosis -> medications (generic names)


DEPARTMENTS = (
    _Department(
        "Family Medicine", 1, 8, 30, 120, 235_000, ("General Practice", "Preventive Medicine"),
        {
            "annual check-up": ("no significant findings", "hypertension", "hyperlipidemia", "vitamin D deficiency", "prediabetes"),
            "cold symptoms": ("upper respiratory infection", "allergic rhinitis"),
            "flu symptoms": ("influenza", "upper respiratory infection"),
            "sore throat": ("strep throat", "upper respiratory infection"),
            "cough": ("acute bronchitis", "upper respiratory infection"),
            "blood pressure follow-up": ("hypertension",),
            "back pain": ("lumbar strain",),
            "fatigue": ("vitamin D deficiency", "iron deficiency anemia", "type 2 diabetes", "no significant findings"),
            "vaccination": ("no significant findings",),
        },
        {
            "hypertension": ("Lisinopril", "Amlodipine", "Losartan", "Hydrochlorothiazide"),
            "hyperlipidemia": ("Atorvastatin", "Simvastatin"),
            "vitamin D deficiency": ("Cholecalciferol",),
            "prediabetes": ("Metformin",),
            "type 2 diabetes": ("Metformin",),
            "upper respiratory infection": ("Acetaminophen", "Ibuprofen"),
            "allergic rhinitis": ("Cetirizine",),
            "influenza": ("Oseltamivir", "Acetaminophen"),
            "strep throat": ("Amoxicillin", "Azithromycin"),
            "acute bronchitis": ("Azithromycin", "Albuterol"),
            "lumbar strain": ("Ibuprofen", "Naproxen", "Cyclobenzaprine"),
            "iron deficiency anemia": ("Ferrous sulfate",),
        },
    ),
    _Department(
        "Pediatrics", 2, 6, 0, 110, 230_000, ("General Pediatrics", "Adolescent Medicine"),
        {
            "well-child visit": ("no significant findings",),
            "vaccination": ("no significant findings",),
            "ear pain": ("otitis media",),
            "fever": ("viral infection", "otitis media", "strep throat"),
            "cough": ("viral infection", "asthma"),
            "rash": ("eczema", "contact dermatitis"),
            "asthma follow-up": ("asthma",),
            "trouble concentrating": ("ADHD",),
        },
        {
            "otitis media": ("Amoxicillin",),
            "viral infection": ("Acetaminophen", "Ibuprofen"),
            "strep throat": ("Amoxicillin",),
            "asthma": ("Albuterol", "Montelukast", "Budesonide"),
            "eczema": ("Hydrocortisone",),
            "contact dermatitis": ("Hydrocortisone", "Cetirizine"),
            "ADHD": ("Methylphenidate",),
        },
    ),
    _Department(
        "Cardiology", 3, 5, 12, 260, 430_000, ("General Cardiology", "Interventional Cardiology", "Electrophysiology"),
        {
            "chest pain": ("coronary artery disease", "stable angina", "no significant findings"),
            "palpitations": ("atrial fibrillation", "arrhythmia", "no significant findings"),
            "shortness of breath": ("heart failure", "coronary artery disease"),
            "blood pressure follow-up": ("hypertension",),
            "cholesterol follow-up": ("hyperlipidemia",),
            "post-procedure follow-up": ("coronary artery disease",),
        },
        {
            "coronary artery disease": ("Atorvastatin", "Clopidogrel", "Metoprolol"),
            "stable angina": ("Nitroglycerin", "Metoprolol", "Amlodipine"),
            "atrial fibrillation": ("Apixaban", "Warfarin", "Metoprolol"),
            "arrhythmia": ("Metoprolol",),
            "heart failure": ("Furosemide", "Metoprolol", "Lisinopril"),
            "hypertension": ("Lisinopril", "Amlodipine", "Losartan"),
            "hyperlipidemia": ("Atorvastatin", "Simvastatin"),
        },
    ),
    _Department(
        "Dermatology", 2, 3, 7, 180, 390_000, ("General Dermatology", "Cosmetic Dermatology"),
        {
            "rash": ("contact dermatitis", "eczema", "psoriasis"),
            "acne": ("acne vulgaris",),
            "mole check": ("benign nevus", "basal cell carcinoma"),
            "itchy skin": ("eczema", "contact dermatitis"),
            "scaly patches": ("psoriasis",),
        },
        {
            "contact dermatitis": ("Hydrocortisone",),
            "eczema": ("Hydrocortisone", "Clobetasol"),
            "psoriasis": ("Clobetasol", "Methotrexate"),
            "acne vulgaris": ("Tretinoin", "Doxycycline", "Isotretinoin"),
        },
    ),
    _Department(
        "Endocrinology", 3, 3, 8, 220, 270_000, ("Diabetes Care", "Thyroid Disorders"),
        {
            "diabetes follow-up": ("type 2 diabetes", "type 1 diabetes"),
            "high blood sugar": ("type 2 diabetes", "prediabetes"),
            "thyroid check": ("hypothyroidism", "hyperthyroidism", "no significant findings"),
            "weight gain": ("obesity", "hypothyroidism"),
            "fatigue": ("hypothyroidism", "no significant findings"),
        },
        {
            "type 2 diabetes": ("Metformin", "Sitagliptin", "Empagliflozin", "Semaglutide"),
            "type 1 diabetes": ("Insulin glargine",),
            "prediabetes": ("Metformin",),
            "hypothyroidism": ("Levothyroxine",),
            "hyperthyroidism": ("Methimazole",),
            "obesity": ("Semaglutide",),
        },
    ),
    _Department(
        "Gastroenterology", 4, 3, 6, 230, 440_000, ("General Gastroenterology", "Hepatology"),
        {
            "heartburn": ("GERD", "gastritis"),
            "abdominal pain": ("irritable bowel syndrome", "gastritis", "Crohn's disease"),
            "diarrhea": ("irritable bowel syndrome", "Crohn's disease"),
            "nausea": ("gastritis",),
            "abnormal liver tests": ("fatty liver disease",),
            "colonoscopy consultation": ("no significant findings", "colon polyps"),
        },
        {
            "GERD": ("Omeprazole", "Pantoprazole", "Lansoprazole"),
            "gastritis": ("Pantoprazole", "Ondansetron"),
            "irritable bowel syndrome": ("Dicyclomine",),
            "Crohn's disease": ("Mesalamine", "Prednisone"),
        },
    ),
    _Department(
        "Neurology", 4, 3, 6, 250, 320_000, ("General Neurology", "Epilepsy", "Headache Medicine"),
        {
            "headache": ("migraine", "tension headache"),
            "dizziness": ("vertigo", "no significant findings"),
            "numbness": ("peripheral neuropathy",),
            "seizure follow-up": ("epilepsy",),
            "memory problems": ("mild cognitive impairment", "Alzheimer's disease"),
        },
        {
            "migraine": ("Sumatriptan", "Topiramate"),
            "tension headache": ("Ibuprofen", "Acetaminophen"),
            "vertigo": ("Meclizine",),
            "peripheral neuropathy": ("Gabapentin",),
            "epilepsy": ("Levetiracetam", "Topiramate"),
            "Alzheimer's disease": ("Donepezil",),
        },
    ),
    _Department(
        "Obstetrics and Gynecology", 5, 4, 0, 200, 340_000, ("Obstetrics", "Gynecology"),
        {
            "prenatal visit": ("normal pregnancy",),
            "annual exam": ("no significant findings",),
            "pelvic pain": ("endometriosis", "ovarian cyst"),
            "irregular periods": ("polycystic ovary syndrome",),
            "heavy periods": ("iron deficiency anemia", "uterine fibroids"),
        },
        {
            "normal pregnancy": ("Folic acid", "Ferrous sulfate"),
            "endometriosis": ("Norethindrone", "Ibuprofen"),
            "ovarian cyst": ("Ibuprofen",),
            "polycystic ovary syndrome": ("Metformin", "Norethindrone"),
            "iron deficiency anemia": ("Ferrous sulfate",),
            "uterine fibroids": ("Norethindrone",),
        },
    ),
    _Department(
        "Oncology", 6, 3, 4, 320, 410_000, ("Medical Oncology", "Radiation Oncology"),
        {
            reason: ("breast cancer", "lung cancer", "colorectal cancer", "prostate cancer", "lymphoma")
            for reason in ("new diagnosis consultation", "chemotherapy follow-up", "test results review")
        },
        {
            "breast cancer": ("Tamoxifen", "Letrozole", "Ondansetron"),
            "lung cancer": ("Dexamethasone", "Ondansetron"),
            "colorectal cancer": ("Ondansetron",),
            "prostate cancer": ("Bicalutamide",),
            "lymphoma": ("Prednisone", "Ondansetron"),
        },
    ),
    _Department(
        "Orthopedics", 1, 4, 11, 210, 480_000, ("Sports Medicine", "Joint Replacement", "Spine Surgery"),
        {
            "knee pain": ("osteoarthritis", "meniscus tear"),
            "back pain": ("lumbar strain", "herniated disc"),
            "shoulder pain": ("rotator cuff tear", "osteoarthritis"),
            "sports injury": ("ankle sprain", "meniscus tear"),
            "fracture follow-up": ("fracture",),
        },
        {
            "osteoarthritis": ("Meloxicam", "Naproxen", "Acetaminophen"),
            "meniscus tear": ("Ibuprofen",),
            "lumbar strain": ("Cyclobenzaprine", "Ibuprofen"),
            "herniated disc": ("Gabapentin", "Prednisone", "Tramadol"),
            "rotator cuff tear": ("Naproxen",),
            "ankle sprain": ("Ibuprofen",),
            "fracture": ("Acetaminophen", "Tramadol"),
        },
    ),
    _Department(
        "Psychiatry", 5, 3, 8, 190, 290_000, ("Adult Psychiatry", "Child and Adolescent Psychiatry"),
        {
            "anxiety": ("generalized anxiety disorder", "panic disorder"),
            "low mood": ("major depressive disorder", "bipolar disorder"),
            "sleep problems": ("insomnia",),
            "medication review": ("major depressive disorder", "generalized anxiety disorder", "ADHD", "bipolar disorder"),
            "trouble concentrating": ("ADHD",),
        },
        {
            "generalized anxiety disorder": ("Sertraline", "Escitalopram"),
            "panic disorder": ("Sertraline", "Alprazolam"),
            "major depressive disorder": ("Sertraline", "Escitalopram", "Fluoxetine", "Bupropion"),
            "bipolar disorder": ("Lithium carbonate",),
            "insomnia": ("Zolpidem",),
            "ADHD": ("Methylphenidate",),
        },
    ),
    _Department(
        "Pulmonology", 3, 3, 8, 230, 330_000, ("General Pulmonology", "Sleep Medicine"),
        {
            "shortness of breath": ("asthma", "COPD"),
            "chronic cough": ("chronic bronchitis", "asthma"),
            "asthma follow-up": ("asthma",),
            "fever and cough": ("pneumonia",),
            "sleep apnea evaluation": ("obstructive sleep apnea",),
        },
        {
            "asthma": ("Albuterol", "Budesonide", "Montelukast"),
            "COPD": ("Tiotropium", "Albuterol"),
            "chronic bronchitis": ("Albuterol", "Prednisone"),
            "pneumonia": ("Azithromycin", "Amoxicillin"),
        },
    ),
)  # fmt: skip
# diagnosis -> (only this sex, minimum age), for diagnoses that would look absurd otherwise
DIAGNOSIS_RULES = {
    "prostate cancer": ("M", 45), "breast cancer": ("F", 30), "Alzheimer's disease": (None, 60),
    "mild cognitive impairment": (None, 50), "osteoarthritis": (None, 40),
    "coronary artery disease": (None, 35), "stable angina": (None, 35), "heart failure": (None, 40),
    "atrial fibrillation": (None, 40), "hypertension": (None, 25), "COPD": (None, 40),
    "basal cell carcinoma": (None, 30), "type 2 diabetes": (None, 25), "hyperlipidemia": (None, 25),
    "colorectal cancer": (None, 35), "lung cancer": (None, 35), "herniated disc": (None, 20),
}  # fmt: skip
# Departments that also see children, besides Pediatrics.
CHILD_DEPARTMENTS = ("Pediatrics", "Dermatology", "Orthopedics", "Psychiatry", "Oncology")
# generic name, brand name, drug class, dosage form, strength (mg), unit price ($), controlled, long-term
MEDICATIONS = (
    ("Atorvastatin", "Lipitor", "statin", "tablet", 20, 0.45, 0, 1),
    ("Simvastatin", "Zocor", "statin", "tablet", 40, 0.30, 0, 1),
    ("Lisinopril", "Zestril", "ACE inhibitor", "tablet", 10, 0.25, 0, 1),
    ("Losartan", "Cozaar", "angiotensin receptor blocker", "tablet", 50, 0.40, 0, 1),
    ("Amlodipine", "Norvasc", "calcium channel blocker", "tablet", 5, 0.30, 0, 1),
    ("Metoprolol", "Lopressor", "beta blocker", "tablet", 50, 0.35, 0, 1),
    ("Hydrochlorothiazide", None, "thiazide diuretic", "tablet", 25, 0.15, 0, 1),
    ("Furosemide", "Lasix", "loop diuretic", "tablet", 40, 0.20, 0, 1),
    ("Apixaban", "Eliquis", "anticoagulant", "tablet", 5, 8.10, 0, 1),
    ("Warfarin", "Coumadin", "anticoagulant", "tablet", 5, 0.35, 0, 1),
    ("Clopidogrel", "Plavix", "antiplatelet", "tablet", 75, 0.60, 0, 1),
    ("Metformin", "Glucophage", "biguanide", "tablet", 500, 0.20, 0, 1),
    ("Insulin glargine", "Lantus", "long-acting insulin", "injection", None, 98.50, 0, 1),
    ("Sitagliptin", "Januvia", "DPP-4 inhibitor", "tablet", 100, 17.50, 0, 1),
    ("Empagliflozin", "Jardiance", "SGLT2 inhibitor", "tablet", 10, 19.80, 0, 1),
    ("Semaglutide", "Ozempic", "GLP-1 receptor agonist", "injection", 1, 310.00, 0, 1),
    ("Levothyroxine", "Synthroid", "thyroid hormone", "tablet", 0.05, 0.40, 0, 1),
    ("Omeprazole", "Prilosec", "proton pump inhibitor", "capsule", 20, 0.35, 0, 1),
    ("Pantoprazole", "Protonix", "proton pump inhibitor", "tablet", 40, 0.45, 0, 1),
    ("Lansoprazole", "Prevacid", "proton pump inhibitor", "capsule", 30, 0.70, 0, 1),
    ("Ondansetron", "Zofran", "antiemetic", "tablet", 4, 0.90, 0, 0),
    ("Mesalamine", "Lialda", "aminosalicylate", "tablet", 1200, 6.20, 0, 1),
    ("Amoxicillin", "Amoxil", "penicillin antibiotic", "capsule", 500, 0.25, 0, 0),
    ("Azithromycin", "Zithromax", "macrolide antibiotic", "tablet", 250, 1.10, 0, 0),
    ("Doxycycline", "Vibramycin", "tetracycline antibiotic", "capsule", 100, 0.80, 0, 0),
    ("Ibuprofen", "Advil", "NSAID", "tablet", 400, 0.08, 0, 0),
    ("Naproxen", "Aleve", "NSAID", "tablet", 500, 0.15, 0, 0),
    ("Meloxicam", "Mobic", "NSAID", "tablet", 15, 0.20, 0, 0),
    ("Acetaminophen", "Tylenol", "analgesic", "tablet", 500, 0.05, 0, 0),
    ("Tramadol", "Ultram", "opioid analgesic", "tablet", 50, 0.40, 1, 0),
    ("Cyclobenzaprine", "Flexeril", "muscle relaxant", "tablet", 10, 0.25, 0, 0),
    ("Cetirizine", "Zyrtec", "antihistamine", "tablet", 10, 0.12, 0, 0),
    ("Albuterol", "ProAir HFA", "bronchodilator", "inhaler", 0.09, 35.00, 0, 1),
    ("Budesonide", "Pulmicort", "inhaled corticosteroid", "inhaler", 0.18, 48.00, 0, 1),
    ("Tiotropium", "Spiriva", "anticholinergic bronchodilator", "inhaler", 0.018, 210.00, 0, 1),
    ("Montelukast", "Singulair", "leukotriene receptor antagonist", "tablet", 10, 0.35, 0, 1),
    ("Prednisone", None, "corticosteroid", "tablet", 20, 0.15, 0, 0),
    ("Dexamethasone", "Decadron", "corticosteroid", "tablet", 4, 0.50, 0, 0),
    ("Hydrocortisone", "Cortizone-10", "topical corticosteroid", "cream", 10, 0.60, 0, 0),
    ("Clobetasol", "Temovate", "topical corticosteroid", "ointment", 0.5, 12.00, 0, 0),
    ("Tretinoin", "Retin-A", "retinoid", "cream", 0.25, 4.40, 0, 1),
    ("Isotretinoin", "Claravis", "retinoid", "capsule", 20, 6.50, 0, 0),
    ("Sumatriptan", "Imitrex", "triptan", "tablet", 50, 2.10, 0, 0),
    ("Topiramate", "Topamax", "anticonvulsant", "tablet", 50, 0.30, 0, 1),
    ("Levetiracetam", "Keppra", "anticonvulsant", "tablet", 500, 0.45, 0, 1),
    ("Gabapentin", "Neurontin", "anticonvulsant", "capsule", 300, 0.20, 0, 1),
    ("Donepezil", "Aricept", "cholinesterase inhibitor", "tablet", 10, 0.40, 0, 1),
    ("Sertraline", "Zoloft", "SSRI antidepressant", "tablet", 50, 0.18, 0, 1),
    ("Escitalopram", "Lexapro", "SSRI antidepressant", "tablet", 10, 0.20, 0, 1),
    ("Fluoxetine", "Prozac", "SSRI antidepressant", "capsule", 20, 0.15, 0, 1),
    ("Bupropion", "Wellbutrin", "NDRI antidepressant", "tablet", 150, 0.55, 0, 1),
    ("Alprazolam", "Xanax", "benzodiazepine", "tablet", 0.5, 0.20, 1, 0),
    ("Zolpidem", "Ambien", "sedative-hypnotic", "tablet", 10, 0.30, 1, 0),
    ("Methylphenidate", "Ritalin", "CNS stimulant", "tablet", 10, 0.90, 1, 1),
    ("Folic acid", None, "vitamin", "tablet", 1, 0.05, 0, 1),
    ("Ferrous sulfate", None, "iron supplement", "tablet", 325, 0.04, 0, 0),
    ("Norethindrone", "Aygestin", "progestin", "tablet", 5, 0.80, 0, 1),
    ("Tamoxifen", None, "selective estrogen receptor modulator", "tablet", 20, 0.60, 0, 1),
    ("Letrozole", "Femara", "aromatase inhibitor", "tablet", 2.5, 0.70, 0, 1),
    ("Methotrexate", "Trexall", "antimetabolite", "tablet", 2.5, 1.20, 0, 1),
    ("Bicalutamide", "Casodex", "antiandrogen", "tablet", 50, 2.80, 0, 1),
    ("Cholecalciferol", None, "vitamin", "capsule", 0.025, 0.05, 0, 1),
    ("Oseltamivir", "Tamiflu", "antiviral", "capsule", 75, 3.50, 0, 0),
    ("Nitroglycerin", "Nitrostat", "nitrate", "sublingual tablet", 0.4, 0.90, 0, 0),
    ("Methimazole", "Tapazole", "antithyroid agent", "tablet", 10, 0.30, 0, 1),
    ("Dicyclomine", "Bentyl", "antispasmodic", "capsule", 10, 0.35, 0, 0),
    ("Meclizine", "Antivert", "antihistamine", "tablet", 25, 0.20, 0, 0),
    ("Lithium carbonate", "Lithobid", "mood stabilizer", "tablet", 300, 0.30, 0, 1),
)  # fmt: skip
SALARY_STEP_PER_YEAR = 3_500  # per year of service
BOSTON_AREA_CITIES = (
    ("Boston", 30), ("Cambridge", 12), ("Somerville", 9), ("Brookline", 7), ("Newton", 7),
    ("Quincy", 6), ("Medford", 5), ("Waltham", 4), ("Malden", 4), ("Arlington", 4),
    ("Watertown", 3), ("Salem", 2), ("Lynn", 3), ("Framingham", 2),
)  # fmt: skip
BLOOD_TYPES = (
    ("O+", 37.4), ("A+", 35.7), ("B+", 8.5), ("AB+", 3.4), ("O-", 6.6), ("A-", 6.3),
    ("B-", 1.5), ("AB-", 0.6),
)  # fmt: skip
INSURERS = (
    ("Blue Cross Blue Shield", 30), ("Harvard Pilgrim", 18), ("Tufts Health Plan", 14),
    ("Aetna", 10), ("UnitedHealthcare", 10), ("Cigna", 6), ("MassHealth", 12),
)  # fmt: skip
LONG_TERM_FREQUENCIES = (("once daily", 70), ("twice daily", 22), ("at bedtime", 8))
SHORT_TERM_FREQUENCIES = (
    ("twice daily", 30), ("three times daily", 20), ("every 8 hours", 15), ("as needed", 35),
)  # fmt: skip
DOSES_PER_DAY = {"twice daily": 2, "three times daily": 3, "every 8 hours": 3}
ORAL_INSTRUCTIONS = (
    "take with food",
    "take with a full glass of water",
    "avoid alcohol",
    "take in the morning",
)
CLINIC_START, CLINIC_END = date(2023, 1, 2), date(2024, 12, 31)


def _age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _populate_clinic(rng: random.Random) -> dict[str, Rows]:
    departments: Rows = []
    doctors: Rows = []
    dept_doctors: dict[int, list[int]] = {}
    used_licenses: set[str] = set()
    for department_id, dept in enumerate(DEPARTMENTS, start=1):
        extension = f"{dept.floor}{department_id:02d}{rng.randint(0, 9)}"
        departments.append((department_id, dept.name, dept.floor, extension))
        dept_doctors[department_id] = []
        for _ in range(dept.doctors):
            doctor_id = len(doctors) + 1
            first, last = _person(rng)
            license_number = _unique(used_licenses, lambda: f"MA-{rng.randint(100000, 299999)}")
            hired = _day_between(rng, date(1998, 1, 1), date(2024, 6, 30))
            years = (date(2024, 12, 31) - hired).days // 365
            salary = dept.base_salary + years * SALARY_STEP_PER_YEAR + rng.randint(-15, 15) * 1000
            email = f"{_slug(first)[0]}{_slug(last)}{doctor_id}@northbridgehealth.org"
            doctors.append((doctor_id, first, last, department_id, rng.choice(dept.specialties),
                            license_number, hired.isoformat(), float(salary), email))  # fmt: skip
            dept_doctors[department_id].append(doctor_id)

    # The last MEDICATIONS field (long-term use) drives the prescriptions, it is not a column.
    medications: Rows = [(i, *row[:7]) for i, row in enumerate(MEDICATIONS, start=1)]
    med_ids = {row[0]: i for i, row in enumerate(MEDICATIONS, start=1)}

    patients: Rows = []
    city_cum = _cum([w for _, w in BOSTON_AREA_CITIES])
    cities = [c for c, _ in BOSTON_AREA_CITIES]
    for patient_id in range(1, 701):
        sex = "F" if rng.random() < 0.53 else "M"
        first, last = _person(rng, sex)
        age_years = min(96, int(rng.triangular(0, 95, 45)))
        born = date(2024 - age_years, 1, 1) + timedelta(days=rng.randint(0, 364))
        born = min(born, date(2022, 12, 31))
        registered = _day_between(rng, max(born, date(2012, 1, 1)), date(2024, 9, 30))
        phone = f"({rng.choice(('617', '857', '781', '978'))}) 555-{rng.randint(0, 9999):04d}"
        email = None
        if rng.random() < 0.7:
            email = _email(first, last, patient_id, rng.choice(EMAIL_DOMAINS))
        blood = _weighted(rng, BLOOD_TYPES) if rng.random() < 0.8 else None
        if _age(born, date(2024, 1, 1)) >= 65 and rng.random() < 0.8:
            insurer = "Medicare"
        else:
            insurer = _weighted(rng, INSURERS) if rng.random() < 0.9 else None
        patients.append((patient_id, first, last, sex, born.isoformat(), _pick(rng, cities, city_cum),
                         phone, email, blood, insurer, registered.isoformat()))  # fmt: skip

    # Busy doctors and frequent patients make COUNT/GROUP BY questions worth asking.
    doctor_weight = {
        d: 1.0 / (rank + 1) ** 0.7 for ids in dept_doctors.values() for rank, d in enumerate(ids)
    }
    patient_cum = _zipf(rng, len(patients), 0.4)
    adult_departments = [
        (i, d.visit_weight) for i, d in enumerate(DEPARTMENTS, start=1) if d.visit_weight
    ]
    department_ids = {d.name: i for i, d in enumerate(DEPARTMENTS, start=1)}
    pediatrics = department_ids["Pediatrics"]
    obgyn = department_ids["Obstetrics and Gynecology"]
    child_departments = [department_ids[name] for name in CHILD_DEPARTMENTS]
    drafts = []
    while len(drafts) < 2400:
        patient = _pick(rng, patients, patient_cum)
        start = max(date.fromisoformat(patient[10]), CLINIC_START)
        day = _day_between(rng, start, CLINIC_END)
        if day.weekday() >= 5:
            continue  # the clinic is closed at weekends
        age = _age(date.fromisoformat(patient[4]), day)
        if age < 18:
            department_id = pediatrics if rng.random() < 0.85 else rng.choice(child_departments)
        elif patient[3] == "F" and 16 <= age <= 55 and rng.random() < 0.2:
            department_id = obgyn
        else:
            department_id = _weighted(rng, adult_departments)
        ids = dept_doctors[department_id]
        doctor_id = rng.choices(ids, weights=[doctor_weight[d] for d in ids])[0]
        slot = rng.randint(0, 35)  # 15-minute slots from 08:00 to 16:45
        when = datetime(day.year, day.month, day.day, 8 + slot // 4, 15 * (slot % 4))
        drafts.append((when, patient[0], doctor_id, department_id, age))
    drafts.sort()

    appointments: Rows = []
    prescriptions: Rows = []
    sex_of = {p[0]: p[3] for p in patients}
    for appointment_id, draft in enumerate(drafts, start=1):
        when, patient_id, doctor_id, department_id, age = draft
        dept = DEPARTMENTS[department_id - 1]
        while True:  # every department has diagnoses without rules, so this ends
            reason = rng.choice(list(dept.visits))
            diagnosis = rng.choice(dept.visits[reason])
            sex, min_age = DIAGNOSIS_RULES.get(diagnosis, (None, 0))
            if sex in (None, sex_of[patient_id]) and age >= min_age:
                break
        status = _weighted(rng, (("completed", 78), ("cancelled", 12), ("no_show", 10)))
        duration = fee = None
        if status == "completed":
            duration = _weighted(rng, ((15, 20), (20, 25), (30, 35), (45, 12), (60, 8)))
            fee = float(dept.base_fee + 10 * rng.randint(-2, 4))
        else:
            diagnosis = None
            fee = 50.0 if status == "no_show" else None
        appointments.append((appointment_id, patient_id, doctor_id, _ts(when), status, reason,
                             diagnosis, duration, fee))  # fmt: skip
        options = dept.treatments.get(diagnosis or "", ())
        if not options:
            continue
        count = min(len(options), _weighted(rng, ((1, 65), (2, 30), (3, 5))))
        for medication_name in rng.sample(options, count):
            medication_id = med_ids[medication_name]
            _, _, drug_class, form, _, _, controlled, chronic = MEDICATIONS[medication_id - 1]
            frequency = _weighted(rng, LONG_TERM_FREQUENCIES if chronic else SHORT_TERM_FREQUENCIES)
            days = rng.choice((30, 90)) if chronic else rng.choice((5, 7, 10, 14))
            per_day = DOSES_PER_DAY.get(frequency, 1)
            units = (
                days * per_day
                if form in ("tablet", "capsule", "sublingual tablet")
                else rng.choice((1, 1, 2))
            )
            start = when.date()
            end = (
                None
                if chronic and rng.random() < 0.7
                else (start + timedelta(days=days)).isoformat()
            )
            if form in ("cream", "ointment"):
                instructions = "apply a thin layer to the affected area"
            elif "antibiotic" in drug_class or "antiviral" in drug_class:
                instructions = "finish the full course"
            elif controlled:
                instructions = "do not drive until you know how it affects you"
            elif rng.random() < 0.4:
                instructions = (
                    rng.choice(ORAL_INSTRUCTIONS)
                    if form != "injection"
                    else "inject under the skin"
                )
            else:
                instructions = None
            refills = rng.choice((0, 1, 2, 3, 5)) if chronic and not controlled else 0
            prescriptions.append((len(prescriptions) + 1, appointment_id, medication_id, frequency, units,
                                  refills, start.isoformat(), end, instructions))  # fmt: skip

    return {
        "departments": departments,
        "doctors": doctors,
        "patients": patients,
        "medications": medications,
        "appointments": appointments,
        "prescriptions": prescriptions,
    }


CLINIC_DESCRIPTIONS: Descriptions = {
    "departments": [
        ("department_id", "unique id of the department", "integer", ""),
        ("name", "name of the medical department", "text", "e.g. Cardiology, Pediatrics, Family Medicine"),
        ("floor", "floor of the clinic building the department is on", "integer", "1 is the ground floor"),
        ("phone_extension", "internal telephone extension of the department front desk", "text", ""),
    ],
    "doctors": [
        ("doctor_id", "unique id of the doctor", "integer", ""),
        ("first_name", "first name of the doctor", "text", ""),
        ("last_name", "last name of the doctor", "text", "full name = first_name + ' ' + last_name"),
        ("department_id", "the department the doctor works in", "integer", "references departments.department_id"),
        ("specialty", "the doctor's specialty within the department", "text", "e.g. Interventional Cardiology"),
        ("license_number", "state medical license number", "text", "format MA-######"),
        ("hire_date", "date the doctor joined the clinic", "date", "YYYY-MM-DD"),
        ("annual_salary", "yearly gross salary", "real", "in US dollars"),
        ("email", "work email address", "text", ""),
    ],
    "patients": [
        ("patient_id", "unique id of the patient", "integer", ""),
        ("first_name", "first name of the patient", "text", ""),
        ("last_name", "last name of the patient", "text", "full name = first_name + ' ' + last_name"),
        ("sex", "sex of the patient", "text", "F: female; M: male"),
        ("birth_date", "date of birth of the patient", "date", "YYYY-MM-DD; age = years between birth_date and a given date"),
        ("city", "city the patient lives in", "text", "cities in the Boston area, e.g. Cambridge, Somerville"),
        ("phone", "phone number of the patient", "text", ""),
        ("email", "email address of the patient", "text", "NULL if the patient gave no email address"),
        ("blood_type", "ABO blood group and Rh factor", "text", "O+, O-, A+, A-, B+, B-, AB+, AB-; NULL means not on file; '-' means Rh negative"),
        ("insurance_provider", "health insurer of the patient", "text", "Medicare covers most patients aged 65 or over; MassHealth is Medicaid; NULL means uninsured (self-pay)"),
        ("registered_on", "date the patient registered with the clinic", "date", "YYYY-MM-DD"),
    ],
    "medications": [
        ("medication_id", "unique id of the medication", "integer", ""),
        ("generic_name", "generic (non-proprietary) drug name", "text", "e.g. Atorvastatin"),
        ("brand_name", "best-known brand name of the drug", "text", "e.g. Lipitor; NULL when usually sold only as a generic"),
        ("drug_class", "pharmacological class of the drug", "text", "e.g. statin, SSRI antidepressant, NSAID"),
        ("dosage_form", "how the drug is taken", "text", "tablet, capsule, injection, inhaler, cream or ointment"),
        ("strength_mg", "amount of active ingredient per unit", "real", "in milligrams; NULL for products dosed in international units, such as insulin"),
        ("unit_price", "price of one unit (tablet, capsule, pen, inhaler or tube)", "real", "in US dollars"),
        ("is_controlled", "whether the drug is a controlled substance", "integer", "1: controlled substance (e.g. opioids, benzodiazepines, stimulants); 0: not controlled"),
    ],
    "appointments": [
        ("appointment_id", "unique id of the appointment", "integer", "ids increase with scheduled_at"),
        ("patient_id", "the patient who booked the appointment", "integer", "references patients.patient_id"),
        ("doctor_id", "the doctor the appointment is with", "integer", "references doctors.doctor_id; the department is the doctor's department"),
        ("scheduled_at", "date and time the appointment was scheduled for", "datetime", "YYYY-MM-DD HH:MM:SS, local time; weekdays between 08:00 and 16:45"),
        ("status", "outcome of the appointment", "text", "completed: the patient was seen; cancelled: cancelled in advance; no_show: the patient did not come"),
        ("reason", "reason for the visit given when booking", "text", "e.g. chest pain, annual check-up"),
        ("diagnosis", "diagnosis recorded by the doctor", "text", "e.g. hypertension, migraine; 'no significant findings' means nothing was found; NULL unless status = 'completed'"),
        ("duration_minutes", "length of the consultation", "integer", "in minutes; NULL unless status = 'completed'"),
        ("fee", "amount billed for the appointment", "real", "in US dollars; a no_show is billed a 50 dollar fee; NULL for cancelled appointments"),
    ],
    "prescriptions": [
        ("prescription_id", "unique id of the prescription", "integer", ""),
        ("appointment_id", "the appointment at which the drug was prescribed", "integer", "references appointments.appointment_id; the prescribing doctor and the patient come from the appointment"),
        ("medication_id", "the prescribed medication", "integer", "references medications.medication_id"),
        ("frequency", "how often the medication is taken", "text", "once daily, twice daily, three times daily, every 8 hours, at bedtime, as needed"),
        ("quantity", "number of units dispensed", "integer", "tablets or capsules; pens, inhalers or tubes for other dosage forms"),
        ("refills", "number of refills allowed", "integer", "0 means no refills; controlled substances are never refilled"),
        ("start_date", "first day of the treatment", "date", "YYYY-MM-DD; the day of the appointment"),
        ("end_date", "last day of the treatment", "date", "YYYY-MM-DD; NULL means ongoing (long-term medication)"),
        ("instructions", "extra instructions for the patient", "text", "NULL if none were given"),
    ],
}  # fmt: skip


# ---------------------------------------------------------------------------
# airline: one airline with hubs at New York JFK, London Heathrow and Dubai

AIRLINE_DDL = """
CREATE TABLE airports (
    airport_code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    city TEXT NOT NULL,
    country TEXT NOT NULL,
    latitude REAL NOT NULL,
    longitude REAL NOT NULL,
    is_hub INTEGER NOT NULL CHECK (is_hub IN (0, 1))
);
CREATE TABLE aircraft (
    aircraft_id INTEGER PRIMARY KEY,
    registration TEXT NOT NULL UNIQUE,
    manufacturer TEXT NOT NULL,
    model TEXT NOT NULL,
    seat_capacity INTEGER NOT NULL,
    range_km INTEGER NOT NULL,
    year_built INTEGER NOT NULL,
    last_inspection_date TEXT
);
CREATE TABLE flights (
    flight_id INTEGER PRIMARY KEY,
    flight_number TEXT NOT NULL,
    origin_code TEXT NOT NULL REFERENCES airports (airport_code),
    destination_code TEXT NOT NULL REFERENCES airports (airport_code),
    aircraft_id INTEGER NOT NULL REFERENCES aircraft (aircraft_id),
    scheduled_departure TEXT NOT NULL,
    scheduled_arrival TEXT NOT NULL,
    distance_km INTEGER NOT NULL,
    status TEXT NOT NULL,
    delay_minutes INTEGER
);
CREATE TABLE passengers (
    passenger_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    nationality TEXT NOT NULL,
    passport_number TEXT NOT NULL UNIQUE,
    email TEXT,
    loyalty_tier TEXT
);
CREATE TABLE bookings (
    booking_id INTEGER PRIMARY KEY,
    passenger_id INTEGER NOT NULL REFERENCES passengers (passenger_id),
    flight_id INTEGER NOT NULL REFERENCES flights (flight_id),
    booking_date TEXT NOT NULL,
    seat_class TEXT NOT NULL,
    seat_number TEXT NOT NULL,
    price REAL NOT NULL,
    checked_bags INTEGER NOT NULL,
    status TEXT NOT NULL,
    UNIQUE (flight_id, seat_number)
);
CREATE TABLE crew_members (
    crew_id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    role TEXT NOT NULL,
    base_airport TEXT NOT NULL REFERENCES airports (airport_code),
    hire_date TEXT NOT NULL,
    license_number TEXT UNIQUE,
    annual_salary REAL NOT NULL
);
CREATE TABLE flight_crew (
    flight_id INTEGER NOT NULL REFERENCES flights (flight_id),
    crew_id INTEGER NOT NULL REFERENCES crew_members (crew_id),
    PRIMARY KEY (flight_id, crew_id)
);
CREATE INDEX idx_flights_route ON flights (origin_code, destination_code);
CREATE INDEX idx_flights_scheduled_departure ON flights (scheduled_departure);
CREATE INDEX idx_flights_aircraft_id ON flights (aircraft_id);
CREATE INDEX idx_bookings_passenger_id ON bookings (passenger_id);
CREATE INDEX idx_crew_members_base_airport ON crew_members (base_airport);
CREATE INDEX idx_flight_crew_crew_id ON flight_crew (crew_id);
"""

# code, name, city, country, latitude, longitude, hub, popularity
AIRPORTS = (
    ("JFK", "John F. Kennedy International Airport", "New York", "United States", 40.6413, -73.7781, 1, 10),
    ("LAX", "Los Angeles International Airport", "Los Angeles", "United States", 33.9416, -118.4085, 0, 9),
    ("ORD", "O'Hare International Airport", "Chicago", "United States", 41.9742, -87.9073, 0, 7),
    ("ATL", "Hartsfield-Jackson Atlanta International Airport", "Atlanta", "United States", 33.6407, -84.4277, 0, 5),
    ("DFW", "Dallas/Fort Worth International Airport", "Dallas", "United States", 32.8998, -97.0403, 0, 4),
    ("SFO", "San Francisco International Airport", "San Francisco", "United States", 37.6213, -122.3790, 0, 7),
    ("SEA", "Seattle-Tacoma International Airport", "Seattle", "United States", 47.4502, -122.3088, 0, 3),
    ("MIA", "Miami International Airport", "Miami", "United States", 25.7959, -80.2870, 0, 6),
    ("BOS", "Logan International Airport", "Boston", "United States", 42.3656, -71.0096, 0, 5),
    ("DEN", "Denver International Airport", "Denver", "United States", 39.8561, -104.6737, 0, 3),
    ("YYZ", "Toronto Pearson International Airport", "Toronto", "Canada", 43.6777, -79.6248, 0, 5),
    ("YVR", "Vancouver International Airport", "Vancouver", "Canada", 49.1967, -123.1815, 0, 2),
    ("MEX", "Mexico City International Airport", "Mexico City", "Mexico", 19.4361, -99.0719, 0, 4),
    ("GRU", "São Paulo/Guarulhos International Airport", "São Paulo", "Brazil", -23.4356, -46.4731, 0, 3),
    ("EZE", "Ministro Pistarini International Airport", "Buenos Aires", "Argentina", -34.8222, -58.5358, 0, 2),
    ("BOG", "El Dorado International Airport", "Bogotá", "Colombia", 4.7016, -74.1469, 0, 2),
    ("LHR", "Heathrow Airport", "London", "United Kingdom", 51.4700, -0.4543, 1, 10),
    ("CDG", "Charles de Gaulle Airport", "Paris", "France", 49.0097, 2.5479, 0, 8),
    ("FRA", "Frankfurt Airport", "Frankfurt", "Germany", 50.0379, 8.5622, 0, 6),
    ("AMS", "Amsterdam Airport Schiphol", "Amsterdam", "Netherlands", 52.3105, 4.7683, 0, 6),
    ("MAD", "Adolfo Suárez Madrid-Barajas Airport", "Madrid", "Spain", 40.4983, -3.5676, 0, 5),
    ("BCN", "Josep Tarradellas Barcelona-El Prat Airport", "Barcelona", "Spain", 41.2974, 2.0833, 0, 4),
    ("FCO", "Leonardo da Vinci-Fiumicino Airport", "Rome", "Italy", 41.8003, 12.2389, 0, 5),
    ("DUB", "Dublin Airport", "Dublin", "Ireland", 53.4264, -6.2499, 0, 4),
    ("ZRH", "Zurich Airport", "Zurich", "Switzerland", 47.4582, 8.5555, 0, 3),
    ("LIS", "Humberto Delgado Airport", "Lisbon", "Portugal", 38.7742, -9.1342, 0, 3),
    ("CPH", "Copenhagen Airport", "Copenhagen", "Denmark", 55.6180, 12.6508, 0, 2),
    ("IST", "Istanbul Airport", "Istanbul", "Turkey", 41.2753, 28.7519, 0, 4),
    ("DXB", "Dubai International Airport", "Dubai", "United Arab Emirates", 25.2532, 55.3657, 1, 9),
    ("DOH", "Hamad International Airport", "Doha", "Qatar", 25.2731, 51.6081, 0, 3),
    ("CAI", "Cairo International Airport", "Cairo", "Egypt", 30.1219, 31.4056, 0, 3),
    ("JNB", "O. R. Tambo International Airport", "Johannesburg", "South Africa", -26.1367, 28.2411, 0, 3),
    ("NBO", "Jomo Kenyatta International Airport", "Nairobi", "Kenya", -1.3192, 36.9278, 0, 2),
    ("DEL", "Indira Gandhi International Airport", "Delhi", "India", 28.5562, 77.1000, 0, 6),
    ("BOM", "Chhatrapati Shivaji Maharaj International Airport", "Mumbai", "India", 19.0896, 72.8656, 0, 6),
    ("SIN", "Singapore Changi Airport", "Singapore", "Singapore", 1.3644, 103.9915, 0, 6),
    ("HKG", "Hong Kong International Airport", "Hong Kong", "China", 22.3080, 113.9185, 0, 5),
    ("HND", "Haneda Airport", "Tokyo", "Japan", 35.5494, 139.7798, 0, 5),
    ("ICN", "Incheon International Airport", "Seoul", "South Korea", 37.4602, 126.4407, 0, 3),
    ("BKK", "Suvarnabhumi Airport", "Bangkok", "Thailand", 13.6900, 100.7501, 0, 4),
    ("SYD", "Sydney Kingsford Smith Airport", "Sydney", "Australia", -33.9399, 151.1753, 0, 4),
)  # fmt: skip
# manufacturer, model, seats, range (km), widebody, how many in the fleet
AIRCRAFT_MODELS = (
    ("Airbus", "A220-300", 140, 6300, 0, 3),
    ("Airbus", "A320neo", 180, 6300, 0, 5),
    ("Airbus", "A321neo", 200, 7400, 0, 4),
    ("Boeing", "737-800", 170, 5400, 0, 3),
    ("Boeing", "737 MAX 8", 178, 6500, 0, 3),
    ("Airbus", "A330-300", 290, 11750, 1, 3),
    ("Airbus", "A350-900", 315, 15000, 1, 3),
    ("Boeing", "787-9", 290, 14000, 1, 3),
    ("Boeing", "777-300ER", 350, 13650, 1, 3),
)  # fmt: skip
NATIONALITIES = (
    ("United States", 28), ("United Kingdom", 18), ("United Arab Emirates", 5), ("India", 9),
    ("Canada", 5), ("France", 4), ("Germany", 4), ("Spain", 3), ("Italy", 3), ("Ireland", 2),
    ("Japan", 3), ("China", 3), ("Brazil", 2), ("Mexico", 2), ("Australia", 3),
    ("South Africa", 2), ("Nigeria", 2), ("Singapore", 1), ("Egypt", 1),
)  # fmt: skip
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
# Share of departures that leave late; congested airports are worse.
DELAY_RATE = {"JFK": 0.45, "LHR": 0.4, "ORD": 0.45, "SFO": 0.35, "CDG": 0.35, "DXB": 0.25}
SEAT_CLASSES = (("economy", 76), ("premium_economy", 10), ("business", 11), ("first", 3))
# class -> (first row, last row, dollars per km, base fare)
SEAT_LAYOUT = {
    "first": (1, 2, 0.55, 600),
    "business": (3, 9, 0.32, 350),
    "premium_economy": (10, 14, 0.13, 150),
    "economy": (15, 48, 0.07, 60),
}
CREW_ROLES = (
    ("captain", 8, 215_000),
    ("first_officer", 8, 135_000),
    ("flight_attendant", 20, 58_000),
)
AIR_START, AIR_END = date(2024, 1, 1), date(2024, 12, 31)


def _great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> int:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return round(2 * 6371.0 * math.asin(math.sqrt(a)))


def _populate_airline(rng: random.Random) -> dict[str, Rows]:
    airports: Rows = [row[:7] for row in AIRPORTS]
    by_code = {row[0]: row for row in AIRPORTS}
    hubs = [row[0] for row in AIRPORTS if row[6]]

    aircraft: Rows = []
    widebody_ids: set[int] = set()
    used_regs: set[str] = set()
    for manufacturer, model, seats, range_km, widebody, fleet in AIRCRAFT_MODELS:
        for _ in range(fleet):
            # US civil registrations: N, digits, two letters (no I or O).
            registration = _unique(
                used_regs, lambda: f"N{rng.randint(100, 999)}{''.join(rng.choices(LETTERS, k=2))}"
            )
            built = rng.randint(2008, 2023)
            inspected = None  # not yet due for aircraft delivered in 2023, and a few unrecorded
            if built < 2023 and rng.random() >= 0.1:
                inspected = _day_between(rng, date(2024, 1, 1), date(2024, 12, 15)).isoformat()
            aircraft.append((len(aircraft) + 1, registration, manufacturer, model, seats, range_km,
                             built, inspected))  # fmt: skip
            if widebody:
                widebody_ids.add(len(aircraft))

    # Routes: the hubs link to each other, every other airport to its nearest hub, and
    # the busiest airports to every hub in range; the quietest airports are not served
    # yet. Each direction has a fixed flight number and departure time, as in a real
    # timetable.
    def km(a: str, b: str) -> int:
        return _great_circle_km(by_code[a][4], by_code[a][5], by_code[b][4], by_code[b][5])

    pairs = [(a, b) for i, a in enumerate(hubs) for b in hubs[i + 1 :]]
    for code, *_, popularity in AIRPORTS:
        if code in hubs or popularity <= 2:
            continue
        nearest = min(hubs, key=lambda hub: km(hub, code))
        pairs += [
            (hub, code)
            for hub in hubs
            if hub == nearest or (popularity >= 7 and km(hub, code) <= 13500)
        ]
    routes = []  # (flight_number, origin, destination, distance, departure minute of day, weight)
    for index, (hub, other) in enumerate(pairs):
        distance, weight = km(hub, other), by_code[hub][7] * by_code[other][7]
        number = 100 + 2 * index
        for offset, (origin, destination) in enumerate(((hub, other), (other, hub))):
            minute = 5 * rng.randint(72, 275)  # 06:00 to 22:55
            routes.append((f"FA{number + offset}", origin, destination, distance, minute, weight))
    route_cum = _cum([r[5] ** 1.3 for r in routes])

    drafts = []
    for _ in range(420):
        number, origin, destination, distance, minute, _ = _pick(rng, routes, route_cum)
        day = _day_between(rng, AIR_START, AIR_END)
        departure = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
        duration = 5 * round((distance / 820 * 60 + 35) / 5)
        drafts.append((departure, number, origin, destination, distance, duration))
    drafts.sort()

    flights: Rows = []
    flight_info = []  # (flight_id, departure, hub, widebody, status, distance)
    for flight_id, (departure, number, origin, destination, distance, duration) in enumerate(
        drafts, start=1
    ):
        widebody = distance > 5000
        candidates = [
            a for a in aircraft if (a[0] in widebody_ids) == widebody and a[5] >= distance * 1.05
        ]
        plane = rng.choice(candidates)
        status = _weighted(rng, (("landed", 95), ("cancelled", 4), ("diverted", 1)))
        delay = None
        if status != "cancelled":
            late = rng.random() < DELAY_RATE.get(origin, 0.2)
            delay = int(rng.expovariate(1 / 40)) + 5 if late else 0
            if status == "diverted":
                delay += rng.randint(90, 300)
        arrival = departure + timedelta(minutes=duration)
        flights.append((flight_id, number, origin, destination, plane[0], _ts(departure), _ts(arrival),
                        distance, status, delay))  # fmt: skip
        hub = origin if origin in hubs else destination
        flight_info.append((flight_id, departure, hub, widebody, status, distance))

    passengers: Rows = []
    used_passports: set[str] = set()
    for passenger_id in range(1, 751):
        first, last = _person(rng)
        born = _day_between(rng, date(1940, 1, 1), date(2018, 12, 31))
        passport = _unique(
            used_passports, lambda: f"{rng.choice(LETTERS)}{rng.randint(10_000_000, 99_999_999)}"
        )
        email = None
        if rng.random() < 0.9:
            email = _email(first, last, passenger_id, rng.choice(EMAIL_DOMAINS))
        tier = None  # not a loyalty member
        if rng.random() < 0.4:
            tier = _weighted(rng, (("silver", 55), ("gold", 30), ("platinum", 15)))
        nationality = _weighted(rng, NATIONALITIES)
        passengers.append((passenger_id, first, last, born.isoformat(), nationality, passport,
                           email, tier))  # fmt: skip

    # Loyalty members fly more, and the most loyal fly a lot more.
    tier_boost = {None: 1.0, "silver": 2.5, "gold": 4.0, "platinum": 7.0}
    passenger_cum = _cum([tier_boost[p[7]] * (0.3 + rng.random()) for p in passengers])
    flight_cum = _cum([1.0 + (f[3] * 0.5) for f in flight_info])  # widebodies carry more
    seats_taken: set[tuple[int, str]] = set()
    on_board: set[tuple[int, int]] = set()
    drafts_b = []
    while len(drafts_b) < 1800:
        flight_id, departure, _, widebody, flight_status, distance = _pick(
            rng, flight_info, flight_cum
        )
        passenger_id = _pick(rng, passengers, passenger_cum)[0]
        if (flight_id, passenger_id) in on_board:
            continue
        seat_class = _weighted(rng, SEAT_CLASSES)
        if seat_class in ("first", "premium_economy") and not widebody:
            seat_class = "business" if seat_class == "first" else "economy"
        first_row, last_row, per_km, base = SEAT_LAYOUT[seat_class]
        letters = "ABCDEFGHJK" if widebody else "ABCDEF"
        if seat_class in ("first", "business"):
            letters = "ACDGHK" if widebody else "ACDF"
        seat = f"{rng.randint(first_row, last_row)}{rng.choice(letters)}"
        if (flight_id, seat) in seats_taken:
            continue
        seats_taken.add((flight_id, seat))
        on_board.add((flight_id, passenger_id))
        booked = departure.date() - timedelta(days=min(330, 1 + int(rng.expovariate(1 / 45))))
        price = round((base + distance * per_km) * rng.uniform(0.75, 1.4), 2)
        bags = _weighted(
            rng,
            ((0, 30), (1, 50), (2, 17), (3, 3))
            if seat_class == "economy"
            else ((1, 40), (2, 50), (3, 10)),
        )
        if flight_status == "cancelled":
            status = "refunded"
        else:
            status = _weighted(rng, (("confirmed", 92), ("cancelled", 8)))
        drafts_b.append(
            (booked.isoformat(), passenger_id, flight_id, seat_class, seat, price, bags, status)
        )
    drafts_b.sort()
    bookings: Rows = [
        (i, p, f, b, c, s, pr, bg, st)
        for i, (b, p, f, c, s, pr, bg, st) in enumerate(drafts_b, start=1)
    ]

    crew: Rows = []
    crew_by_base: dict[tuple[str, str], list[int]] = {}
    used_licenses: set[str] = set()
    for hub in hubs:
        for role, count, salary in CREW_ROLES:
            for _ in range(count):
                crew_id = len(crew) + 1
                first, last = _person(rng)
                hired = _day_between(rng, date(1998, 1, 1), date(2023, 12, 31))
                license_number = None  # only pilots hold an airline transport pilot licence
                if role != "flight_attendant":
                    license_number = _unique(
                        used_licenses, lambda: f"ATP-{rng.randint(1_000_000, 9_999_999)}"
                    )
                years = (date(2024, 12, 31) - hired).days // 365
                pay = float(salary + years * salary // 50 + rng.randint(-5, 5) * 1000)
                crew.append(
                    (crew_id, first, last, role, hub, hired.isoformat(), license_number, pay)
                )
                crew_by_base.setdefault((hub, role), []).append(crew_id)

    flight_crew: Rows = []
    for flight_id, _, hub, widebody, _, _ in flight_info:
        team = [
            rng.choice(crew_by_base[(hub, "captain")]),
            rng.choice(crew_by_base[(hub, "first_officer")]),
        ]
        attendants = crew_by_base[(hub, "flight_attendant")]
        team += rng.sample(
            attendants[: len(attendants) * 3 // 4] if rng.random() < 0.7 else attendants,
            3 if widebody else 2,
        )
        flight_crew.extend((flight_id, crew_id) for crew_id in sorted(team))

    return {
        "airports": airports,
        "aircraft": aircraft,
        "flights": flights,
        "passengers": passengers,
        "bookings": bookings,
        "crew_members": crew,
        "flight_crew": flight_crew,
    }


# ---------------------------------------------------------------------------
# Building

DEMO_DATABASES = (
    DemoDatabase("bookshop", 20240101, BOOKSHOP_DDL, _populate_bookshop),
    DemoDatabase("clinic", 20240202, CLINIC_DDL, _populate_clinic, CLINIC_DESCRIPTIONS),
    DemoDatabase("airline", 20240303, AIRLINE_DDL, _populate_airline),
)


def _fill(con: sqlite3.Connection, db: DemoDatabase) -> dict[str, int]:
    con.isolation_level = None
    con.execute("PRAGMA journal_mode = OFF")  # a failed build is deleted, never recovered
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA foreign_keys = ON")  # a generator bug fails the build, not a later query
    con.executescript(db.ddl)
    data = db.populate(random.Random(db.seed))
    con.execute("BEGIN")
    for table, rows in data.items():
        placeholders = ", ".join("?" * len(rows[0]))
        con.executemany(f"INSERT INTO {table} VALUES ({placeholders})", rows)
    con.execute("COMMIT")
    problems = con.execute("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"{db.db_id}: foreign key violations: {problems[:5]}")
    con.execute("VACUUM")
    return {table: len(rows) for table, rows in data.items()}


def _write_descriptions(con: sqlite3.Connection, docs: Descriptions, folder: Path) -> None:
    tables = [
        r[0]
        for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    ]
    if sorted(docs) != tables:
        raise RuntimeError(f"descriptions cover tables {sorted(docs)}, the database has {tables}")
    folder.mkdir(parents=True, exist_ok=True)
    for table, columns in docs.items():
        declared = [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]
        if [c[0] for c in columns] != declared:
            raise RuntimeError(f"descriptions of {table} do not match its columns {declared}")
        target = folder / f"{table}.csv"
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(DESCRIPTION_HEADER)
            for column, description, data_format, value_description in columns:
                writer.writerow(
                    (column, column.replace("_", " "), description, data_format, value_description)
                )
        tmp.replace(target)


def build_database(db: DemoDatabase, out_dir: Path, force: bool = False) -> BuildResult:
    """Build one demo database under ``out_dir/<db_id>/``.

    Returns:
        What was done; ``skipped`` is true when the file existed and ``force`` was not set.
    """
    target = out_dir / db.db_id / f"{db.db_id}.sqlite"
    if target.exists() and not force:
        return BuildResult(db.db_id, target, skipped=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        con = sqlite3.connect(tmp)
        try:
            counts = _fill(con, db)
            if db.descriptions:
                _write_descriptions(con, db.descriptions, target.parent / "database_description")
        finally:
            con.close()
        # The .sqlite file appears last and whole, so its presence means a finished build.
        tmp.replace(target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return BuildResult(
        db.db_id, target, skipped=False, tables=len(counts), rows=sum(counts.values())
    )


def build_all(out_dir: Path = DEFAULT_OUT, force: bool = False) -> list[BuildResult]:
    return [build_database(db, out_dir, force) for db in DEMO_DATABASES]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default: {DEFAULT_OUT})"
    )
    parser.add_argument("--force", action="store_true", help="rebuild databases that already exist")
    args = parser.parse_args(argv)
    for result in build_all(args.out, args.force):
        if result.skipped:
            print(
                f"{result.db_id:<10} skipped, already exists (use --force to rebuild): {result.path}"
            )
        else:
            print(
                f"{result.db_id:<10} {result.tables} tables {result.rows:>6,} rows  {result.path}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
