"""The real upload page in headless Chromium: a file with errors, its annotated copy, a fixed file loaded.

Runs ``streamlit run app.py`` on a private copy of the demo database and
drives the page as a user does. Nothing may be fetched from outside localhost.
"""
from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import openpyxl
import pytest

from pipelines import store
from pipelines.annotate import ERROR_FILL, LIST_SHEET
from pipelines.checks import check_return
from pipelines.diff import check_upload
from pipelines.normalise import parse_period
from pipelines.reference import norm_key
from pipelines.template import previous_return, write_return
from tests.dbfixtures import demo_db_copy
from tests.e2e.server import CHROMIUM, idle, is_local, launch_browser, open_dropdown, running_app
from tests.e2e.server import sidebar_login as _sidebar_login
from tests.factories import PASSWORD, make_user

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")

EXAMPLE = Path("/work/shared/examples/有错误的报表示例.xlsx")
TIMEOUT = 120_000


def error_cells(data: bytes, wb) -> set[tuple[str, str]]:
    """(sheet, cell) of every error that names a cell: the header (or cover label) gives the column."""
    out = set()
    for i in check_return(data, "x.xlsx").report.errors:
        if not (i.sheet and i.row and i.column):
            continue
        ws = wb[i.sheet]
        if i.sheet == "封面":  # label / value pairs: the value is right of the label
            row = next(ws.iter_rows(min_row=i.row, max_row=i.row))
            label = next(c for c in row if isinstance(c.value, str) and norm_key(c.value).rstrip("：:") == norm_key(i.column))
            out.add((i.sheet, ws.cell(row=i.row, column=label.column + 1).coordinate))
            continue
        col = next(c.column for r in ws.iter_rows(min_row=1, max_row=10) for c in r
                   if isinstance(c.value, str) and norm_key(c.value) == norm_key(i.column))
        out.add((i.sheet, ws.cell(row=i.row, column=col).coordinate))
    return out


def red_cells(wb) -> set[tuple[str, str]]:
    return {(ws.title, c.coordinate) for ws in wb.worksheets if ws.title != LIST_SHEET
            for row in ws.iter_rows() for c in row
            if c.fill is not None and c.fill.fill_type == "solid" and str(c.fill.fgColor.rgb).upper().endswith(ERROR_FILL)}


def sidebar_login(page, user: str, password: str = PASSWORD) -> None:
    """Log in with the form in the sidebar, as a user does."""
    _sidebar_login(page, user, password)


def test_upload_errors_annotated_download_then_fixed_file(tmp_path):
    db = demo_db_copy(tmp_path)
    bad_path = tmp_path / "乌市_2019年2季度_科技合作报表.xlsx"
    shutil.copy(EXAMPLE, bad_path)
    bad = bad_path.read_bytes()

    # the fixed file: 阿拉善盟 never reported 2019年下半年 in the demo; carry its 2019H1 return forward
    unit, period = "152900", parse_period("2019H2")
    prev = previous_return(db, unit, period)
    good_path = tmp_path / "阿拉善盟_2019年下半年_科技合作报表.xlsx"
    good_path.write_bytes(write_return(unit_code=unit, period=period, values=prev.values, items=prev.items,
                                       filler="赵敏"))
    pv = check_upload(db, good_path.read_bytes(), good_path.name)
    assert (pv.status, pv.version, pv.replaces) == ("ok", 1, None), [i.message for i in pv.issues]
    with store.connect(db) as con:
        before = con.execute("SELECT count(*) FROM submissions").fetchone()[0]

    make_user(db, "赵敏", "管理员")
    outside: list[str] = []
    with running_app(db) as base, sync_api.sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1600}, accept_downloads=True)
        page.on("request", lambda r: None if is_local(r.url) else outside.append(r.url))
        page.set_default_timeout(TIMEOUT)
        # open the app at its entry page, then go to 数据报送 through the sidebar as a user does
        page.goto(base + "/")
        sidebar_login(page, "赵敏")
        page.get_by_test_id("stSidebarNav").get_by_role("link", name="数据报送").click()
        page.get_by_text("② 上传报表并检查", exact=True).wait_for()
        assert page.get_by_text("当前数据库中是演示数据").is_visible()

        # 0. the template for 阿拉善盟 2019年下半年 (the period it missed) is pre-filled and reads back clean
        open_dropdown(page.get_by_test_id("stSelectbox").first)
        page.get_by_role("option", name="阿拉善盟").click()
        page.get_by_text("该单位已报送过2020年下半年的报表").wait_for()  # default: after its latest return
        idle(page)
        open_dropdown(page.get_by_test_id("stSelectbox").nth(2))
        page.get_by_role("option", name="2019年下半年").click()
        page.get_by_text("模板已预填该单位截至2019年6月30日的报表").wait_for()
        with page.expect_download() as dl:  # exact: not the correction template's button of the run before
            page.get_by_role("button", name="下载报表模板", exact=True).click()
        assert dl.value.suggested_filename == "阿拉善盟_2019年下半年_科技合作报表.xlsx"
        template = check_return(Path(dl.value.path()).read_bytes(), dl.value.suggested_filename)
        assert (template.unit_code, template.period, template.report.errors) == (unit, period, [])

        page.get_by_text("报送人：").first.wait_for()  # the account, not a typed name

        # 1. a file with errors: the table of problems, no load button
        page.locator("input[type=file]").set_input_files(str(bad_path))
        page.get_by_text("有错误不能载入").first.wait_for()
        table = page.get_by_test_id("stTable").first
        table.get_by_text("无法识别「俄国」，是否为「俄罗斯」？").wait_for()
        for cell in ("乌市", "俄国", "2019.2.30", "生态屏障", "技术培训班"):
            assert table.get_by_role("cell", name=cell, exact=True).count() >= 1, cell
        assert page.get_by_role("button", name=re.compile("^确认载入")).count() == 0
        page.screenshot(path=str(tmp_path / "errors.png"))

        # 2. the annotated workbook: the red cells are the ones the errors name
        with page.expect_download() as dl:
            page.get_by_role("button", name="下载标注了问题的工作簿").click()
        annotated = tmp_path / "annotated.xlsx"
        dl.value.save_as(annotated)
        assert dl.value.suggested_filename == "乌市_2019年2季度_科技合作报表_问题标注.xlsx"
        wb = openpyxl.load_workbook(annotated)
        assert wb.sheetnames[0] == LIST_SHEET
        expected = error_cells(bad, openpyxl.load_workbook(io.BytesIO(bad)))
        assert len(expected) >= 10
        assert red_cells(wb) == expected

        # 3. the fixed file: checked, confirmed, loaded
        page.locator("input[type=file]").set_input_files(str(good_path))
        page.get_by_text("可以载入").first.wait_for()
        page.get_by_text("该单位该报告期首次报送").wait_for()
        page.get_by_role("button", name="确认载入（成为第1版）").click()
        page.get_by_text("已载入：阿拉善盟 2019年下半年 第1版").wait_for()
        page.get_by_role("link", name="查看总览").first.wait_for()
        page.screenshot(path=str(tmp_path / "loaded.png"))
        browser.close()

    assert outside == []
    with store.connect(db) as con:
        assert con.execute("SELECT count(*) FROM submissions").fetchone()[0] == before + 1
        row = con.execute("SELECT version, received_by, source, file_name FROM v_submissions WHERE unit_code = ? "
                          "AND period_end = ?", [unit, period.end]).fetchone()
    assert row == (1, "赵敏", "web", good_path.name)
