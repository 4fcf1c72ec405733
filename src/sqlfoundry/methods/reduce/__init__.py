"""Reducers: cut the schema down to what a question may need (``schema_subset``).

- ``zero_reducer`` (``zero``): the whole schema;
- ``embedding_reducer`` (``embedding``): the columns and tables most similar to
  the question by embedding, LinkAlign step-1 style.
"""
