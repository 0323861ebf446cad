"""pipelines.annotate: problems marked on a copy of the user's workbook."""
from __future__ import annotations

import io
import shutil
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipelines.annotate import LIST_SHEET, annotate_workbook  # noqa: E402
from pipelines.checks import check_return  # noqa: E402
from pipelines.issues import Issue, make_issue  # noqa: E402
from pipelines.normalise import parse_period  # noqa: E402
from pipelines.template import ITEM_SHEET, write_return  # noqa: E402

EXAMPLES = ROOT.parent / "shared" / "examples"
if not EXAMPLES.exists():
    EXAMPLES = Path("/work/shared/examples")
BAD = EXAMPLES / "有错误的报表示例.xlsx"
TODAY = date(2019, 7, 20)
RED, YELLOW = "FFC7CE", "FFEB9C"


def _key(text) -> str:
    return "".join(str(text).split()).rstrip("：:")


def expected_cells(wb, issues: list[Issue], severity: str) -> set[tuple[str, int, str]]:
    """(sheet, row, column letter) the issues of one severity name, found by header text."""
    out = set()
    for i in issues:
        if i.severity != severity or not (i.sheet and i.row and i.column):
            continue
        ws = wb[i.sheet]
        want = _key(i.column)
        header = None
        for row in ws.iter_rows(min_row=1, max_row=min(30, i.row - 1)):
            hit = [c for c in row if isinstance(c.value, str) and _key(c.value) == want]
            if hit:
                header = hit[0].column_letter
                break
        if header is None:  # 封面: the label sits left of its value
            label = [c for c in ws[i.row] if isinstance(c.value, str) and _key(c.value) == want]
            header = get_column_letter(label[0].column + 1)
        out.add((i.sheet, i.row, header))
    return out


def filled(wb, rgb: str) -> set[tuple[str, int, str]]:
    out = set()
    for ws in wb.worksheets:
        if ws.title == LIST_SHEET:
            continue
        for row in ws.iter_rows():
            for c in row:
                color = c.fill.fgColor.rgb if c.fill is not None and c.fill.fill_type == "solid" else None
                if isinstance(color, str) and color.upper().endswith(rgb):
                    out.add((ws.title, c.row, c.column_letter))
    return out


def listed(wb) -> list[tuple]:
    ws = wb[LIST_SHEET]
    header = [c.value for c in ws[2]]
    assert header[:7] == ["严重程度", "工作表", "行", "列", "值", "说明", "建议"]
    return [r for r in ws.iter_rows(min_row=3, values_only=True) if any(v is not None for v in r)]


def annotate(data: bytes, name: str, today: date = TODAY):
    checked = check_return(data, name, today=today)
    out = annotate_workbook(data, name, checked.report.issues)
    return checked.report.issues, openpyxl.load_workbook(io.BytesIO(out)), out


# --------------------------------------------------------------------------
def test_example_with_errors():
    data = BAD.read_bytes()
    issues, wb, _ = annotate(data, BAD.name)
    original = openpyxl.load_workbook(io.BytesIO(data))
    assert any(i.severity == "error" for i in issues) and any(i.severity == "warning" for i in issues)

    red = expected_cells(original, issues, "error")
    yellow = expected_cells(original, issues, "warning") - red
    assert ("封面", 3, "B") in red and ("表2 合作事项明细", 3, "E") in red
    assert filled(wb, RED) == red
    assert filled(wb, YELLOW) == yellow

    for i in issues:
        (sheet, row, col), = expected_cells(original, [i], i.severity)
        comment = wb[sheet][f"{col}{row}"].comment
        assert comment is not None and i.message in comment.text

    assert wb.sheetnames[0] == LIST_SHEET and wb.active.title == LIST_SHEET
    assert wb.sheetnames[1:] == original.sheetnames
    rows = listed(wb)
    assert sorted(r[5] for r in rows) == sorted(i.message for i in issues)
    assert {r[0] for r in rows} == {"错误", "提示"}
    # the data are untouched
    assert wb["表2 合作事项明细"]["E3"].value == "俄国" and wb["封面"]["B3"].value == "乌市"


def test_several_issues_on_one_cell_red_wins():
    data = BAD.read_bytes()
    extra = make_issue("number-normalised", sheet="表1 指标进展", row=8, column="截至本期末累计值",
                       value="-1", number=1)
    checked = check_return(data, BAD.name, today=TODAY)
    out = openpyxl.load_workbook(io.BytesIO(annotate_workbook(data, BAD.name, [*checked.report.issues, extra])))
    cell = out["表1 指标进展"]["D8"]
    assert cell.fill.fgColor.rgb.endswith(RED)
    assert "是负数" in cell.comment.text and extra.message in cell.comment.text


