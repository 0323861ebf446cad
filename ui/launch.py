"""Start the app: ``python -m ui.launch [streamlit run options]`` (scripts/run-app.sh uses it).

The same as ``streamlit run app.py``, except that the folder ``pages/`` is never
taken for an old-style page folder: plain ``streamlit run`` lists its files
(app, explorer, history …) in the sidebar of the first visit after a start
until app.py's ``st.navigation`` has run. Here the server starts with that mode
off, so the sidebar only ever shows the Chinese page titles (ui.common's
``_leave_pages_directory_mode`` covers a plain ``streamlit run``).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
APP = REPO / "app.py"
# Builds the demo database (pipelines.demo.build_demo_atomic: a temporary database moved into
# place when complete, one builder at a time under a file lock).
BUILD = "import sys; from pipelines.demo import build_demo_atomic; build_demo_atomic(sys.argv[1])"


def main(argv: list[str] | None = None) -> None:
    start_demo_build()
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False  # read by the first session's PagesManager
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


def start_demo_build() -> subprocess.Popen | None:
    """First start (no database yet): the demo database is built in a process of its own from
    now on, while Streamlit starts (about 4 s), instead of from the first visit. The first page
    waits for it and shows its progress as before (ui.common.ensure_database); if this process
    fails, the server builds the database itself. Ctrl+C stops it with the server (a build cut
    short leaves only its temporary folder, which the next build clears)."""
    from pipelines.vocab import DEFAULT_DB

    db = Path(DEFAULT_DB).resolve()
    if db.exists():
        return None
    return subprocess.Popen([sys.executable, "-c", BUILD, str(db)], cwd=REPO, stdin=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
