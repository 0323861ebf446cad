"""pipelines.diff: what an upload is and what loading it would change, before anything is written."""
from __future__ import annotations

import io
from datetime import date

import openpyxl

import pandas as pd
import pytest

from pipelines import store
from pipelines.diff import LoadRefused, check_upload, confirm_load, issues_table
from pipelines.ingest import ingest_bytes
from pipelines.normalise import parse_period
from pipelines.reference import load_reference
from pipelines.template import write_return

TODAY = date(2021, 3, 1)
UNIT = "150200"  # 包头市
P = parse_period("2019H1")
COLS = ["item_name", "item_type", "sector_code", "partners", "start_date", "status", "funding_wan"]


def items(*rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=COLS)


A = ("中俄马铃薯种薯繁育", "国际科技合作项目", "S05", ["RUS"], date(2018, 5, 10), "在建/在研", 50.0)
B = ("京蒙装备协同创新", "国内科技合作项目", "S06", ["CN-BJ"], date(2019, 3, 15), "在建/在研", 30.0)
C = ("稀土院士专家工作站", "院士专家工作站", "S04", [], date(2018, 9, 1), "已建成/已认定", None)
D = ("中蒙草原生态修复", "国际科技合作项目", "S10", ["MNG"], date(2019, 4, 1), "在建/在研", 20.0)
# B changed in three fields: partners, status and funding
B2 = ("京蒙装备协同创新", "国内科技合作项目", "S06", ["CN-BJ", "CN-TJ"], date(2019, 3, 15), "已完成", 45.5)

V1 = write_return(unit_code=UNIT, period=P, values={"I04": 2, "I09": 1}, items=items(A, B, C), validation=False)
V2 = write_return(unit_code=UNIT, period=P, values={"I04": 3, "I05": 0}, items=items(A, B2, D), validation=False)


def corrupt(data: bytes, cells: dict[tuple[str, str], object]) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for (sheet, cell), value in cells.items():
        wb[sheet][cell] = value
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.fixture
def db(tmp_path):
    return tmp_path / "kjhz.duckdb"


def test_first_return_on_a_database_that_does_not_exist_yet(db):
    pv = check_upload(db, V1, "包头_v1.xlsx", today=TODAY)
    assert not db.exists()  # a preview never creates or writes anything
    assert (pv.unit_code, pv.unit_name, pv.period_code, pv.period_label) == (UNIT, "包头市", "2019H1", "2019年上半年")
    assert (pv.version, pv.replaces, pv.duplicate, pv.status, pv.status_label) == (1, None, None, "ok", "可以载入")
    assert pv.added.empty and pv.removed.empty and pv.changed.empty
    assert pv.indicators[["indicator_code", "before", "after", "change"]].astype(object).where(
        pv.indicators[["indicator_code", "before", "after", "change"]].notna(), None).values.tolist() == [
        ["I04", None, 2, None], ["I09", None, 1, None]]
    assert pv.describe() == "包头市 · 2019年上半年 · 将成为第1版（首次报送）"


def test_first_return_on_an_empty_database(db):
    store.init_db(db)
    pv = check_upload(db, V1, "包头_v1.xlsx", today=TODAY)
    assert (pv.version, pv.replaces, pv.status) == (1, None, "ok")