def test_missing_sheet_is_listed(tmp_path):
    data = write_return(unit_code="150200", period=parse_period("2019Q2"), values={"I04": 1})
    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb.remove(wb[ITEM_SHEET])
    buf = io.BytesIO()
    wb.save(buf)
    issues, out, _ = annotate(buf.getvalue(), "缺表.xlsx")
    assert any(i.code == "sheet-missing" for i in issues)
    rows = listed(out)
    missing = [r for r in rows if "缺少工作表" in (r[5] or "")]
    assert missing and missing[0][7] == "未标注"
    row_no = 3 + rows.index(missing[0])
    assert out[LIST_SHEET].cell(row=row_no, column=6).fill.fgColor.rgb.endswith("F8CBAD")
    assert out.sheetnames[0] == LIST_SHEET


def test_template_workbook_with_errors():
    items = pd.DataFrame({"item_name": ["甲", "乙"], "item_type": ["国际科技合作项目", "国际科技合作项目"],
                          "sector_code": ["S04", "S04"], "partners": ["俄国", "中国香港"],
                          "start_date": [date(2019, 3, 1), date(2019, 9, 1)]})
    data = write_return(unit_code="150200", period=parse_period("2019Q2"), values={"I04": 2}, items=items,
                        previous_values={"I04": 1}, previous_period_label="2019年第一季度")
    issues, wb, _ = annotate(data, "tpl.xlsx", today=date(2019, 10, 1))
    assert filled(wb, RED) == {(ITEM_SHEET, 3, "E"), (ITEM_SHEET, 4, "E"), (ITEM_SHEET, 4, "H")}
    assert wb[ITEM_SHEET].protection.sheet  # the copy keeps the template's protection


def test_formula_without_saved_value_is_marked():
    items = pd.DataFrame({"item_name": ["甲"], "item_type": ["院士专家工作站"], "sector_code": ["S04"]})
    wb = openpyxl.load_workbook(io.BytesIO(write_return(unit_code="150200", period=parse_period("2019Q2"),
                                                        values={"I09": 1}, items=items, validation=False)))
    wb[ITEM_SHEET]["J3"] = "=10+20"  # openpyxl saves the formula without a computed value
    buf = io.BytesIO()
    wb.save(buf)
    issues, out, _ = annotate(buf.getvalue(), "公式.xlsx")
    assert [i.code for i in issues] == ["formula-no-value"]
    assert filled(out, RED) == {(ITEM_SHEET, 3, "J")}
    assert issues[0].message in out[ITEM_SHEET]["J3"].comment.text


def test_column_found_under_another_accepted_header_spelling():
    # checks.py names the column 「截至本期末累计值」 even when the sheet's header is 「累计值」
    wb = openpyxl.Workbook()
    wb.active.title = "封面"
    wb["封面"].append(["填报单位", "包头"])
    wb["封面"].append(["报告期", "2019H1"])
    wb.create_sheet("表1 指标进展").append(["指标编码", "累计值"])
    wb["表1 指标进展"].append(["I04", 3])
    wb.create_sheet(ITEM_SHEET).append(["事项名称", "事项类别", "所属领域", "合作国家（地区）"])
    wb[ITEM_SHEET].append(["甲", "国际科技合作项目", "S04", "俄罗斯"])
    buf = io.BytesIO()
    wb.save(buf)
    issues, out, _ = annotate(buf.getvalue(), "别名.xlsx", today=date(2020, 1, 1))
    assert [i.code for i in issues] == ["totals-mismatch"]
    assert filled(out, YELLOW) == {("表1 指标进展", 2, "B")}


def test_reannotating_an_annotated_copy():
    data = BAD.read_bytes()
    issues, first, once = annotate(data, BAD.name)
    twice = openpyxl.load_workbook(io.BytesIO(annotate_workbook(once, "again.xlsx", issues)))
    assert twice.sheetnames == first.sheetnames
    assert filled(twice, RED) == filled(first, RED)
    assert len(listed(twice)) == len(issues)
    comment = twice["封面"]["B3"].comment.text
    assert comment.count("【错误】") == 1


def test_xlsm_is_saved_as_xlsx():
    data = BAD.read_bytes()
    issues, wb, out = annotate(data, "报表.xlsm")
    types = zipfile.ZipFile(io.BytesIO(out)).read("[Content_Types].xml").decode()
    assert "macroEnabled" not in types
    assert filled(wb, RED)


