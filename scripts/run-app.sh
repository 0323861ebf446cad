#!/usr/bin/env bash
# Install and start the app. With no database yet, it builds the demo data set first.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install -q --disable-pip-version-check -r requirements.txt
exec python3 -m ui.launch "$@"  # streamlit run app.py, without the English page list of pages/
