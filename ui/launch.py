"""Start the app: ``python -m ui.launch [streamlit run options]`` (scripts/run-app.sh uses it).

The same as ``streamlit run app.py``, except that the folder ``pages/`` is never
taken for an old-style page folder: plain ``streamlit run`` lists its files
(app, explorer, history …) in the sidebar of the first visit after a start
until app.py's ``st.navigation`` has run. Here the server starts with that mode
off, so the sidebar only ever shows the Chinese page titles (ui.common's
``_leave_pages_directory_mode`` covers a plain ``streamlit run``).
"""
from __future__ import annotations

import re
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

    PagesManager.uses_pages_directory = False  # read by the first session's PagesManager
    run_streamlit(APP, sys.argv[1:] if argv is None else argv)


def run_streamlit(script: Path | str, args: list[str]) -> None:
    """``streamlit run SCRIPT ARGS`` with Streamlit's static files as the app serves them
    (serve_fixed_pages); bench/browser.py runs its floor page this way too."""
    from streamlit.web import cli

    serve_fixed_pages()
    sys.argv = ["streamlit", "run", str(script), *args]
    cli.main()


# Streamlit's page reads ``window.__streamlit`` once, as it loads (its embedding settings).
# BACKEND_BASE_URL: the app's own address, found from the page's by taking off a page's path.
BASE_URL_JS = """<script>(function () {
  var pages = %s, path = location.pathname.replace(/\\/+$/, ""), cut = path.lastIndexOf("/");
  if (pages.indexOf(decodeURIComponent(path.slice(cut + 1))) >= 0) path = path.slice(0, cut);
  window.__streamlit = Object.assign({}, window.__streamlit, {BACKEND_BASE_URL: location.origin + path + "/"});
})();</script>"""


# Streamlit 1.67's chart element (static/js/PlotlyChart.*.js) draws every plotly chart two or three
# times as a page opens, each a full layout of the figure in plotly.js (the 按领域 chart: about 0.1 s
# each time, on every load and after every filter change):
# - it mounts the chart before its container has been measured (width -1), so plotly.js draws at
#   its own width, and again once the width arrives a few milliseconds later;
# - an effect meant for a change of theme also runs once on mount, and hands plotly.js a copy of
#   the same figure, which it lays out again.
# Each fix is an exact piece of that file, replaced as the file is served; should one not be found
# (another Streamlit version), the file is served as it is and the log says so. The tests check
# that every piece is found, and that a chart is drawn once.
CHART_FIXES = (
    ("wait for the container's width",
     "children:i(q,{data:N.data",
     "children:v===-1?null:i(q,{data:N.data"),
    ("no theme effect on mount (the figure was themed as the state was made)",
     "(0,P.useEffect)(()=>{F(t=>Le(t,e.theme,c))},[e.id,c,e.theme])",
     "(()=>{let m=(0,P.useRef)(!0);(0,P.useEffect)(()=>{if(m.current){m.current=!1;return}"
     "F(t=>Le(t,e.theme,c))},[e.id,c,e.theme])})()"),
)
CHART_BUNDLE = re.compile(r"PlotlyChart\.[\w-]+\.js")


def fixed_chart_bundle(data: bytes) -> bytes | None:
    """PlotlyChart.*.js with CHART_FIXES applied; None if any piece is not found exactly once."""
    for why, old, new in CHART_FIXES:
        if data.count(old.encode()) != 1:
            print(f"ui.launch: Streamlit's chart bundle has changed, served as it is ({why}: not found)",
                  file=sys.stderr)
            return None
        data = data.replace(old.encode(), new.encode())
    return data


def serve_fixed_pages() -> None:
    """Streamlit's static files as the app serves them: index.html tells a page opened at its own
    address where the app is (see BASE_URL_JS), and the chart bundle has CHART_FIXES.

    A page opened at its own address (a bookmark, a link, a reload of /partner) connects to the
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
        from starlette.responses import FileResponse, HTMLResponse, Response

        handler = make(directory, base_url)
        index = Path(directory) / "index.html"
        html = index.read_text(encoding="utf-8").replace("<head>", "<head>" + script, 1)
        charts: dict[Path, bytes | None] = {}
        plain = handler.get_response

        async def get_response(path: str, scope):
            response = await plain(path, scope)
            if not isinstance(response, FileResponse):
                return response
            served = Path(response.path)
            if served == index:
                return HTMLResponse(html, headers={"Cache-Control": "no-cache"})
            if CHART_BUNDLE.fullmatch(served.name):
                if served not in charts:
                    charts[served] = fixed_chart_bundle(served.read_bytes())
                if charts[served] is not None:
                    return Response(charts[served], media_type="text/javascript",
                                    headers={"Cache-Control": response.headers.get("Cache-Control", "no-cache")})
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
