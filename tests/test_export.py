"""Every Excel and CSV the product writes: text typed by people never becomes a formula.

Names like ``=HYPERLINK("http://x","y")`` come back as text (with Excel's quote
prefix) in every download, the pre-filled template and the annotated
workbook's 问题清单; CSV cells are prefixed with an apostrophe (OWASP).
"""
from __future__ import annotations

import io
from datetime import date

import openpyxl
import pandas as pd
import pytest

from pipelines.annotate import LIST_SHEET, annotate_workbook
from pipelines.checks import check_return
from pipelines.export import PERCENT, formula_cells, is_risky, write_csv, write_workbook
from pipelines.issues import make_issue
from pipelines.normalise import parse_period
from pipelines.reference import load_reference
from pipelines.template import write_return
from tests.factories import load_values
from tests.test_pages_items import run_page

HOSTILE = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A2)", "\t=1+1", "\r=1+1",
           "＝1+1"]


def texts(data: bytes) -> dict[str, openpyxl.cell.Cell]:
    """Every text cell of a workbook by value."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return {c.value: c for ws in wb.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)}


def read_back(name: str, values) -> str:
    """``name`` as read back from the file: exactly as written, or with a carriage return as a
    line feed (openpyxl's reader without lxml normalises it; with lxml it keeps it)."""
    return name if name in values else name.replace("\r", "\n")


def assert_safe(data: bytes, names=HOSTILE) -> None:
    assert formula_cells(data) == []
    cells = texts(data)
    for name in names:
        clean = read_back(name, cells)
        assert clean in cells, name
        assert cells[clean].data_type == "s" and cells[clean].quotePrefix, name


def test_write_workbook_text_stays_text_numbers_and_formats_stay():
    df = pd.DataFrame({"事项名称": HOSTILE, "完成率": [0.5] * len(HOSTILE), "起始日期": [date(2019, 3, 1)] * len(HOSTILE),
                       "合作国家": [["俄罗斯", "蒙古国"]] * len(HOSTILE), "负数": [-3] * len(HOSTILE)})
    data = write_workbook({"明细": df}, formats={"明细": {"完成率": PERCENT}},
                          notes=[("范围", "全区"), ("筛选条件", "搜索：=1+1")])
    assert_safe(data)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["说明", "明细"]
    ws = wb["明细"]
    assert [c.value for c in ws[1]] == list(df.columns)
    assert ws["B2"].value == 0.5 and ws["B2"].number_format == PERCENT and ws["B2"].data_type == "n"
    assert ws["C2"].value.date() == date(2019, 3, 1) and ws["C2"].number_format == "yyyy-mm-dd"
    assert ws["D2"].value == "俄罗斯、蒙古国"
    assert ws["E2"].value == -3 and ws["E2"].data_type == "n"  # numbers are not text
    assert not ws["A2"].value.startswith("'")  # shown exactly as typed
    assert dict((r[0].value, r[1].value) for r in wb["说明"].iter_rows(min_row=2))["范围"] == "全区"


def test_write_csv_prefixes_formula_like_text_only():
    df = pd.DataFrame({"事项名称": HOSTILE + ["普通名称"], "值": [-1] * (len(HOSTILE) + 1)})
    got = pd.read_csv(io.BytesIO(write_csv(df)), encoding="utf-8-sig", keep_default_na=False)
    assert got["事项名称"].tolist() == ["'" + n for n in HOSTILE] + ["普通名称"]
    assert got["值"].tolist() == [-1] * (len(HOSTILE) + 1)
    assert all(is_risky(n) for n in HOSTILE) and not is_risky("普通名称")


def hostile_items(n: int = len(HOSTILE)) -> list[dict]:
    return [{"item_name": HOSTILE[i % len(HOSTILE)] + ("" if i < len(HOSTILE) else f"#{i}"),
             "item_type": "院士专家工作站", "sector_code": "S04",
             "partner_institutions": "=1+1", "local_institution": "@x"} for i in range(n)]


def test_prefilled_template_writes_names_as_text_and_reads_them_back():
    ref = load_reference()
    items = pd.DataFrame({"item_name": HOSTILE, "item_type": "院士专家工作站", "sector_code": "S04",
                          "partners": [["RUS"]] * len(HOSTILE), "partner_institutions": "=1+1",
                          "local_institution": None, "start_date": date(2019, 1, 2), "status": "在建/在研",
                          "funding_wan": 1.0, "note": "-备注"})
    data = write_return(unit_code="150200", period=parse_period("2019H1"), values={"I09": len(HOSTILE)},
                        items=items, filler="=李明", ref=ref)
    assert_safe(data, HOSTILE + ["=1+1", "-备注", "=李明"])
    checked = check_return(data, "150200_2019H1.xlsx", ref=ref)
    assert len(checked.items) == len(HOSTILE)
    assert "=HYPERLINK(\"http://x\",\"y\")" in checked.items["item_name"].tolist()  # read back unchanged


def test_annotated_workbook_issue_list_is_text():
    issues = [make_issue("unknown-partner", sheet="表2 合作事项明细", row=3, column="合作国家(地区)", value=name,
                         part=name) for name in HOSTILE]
    ref = load_reference()
    original = write_return(unit_code="150200", period=parse_period("2019H1"), values={}, ref=ref)
    data = annotate_workbook(original, "=evil.xlsx", issues)
    assert formula_cells(data) == []
    wb = openpyxl.load_workbook(io.BytesIO(data))
    values = [c.value for row in wb[LIST_SHEET].iter_rows(min_row=3) for c in row]
    for name in HOSTILE:
        assert read_back(name, values) in values


# --------------------------------------------------------------------------
# the pages' downloads
@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("hostile") / "kjhz.duckdb"
    load_values(db, "150200", "2019H1", {"I09": len(HOSTILE)}, items=hostile_items(), tag="_=cmd")
    return db


def _bytes(entry) -> bytes:
    data = entry["data"]() if callable(entry["data"]) else entry["data"]
    return data.encode() if isinstance(data, str) else data


@pytest.mark.parametrize("page,params,names", [
    ("explorer", {}, HOSTILE),
    ("region", {"unit": "150200"}, HOSTILE),
    ("reporting", {}, []),
    ("overview", {}, []),
])
def test_page_downloads_have_no_formula(hostile_db, monkeypatch, downloads, page, params, names):
    run_page(monkeypatch, hostile_db, page, **params)
    excel = [d for d in downloads if str(d["file_name"]).endswith(".xlsx")]
    assert excel, [d["label"] for d in downloads]
    found = {}
    for d in excel:
        data = _bytes(d)
        assert formula_cells(data) == [], d["label"]
        found.update(texts(data))
    for name in names:
        name = read_back(name, found)
        assert name in found and found[name].quotePrefix, name


def test_explorer_csv_download_prefixes_cells(tmp_path, monkeypatch, downloads):
    db = tmp_path / "big.duckdb"
    load_values(db, "150200", "2019H1", {"I09": 20_100}, items=hostile_items(20_100))
    run_page(monkeypatch, db, "explorer")
    (csv_entry,) = [d for d in downloads if str(d["file_name"]).endswith(".csv")]
    got = pd.read_csv(io.BytesIO(_bytes(csv_entry)), encoding="utf-8-sig", keep_default_na=False)
    names = got["事项名称"].tolist()
    for name in HOSTILE:
        assert "'" + name in names
    assert not [n for n in names if is_risky(n)]
    assert not [v for col in got.columns for v in got[col].astype(str) if is_risky(v)]
