"""sqlfoundry: a toolkit for the whole Text-to-SQL data loop."""

__version__ = "0.1.0"
