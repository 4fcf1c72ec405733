"""Which operators a synthesis config may name, and what knowing them costs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from sqlfoundry.core.errors import ConfigError
from sqlfoundry.synth.pipelines import SynthSettings, step_list


def test_an_unknown_name_in_synth_ops_lists_every_operator_with_the_plugins():
    with pytest.raises(ConfigError) as caught:
        step_list("synth", SynthSettings(ops={"no_such_op": {}}))
    assert caught.value.message == "[synth.ops] names unknown operator(s): no_such_op"
    # The methods' operators are declared plugins: loaded to say what exists.
    assert "chess_generator" in caught.value.hint and "sql_generator" in caught.value.hint


def test_known_names_do_not_import_the_plugins():
    code = (
        "import sys\n"
        "from sqlfoundry.synth.pipelines import SynthSettings, step_list\n"
        "steps = step_list('synth', SynthSettings(ops={'sql_generator': {}}))\n"
        "assert steps[0]['op'] == 'sql_generator', steps\n"
        "print(sorted(m for m in sys.modules if m.startswith('sqlfoundry.methods')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    assert done.stdout.strip() == "[]"
