"""The Python API: the main jobs as plain functions, each one call.

Everything here is also reachable from the top-level package, lazily:
``sqlfoundry.synthesize``, ``sqlfoundry.refine``, ``sqlfoundry.evaluate``,
``sqlfoundry.load_benchmark``, ``sqlfoundry.run_method``,
``sqlfoundry.run_pipeline`` and ``sqlfoundry.Pipeline``. The functions take
paths, plain Python data or the library's own objects, open and close what they
need (worker pools, LLM clients, event loops), and return plain results; the
CLI commands are thin layers over the same library code.

- :mod:`sqlfoundry.api.synthesis`: :func:`synthesize`, :func:`refine`;
- :mod:`sqlfoundry.api.evaluation`: :func:`evaluate`, :func:`load_benchmark`;
- :mod:`sqlfoundry.api.methods`: :func:`run_method` and the methods it knows;
- :mod:`sqlfoundry.api.pipelines`: :func:`run_pipeline`, :func:`load_pipeline`.
"""
