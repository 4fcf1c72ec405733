"""`sqlfoundry serve` checks the folder it writes to (a local service's cache_dir) before
it starts, in one line naming it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = Path(sys.executable).with_name("sqlfoundry")


def test_a_cache_dir_that_is_a_file_is_refused_before_serving(tmp_path, concerts_root):
    (tmp_path / "blocker").write_text("a file")
    config = tmp_path / "gateway.toml"
    config.write_text(f'[gateway]\ndb_root = "{concerts_root}"\napi_keys = ["k"]\n'
                      '[services.l]\ntype = "local"\n[services.l.local]\ncache_dir = "blocker"\n')  # fmt: skip
    done = subprocess.run([str(CLI), "serve", "--config", str(config), "-q"], capture_output=True,
                          text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"error: services.l.local.cache_dir {tmp_path / 'blocker'}: exists and is not a folder\n"
    )
