"""Executors: where a pipeline's steps run (see :mod:`sqlfoundry.core.executors.base`)."""

from sqlfoundry.core.executors.base import Executor, ExecutorSettings, make_executor

__all__ = ["Executor", "ExecutorSettings", "make_executor"]
