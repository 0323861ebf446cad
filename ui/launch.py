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
    connect_straight_from_pages()
    sys.argv = ["streamlit", "run", str(APP), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


# Streamlit's page reads ``window.__streamlit`` once, as it loads (its embedding settings).
# BACKEND_BASE_URL: the app's own address, found from the page's by taking off a page's path.
BASE_URL_JS = """<script>(function () {
  var pages = %s, path = location.pathname.replace(/\\/+$/, ""), cut = path.lastIndexOf("/");
  if (pages.indexOf(decodeURIComponent(path.slice(cut + 1))) >= 0) path = path.slice(0, cut);
  window.__streamlit = Object.assign({}, window.__streamlit, {BACKEND_BASE_URL: location.origin + path + "/"});
})();</script>"""


def connect_straight_from_pages() -> None:
    """A page opened at its own address (a bookmark, a link, a reload of /partner) connects to the
    server at once. Without this, Streamlit's page first takes /partner for the app's address: its
    health check there fails, and it tries the app's root address after a back-off, about 0.15 s
    later on every load of every page but 总览. The page is told the app's address instead
    (Streamlit's ``window.__streamlit.BACKEND_BASE_URL`` setting); should that ever be wrong (a
    proxy's path), Streamlit still tries the address above it, as before."""
    import json

    from streamlit.web.server.starlette import starlette_static_routes as routes

    from ui.navigation import url_paths

    make = routes.create_streamlit_static_handler
    if getattr(make, "kjhz", False):
        return
    script = BASE_URL_JS % json.dumps(url_paths())

    def create(directory: str, base_url: str | None):
        from starlette.responses import FileResponse, HTMLResponse

        handler = make(directory, base_url)
        index = Path(directory) / "index.html"
        html = index.read_text(encoding="utf-8").replace("<head>", "<head>" + script, 1)
        plain = handler.get_response

        async def get_response(path: str, scope):
            response = await plain(path, scope)
            if isinstance(response, FileResponse) and Path(response.path) == index:
                return HTMLResponse(html, headers={"Cache-Control": "no-cache"})
            return response

        handler.get_response = get_response
        return handler

    create.kjhz = True
    routes.create_streamlit_static_handler = create


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
