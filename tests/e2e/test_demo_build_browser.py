"""The first start in a real browser: the demo database appears whole or not at all.

The page that starts the build is closed half-way; the build goes on without
it, a second visitor meanwhile sees the same Chinese progress, and the next
visit finds the whole demo (78 returns from all 13 units). The sidebar never
lists the files of pages/ (app, explorer, history …), not even for a moment.
"""
from __future__ import annotations

import re
import time

import pytest

from pipelines import store
from tests.e2e.server import launch_browser, running_app

playwright = pytest.importorskip("playwright.sync_api")

# every text the sidebar showed (icons' names left out), sampled every 50 ms from the first paint
WATCH_SIDEBAR = """
window.__sidebar = [];
setInterval(() => {
  const s = document.querySelector('[data-testid="stSidebar"]');
  if (!s) return;
  const c = s.cloneNode(true);
  c.querySelectorAll('[data-testid="stIconMaterial"]').forEach(e => e.remove());
  window.__sidebar.push(c.textContent);
}, 50);
"""
PAGE_FILES = re.compile(r"\b(app|overview|trends|region|sector|partner|explorer|upload|reporting|history|briefing)\b")
PROGRESS = re.compile(r"正在载入演示报表 (\d+)/78")


def _progress(page) -> int | None:
    m = PROGRESS.search(page.locator("[data-testid='stMain']").inner_text())
    return int(m.group(1)) if m else None


def test_a_page_closed_during_the_demo_build_leaves_a_whole_demo(tmp_path):
    db = tmp_path / "fresh" / "kjhz.duckdb"
    with running_app(db, timeout=120) as base, playwright.sync_playwright() as p:
        browser = launch_browser(p)
        first = browser.new_page(viewport={"width": 1400, "height": 900})
        first.add_init_script(WATCH_SIDEBAR)
        first.goto(base + "/")
        first.wait_for_selector("text=首次启动：正在生成演示数据库", timeout=60_000)
        first.wait_for_function("() => /正在载入演示报表 [1-9]\\d*\\/78/.test(document.body.innerText)", timeout=180_000)
        seen_first = _progress(first)
        assert seen_first is not None and seen_first < 78
        assert not db.exists()  # nothing in place while it is being built
        sidebar = first.evaluate("window.__sidebar")
        first.close()  # the visitor leaves half-way

        second = browser.new_page(viewport={"width": 1400, "height": 900})
        second.add_init_script(WATCH_SIDEBAR)
        second.goto(base + "/")
        # the same build, going on: its progress, or (if it just finished) the overview
        second.wait_for_function("() => /正在载入演示报表 \\d+\\/78/.test(document.body.innerText)"
                                 " || document.querySelector('.js-plotly-plot .ytick text')", timeout=60_000)
        later = _progress(second)
        assert later is None or later >= seen_first
        second.reload()  # a reload neither restarts nor breaks it
        second.wait_for_selector(".js-plotly-plot .ytick text", timeout=240_000)
        assert "演示数据" in second.locator("[data-testid='stAlert']").first.inner_text()
        sidebar += second.evaluate("window.__sidebar")
        browser.close()

    assert sidebar and all("总览" in s or "实施监测" in s for s in sidebar if s.strip())
    english = sorted({m for s in sidebar for m in PAGE_FILES.findall(s)})
    assert english == [], english
    with store.connect(db) as con:
        n, units = con.execute("SELECT count(*), count(DISTINCT unit_code) FROM submissions "
                               "WHERE status = 'loaded' AND source = 'demo'").fetchone()
        dataset = store.get_meta(con, "dataset")
    assert (n, units, dataset) == (78, 13, "demo")
    assert not any(p.name.endswith(".demo-building") for p in db.parent.iterdir())
