#!/usr/bin/env bash
# Install everything (Debian chromium + CJK fonts, Python packages) and run every test:
# first the unit and page tests in parallel, then the browser tests one at a time
# (each starts its own server and a Chromium; running them beside the rest only makes them slow).
# The browser tests run even when the unit tests fail; the exit status is non-zero if either failed.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit $?
export BROWSER_PATH="${BROWSER_PATH:-/usr/bin/chromium}"
python3 -m pytest -q -n 2 --ignore=tests/e2e "$@"
unit=$?
python3 -m pytest -q tests/e2e "$@"
browser=$?
if [ "$unit" -ne 0 ] || [ "$browser" -ne 0 ]; then
    echo "测试未全部通过：单元与页面测试退出码 $unit，浏览器测试退出码 $browser" >&2
    exit $(( unit != 0 ? unit : browser ))
fi
