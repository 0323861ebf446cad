#!/usr/bin/env bash
# Install everything (Debian chromium + CJK fonts, Python packages) and run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export BROWSER_PATH="${BROWSER_PATH:-/usr/bin/chromium}"
exec python3 -m pytest -q -n 2 "$@"
