"""``chess_generator``: CHESS's candidate generator (template ``chess_generate``).

A divide-and-conquer prompt over the DDL of the record's schema subset and the
database values CHESS's retrieval found for the question
(``meta["retrieved_values"]``). The ``chess`` preset samples it several times
(``sample_scaler``) for candidates. Squrve's ``ChessScaler`` is that sampling.
"""

from __future__ import annotations

from sqlfoundry.core.registry import register
from sqlfoundry.methods.generate.template import GeneratorParams, TemplateGenerator


class ChessParams(GeneratorParams):
    template: str = "chess_generate"


@register
class ChessGenerator(TemplateGenerator):
    """Writes ``pred_sql`` from CHESS's divide-and-conquer prompt with the retrieved values."""

    name = "chess_generator"
    Params = ChessParams
    method = "chess"
    uses = ("evidence", "schema_subset", "schema_links", "meta.retrieved_values")
