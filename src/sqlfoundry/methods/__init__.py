"""Text-to-SQL methods: ways of turning a question about a database into SQL.

- :mod:`sqlfoundry.methods.retrieval`: retrieval over question/SQL pairs
  synthesized offline for the database, with the question's values substituted
  into the retrieved SQL; needs no model (operator ``retrieval_sql_generator``).
"""
