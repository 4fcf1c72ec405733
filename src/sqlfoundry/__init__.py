"""sqlfoundry: a toolkit for the whole Text-to-SQL data loop.

The main jobs are one call each::

    import sqlfoundry

    run = sqlfoundry.synthesize("examples/demo_dbs", num_per_db=20)   # databases -> records
    run.export("llamafactory", "exports/demo")                        # training files
    refined = sqlfoundry.refine("pairs.jsonl", "examples/demo_dbs")   # your pairs -> records
    bench = sqlfoundry.load_benchmark("spider:dev:first-100")         # a benchmark selection
    answers = sqlfoundry.run_method(bench, method="retrieval")        # questions -> SQL
    result = sqlfoundry.evaluate(answers, bench, metrics=["ex", "em"])
    print(result.report["ex"])

``sqlfoundry.run_methods("run.toml", run_dir=...)`` runs a methods config as
``sqlfoundry run`` does. ``sqlfoundry.Pipeline`` builds a pipeline of registered operators from a config
(``Pipeline.from_file("steps.toml")``) and ``sqlfoundry.run_pipeline`` runs it.
Every name is imported on first use, so ``import sqlfoundry`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the module that defines it, imported when the name is first used.
_LAZY = {
    "synthesize": "sqlfoundry.api.synthesis",
    "refine": "sqlfoundry.api.synthesis",
    "evaluate": "sqlfoundry.api.evaluation",
    "load_benchmark": "sqlfoundry.api.evaluation",
    "run_method": "sqlfoundry.api.methods",
    "run_methods": "sqlfoundry.api.methods",
    "method_names": "sqlfoundry.api.methods",
    "run_pipeline": "sqlfoundry.api.pipelines",
    "Pipeline": "sqlfoundry.core.pipeline",
    "Sample": "sqlfoundry.core.sample",
    "SqlfoundryError": "sqlfoundry.core.errors",
}

__all__ = [
    "Pipeline",
    "Sample",
    "SqlfoundryError",
    "__version__",
    "evaluate",
    "load_benchmark",
    "method_names",
    "refine",
    "run_method",
    "run_methods",
    "run_pipeline",
    "synthesize",
]

if TYPE_CHECKING:  # what type checkers and IDEs see; nothing is imported at run time
    from sqlfoundry.api.evaluation import evaluate, load_benchmark
    from sqlfoundry.api.methods import method_names, run_method, run_methods
    from sqlfoundry.api.pipelines import run_pipeline
    from sqlfoundry.api.synthesis import refine, synthesize
    from sqlfoundry.core.errors import SqlfoundryError
    from sqlfoundry.core.pipeline import Pipeline
    from sqlfoundry.core.sample import Sample


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sqlfoundry' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