def test_resent_return_lists_items_added_removed_changed_and_values_before_after(db):
    r1 = ingest_bytes(db, V1, "包头_v1.xlsx", who="王芳", today=TODAY)
    assert (r1.status, r1.version) == ("loaded", 1)

    pv = check_upload(db, V2, "包头_v2.xlsx", today=TODAY)

    assert pv.version == 2 and pv.duplicate is None
    assert (pv.replaces.version, pv.replaces.file_name, pv.replaces.received_by) == (1, "包头_v1.xlsx", "王芳")
    assert pv.added.values.tolist() == [["中蒙草原生态修复", "国际科技合作项目", "生态屏障与荒漠化防治", "蒙古国", "在建/在研"]]
    assert pv.removed.values.tolist() == [["稀土院士专家工作站", "院士专家工作站", "稀土新材料", "—", "已建成/已认定"]]
    assert pv.changed.values.tolist() == [
        ["京蒙装备协同创新", "国内科技合作项目", "合作国家（地区）", "北京", "北京、天津"],
        ["京蒙装备协同创新", "国内科技合作项目", "状态", "在建/在研", "已完成"],
        ["京蒙装备协同创新", "国内科技合作项目", "投入经费（万元）", "30", "45.5"],
    ]
    assert pv.n_changed_items == 1
    ind = pv.indicators.astype(object).where(pv.indicators.notna(), None)
    assert ind[["indicator_code", "before", "after", "change"]].values.tolist() == [
        ["I04", 2, 3, 1],        # changed
        ["I05", None, 0, None],  # newly reported (0 is a value, not blank)
        ["I09", 1, None, None],  # no longer reported
    ]
    assert pv.describe() == "包头市 · 2019年上半年 · 将成为第2版（取代第1版）"


def test_a_quarter_ending_with_the_half_year_replaces_it_and_says_so(db):
    ingest_bytes(db, V1, "2019H1.xlsx", today=TODAY)
    q2 = write_return(unit_code=UNIT, period=parse_period("2019Q2"), values={"I04": 2, "I09": 1},
                      items=items(A, B, C), validation=False)
    pv = check_upload(db, q2, "2019Q2.xlsx", today=TODAY)
    assert (pv.period_code, pv.version, pv.replaces.version, pv.replaces.period_code) == ("2019Q2", 2, 1, "2019H1")


def test_item_order_and_partner_order_are_not_changes(db):
    ingest_bytes(db, V1, "v1.xlsx", today=TODAY)
    b_swapped = ("京蒙装备协同创新", "国内科技合作项目", "S06", ["CN-BJ"], date(2019, 3, 15), "在建/在研", 30)
    same = write_return(unit_code=UNIT, period=P, values={"I04": 2, "I09": 1}, items=items(C, b_swapped, A),
                        filler="换了填报人", validation=False)
    pv = check_upload(db, same, "v1-reordered.xlsx", today=TODAY)
    assert pv.duplicate is None and pv.version == 2
    assert pv.added.empty and pv.removed.empty and pv.changed.empty
    assert not pv.has_changes


def test_the_same_file_again_is_a_duplicate_and_cannot_be_loaded(db):
    ingest_bytes(db, V1, "包头_v1.xlsx", who="王芳", today=TODAY)
    pv = check_upload(db, V1, "包头_v1（再次）.xlsx", today=TODAY)
    assert (pv.status, pv.status_label, pv.loadable, pv.version) == ("duplicate", "重复文件", False, None)
    assert (pv.duplicate.version, pv.duplicate.file_name, pv.duplicate.is_current) == (1, "包头_v1.xlsx", True)
    with pytest.raises(LoadRefused, match="完全相同"):
        confirm_load(db, pv, V1, who="王芳")


def test_preview_shows_the_history_warnings_the_load_will_record(db):
    ingest_bytes(db, V1, "v1.xlsx", today=TODAY)  # 2019H1: I09 = 1
    later = write_return(unit_code=UNIT, period=parse_period("2019H2"), values={"I04": 2, "I09": 0},
                         items=items(A, B), validation=False)
    pv = check_upload(db, later, "2019H2.xlsx", today=TODAY)
    assert [(i.code, i.row, i.column, i.value) for i in pv.warnings] == [("value-decreased", 12, "截至本期末累计值", "0")]
    assert pv.replaces is None and pv.version == 1 and pv.status == "warnings"
    with pytest.raises(LoadRefused, match="勾选"):
        confirm_load(db, pv, later, who="王芳")
    r = confirm_load(db, pv, later, who="王芳", warnings_accepted=True)
    assert (r.status, r.version, [i.code for i in r.warnings]) == ("loaded", 1, ["value-decreased"])
    with store.connect(db) as con:
        assert con.execute("SELECT received_by, source FROM submissions WHERE submission_id = ?",
                           [r.submission_id]).fetchone() == ("王芳", "web")


