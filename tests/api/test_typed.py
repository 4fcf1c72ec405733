"""mypy sees the package as typed (the ``py.typed`` marker) and reads the API's signatures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mypy")


@pytest.mark.slow
def test_mypy_reads_the_api_types(tmp_path: Path):
    script = tmp_path / "use.py"
    script.write_text(
        "import sqlfoundry\n"
        "run = sqlfoundry.synthesize('dbs', num_per_db=3)\n"
        "reveal_type(run)\n"
        "reveal_type(sqlfoundry.run_method('q', db_id='x', databases='dbs').predictions)\n"
        "sqlfoundry.evaluate(['SELECT 1'], gold=None, metrics=['ex'], timeout='slow')\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache"),
         "--no-error-summary", str(script)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert not [x for x in lines if "import-untyped" in x or "py.typed" in x], result.stdout
    assert 'Revealed type is "sqlfoundry.synth.run.SynthesisRun"' in lines[0]
    assert 'Revealed type is "list[str | None]"' in lines[1]
    # A wrong argument type is caught: the signatures are really read.
    assert 'Argument "timeout" to "evaluate" has incompatible type "str"' in lines[2]
