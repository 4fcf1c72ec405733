"""The demo run of ``sqlfoundry run``: its config and questions over the demo databases."""
