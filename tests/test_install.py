"""The installed command works outside the checkout: grammar and schemas ship in the package."""

import shutil
import subprocess

import pytest

from conftest import SANYA


@pytest.mark.skipif(shutil.which("rulesengine") is None, reason="package not installed (pip install .)")
def test_installed_command_runs_outside_the_checkout(tmp_path):
    done = subprocess.run(["rulesengine", "run", str(SANYA), "--example", "--target", "payable"],
                          cwd=tmp_path, capture_output=True, text=True, encoding="utf-8")
    assert done.returncode == 0, done.stderr
    # 30,000,000.00 + 18,000,000.00 + 4,500,000.00 + 150,000,000.00
    assert "202,500,000.00" in done.stdout
