#!/usr/bin/env bash
# Install everything (Debian chromium + CJK fonts, Python packages) and run every test:
# first the unit and page tests in parallel, then the browser tests one at a time
# (each starts its own server and a Chromium; running them beside the rest only makes them slow).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export BROWSER_PATH="${BROWSER_PATH:-/usr/bin/chromium}"
python3 -m pytest -q -n 2 --ignore=tests/e2e "$@"
python3 -m pytest -q tests/e2e "$@"
