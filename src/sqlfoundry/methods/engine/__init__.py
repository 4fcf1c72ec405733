"""The engine: a run config (ours, or Squrve's JSON) into core pipelines, run and scored.

- :mod:`.config`: the config models, ``exec_process`` plans;
- :mod:`.squrve`: Squrve's config format read into ours;
- :mod:`.dataset`: the questions (a benchmark, or a file over a folder of databases);
- :mod:`.build`: each task's stages built and checked;
- :mod:`.runner`: :class:`Engine`, the run directory and the report;
- :mod:`.metrics` and :mod:`.report`: scores from :mod:`sqlfoundry.bench`, and the page.
"""

from sqlfoundry.methods.engine.config import RunConfig, read_config
from sqlfoundry.methods.engine.runner import Engine

__all__ = ["Engine", "RunConfig", "read_config"]
