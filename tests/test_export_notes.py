"""Every Excel download stands alone: a 说明 sheet first, numbers as numbers (percentages with a % format)."""
from __future__ import annotations

import io

import openpyxl
import pytest

from tests.dbfixtures import demo_db_copy
from tests.test_pages_items import run_page

NOTE_KEYS = ["内容", "范围", "筛选条件", "截止日期", "数据来源", "数据性质"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_db_copy(tmp_path_factory.mktemp("notes"))


def workbooks(downloads) -> list[tuple[str, openpyxl.Workbook]]:
    out = []
    for d in downloads:
        if str(d["file_name"]).endswith(".xlsx"):
            data = d["data"]() if callable(d["data"]) else d["data"]
            out.append((d["label"], openpyxl.load_workbook(io.BytesIO(data))))
    return out


def notes_of(wb) -> dict[str, str]:
    ws = wb.worksheets[0]
    assert ws.title == "说明"
    return {r[0]: r[1] for r in ws.iter_rows(min_row=2, values_only=True)}


def is_pct(c) -> bool:
    """A numeric cell shown as a percentage (1.0 reads back as the int 1)."""
    return isinstance(c.value, (int, float)) and not isinstance(c.value, bool) and c.number_format == "0.0%"


def column(ws, header: str) -> list:
    heads = [c.value for c in ws[1]]
    i = heads.index(header) + 1
    return [ws.cell(row=r, column=i) for r in range(2, ws.max_row + 1)]


@pytest.mark.parametrize("page,params", [
    ("overview", {}), ("overview", {"unit": "150200"}), ("trends", {}), ("region", {}), ("region", {"unit": "150200"}),
    ("sector", {}), ("partner", {}), ("explorer", {}), ("reporting", {}),
])
def test_every_excel_download_has_a_notes_sheet(demo, monkeypatch, downloads, page, params):
    run_page(monkeypatch, demo, page, as_of="2019-12-31", **params)
    books = workbooks(downloads)
    assert books, [d["label"] for d in downloads]
    for label, wb in books:
        notes = notes_of(wb)
        assert all(k in notes for k in NOTE_KEYS + ["导出时间"]), (label, notes)
        assert notes["数据性质"].startswith("演示数据"), label
        assert notes["数据来源"] and notes["范围"], label
        if page != "reporting":
            assert notes["截止日期"] == "2019年12月31日", (label, notes)


def test_overview_percentages_are_numbers_and_the_unit_filter_is_kept(demo, monkeypatch, downloads):
    run_page(monkeypatch, demo, "overview", as_of="2019-12-31")
    [(_, wb)] = workbooks(downloads)
    ws = wb["指标进展"]
    rates = column(ws, "完成率")
    assert len(rates) == 14
    assert all(is_pct(c) for c in rates)
    assert all(is_pct(c) for c in column(ws, "时间进度"))
    assert all(isinstance(c.value, int) for c in column(ws, "累计值"))
    assert abs(column(ws, "时间进度")[0].value - 24 / 36) < 1e-9
    downloads.clear()
    run_page(monkeypatch, demo, "overview", as_of="2019-12-31", unit="150200")
    [(_, wb)] = workbooks(downloads)
    notes = notes_of(wb)
    assert notes["范围"] == "包头市" and "包头市" in notes["筛选条件"]
    assert all(is_pct(c) for c in column(wb["指标进展"], "占全区目标"))


def test_trends_and_reporting_rates_are_numbers(demo, monkeypatch, downloads):
    run_page(monkeypatch, demo, "trends", as_of="2019-12-31")
    [(_, wb)] = workbooks(downloads)
    cells = column(wb["各期数值"], "完成率")
    assert cells and all(c.value is None or is_pct(c) for c in cells)
    downloads.clear()
    run_page(monkeypatch, demo, "reporting")
    for _, wb in workbooks(downloads):
        if "按单位" in wb.sheetnames:
            cells = column(wb["按单位"], "完整率")
            assert all(is_pct(c) for c in cells)
            break
    else:
        raise AssertionError("no 报送情况 workbook with 按单位")
