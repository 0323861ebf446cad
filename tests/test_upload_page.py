"""数据报送 and 版本历史 pages: every check through the upload path, guarded loads, versions.

Streamlit 1.67's AppTest can upload files (``at.file_uploader[0].set_value``),
so the pages are driven as users drive them. The fault families run through
``pipelines.diff.check_upload``, the call the page makes for every new file,
and ``issues_table``, the table the page shows.
"""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from pipelines import store
from pipelines.checks import file_hash
from pipelines.diff import check_upload, issues_table
from pipelines.ingest import ingest_bytes
from pipelines.issues import CATALOGUE
from pipelines.normalise import parse_period
from pipelines.progress import progress_table
from pipelines.read import Limits
from pipelines.template import write_return
from tests import hostile_files as hostile
from tests.dbfixtures import demo_db_copy
from tests.factories import login, make_user

REPO = Path(__file__).resolve().parent.parent
TODAY = date(2021, 3, 1)
UNIT = "150200"  # 包头市
P = parse_period("2019H1")
CV, T1, T2 = "封面", "表1 指标进展", "表2 合作事项明细"
PC = "合作国家（地区）"
VALUE = "截至本期末累计值"
COLS = ["item_name", "item_type", "sector_code", "partners", "start_date", "status", "funding_wan"]
A = ("中俄马铃薯种薯繁育", "国际科技合作项目", "S05", ["RUS"], date(2018, 5, 10), "在建/在研", 50.0)
B = ("京蒙装备协同创新", "国内科技合作项目", "S06", ["CN-BJ"], date(2019, 3, 15), "在建/在研", 30.0)
C = ("稀土院士专家工作站", "院士专家工作站", "S04", [], date(2018, 9, 1), "已建成/已认定", None)


def return_bytes(unit=UNIT, period=P, values=None, rows=(A, B, C)) -> bytes:
    """A valid return made by the template writer: 表1 agrees with 表2 (I04 = 2, I09 = 1 by default)."""
    values = {"I04": 2, "I09": 1} if values is None else values
    return write_return(unit_code=unit, period=period, values=values, items=pd.DataFrame(list(rows), columns=COLS),
                        validation=False)


BASE = return_bytes()


