"""Benchmark: every page as a manager feels it, in headless Chromium, against a floor page.

For every page of app.py's navigation (ui/navigation.py): open it once (warm-up: the server's
query caches fill, the browser caches the scripts), then open it again ``--repeat`` times (as a
reload does: warm) and take the median of the time from the start until the page's script run
is over and every chart has drawn (every plotly chart laid out, maps included, every table's
grid drawn), taken at the page's last change a user can see (STAMP). Also from the sidebar:
from 总览, a click on the page's link until the same state (median of ``--repeat``).

In the same run, the floor page (bench/floor_page.py: one 14-bar plotly chart and one 14-row
table, the app's own chart config and table helper, served as the app is: ui.launch) is
measured the same way, opened in turns with each page so that each pair meets the same load;
each page's ratio is to the floor. Absolute times swing by 2x on this shared machine; ratios
hold better.

    python bench/browser.py [--db PATH] [--repeat 3] [--pages overview,region] [--trace DIR] [--port N]

``--db``: a database to use (default: a copy of the demo database). ``--trace DIR``: write a
Playwright trace of each page's last reload (open with ``playwright show-trace``).
The last line names the slowest page.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.e2e.server import free_port, launch_browser, navigation, running_app  # noqa: E402

TIMEOUT = 90_000
VIEWPORT = {"width": 1366, "height": 768}
# The page is done: its script run is over, and every chart (maps too: SVG) and table has drawn.
DONE = """() => {
  const app = document.querySelector("[data-testid='stApp']");
  if (!app || app.getAttribute("data-test-script-state") !== "notRunning") return false;
  if (!document.querySelector("h1")) return false;
  const shown = (e) => e.getClientRects().length > 0;  // not in a closed tab or expander
  for (const g of document.querySelectorAll(".js-plotly-plot")) {
    if (!shown(g)) continue;
    if (!g._fullLayout || !g.querySelector(".main-svg")) return false;
  }
  for (const d of document.querySelectorAll("[data-testid='stDataFrame']"))
    if (shown(d) && !d.querySelector("canvas")) return false;
  return true;
}"""


@contextmanager
def floor_server():
    """``streamlit run bench/floor_page.py`` with the app's own settings (its config folder) and
    static files (ui.launch)."""
    port = free_port()
    # through ui.launch, as the app: the same fixes to Streamlit's static files (a chart drawn once)
    launch = "import sys; from ui.launch import run_streamlit; run_streamlit(sys.argv[1], sys.argv[2:])"
    cmd = [sys.executable, "-c", launch, str(REPO / "bench" / "floor_page.py"),
           "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        import urllib.request

        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# Every change to the page is stamped (the page's own clock): the page is over when it is done
# (above) and nothing has changed for QUIET ms; its time is its last change. (A page may run its
# script twice, e.g. after setting the URL: a first "done" can come before the second run.)
# Not a change a user sees: what happens inside a <canvas>, which is never drawn (the data grid
# puts an accessibility copy of its cells there about 0.3 s after it has drawn them; counted
# until 2026-12-03, it added the same 0.3 s to the floor page and to every page with a table).
STAMP = """new MutationObserver((records) => {
  const seen = (r) => { const e = r.target.nodeType === 1 ? r.target : r.target.parentElement;
                        return !(e && e.closest("canvas")); };
  if (records.some(seen)) window.__lastChange = performance.now();
}).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});"""
QUIET = 800


def wait_done(page) -> float:
    """Wait until the page is done and quiet; the time of its last change since the reload (ms)."""
    page.wait_for_function(f"""() => ({DONE})() && performance.now() - (window.__lastChange || 0) > {QUIET}""",
                           polling=100, timeout=TIMEOUT)
    return page.evaluate("() => window.__lastChange || performance.now()")


def open_once(page, url: str, trace_to: Path | None = None) -> float:
    """Open ``url`` (warm: its scripts in the browser's cache) until the page is done (s)."""
    if trace_to:
        page.context.tracing.start(screenshots=True, snapshots=False)
    page.goto(url)
    t = wait_done(page) / 1000
    if trace_to:
        page.context.tracing.stop(path=str(trace_to))
    page.wait_for_timeout(300)
    return t


def in_turns(page, floor_url: str, url: str, repeat: int,
             trace_to: Path | None = None) -> tuple[list[float], list[float]]:
    """The floor page and the page opened in turns, ``repeat`` times each, after a warm-up (the
    server's caches fill, the browser caches the scripts): each pair meets the same load on this
    shared machine."""
    for u in (floor_url, url):
        open_once(page, u)
    floor, times = [], []
    for i in range(repeat):
        floor.append(open_once(page, floor_url))
        times.append(open_once(page, url, trace_to if i == repeat - 1 else None))
    return floor, times


def switches(page, base: str, title: str, url: str, repeat: int) -> list[float]:
    """From 总览 (for 总览: from 数据报送), a click on the page's sidebar link until the page is done (s)."""
    times = []
    for _ in range(repeat):
        page.goto(base + ("/upload" if url == "overview" else "/"))
        wait_done(page)
        page.wait_for_timeout(300)
        link = page.locator(f"[data-testid='stSidebarNavLink']:has(span[label='{title}'])")
        t0 = time.perf_counter()
        link.click()
        # the page's own address (总览: the app's), whatever query its filters then add
        page.wait_for_url(lambda u: urlsplit(u).path.rstrip("/") == ("" if url == "overview" else f"/{url}"),
                          wait_until="commit")
        page.wait_for_function(f"""() => [...document.querySelectorAll('h1')].some(h => h.textContent.includes({title!r}))""",
                               timeout=TIMEOUT)
        page.evaluate("() => { window.__lastChange = performance.now(); }")
        wait_done(page)
        times.append(time.perf_counter() - t0 - QUIET / 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--pages", help="url paths, comma-separated (default: every page)")
    ap.add_argument("--trace", type=Path, help="folder for a Playwright trace of each page")
    ap.add_argument("--no-switch", action="store_true", help="skip the sidebar-switch column")
    ap.add_argument("--port", type=int, help="the app's port (default: a free one)")
    args = ap.parse_args(argv)

    # what a visitor is offered (系统管理 only appears for an administrator)
    pages = [(t, u) for section, entries in navigation().items() if section != "系统管理" for _, t, _, u in entries]
    if args.pages:
        want = args.pages.split(",")
        pages = [p for p in pages if p[1] in want]
    if args.db:
        db = args.db
    else:
        from tests.dbfixtures import demo_db_copy

        db = demo_db_copy(Path(tempfile.mkdtemp(prefix="kjhz-bench-browser-")))
    if args.trace:
        args.trace.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    rows = []
    with running_app(db, port=args.port, timeout=240) as base, floor_server() as floor, sync_playwright() as p:
        browser = launch_browser(p)
        ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        ctx.add_init_script(STAMP)
        page = ctx.new_page()
        page.set_default_timeout(TIMEOUT)
        for title, url in pages:
            path = "" if url == "overview" else url
            floor_ts, t = in_turns(page, floor + "/", f"{base}/{path}", args.repeat,
                                   args.trace / f"{url}.zip" if args.trace else None)
            floor_t = statistics.median(floor_ts)
            charts = page.locator(".js-plotly-plot").count()
            tables = page.locator("[data-testid='stDataFrame']").count()
            sw = None if args.no_switch else statistics.median(switches(page, base, title, url, args.repeat))
            rows.append((title, charts, tables, statistics.median(t), floor_t, sw))
            print(f"  {title}: {statistics.median(t):.2f} s (floor {floor_t:.2f} s)", file=sys.stderr, flush=True)
        browser.close()

    print(f"\n{time.strftime('%Y-%m-%d %H:%M')}  Chromium {VIEWPORT['width']}x{VIEWPORT['height']}, "
          f"median of {args.repeat} warm loads; floor = one 14-bar chart + one 14-row table, opened "
          "in turns with each page\n")
    print("| 页面 | 图表 | 表格 | 热刷新 | 基准页 | 比值 | 侧栏切换 |")
    print("|---|---|---|---|---|---|---|")
    for title, charts, tables, t, f, sw in rows:
        swtxt = "—" if sw is None else f"{sw:.2f} s"
        print(f"| {title} | {charts} | {tables} | {t:.2f} s | {f:.2f} s | {t / f:.2f}x | {swtxt} |")
    slow = max(rows, key=lambda r: r[3] / r[4])
    print(f"\nslowest page: {slow[0]} {slow[3]:.2f} s, {slow[3] / slow[4]:.2f}x the floor page ({slow[4]:.2f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
