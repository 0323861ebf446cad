"""The overview in a real browser: fresh start builds the demo, 14 indicators show,
nothing leaves the machine, and a return loaded from the command line while the
app is serving shows after a reload."""
from __future__ import annotations

import io
import subprocess
import sys

import openpyxl
import pytest

from tests.e2e.server import REPO, is_local, launch_browser, running_app

playwright = pytest.importorskip("playwright.sync_api")


def _bar_labels(page) -> list[str]:
    return page.eval_on_selector_all(".js-plotly-plot .ytick text", "els => els.map(e => e.textContent)")


def _summary(page) -> str:
    return page.locator("h4").first.inner_text()


def test_fresh_start_then_cli_load_shows_after_reload(tmp_path):
    db = tmp_path / "fresh" / "kjhz.duckdb"  # nothing there: the app must build the demo
    outside: list[str] = []
    with running_app(db, timeout=120) as base, playwright.sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("request", lambda r: None if is_local(r.url) else outside.append(r.url))
        page.goto(base + "/")
        page.wait_for_selector(".js-plotly-plot .ytick text", timeout=240_000)
        labels = _bar_labels(page)
        assert len(labels) == 14 and labels[-1].startswith("I01") and labels[0].startswith("I14")
        assert "演示数据" in page.locator("[data-testid='stAlert']").first.inner_text()
        before = _summary(page)
        assert "截至2020年12月底" in before and "已完成8项" in before
        page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

        # the command line loads a corrected 2020H2 return for 自治区本级 (3 more country centres)
        from pipelines.demo import demo_returns
        name, data, _ = next(r for r in demo_returns() if r[0].startswith("自治区本级_2020年下半年"))
        wb = openpyxl.load_workbook(io.BytesIO(data))
        ws = wb["表1 指标进展"]
        row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "I14")
        ws.cell(row, 4).value = int(ws.cell(row, 4).value) + 3
        fixed = tmp_path / "自治区本级_2020年下半年_更正.xlsx"
        wb.save(fixed)
        out = subprocess.run([sys.executable, "-m", "pipelines.ingest", "--db", str(db), "--json", str(fixed)],
                             cwd=REPO, capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stdout + out.stderr
        assert '"status": "loaded"' in out.stdout and '"version": 2' in out.stdout

        page.reload()
        page.wait_for_selector(".js-plotly-plot .ytick text", timeout=60_000)
        page.wait_for_function("() => document.querySelector('h4') && "
                               "document.querySelector('h4').innerText.includes('已完成9项')", timeout=60_000)
        browser.close()
    assert outside == [], f"requests left the machine: {outside}"