def corrupt(cells: dict[tuple[str, str], object] | None = None, drop_sheet: str | None = None,
            data: bytes = BASE) -> bytes:
    """The valid return with cells overwritten (None clears) by openpyxl.

    Layout written by write_return: 封面 B3 unit, B4 period, B7 fill date; 表1
    header on row 3, I01 on row 4 (so I04 is row 7, I09 row 12), columns A code,
    B name, D value; 表2 header on row 2, items from row 3, columns B name,
    C type, D sector, E partners, H start date, I status, J funding.
    """
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for (sheet, cell), value in (cells or {}).items():
        wb[sheet][cell] = value
    if drop_sheet:
        del wb[drop_sheet]
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# --------------------------------------------------------------------------
# Every check of RETURN_FORMAT.md through the upload path, one workbook per fault family.
# id -> (bytes, file name, options, expected issues as (code, severity, sheet, row, column, value))
def _cases():
    return {
        "file-not-excel": (b"a,b\n1,2\n", "报表.csv", {}, [("file-type", "error", None, None, None, "报表.csv")]),
        "file-renamed-text": (b"just some text, not a workbook", "报表.xlsx", {},
                              [("file-unreadable", "error", None, None, None, "报表.xlsx")]),
        "file-truncated": (BASE[:2000], "报表.xlsx", {}, [("file-unreadable", "error", None, None, None, "报表.xlsx")]),
        "file-too-large": (BASE, "报表.xlsx", {"limits": Limits(max_file_bytes=1000)},
                           [("file-too-large", "error", None, None, None, "报表.xlsx")]),
        "sheet-too-large": (BASE, "报表.xlsx", {"limits": Limits(max_rows=3)},
                            [("sheet-too-large", "error", CV, None, None, "9行×4列"),
                             ("sheet-too-large", "error", T1, None, None, "17行×6列"),
                             ("sheet-too-large", "error", T2, None, None, "5行×11列")]),
        "sheet-missing": (corrupt(drop_sheet=T2), "x.xlsx", {},
                          [("sheet-missing", "error", None, None, None, "封面、表1 指标进展、填表说明")]),
        "header-missing": (corrupt({(T1, f"{c}3"): None for c in "ABCDEF"}), "x.xlsx", {},
                           [("header-missing", "error", T1, None, None, None)]),
        "column-missing": (corrupt({(T2, "D2"): None}), "x.xlsx", {},
                           [("column-missing", "error", T2, None, None, None)]),
        "formula-no-value": (corrupt({(T1, "D7"): "=1+1"}), "x.xlsx", {},
                             [("formula-no-value", "error", T1, 7, VALUE, "=1+1")]),
        "cell-error-value": (corrupt({(T1, "D7"): "#DIV/0!"}), "x.xlsx", {},
                             [("cell-error", "error", T1, 7, VALUE, "#DIV/0!")]),
        # 封面
        "cover-label-missing": (corrupt({(CV, "A3"): None, (CV, "B3"): None}), "x.xlsx", {},
                                [("label-missing", "error", CV, None, None, None)]),
        "cover-unit-unknown": (corrupt({(CV, "B3"): "火星市"}), "x.xlsx", {},
                               [("unknown-unit", "error", CV, 3, "填报单位", "火星市")]),
        "cover-unit-ambiguous": (corrupt({(CV, "B3"): "乌市"}), "x.xlsx", {},
                                 [("ambiguous-unit", "error", CV, 3, "填报单位", "乌市")]),
        "cover-period-blank": (corrupt({(CV, "B4"): None}), "x.xlsx", {},
                               [("missing-value", "error", CV, 4, "报告期", "")]),
        "cover-period-unknown": (corrupt({(CV, "B4"): "2019年马半年"}), "x.xlsx", {},
                                 [("unknown-period", "error", CV, 4, "报告期", "2019年马半年")]),
        "cover-period-outside-plan": (corrupt({(CV, "B4"): "2021年度"}), "x.xlsx", {},
                                      [("period-outside-plan", "error", CV, 4, "报告期", "2021年度")]),
        "cover-period-future": (BASE, "x.xlsx", {"today": date(2018, 12, 1)},
                                [("period-future", "error", CV, 4, "报告期", "2019年上半年")]),
        "cover-period-not-ended": (BASE, "x.xlsx", {"today": date(2019, 5, 1)},
                                   [("period-not-ended", "warning", CV, 4, "报告期", "2019年上半年")]),
        "cover-fill-date": (corrupt({(CV, "B7"): "2019.2.30"}), "x.xlsx", {},
                            [("invalid-date", "warning", CV, 7, "填报日期", "2019.2.30")]),
        # 表1
        "ind-unknown": (corrupt({(T1, "A7"): "I99"}), "x.xlsx", {},
                        [("unknown-indicator", "error", T1, 7, "指标编码", "I99")]),
        "ind-name-mismatch": (corrupt({(T1, "B7"): "院士专家工作站"}), "x.xlsx", {},
                              [("indicator-name-mismatch", "warning", T1, 7, "指标名称", "院士专家工作站")]),
        "ind-duplicate": (corrupt({(T1, "A8"): "I04", (T1, "B8"): None}), "x.xlsx", {},
                          [("duplicate-indicator", "error", T1, 8, "指标编码", "I04")]),
        "ind-negative": (corrupt({(T1, "D7"): -1}), "x.xlsx", {},
                         [("negative-number", "error", T1, 7, VALUE, "-1")]),
        "ind-fraction": (corrupt({(T1, "D7"): 2.5}), "x.xlsx", {},
                         [("not-whole-number", "error", T1, 7, VALUE, "2.5")]),
        "ind-text": (corrupt({(T1, "D7"): "若干"}), "x.xlsx", {},
                     [("not-a-number", "error", T1, 7, VALUE, "若干")]),
        "ind-with-unit": (corrupt({(T1, "D7"): "2项", (T1, "D12"): "１"}), "x.xlsx", {},
                          [("number-normalised", "warning", T1, 7, VALUE, "2项"),
                           ("number-normalised", "warning", T1, 12, VALUE, "１")]),
        "totals-disagree": (corrupt({(T1, "D7"): 5}), "x.xlsx", {},
                            [("totals-mismatch", "warning", T1, 7, VALUE, "5")]),
        "items-empty": (return_bytes(rows=()), "x.xlsx", {}, [("items-empty", "warning", T2, None, None, None)]),
        "empty-return": (return_bytes(values={}, rows=()), "x.xlsx", {}, [("empty-return", "warning", None, None, None, None)]),
        # 表2
        "item-name-blank": (corrupt({(T2, "B3"): None}), "x.xlsx", {},
                            [("missing-value", "error", T2, 3, "事项名称", "")]),
        "item-type-unknown": (corrupt({(T2, "C4"): "技术培训班"}), "x.xlsx", {},
                              [("unknown-item-type", "error", T2, 4, "事项类别", "技术培训班"),
                               ("totals-mismatch", "warning", T1, 7, VALUE, "2")]),
        "item-sector-unknown": (corrupt({(T2, "D5"): "生态屏障"}), "x.xlsx", {},
                                [("unknown-sector", "error", T2, 5, "所属领域", "生态屏障")]),
        "partner-unknown": (corrupt({(T2, "E3"): "俄国"}), "x.xlsx", {},
                            [("unknown-partner", "error", T2, 3, PC, "俄国")]),
        "partner-ambiguous": (corrupt({(T2, "E3"): "新"}), "x.xlsx", {},
                              [("ambiguous-partner", "error", T2, 3, PC, "新")]),
        "partner-missing": (corrupt({(T2, "E3"): None}), "x.xlsx", {},
                            [("partner-required", "error", T2, 3, PC, "")]),
        "partner-hong-kong-is-not-foreign": (corrupt({(T2, "E3"): "香港"}), "x.xlsx", {},
                                             [("partner-wrong-kind", "error", T2, 3, PC, "香港")]),
        "status-unknown": (corrupt({(T2, "I3"): "搁置"}), "x.xlsx", {},
                           [("unknown-status", "error", T2, 3, "状态", "搁置")]),
        "date-invalid": (corrupt({(T2, "H3"): "2019.2.30"}), "x.xlsx", {},
                         [("invalid-date", "error", T2, 3, "起始日期", "2019.2.30")]),
        "date-after-period": (corrupt({(T2, "H3"): "2019-08-01"}), "x.xlsx", {},
                              [("date-after-period", "error", T2, 3, "起始日期", "2019-08-01")]),
        "item-twice": (corrupt({(T2, "B4"): A[0], (T2, "C4"): A[1], (T2, "E4"): "俄罗斯"}), "x.xlsx", {},
                       [("duplicate-item", "error", T2, 4, "事项名称", A[0])]),
        "funding-negative": (corrupt({(T2, "J3"): -5}), "x.xlsx", {},
                             [("negative-funding", "error", T2, 3, "投入经费（万元）", "-5")]),
        "funding-text": (corrupt({(T2, "J3"): "若干万"}), "x.xlsx", {},
                         [("not-a-number", "error", T2, 3, "投入经费（万元）", "若干万")]),
        # numbers that do not fit, odd digits, invisible characters
        "ind-huge": (corrupt({(T1, "D7"): 1e20}), "x.xlsx", {},
                     [("number-too-large", "error", T1, 7, VALUE, "100000000000000000000")]),
        "ind-arabic-indic": (corrupt({(T1, "D7"): "٢"}), "x.xlsx", {},
                             [("odd-digits", "error", T1, 7, VALUE, "٢")]),
        "funding-huge": (corrupt({(T2, "J3"): 5e6}), "x.xlsx", {},
                         [("funding-too-large", "error", T2, 3, "投入经费（万元）", "5000000")]),
        "invisible": (corrupt({(T2, "B3"): A[0] + "\u200b"}), "x.xlsx", {},
                      [("invisible-chars", "warning", T2, 3, "事项名称", A[0] + "\u200b")]),
        # limits on what a file may hold (tests/test_hostile.py has the rest)
        "cell-too-long": (corrupt({(T2, "B3"): "长" * 600}), "x.xlsx", {},
                          [("cell-too-long", "error", T2, 3, "事项名称", None)]),
        "part-too-large": (hostile.bomb(hostile.STYLES_PART, 50, honest=False), "x.xlsx", {},
                           [("part-too-large", "error", None, None, None, "x.xlsx")]),
        "text-too-large": (hostile.reused_string(800), "x.xlsx", {}, [("text-too-large", "error", T2, None, None, None)]),
    }


