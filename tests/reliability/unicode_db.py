"""A SQLite database whose tables and columns are named in four scripts."""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = """
CREATE TABLE "顧客" ("顧客ID" INTEGER PRIMARY KEY, "名前" TEXT NOT NULL, "都市" TEXT, "年齢" INTEGER);
CREATE TABLE "заказы" ("номер" INTEGER PRIMARY KEY, "顧客ID" INTEGER REFERENCES "顧客" ("顧客ID"),
                       "сумма" REAL, "статус" TEXT);
CREATE TABLE "élèves" ("id" INTEGER PRIMARY KEY, "prénom" TEXT NOT NULL, "âge" INTEGER,
                       "ville" TEXT);
CREATE TABLE "Ölçüm" ("kimlik" INTEGER PRIMARY KEY, "öğrenci" INTEGER REFERENCES "élèves" ("id"),
                      "değer" REAL, "birim" TEXT);
"""

CITIES = ["東京", "大阪", "京都", "札幌"]
STATUSES = ["новый", "оплачен", "отменён"]
TOWNS = ["Lyon", "Québec", "Genève", "Nîmes"]
UNITS = ["kg", "cm", "°C"]


def build(root: Path, name: str = "unicode_db") -> Path:
    """``root/name/name.sqlite`` with deterministic rows; returns the file."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.executemany(
        'INSERT INTO "顧客" VALUES (?, ?, ?, ?)',
        [(i, f"顧客{i}", CITIES[i % 4], 20 + (i * 7) % 50) for i in range(1, 41)],
    )
    conn.executemany(
        'INSERT INTO "заказы" VALUES (?, ?, ?, ?)',
        [(i, 1 + (i * 3) % 40, round(10 + (i * 13) % 200 + 0.5, 2), STATUSES[i % 3])
         for i in range(1, 121)],
    )  # fmt: skip
    conn.executemany(
        'INSERT INTO "élèves" VALUES (?, ?, ?, ?)',
        [(i, f"Élève{i}", 10 + i % 9, TOWNS[i % 4]) for i in range(1, 31)],
    )
    conn.executemany(
        'INSERT INTO "Ölçüm" VALUES (?, ?, ?, ?)',
        [(i, 1 + (i * 5) % 30, float(i % 17) + 0.25, UNITS[i % 3]) for i in range(1, 91)],
    )
    conn.commit()
    conn.close()
    return path
