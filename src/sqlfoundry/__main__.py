"""``python -m sqlfoundry``: the same as the ``sqlfoundry`` command."""

from sqlfoundry.cli.main import main

main()