CASES = _cases()


@pytest.mark.parametrize("case", list(CASES))
def test_every_fault_family_through_the_upload_path(case, tmp_path):
    data, name, opts, expected = CASES[case]
    pv = check_upload(tmp_path / "none.duckdb", data, name, today=opts.get("today", TODAY),
                      **({"limits": opts["limits"]} if "limits" in opts else {}))
    got = [(i.code, i.severity, i.sheet, i.row, i.column, i.value) for i in pv.issues]
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    # the page's table names sheet, row, column and value of every problem, with a message
    table = issues_table(pv.issues)
    shown = {(r["工作表"], None if pd.isna(r["行"]) else int(r["行"]), r["列"], r["值"]) for _, r in table.iterrows()}
    for code, sev, sheet, row, col, value in expected:
        assert (sheet or "", row, col or "", value or "") in shown
    assert table["说明"].str.len().min() > 4
    assert pv.status == ("errors" if any(e[1] == "error" for e in expected) else "warnings")


def test_value_decreased_needs_what_is_loaded(tmp_path):
    db = tmp_path / "kjhz.duckdb"
    ingest_bytes(db, BASE, "2019H1.xlsx", today=TODAY)  # I04 = 2
    later = return_bytes(period=parse_period("2019H2"), values={"I04": 1, "I09": 1}, rows=(A, C))
    pv = check_upload(db, later, "2019H2.xlsx", today=TODAY)
    assert [(i.code, i.sheet, i.row, i.column, i.value) for i in pv.issues] == [
        ("value-decreased", T1, 7, VALUE, "1")]


def test_the_cases_cover_every_code_in_the_catalogue():
    separate = {"value-decreased", "file-encrypted",  # the two tests below
                "invisible-chars-more", "internal-error", "file-unopenable",  # test_checks.py, test_faults.py
                "items-removed"}  # raised by a load, not a check: test_diff.py
    separate |= {"reader-failed"}  # tests/test_hostile.py stops the reader process
    raised = {e[0] for _, _, _, exp in CASES.values() for e in exp} | separate
    assert raised == set(CATALOGUE)


def test_the_password_protected_file(encrypted_workbook, tmp_path):
    pv = check_upload(tmp_path / "none.duckdb", encrypted_workbook, "加密.xlsx", today=TODAY)
    assert [(i.code, i.severity) for i in pv.issues] == [("file-encrypted", "error")]


# --------------------------------------------------------------------------
# The pages, driven through AppTest
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def small_db(tmp_path):
    """A database holding one return: 包头市 2019年上半年, version 1 (I04 = 2, I09 = 1)."""
    db = tmp_path / "kjhz.duckdb"
    r = ingest_bytes(db, BASE, "包头市_2019H1_v1.xlsx", who="王芳", today=TODAY)
    assert r.status == "loaded"
    return db


def open_page(monkeypatch, db, page="pages/upload.py", user: str | None = "张明", role: str = "admin",
              unit: str | None = None) -> AppTest:
    """The app logged in as ``user`` (an administrator unless told), on ``page``; ``user=None``: anonymous."""
    monkeypatch.setenv("KJHZ_DB", str(db))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    if user is not None:
        make_user(db, user, role, unit)
        login(at, user)
    at.switch_page(page)
    at.run()
    assert not at.exception
    return at


def app_at(monkeypatch, db, user: str | None = "张明", **params) -> AppTest:
    """The app logged in (as an administrator), with the URL's query parameters set before the first page."""
    monkeypatch.setenv("KJHZ_DB", str(db))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()
    if user is not None:
        make_user(db, user)
        login(at, user)
    for k, v in params.items():
        at.query_params[k] = v
    return at


def upload(at: AppTest, *files: tuple[str, bytes]) -> AppTest:
    at.file_uploader[0].set_value([(name, data, XLSX) for name, data in files])
    at.run()
    assert not at.exception
    return at


def count(db, sql="SELECT count(*) FROM submissions"):
    with store.connect(db) as con:
        return con.execute(sql).fetchone()[0]


def test_a_file_with_errors_shows_its_table_and_cannot_be_loaded(monkeypatch, small_db):
    bad = corrupt({(T2, "E3"): "俄国", (T1, "D12"): -1})
    at = upload(open_page(monkeypatch, small_db), ("包头市_有错误.xlsx", bad))
    h = file_hash(bad)
    assert "有错误不能载入" in " ".join(m.value for m in at.markdown)
    table = at.table[0].value
    assert list(table.columns) == ["严重程度", "工作表", "行", "列", "值", "说明", "建议"]
    rows = table[["严重程度", "工作表", "行", "列", "值", "建议"]].astype(str).map(as_rendered).values.tolist()
    assert ["错误", T1, "12", VALUE, "-1", ""] in rows
    assert ["错误", T2, "3", PC, "俄国", "俄罗斯"] in rows
    assert any("无法识别「俄国」" in m for m in table["说明"])
    assert f"load_{h}" not in [b.key for b in at.button]  # no 确认载入 for this file
    assert [d.key for d in at.download_button if d.key == f"annotated_{h}"] == [f"annotated_{h}"]
    assert any("不能载入" in e.value for e in at.error)
    assert count(small_db) == 1  # nothing written


