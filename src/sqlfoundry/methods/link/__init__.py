"""Schema linkers: the tables, columns and values a question needs (``schema_links``).

``schema_links`` is ``{"tables": [...], "columns": ["table.column", ...],
"values": [...]}`` (DIN-SQL's linker adds ``"joins": ["t.a = u.b", ...]``),
names spelled as the schema spells them.

- ``llm_linker`` (``llm``): one prompt returning tables, columns and values as JSON;
- ``lexical_linker`` (``lexical``): no model: names, synonyms and database values;
- ``din_sql_linker`` (``din_sql``): DIN-SQL's chain-of-thought linking;
- ``chess_keywords`` and ``chess_values``: CHESS's keyword extraction and its
  retrieval of database values (MinHash LSH, :mod:`.value_lsh`).
"""
