"""The offline retrieval method: Text-to-SQL with no model (see :mod:`.method`).

- :mod:`.method`: :class:`RetrievalMethod` and the ``retrieval_sql_generator`` operator;
- :mod:`.pairs` and :mod:`.templates`: the question/SQL pairs synthesized per database;
- :mod:`.linking`: question terms, structure cues, links to tables and columns;
- :mod:`.index` and :mod:`.features`: ranking the pairs against a question;
- :mod:`.adapt`, :mod:`.values` and :mod:`.substitution`: fitting the winner's SQL to
  the question, its values put in.
"""

from sqlfoundry.methods.retrieval.method import (
    PreparedInfo,
    RetrievalAnswer,
    RetrievalMethod,
    RetrievalSQLGenerator,
)

__all__ = ["PreparedInfo", "RetrievalAnswer", "RetrievalMethod", "RetrievalSQLGenerator"]
