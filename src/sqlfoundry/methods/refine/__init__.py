"""Optimizers: repair ``pred_sql`` (or failing ``candidates``).

- ``execution_refiner`` (``refine``): execute; on an error or an empty result ask
  the model to fix it from that feedback, up to ``max_rounds`` (MAC-SQL's
  Refiner and CHESS's revision, by their templates);
- ``din_sql_corrector`` (``din_sql``): DIN-SQL's self-correction, one review
  without executing.
"""
