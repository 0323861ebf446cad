"""Start the app: ``python -m ui.launch [streamlit run options]`` (scripts/run-app.sh uses it).

The same as ``streamlit run app.py``, except that the folder ``pages/`` is never
taken for an old-style page folder: plain ``streamlit run`` lists its files
(app, explorer, history …) in the sidebar of the first visit after a start
until app.py's ``st.navigation`` has run. Here the server starts with that mode
off, so the sidebar only ever shows the Chinese page titles (ui.common's
``_leave_pages_directory_mode`` covers a plain ``streamlit run``).
"""
from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def main(argv: list[str] | None = None) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False  # read by the first session's PagesManager
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