def test_warnings_must_be_accepted_before_loading(monkeypatch, small_db):
    warned = return_bytes(period=parse_period("2019H2"), values={"I04": 5, "I09": 1})  # 表1 says 5, 表2 has 2
    at = upload(open_page(monkeypatch, small_db), ("包头市_2019H2.xlsx", warned))
    h = file_hash(warned)
    assert "有提示" in " ".join(m.value for m in at.markdown)
    load = at.button(key=f"load_{h}")
    assert load.disabled and load.label == "确认载入（成为第1版）"
    assert at.checkbox(key=f"accept_{h}").label == "我已核对以上提示，确认无误"
    assert count(small_db) == 1

    at.checkbox(key=f"accept_{h}").check().run()
    assert not at.button(key=f"load_{h}").disabled
    at.button(key=f"load_{h}").click().run()
    assert not at.exception
    assert any("已载入：包头市 2019年下半年 第1版" in s.value for s in at.success)
    assert count(small_db) == 2
    with store.connect(small_db) as con:
        assert con.execute("SELECT received_by, source, n_warnings FROM submissions WHERE period_code = '2019H2'"
                           ).fetchone() == ("张明", "web", 1)
    assert "upload_checked" in at.session_state and h not in at.session_state["upload_checked"]


def test_no_upload_without_a_login_and_the_reporter_is_the_account(monkeypatch, small_db):
    clean = return_bytes(period=parse_period("2020H1"))
    at = open_page(monkeypatch, small_db, user=None)
    assert not at.file_uploader and not at.button  # no upload, no control at all
    assert any("需要登录" in i.value for i in at.info)
    assert any(link.proto.page.endswith("login") for link in at.get("page_link"))  # 去登录
    make_user(small_db, "lilei", display_name="李雷")
    login(at, "lilei")
    at = upload(at.switch_page("pages/upload.py").run(), ("2020H1.xlsx", clean))
    h = file_hash(clean)
    at.button(key=f"load_{h}").click().run()
    assert any("第1版" in s.value and "李雷" in s.value for s in at.success)
    assert count(small_db) == 2
    assert count(small_db, "SELECT received_by FROM submissions WHERE period_code = '2020H1'") == "lilei"


def test_a_checker_crash_shows_as_an_unreadable_file_not_a_traceback(monkeypatch, small_db):
    import pipelines.diff

    def boom(*args, **kwargs):
        raise KeyError("bug")

    at = open_page(monkeypatch, small_db)
    monkeypatch.setattr(pipelines.diff, "check_return", boom)
    upload(at, ("x.xlsx", BASE))
    # a file-level problem, shown prominently; the traceback in the log beside the database
    assert any("检查文件「x.xlsx」时程序内部出错，文件未载入；详细信息已写入日志，请联系管理员" in as_rendered(e.value) for e in at.error)
    assert f"load_{file_hash(BASE)}" not in [b.key for b in at.button]
    assert "KeyError: 'bug'" in (small_db.parent / (small_db.name + ".log")).read_text(encoding="utf-8")


def test_a_failed_load_is_a_message_and_the_next_file_loads(monkeypatch, small_db):
    import pipelines.diff

    ok1 = return_bytes(period=parse_period("2019H2"))
    ok2 = return_bytes(period=parse_period("2020H1"))
    real = pipelines.diff.confirm_load

    def flaky(db, pv, data, **kwargs):
        if pv.file_name == "a.xlsx":
            raise OSError(28, "No space left on device")
        return real(db, pv, data, **kwargs)

    monkeypatch.setattr(pipelines.diff, "confirm_load", flaky)
    at = upload(open_page(monkeypatch, small_db), ("a.xlsx", ok1), ("b.xlsx", ok2))
    at.button(key="load_all").click().run()
    assert not at.exception
    assert any(as_rendered(e.value) == "「a.xlsx」未载入：磁盘空间已满，无法写入数据库或其文件夹，请清理磁盘后再试。"
               "详细信息已写入服务器日志，请联系管理员。" for e in at.error), [e.value for e in at.error]
    assert any("2020年上半年 第1版" in s.value for s in at.success)
    assert count(small_db) == 2


def test_a_page_that_fails_shows_a_chinese_message_not_a_traceback(monkeypatch, small_db):
    import pipelines.queries

    def boom(*args, **kwargs):
        raise ZeroDivisionError("bug")

    monkeypatch.setattr(pipelines.queries, "as_of_options", boom)  # the first page's first query
    monkeypatch.setenv("KJHZ_DB", str(small_db))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=60)
    at.run()  # app.py runs the page (st.navigation) and catches what it raises
    assert not at.exception
    assert [e.value for e in at.error] == ["程序内部错误，未能完成。详细信息已写入服务器日志，请联系管理员。"]
    assert "ZeroDivisionError: bug" in (small_db.parent / (small_db.name + ".log")).read_text(encoding="utf-8")


def test_several_files_at_once_and_load_all(monkeypatch, small_db):
    ok1 = return_bytes(period=parse_period("2019H2"))
    ok2 = return_bytes(unit="150100", period=P)
    bad = corrupt({(CV, "B3"): "乌市"})
    at = upload(open_page(monkeypatch, small_db), ("a.xlsx", ok1), ("b.xlsx", ok2), ("c.xlsx", bad), ("a副本.xlsx", ok1))
    assert any("「a副本.xlsx」与「a.xlsx」内容完全相同" in as_rendered(i.value) for i in at.info)
    load_all = at.button(key="load_all")
    assert load_all.label == "确认载入全部可载入文件（2个）"
    load_all.click().run()
    assert not at.exception
    assert len(at.success) == 2
    assert count(small_db) == 3
    assert f"load_{file_hash(bad)}" not in [b.key for b in at.button]


