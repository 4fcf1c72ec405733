"""Selectors: one ``pred_sql`` from a record's ``candidates``.

- ``exec_vote_selector`` (``exec_vote``): execute all, group by result, the
  largest group wins, ties to the fastest (Alpha-SQL's rule; no model);
- ``first_valid_selector`` (``first_valid``): the first candidate that runs;
- ``llm_selector`` (``llm``): the model chooses, listwise or pairwise, among
  candidates with distinct results.
"""
