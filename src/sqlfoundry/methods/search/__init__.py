"""SQL-o1's Monte Carlo tree search over partial SQL, with execution in the loop.

- :mod:`~sqlfoundry.methods.search.rewards`: the formulas (self-reward, execution
  self-consistency, execution penalty, priors, UCT), as pure functions;
- :mod:`~sqlfoundry.methods.search.draws`: a model's completion of a partial query
  read as clause-segment actions with their log probabilities;
- :mod:`~sqlfoundry.methods.search.mcts`: the search for one question;
- :mod:`~sqlfoundry.methods.search.operator`: the registered operator ``mcts_search``;
- :mod:`~sqlfoundry.methods.search.run`: a benchmark or file searched through a
  checkpointed pipeline, with predictions and an EX / oracle report.

Importing this package registers ``mcts_search``.
"""

from sqlfoundry.methods.search.operator import MCTSParams, MCTSSearch

__all__ = ["MCTSParams", "MCTSSearch"]