def _events(n: int) -> list[tuple]:
    """n items of a type that needs no partner (国际科技会议 feeds I06)."""
    return [(f"国际稀土论坛第{k}届", "国际科技会议", "S04", [], date(2018, 6, k), "已完成", None) for k in range(1, n + 1)]


def test_a_load_that_removes_items_needs_its_own_confirmation(monkeypatch, small_db):
    # 包头市 2019H1 version 1 lists A, B and C; the correction drops C
    v2 = return_bytes(values={"I04": 2}, rows=(A, B))
    h = file_hash(v2)
    at = upload(open_page(monkeypatch, small_db), ("包头市_2019H1_v2.xlsx", v2))
    assert "可以载入" in " ".join(m.value for m in at.markdown)  # no errors, no warnings: only the removal
    warning = next(w.value for w in at.warning if "本次报送将删除" in w.value)
    assert "本次报送将删除当前版本中的1项事项" in warning and f"「{C[0]}」" in warning and "已撤销" in warning
    assert at.checkbox(key=f"accept_removed_{h}").label.startswith("确认删除这1项事项")
    load = at.button(key=f"load_{h}")
    assert load.disabled and "将删除的事项" in load.help
    assert count(small_db) == 1

    at.checkbox(key=f"accept_removed_{h}").check().run()
    at.button(key=f"load_{h}").click().run()
    assert not at.exception
    assert any("已载入：包头市 2019年上半年 第2版" in s.value for s in at.success)
    with store.connect(small_db) as con:
        names = [r[0] for r in con.execute("SELECT item_name FROM v_items WHERE unit_code = ? ORDER BY source_row",
                                           [UNIT]).fetchall()]
    assert names == [A[0], B[0]]


def test_load_all_skips_files_whose_removals_are_not_confirmed(monkeypatch, small_db):
    hohhot = "150100"
    r = ingest_bytes(small_db, return_bytes(unit=hohhot, values={"I06": 12}, rows=_events(12)), "呼市_v1.xlsx",
                     who="王芳", today=TODAY)
    assert r.status == "loaded"
    many = return_bytes(unit=hohhot, values={"I06": 0}, rows=())  # drops all 12 (and warns: 表2 empty)
    few = return_bytes(values={"I04": 2}, rows=(A, B))             # drops C
    new = return_bytes(period=parse_period("2019H2"))              # a new period: nothing to remove
    at = upload(open_page(monkeypatch, small_db), ("呼市_v2.xlsx", many), ("包头_v2.xlsx", few), ("包头_H2.xlsx", new))
    warning = next(w.value for w in at.warning if "12项事项" in w.value)
    listed = [n for n, *_ in _events(12) if f"「{n}」" in warning]
    assert len(listed) == 10 and "等12项" in warning  # the first ten, then how many in all
    assert not any("本次报送将删除" in w.value and "包头" in w.value for w in at.warning)

    assert at.button(key="load_all").label == "确认载入全部可载入文件（1个）"  # only the new period
    assert any("将删除事项、尚未勾选确认的文件不会载入：呼市_v2.xlsx、包头_v2.xlsx" in as_rendered(c.value) for c in at.caption)
    at.checkbox(key=f"accept_removed_{file_hash(few)}").check().run()
    assert at.button(key="load_all").label == "确认载入全部可载入文件（2个）"
    at.button(key="load_all").click().run()
    assert not at.exception
    assert count(small_db) == 4  # 包头 v1, 呼市 v1, 包头 v2, 包头 2019H2; 呼市 v2 waits
    with store.connect(small_db) as con:
        assert con.execute("SELECT count(*) FROM v_items WHERE unit_code = ?", [hohhot]).fetchone() == (12,)
    assert f"load_{file_hash(many)}" in [b.key for b in at.button]  # still offered, still guarded
    assert at.button(key=f"load_{file_hash(many)}").disabled


def _zip_without_workbook() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


UNREADABLE = {
    "空文件.xlsx": lambda: b"",
    "改了扩展名的文本.xlsx": lambda: "填报单位,包头市\n".encode(),
    "下载中断.xlsx": lambda: BASE[:2000],
    "不是工作簿的压缩包.xlsx": _zip_without_workbook,
}


@pytest.mark.parametrize("name", list(UNREADABLE))
def test_an_unreadable_file_is_explained_in_chinese_without_red_cells(monkeypatch, small_db, name):
    data = UNREADABLE[name]()
    h = file_hash(data)
    at = upload(open_page(monkeypatch, small_db), (name, data))
    errors = [as_rendered(e.value) for e in at.error]
    assert any(f"无法读取文件「{name}」" in e for e in errors), errors
    shown = " ".join(errors + [m.value for m in at.markdown] + [c.value for c in at.caption])
    # no zipfile / calamine English reaches the user; nothing to mark, so no annotated copy and no red cells
    import re
    words = set(re.findall(r"[A-Za-z]{3,}", " ".join(errors).replace(name, "")))
    assert words <= {"Excel", "WPS", "xlsx"}, words
    assert f"annotated_{h}" not in [d.key for d in at.download_button]
    assert "红色单元格" not in shown
    assert len(at.table) == 0
    assert f"load_{h}" not in [b.key for b in at.button]