def test_a_file_with_errors_is_refused_and_nothing_is_written(db):
    ingest_bytes(db, V1, "v1.xlsx", today=TODAY)
    bad = corrupt(V2, {("封面", "B4"): "2019年马半年"})
    pv = check_upload(db, bad, "bad.xlsx", today=TODAY)
    assert pv.status == "errors" and not pv.loadable
    assert [(i.code, i.sheet, i.row, i.column, i.value) for i in pv.errors] == [
        ("unknown-period", "封面", 4, "报告期", "2019年马半年")]
    before = store.data_version(db)
    with pytest.raises(LoadRefused, match="错误"):
        confirm_load(db, pv, bad, who="王芳", warnings_accepted=True)
    assert store.data_version(db) == before
    with store.connect(db) as con:
        assert con.execute("SELECT count(*) FROM submissions").fetchone() == (1,)


def test_a_load_that_removes_items_is_refused_unless_the_removal_is_accepted(db):
    ingest_bytes(db, V1, "v1.xlsx", today=TODAY)
    pv = check_upload(db, V2, "v2.xlsx", today=TODAY)  # drops 稀土院士专家工作站
    assert pv.removes_items
    with pytest.raises(LoadRefused, match="删除当前版本中的1项事项"):
        confirm_load(db, pv, V2, who="王芳", warnings_accepted=True)
    r = confirm_load(db, pv, V2, who="王芳", warnings_accepted=True, removals_accepted=True)
    assert (r.status, r.version, r.removed_items) == ("loaded", 2, ["稀土院士专家工作站"])


def test_the_command_line_load_says_what_it_removes_and_can_refuse(db):
    ingest_bytes(db, V1, "v1.xlsx", today=TODAY)
    refused = ingest_bytes(db, V2, "v2.xlsx", today=TODAY, refuse_removals=True)
    assert (refused.status, refused.removed_items, [i.code for i in refused.errors]) == (
        "rejected", ["稀土院士专家工作站"], ["items-removed"])
    assert "「稀土院士专家工作站」" in refused.errors[0].message
    with store.connect(db) as con:
        assert con.execute("SELECT count(*) FROM submissions").fetchone() == (1,)  # nothing written
    loaded = ingest_bytes(db, V2, "v2.xlsx", today=TODAY)  # as documented: loads, and says so
    assert (loaded.status, loaded.version, loaded.removed_items) == ("loaded", 2, ["稀土院士专家工作站"])


def test_issues_table_has_the_columns_the_page_shows_errors_first():
    ref = load_reference()
    data = write_return(unit_code=UNIT, period=P, values={"I04": 5}, items=items(A, B), ref=ref, validation=False)
    data = corrupt(data, {("表2 合作事项明细", "E3"): "俄国"})
    pv = check_upload("/nonexistent/kjhz.duckdb", data, "x.xlsx", ref=ref, today=TODAY)
    table = issues_table(pv.issues)
    assert list(table.columns) == ["严重程度", "工作表", "行", "列", "值", "说明", "建议"]
    rows = table.astype(object).where(table.notna(), None).values.tolist()
    assert rows[0] == ["错误", "表2 合作事项明细", 3, "合作国家（地区）", "俄国", "无法识别「俄国」，是否为「俄罗斯」？", "俄罗斯"]
    assert [r[0] for r in rows] == ["错误", "提示"]  # then the 表1/表2 totals warning
    assert rows[1][:5] == ["提示", "表1 指标进展", 7, "截至本期末累计值", "5"]
