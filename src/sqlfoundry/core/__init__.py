"""The core: records, operators, pipelines, config, run storage and errors."""