def test_read_errors_are_in_chinese(tmp_path):
    """Low-level reader messages (zipfile, zlib, calamine) are mapped to Chinese wording."""
    import re
    damaged = bytearray(BASE)
    start = BASE.index(b"xl/worksheets/sheet2.xml") + 200  # inside the compressed 表1 part
    damaged[start:start + 200] = bytes(200)
    for data in (BASE[:2000], BASE[: len(BASE) // 2], bytes(damaged), bytes.fromhex("D0CF11E0A1B11AE1") + bytes(600)):
        issues = check_upload(tmp_path / "none.duckdb", data, "x.xlsx", today=TODAY).issues
        assert [i.code for i in issues] == ["file-unreadable"], [i.message for i in issues]
        text = issues[0].message.replace("x.xlsx", "")
        assert set(re.findall(r"[A-Za-z]{3,}", text)) <= {"Excel"}, text
        assert issues[0].suggestion and "另存为" in issues[0].suggestion


def test_after_loading_the_history_link_opens_that_unit_and_period(monkeypatch, small_db):
    later = return_bytes(period=parse_period("2019H2"))
    h = file_hash(later)
    at = upload(open_page(monkeypatch, small_db), ("包头市_2019H2.xlsx", later))
    at.button(key=f"load_{h}").click().run()
    links = [e.proto for e in at.get("page_link")]
    history = next(p for p in links if p.label == "查看版本历史")
    assert history.page.endswith("history") and history.query_string == "unit=150200&period=2019H2"

    # what the link opens: 版本历史 of 包头市 2019年下半年 (not the first unit, 呼和浩特市), labels in Chinese
    assert ingest_bytes(small_db, return_bytes(unit="150100"), "呼市.xlsx", today=TODAY).status == "loaded"
    hist = app_at(monkeypatch, small_db, unit=UNIT, period="2019H2")
    hist.switch_page("pages/history.py").run()
    assert not hist.exception
    assert hist.selectbox(key="history_unit").value == UNIT
    assert hist.selectbox(key=f"history_period_{UNIT}").value == parse_period("2019H2").end
    assert [s.value for s in hist.subheader][0] == "2019年下半年"
    assert (hist.query_params["unit"], hist.query_params["period"]) == (UNIT, "2019H2")
    table = hist.dataframe[0].value
    assert not table.astype(str).isin(["None", "nan", "NaN", "<NA>"]).any().any()

    # the user picks 全部报告期: the URL follows
    hist.selectbox(key=f"history_period_{UNIT}").set_value("all").run()
    assert "period" not in hist.query_params and [s.value for s in hist.subheader][:2] == ["2019年下半年", "2019年上半年"]


@pytest.mark.parametrize("params, notice", [
    ({"unit": "999999"}, "单位代码「999999」无法识别"),
    ({"unit": "150100"}, "「呼和浩特市」还没有报送记录"),
    ({"unit": UNIT, "period": "2019年马半年"}, "报告期「2019年马半年」无法识别"),
    ({"unit": UNIT, "period": "2020H1"}, "包头市没有2020年上半年的报送记录"),
])
def test_history_link_with_unknown_values_says_so(monkeypatch, small_db, params, notice):
    at = app_at(monkeypatch, small_db, **params)
    at.switch_page("pages/history.py").run()  # opened straight from the link
    assert not at.exception
    assert any(notice in i.value for i in at.info), [i.value for i in at.info]
    assert at.selectbox(key="history_unit").value == UNIT  # the only unit with returns
    assert at.selectbox(key=f"history_period_{UNIT}").value == "all"  # 全部报告期, not an empty box
    assert "全部报告期" in at.selectbox(key=f"history_period_{UNIT}").options


def test_history_page_shows_the_demo_banner(monkeypatch, tmp_path):
    at = open_page(monkeypatch, demo_db_copy(tmp_path), page="pages/history.py")
    assert any("演示数据" in w.value for w in at.warning)
    shown = " ".join([e.label for e in at.expander] + [s.value for s in at.subheader]
                     + [m.value for m in at.markdown])
    assert "None" not in shown and "nan" not in shown
    assert not any(d.value.astype(str).isin(["None", "nan", "NaN", "<NA>"]).any().any() for d in at.dataframe)


def test_resubmission_then_history_then_restore(monkeypatch, tmp_path):
    db = demo_db_copy(tmp_path)
    as_of = date(2020, 12, 31)
    period = parse_period("2020H2")
    with store.connect(db) as con:
        old = con.execute("SELECT submission_id, version, file_hash FROM v_submissions WHERE unit_code = ? "
                          "AND period_end = ?", [UNIT, period.end]).fetchone()
        old_i04 = con.execute("SELECT value FROM v_indicator_values WHERE submission_id = ? AND indicator_code = 'I04'",
                              [old[0]]).fetchone()[0]
        total_before = progress_table(con, as_of).set_index("indicator_code").loc["I04", "value"]
    assert old[1] == 1

    v2 = return_bytes(period=period)  # I04 = 2 from 包头市 now
    at = upload(open_page(monkeypatch, db), ("包头市_2020年下半年_更正.xlsx", v2))
    h = file_hash(v2)
    text = " ".join(m.value for m in at.markdown)
    assert "将**取代当前的第1版**" in text and "与当前第1版相比的变化" in text
    assert at.button(key=f"load_{h}").label == "确认载入（成为第2版）"
    # lower cumulative figures than 包头市's 2020H1 return: warnings to accept first
    assert any("低于上一报告期" in m for m in at.table[0].value["说明"])
    at.checkbox(key=f"accept_{h}").check().run()
    # version 2 lists 3 items where version 1 listed more: removing them needs its own confirmation
    assert any("本次报送将删除当前版本中的" in w.value for w in at.warning)
    assert at.button(key=f"load_{h}").disabled
    at.checkbox(key=f"accept_removed_{h}").check().run()
    at.button(key=f"load_{h}").click().run()
    assert any("已载入：包头市 2020年下半年 第2版（当前版本，取代第1版）" in s.value for s in at.success)

    with store.connect(db) as con:
        rows = con.execute("SELECT version, is_current, file_hash FROM submissions WHERE unit_code = ? AND "
                           "period_end = ? ORDER BY version", [UNIT, period.end]).fetchall()
        total_after = progress_table(con, as_of).set_index("indicator_code").loc["I04", "value"]
    assert [(v, c) for v, c, _ in rows] == [(1, False), (2, True)]
    assert total_after == total_before - old_i04 + 2  # the dashboard follows version 2
    assert store.original_path(db, old[2]).read_bytes()  # version 1's file is still there

    # 版本历史 shows both versions and offers both originals
    at.switch_page("pages/history.py").run()
    assert not at.exception
    at.selectbox(key="history_unit").set_value(UNIT).run()
    at.selectbox(key=f"history_period_{UNIT}").set_value(period.end).run()
    labels = [e.label for e in at.expander]
    assert any(lbl.startswith("第2版 · 当前") and "张明（网页报送）" in lbl for lbl in labels)
    assert any(lbl.startswith("第1版 · 已被取代") for lbl in labels)
    new_sid = count(db, f"SELECT submission_id FROM submissions WHERE file_hash = '{h}'")
    assert {f"orig_{old[0]}", f"orig_{new_sid}"} <= {d.key for d in at.download_button}
    assert store.original_path(db, h).read_bytes() == v2

    # an admin makes version 1 current again: confirmation and a note, recorded, nothing deleted
    at.text_input(key=f"restore_note_{old[0]}").input("第2版经核实有误，恢复第1版").run()
    at.button(key=f"restore_{old[0]}").click().run()
    assert count(db, "SELECT count(*) FROM submission_events WHERE action = 'restored'") == 0  # not yet: confirm first
    at.button(key=f"restore_confirm_{old[0]}").click().run()
    assert not at.exception
    assert any("第1版设为当前版本" in s.value for s in at.success)
    with store.connect(db) as con:
        assert con.execute("SELECT version FROM v_submissions WHERE unit_code = ? AND period_end = ?",
                           [UNIT, period.end]).fetchone() == (1,)
        assert con.execute("SELECT by_user, note FROM submission_events WHERE action = 'restored'").fetchall() == [
            ("张明", "第2版经核实有误，恢复第1版")]
        assert con.execute("SELECT count(*) FROM submissions WHERE unit_code = ? AND period_end = ?",
                           [UNIT, period.end]).fetchone() == (2,)
        assert progress_table(con, as_of).set_index("indicator_code").loc["I04", "value"] == total_before
    events = at.dataframe[-1].value
    assert "设为当前版本" in set(events["操作"])


def test_history_page_on_an_empty_database(monkeypatch, tmp_path):
    db = tmp_path / "empty.duckdb"
    store.init_db(db)
    at = open_page(monkeypatch, db, page="pages/history.py")
    assert any("还没有任何报送记录" in i.value for i in at.info)


def test_template_download_defaults_to_the_next_unreported_period(monkeypatch, small_db):
    at = open_page(monkeypatch, small_db)

    def period():
        return next(s for s in at.selectbox if s.label == "报告期").value.code

    at.selectbox(key="tpl_unit").set_value(UNIT).run()
    assert period() == "2019H2"  # 2019H1 is loaded
    assert at.download_button(key="tpl_download").label == "下载报表模板"
    at.selectbox(key="tpl_kind").set_value("Q").run()
    assert period() == "2019Q3"
    at.selectbox(key="tpl_unit").set_value("150100").run()
    assert period() == "2018Q1"  # never reported
    assert any("模板为空白" in c.value for c in at.caption)


def test_template_period_picked_right_after_the_unit_is_kept(monkeypatch, small_db):
    """A quick user picks the unit, then the period before the page has caught up: both choices
    reach the same run, and the period is theirs, not the new unit's default (2019H2)."""
    at = open_page(monkeypatch, small_db)

    def period_box():
        return next(s for s in at.selectbox if s.label == "报告期")

    at.selectbox(key="tpl_unit").set_value(UNIT)
    period_box().set_value(parse_period("2018H2"))
    at.run()
    assert not at.exception
    assert period_box().value.code == "2018H2"
    at.selectbox(key="tpl_unit").set_value("150100").run()  # another unit alone: its own default again
    assert period_box().value.code == "2018H1"


# --------------------------------------------------------------------------
# Demo data: archived (renamed, never deleted) and replaced by an empty database
def test_archive_database_moves_everything_and_starts_empty(small_db):
    files_before = sorted(p.name for p in store.files_dir(small_db).rglob("*") if p.is_file())
    folder = store.archive_database(small_db, "demo", who="测试")
    assert folder.parent == small_db.parent / "archive" and folder.name.startswith("demo-")
    assert count(small_db) == 0  # a fresh, empty database with the schema
    assert not any(store.files_dir(small_db).rglob("*.xlsx"))
    kept = folder / small_db.name
    assert count(kept, "SELECT count(*) FROM submissions WHERE status = 'loaded'") == 1
    assert sorted(p.name for p in (folder / store.files_dir(small_db).name).rglob("*") if p.is_file()) == files_before
    assert store.archive_database(small_db, "demo", who="测试") != folder  # a second archive never overwrites the first


def test_demo_notice_and_archive_with_confirmation(monkeypatch, tmp_path):
    db = demo_db_copy(tmp_path)
    at = open_page(monkeypatch, db)
    assert any("当前数据库中是演示数据" in w.value for w in at.warning)
    at.button(key="archive_ask").click().run()
    assert count(db) > 0  # nothing happens before the confirmation
    assert "archive_confirm" in [b.key for b in at.button]
    at.button(key="archive_confirm").click().run()
    assert not at.exception
    assert any("演示数据已移到" in s.value for s in at.success)
    assert count(db) == 0
    archived = list((tmp_path / "archive").glob("demo-*/demo.duckdb"))
    assert len(archived) == 1 and count(archived[0], "SELECT count(*) FROM v_submissions WHERE source = 'demo'") > 0
    assert not any("当前数据库中是演示数据" in w.value for w in at.warning)


def test_history_changing_unit_keeps_the_url_in_step_without_notices(monkeypatch, small_db):
    assert ingest_bytes(small_db, return_bytes(unit="150100", period=parse_period("2019H2")), "呼市.xlsx",
                        today=TODAY).status == "loaded"
    at = app_at(monkeypatch, small_db, unit=UNIT, period="2019H1")
    at.switch_page("pages/history.py").run()
    assert at.selectbox(key=f"history_period_{UNIT}").value == P.end
    at.selectbox(key="history_unit").set_value("150100").run()  # 呼和浩特市 has no 2019H1: no notice, all periods
    assert not at.exception and not at.info
    assert at.selectbox(key="history_period_150100").value == "all"
    assert at.query_params["unit"] == "150100" and "period" not in at.query_params
    at.selectbox(key="history_period_150100").set_value(parse_period("2019H2").end).run()
    assert at.query_params["period"] == "2019H2" and [s.value for s in at.subheader][0] == "2019年下半年"


def test_period_label_for_codes_periods_and_ends():
    from pipelines.normalise import period_label

    assert [period_label(v) for v in ("2019H1", "2019Q2", "2019年1-6月", "2020", parse_period("2020H2"))] == [
        "2019年上半年", "2019年第二季度", "2019年上半年", "2020年度", "2020年下半年"]
    assert period_label(date(2019, 6, 30)) == period_label(pd.Timestamp("2019-06-30")) == "2019年6月底"
    assert [period_label(v) for v in (None, float("nan"), pd.NaT, "")] == ["—"] * 4


# --------------------------------------------------------------------------
# Stored text is text: never rendered as Markdown or HTML
LINK_NAME = "[点我](http://x).xlsx"


def as_rendered(markdown: str) -> str:
    """What a Markdown renderer shows of backslash-escaped text."""
    import re

    return re.sub(r"\\(.)", r"\1", markdown)


def test_file_names_and_cover_text_are_shown_as_typed_on_upload_and_history(monkeypatch, small_db):
    data = corrupt({(CV, "B5"): "[链接](http://evil)", (CV, "B6"): "<b>0471</b> :red[红]",
                    (T2, "B3"): "**粗体**\u200b事项"}, data=return_bytes(period=parse_period("2019H2")))
    at = upload(open_page(monkeypatch, small_db), (LINK_NAME, data))
    sources = [m.value for m in at.markdown]
    assert r"**\[点我\]\(http\:\/\/x\)\.xlsx**" in " ".join(sources)  # the card's title: bold, but no link
    table = at.table[0].value  # st.table renders Markdown in its cells: every cell escaped
    assert r"\*\*粗体\*\*\[零宽空格\]事项" in table["值"].tolist()
    assert any("「**粗体**[零宽空格]事项」中有看不见的字符" in as_rendered(m) for m in table["说明"])
    h = file_hash(data)
    at.checkbox(key=f"accept_{h}").check().run()
    at.button(key=f"load_{h}").click().run()
    assert not at.exception

    at = open_page(monkeypatch, small_db, page="pages/history.py")
    text = " ".join(m.value for m in at.markdown)
    assert r"**文件**：\[点我\]\(http\:\/\/x\)\.xlsx" in text
    assert r"**填报人**：\[链接\]\(http\:\/\/evil\)" in text
    assert r"**电话**：\<b\>0471\<\/b\> \:red\[红\]" in text
    assert "](http" not in text and "<b>" not in text and ":red[" not in text
    assert LINK_NAME in as_rendered(text)


def test_a_link_parameter_is_shown_as_text(monkeypatch, small_db):
    at = app_at(monkeypatch, small_db)
    at.switch_page("pages/history.py")
    at.query_params["period"] = "[x](http://evil)"
    at.run()
    notice = [i.value for i in at.info if "链接中的报告期" in i.value]
    assert notice == [r"链接中的报告期「\[x\]\(http\:\/\/evil\)」无法识别，已显示全部报告期。"]


def test_history_says_a_rejected_original_was_cleaned_after_its_retention(monkeypatch, small_db):
    from datetime import datetime, timedelta

    bad = corrupt({(T1, "D12"): "若干"})
    assert ingest_bytes(small_db, bad, "旧的错误报表.xlsx", received_at=datetime.now() - timedelta(days=60)
                        ).status == "rejected"
    assert len(store.cleanup_rejected_originals(small_db)) == 1
    at = open_page(monkeypatch, small_db, page="pages/history.py")
    assert "未通过检查的原始文件只保留30天，已清理" in [c.value for c in at.caption]
    assert [d.key for d in at.download_button if d.key.startswith("orig_")] == ["orig_1"]  # the loaded one


def test_a_busy_database_while_checking_is_a_chinese_message_and_the_page_keeps_running(monkeypatch, small_db):
    import pipelines.diff

    real = pipelines.diff.check_upload
    calls = []

    def busy_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise store.BusyError("数据库一直被占用，请稍后再试")
        return real(*args, **kwargs)

    at = open_page(monkeypatch, small_db)
    monkeypatch.setattr(pipelines.diff, "check_upload", busy_once)
    at.file_uploader[0].set_value([("a.xlsx", BASE, XLSX)])
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["暂时无法检查「a\\.xlsx」：数据库一直被占用，请稍后再试。请稍后点「重新检查」。"]
    log = small_db.parent / (small_db.name + ".log")
    assert not log.exists() or "BusyError" not in log.read_text(encoding="utf-8")  # expected under load

    at.button(key="recheck").click().run()  # checked again
    assert not at.error and f"load_{file_hash(BASE)}" not in [b.key for b in at.button]  # a duplicate of v1
    assert any("完全相同" in i.value for i in at.info)