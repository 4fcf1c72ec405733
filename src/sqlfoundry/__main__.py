"""``python -m sqlfoundry``: the same as the ``sqlfoundry`` command."""

from sqlfoundry.cli.entry import main

main()