def test_file_openpyxl_cannot_open_is_rebuilt_from_values():
    # docProps/core.xml that is not XML: openpyxl refuses the file, calamine reads the cells
    src = zipfile.ZipFile(io.BytesIO(BAD.read_bytes()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, b"<<<" if info.filename == "docProps/core.xml" else src.read(info.filename))
    data = buf.getvalue()
    with pytest.raises(Exception):
        openpyxl.load_workbook(io.BytesIO(data))
    issues, wb, _ = annotate(data, "坏属性.xlsx")
    original = openpyxl.load_workbook(BAD)
    assert wb.sheetnames == [LIST_SHEET, *original.sheetnames]
    assert filled(wb, RED) == expected_cells(original, issues, "error")
    assert wb["表2 合作事项明细"]["E3"].value == "俄国"
    assert len(listed(wb)) == len(issues)


@pytest.mark.skipif(shutil.which("libreoffice") is None and shutil.which("soffice") is None,
                    reason="libreoffice is not installed: cannot make a real legacy .xls file to test with")
def test_legacy_xls(tmp_path):
    exe = shutil.which("libreoffice") or shutil.which("soffice")
    src = tmp_path / "报表.xlsx"
    src.write_bytes(BAD.read_bytes())
    subprocess.run([exe, "--headless", "--convert-to", "xls", "--outdir", str(tmp_path), str(src)],
                   check=True, capture_output=True, timeout=180)
    data = (tmp_path / "报表.xls").read_bytes()
    assert data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    issues, wb, _ = annotate(data, "报表.xls")
    assert any(i.code == "unknown-partner" for i in issues)
    original = openpyxl.load_workbook(BAD)
    assert wb.sheetnames[0] == LIST_SHEET
    assert filled(wb, RED) == expected_cells(original, issues, "error")


@pytest.mark.parametrize("data", [b"this is not a workbook", b"", b"PK\x03\x04broken zip"])
def test_unreadable_file_gives_the_list_only(data):
    issues, wb, _ = annotate(data, "垃圾.xlsx")
    assert issues
    assert wb.sheetnames == [LIST_SHEET]
    rows = listed(wb)
    assert [r[5] for r in rows] == [i.message for i in issues]
    assert all(r[7] == "未标注" for r in rows)


def test_odd_issues_never_raise():
    data = BAD.read_bytes()
    odd = [
        Issue("x", "error", "没有这张表", 3, "某列", "v", "没有这张表 第3行：某列"),
        Issue("x", "warning", "表2 合作事项明细", 99999, "不存在的列", None, "远处的一行"),
        Issue("x", "error", "表2 合作事项明细", 4, None, None, "整行的问题"),
        Issue("x", "error", None, None, None, None, "文件级问题"),
    ]
    out = openpyxl.load_workbook(io.BytesIO(annotate_workbook(data, BAD.name, odd)))
    rows = listed(out)
    assert {r[5]: r[7] for r in rows} == {
        "没有这张表 第3行：某列": "未标注",
        "远处的一行": "第99999行（整行）",
        "整行的问题": "第4行（整行）",
        "文件级问题": "未标注",
    }
    assert out["表2 合作事项明细"]["B4"].fill.fgColor.rgb.endswith("FDE9EC")
    assert annotate_workbook(data, BAD.name, []) and annotate_workbook(b"", "", [])


def test_ingest_cli_writes_annotations(tmp_path):
    ann = tmp_path / "ann"
    proc = subprocess.run([sys.executable, "-m", "pipelines.ingest", "--db", str(tmp_path / "x.duckdb"),
                           "--annotate", str(ann), str(EXAMPLES)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 1, proc.stderr  # one example is rejected
    written = sorted(p.name for p in ann.iterdir())
    assert "有错误的报表示例_问题标注.xlsx" in written
    wb = openpyxl.load_workbook(ann / "有错误的报表示例_问题标注.xlsx")
    assert wb.sheetnames[0] == LIST_SHEET and filled(wb, RED)


def test_a_fault_while_marking_is_logged_not_swallowed_and_the_list_still_comes(monkeypatch):
    import pipelines.annotate as A

    def broken(*args, **kwargs):
        raise RuntimeError("bug while marking")

    monkeypatch.setattr(A, "_mark", broken)
    data = BAD.read_bytes()
    issues = check_return(data, BAD.name).report.issues
    logged = []
    out = annotate_workbook(data, BAD.name, issues, log=lambda exc, what: logged.append((type(exc), what)))
    assert logged == [(RuntimeError, f"annotate {BAD.name} (_load)"), (RuntimeError, f"annotate {BAD.name} (_rebuild)")]
    wb = openpyxl.load_workbook(io.BytesIO(out))
    assert wb.sheetnames == [LIST_SHEET]  # the list alone
