"""Generators (``pred_sql``), decomposers (sub-questions) and scalers (``candidates``).

- ``zero_shot_generator`` (``zero_shot``): the ``text2sql`` prompt, one call;
- ``few_shot_generator`` (``few_shot``): DAIL-SQL-style examples from a pair pool;
- ``din_sql_classifier`` / ``din_sql_generator``: DIN-SQL's classification and
  class-specific generation;
- ``mac_sql_decomposer``: MAC-SQL's sub-questions and SQL in one call;
- ``chess_generator``: CHESS's divide-and-conquer candidate prompt;
- ``sample_scaler`` (``sample``): any generator run n times for candidates.
"""
