#!/usr/bin/env bash
# Install and start the app. With no database yet, it builds the demo data set first.
set -euo pipefail
cd "$(dirname "$0")/.."
# pip only when a pinned package is missing or at another version (its own check costs 2-3 s)
python3 scripts/requirements_met.py requirements.txt ||
  python3 -m pip install -q --disable-pip-version-check -r requirements.txt
exec python3 -m ui.launch "$@"  # streamlit run app.py, without the English page list of pages/
