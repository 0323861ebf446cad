"""The 简报 page in headless Chromium: both downloads arrive and open; 总览 and 简报 print to A4.

Runs ``streamlit run app.py`` on a private copy of the demo database. Nothing may be
fetched from outside localhost.
"""
from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from tests.dbfixtures import demo_db_copy
from tests.e2e.server import CHROMIUM, launch_browser, local_page, running_app

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
TIMEOUT = 180_000


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))


def test_briefing_downloads_arrive_and_pages_print_to_two_a4_pages(tmp_path):
    import docx

    db = demo_db_copy(tmp_path)
    outside: list[str] = []
    with running_app(db) as base, sync_api.sync_playwright() as p:
        browser = launch_browser(p)
        page = local_page(browser, outside, {"width": 1366, "height": 900}, TIMEOUT)
        page.goto(base + "/briefing?as_of=2019-12-31")
        page.get_by_text("五、数据说明").first.wait_for()

        with page.expect_download(timeout=TIMEOUT) as dl:
            page.get_by_role("button", name="下载简报（Word）").click()
        assert dl.value.suggested_filename == "简报_全区_2019-12-31.docx"
        d = docx.Document(dl.value.path())
        assert len(d.tables[0].rows) == 15 and len(d.inline_shapes) == 5

        with page.expect_download(timeout=TIMEOUT) as dl:
            page.get_by_role("button", name="下载全部图表（PNG，zip）").click()
        assert dl.value.suggested_filename == "简报图表_全区_2019-12-31.zip"
        with zipfile.ZipFile(io.BytesIO(Path(dl.value.path()).read_bytes())) as z:
            assert len([n for n in z.namelist() if n.endswith(".png")]) == 5

        # printing from the browser: no sidebar, one or two A4 pages
        for path, ready in (("/briefing?as_of=2019-12-31", "五、数据说明"), ("/?as_of=2019-12-31", "指标进展表")):
            page.goto(base + path)
            page.get_by_text(ready).first.wait_for()
            page.wait_for_timeout(3000)  # charts drawn
            page.evaluate("window.dispatchEvent(new Event('beforeprint'))")  # what the browser does on Ctrl+P
            page.emulate_media(media="print")
            assert not page.get_by_test_id("stSidebar").is_visible()
            assert page.locator("[role='dialog']").count() == 0
            pdf = page.pdf(format="A4", print_background=True)
            assert 1 <= pdf_pages(pdf) <= 2, (path, pdf_pages(pdf))
            page.emulate_media(media="screen")
        browser.close()
    assert not outside, outside
