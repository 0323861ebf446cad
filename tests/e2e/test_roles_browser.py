"""Roles in the real app (headless Chromium): what an anonymous visitor, a 填报员 and a 浏览 user can reach."""
from __future__ import annotations

from pathlib import Path

import pytest

from pipelines import store
from pipelines.ingest import ingest_bytes
from tests.e2e.server import CHROMIUM, is_local, launch_browser, running_app
from tests.e2e.test_upload_browser import sidebar_login
from tests.factories import make_user
from tests.test_upload_page import TODAY, return_bytes

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
TIMEOUT = 120_000


def test_anonymous_filer_and_viewer_in_the_browser(tmp_path):
    db = tmp_path / "kjhz.duckdb"
    assert ingest_bytes(db, return_bytes(), "包头市.xlsx", who="x", today=TODAY).status == "loaded"
    assert ingest_bytes(db, return_bytes(unit="150400"), "赤峰市.xlsx", who="x", today=TODAY).status == "loaded"
    make_user(db, "baotou", "填报员", unit="包头市", display_name="王芳")
    make_user(db, "viewer", "浏览")
    chifeng = tmp_path / "赤峰市_2019年下半年.xlsx"
    from pipelines.normalise import parse_period
    chifeng.write_bytes(return_bytes(unit="150400", period=parse_period("2019H2")))

    outside: list[str] = []
    with running_app(db) as base, sync_api.sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.on("request", lambda r: None if is_local(r.url) else outside.append(r.url))
        page.set_default_timeout(TIMEOUT)

        # anonymous: a login in the sidebar on every page; no upload, no history, no 系统管理
        for path in ("/upload", "/history", "/admin"):
            page.goto(base + path)
            page.get_by_test_id("stSidebar").get_by_test_id("stExpander").filter(has_text="登录").wait_for()
            page.wait_for_timeout(1500)
            assert page.locator("input[type=file]").count() == 0
            assert page.get_by_role("tab", name="操作日志").count() == 0  # 系统管理
        page.goto(base + "/upload")
        page.get_by_text("报送报表需要登录").wait_for()
        assert page.get_by_test_id("stSidebarNav").get_by_role("link", name="系统管理").count() == 0

        # 填报员 of 包头市: a 赤峰市 return cannot be loaded, another unit's history is refused, no 系统管理
        sidebar_login(page, "baotou")
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="数据报送").click()
        page.get_by_text("报送人：").first.wait_for()
        page.locator("input[type=file]").set_input_files(str(chifeng))
        page.get_by_text("只能报送包头市的报表").first.wait_for()
        assert page.get_by_role("button", name="确认载入（成为第1版）").is_disabled()
        page.goto(base + "/history?unit=150400")
        sidebar_login(page, "baotou")  # a new page load is a new session
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="版本历史").click()
        page.get_by_text("操作人：").wait_for()
        page.wait_for_timeout(1500)
        assert page.get_by_text("包头市.xlsx").count() > 0  # its own unit's versions (in the table)
        assert page.get_by_text("赤峰市.xlsx").count() == 0  # never the other unit's
        page.goto(base + "/admin")
        page.wait_for_timeout(2000)
        assert page.get_by_role("tab", name="操作日志").count() == 0

        # 浏览: reads the dashboards, cannot upload
        page.goto(base + "/")
        sidebar_login(page, "viewer")
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="数据报送").click()
        page.get_by_text("没有「报送报表」的权限").wait_for()
        assert page.locator("input[type=file]").count() == 0
        browser.close()

    assert outside == []
    with store.connect(db) as con:
        assert con.execute("SELECT count(*) FROM submissions WHERE unit_code = '150400'").fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM audit_log WHERE action = 'login' AND account = 'baotou'"
                           ).fetchone()[0] == 2
