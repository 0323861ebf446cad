"""scripts/run-tests.sh: the browser tests run even when the unit tests fail; either failing fails the run."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_script(tmp_path: Path, unit_status: int, browser_status: int) -> tuple[int, list[str], str]:
    """Run a copy of the script with setup.sh and python3 replaced by stand-ins that record their calls."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "run-tests.sh", repo / "scripts" / "run-tests.sh")
    (repo / "scripts" / "setup.sh").write_text("exit 0\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = tmp_path / "calls.txt"
    fake = bin_dir / "python3"
    fake.write_text(f"""#!/bin/sh
echo "$*" >> {calls}
case "$*" in
  *--ignore=tests/e2e*) exit {unit_status} ;;
  *tests/e2e*) exit {browser_status} ;;
esac
exit 0
""")
    fake.chmod(0o755)
    proc = subprocess.run(["bash", str(repo / "scripts" / "run-tests.sh")], capture_output=True, text=True,
                          env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}, timeout=60)
    return proc.returncode, calls.read_text().splitlines() if calls.exists() else [], proc.stderr


@pytest.mark.parametrize("unit, browser, expected", [(0, 0, 0), (1, 0, 1), (0, 1, 1), (2, 1, 2)])
def test_browser_tests_run_even_when_unit_tests_fail(tmp_path, unit, browser, expected):
    status, calls, err = run_script(tmp_path, unit, browser)
    assert status == expected
    assert [("e2e" in c and "--ignore" not in c) for c in calls] == [False, True]  # both stages ran, in order
    if expected:
        assert f"单元与页面测试退出码 {unit}，浏览器测试退出码 {browser}" in err
