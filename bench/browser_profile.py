"""Where a page's time goes in the browser: a CPU profile of one warm reload, by script file.

Starts the app (like bench/browser.py), opens the page once (warm), then reloads it under the
Chrome DevTools CPU profiler until the page is done and prints the sampled time per JavaScript
file (Streamlit's chunks are named after what they draw: PlotlyChart, DataFrame, index = the
app shell and React) plus garbage collection, idle and the rest.

    python bench/browser_profile.py --db PATH --page partner
"""
from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.browser import STAMP, TIMEOUT, VIEWPORT, wait_done  # noqa: E402
from tests.e2e.server import launch_browser, running_app  # noqa: E402


def by_file(profile: dict) -> collections.Counter:
    nodes = {n["id"]: n for n in profile["nodes"]}
    deltas = profile["timeDeltas"]
    ms = collections.Counter()
    for sample, dt in zip(profile["samples"], deltas):
        frame = nodes[sample]["callFrame"]
        url = frame.get("url") or f"({frame.get('functionName') or 'program'})"
        ms[url.rsplit("/", 1)[-1].split(".")[0] or url] += dt / 1000
    return ms


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--page", default="partner")
    args = ap.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with running_app(args.db, timeout=240) as base, sync_playwright() as p:
        browser = launch_browser(p)
        ctx = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        ctx.add_init_script(STAMP)
        page = ctx.new_page()
        page.set_default_timeout(TIMEOUT)
        url = f"{base}/{'' if args.page == 'overview' else args.page}"
        page.goto(url)
        wait_done(page)
        cdp = ctx.new_cdp_session(page)
        cdp.send("Profiler.enable")
        cdp.send("Profiler.setSamplingInterval", {"interval": 500})
        cdp.send("Profiler.start")
        page.reload()
        total = wait_done(page)
        prof = cdp.send("Profiler.stop")["profile"]
        browser.close()
    ms = by_file(prof)
    print(f"{args.page}: done after {total:.0f} ms; sampled main-thread time by script file:")
    for name, t in ms.most_common(12):
        print(f"  {t:8.0f} ms  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
