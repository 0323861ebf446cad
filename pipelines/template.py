"""Return workbooks: write one in the format of RETURN_FORMAT.md, pre-fill templates.

``write_return`` writes a complete return (封面, 表1 指标进展, 表2 合作事项明细,
填表说明) as .xlsx bytes. It is what the template download, the demo-data
generator and the benchmarks use, and what ``check_return`` reads back.
``build_template`` pre-fills it for a unit and period: for a period the unit
has not reported yet, from its last earlier return (live items listed, values
blank, last values shown for reference); for a period it has reported, from
that period's current version (values, items and notes filled in: a
correction), so staff only change what is new or wrong.

Headers, labels and sheet names are taken from the reader (``checks`` and
``read``), and every vocabulary from ``load_reference()``: the file the
product hands out is, by construction, the file it reads.

Example:
    python -m pipelines.template --db var/kjhz.duckdb --unit 包头 --period 2019Q3 -o 包头_2019Q3.xlsx
"""
from __future__ import annotations

if __name__ == "__main__":  # `python -m pipelines.template`: the command itself, before this module's imports
    from .cli import run_module

    run_module("template")

import io
import math
import re
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from .checks import COVER_LABELS, IND_HEADERS, ITEM_HEADERS
from .export import is_risky, neutralise, put
from .normalise import Period, parse_date, parse_period
from .read import SHEET_TITLES
from .reference import Reference, load_reference
from .vocab import date_zh

COVER_SHEET = SHEET_TITLES["cover"]
IND_SHEET = SHEET_TITLES["indicators"]
ITEM_SHEET = SHEET_TITLES["items"]
GUIDE_SHEET = "填表说明"
LISTS_SHEET = "_lists"

IND_TITLE = "表1 科技创新合作指标进展情况"
ITEM_TITLE = "表2 科技创新合作事项明细"
PREVIOUS_HEADER = "上期数（仅供参考）"

# Order of the columns written; the header text is the reader's first spelling.
IND_COLUMNS = ("code", "name", "measure", "value", "increase", "note")
ITEM_COLUMNS = ("seq", "name", "type", "sector", "partners", "partner_institutions",
                "local_institution", "start_date", "status", "funding", "note")
ITEM_WIDTHS = (6, 32, 24, 22, 24, 26, 24, 12, 14, 14, 24)
IND_WIDTHS = (10, 44, 10, 18, 16, 24)

# A key into data/partner_groups.csv: the group whose members are Chinese
# regions users often list as foreign (the filling guide names them).
HK_MO_TW_GROUP = "港澳台"

# Layout: the first label row of 封面, the header rows of 表1 and 表2.
COVER_FIRST_ROW = 3
IND_HEADER_ROW = 3
ITEM_HEADER_ROW = 2
# Rows below the header that carry drop-downs, at least.
VALIDATION_ROWS = 500

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_PREVIOUS_FILL = PatternFill("solid", fgColor="F2F2F2")
_PREVIOUS_FONT = Font(color="808080", italic=True)
_THIN = Side(style="thin", color="A6A6A6")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_LOCKED = Protection(locked=True)
_UNLOCKED = Protection(locked=False)
_DATE_FORMAT = "yyyy-mm-dd"
_EXCEL_EPOCH = date(1899, 12, 30)


# --------------------------------------------------------------------------
# Writing
def write_return(*, unit_code: str, period: Period, values: dict[str, int | None] | None = None,
                 items: pd.DataFrame | None = None, filler: str | None = None, phone: str | None = None,
                 fill_date: date | None = None, previous_values: dict[str, int] | None = None,
                 previous_period_label: str | None = None, ref: Reference | None = None,
                 validation: bool = True, increases: dict[str, int | None] | None = None,
                 notes: dict[str, str | None] | None = None, correction_of: int | None = None,
                 guide: list[tuple[str, list[str]]] | None = None) -> bytes:
    """One return workbook as .xlsx bytes, in the format of RETURN_FORMAT.md.

    ``items`` has the columns of ``CheckedReturn.items`` (item_name, item_type,
    sector_code, partners as a list of partner codes, partner_institutions,
    local_institution, start_date, status, funding_wan, note); missing columns
    are left blank. ``previous_values`` adds a greyed 「上期数（仅供参考）」
    column to 表1 that the reader ignores. ``validation`` adds drop-downs,
    a hidden 「_lists」 sheet and sheet protection of the header cells (no
    password); without it the workbook is plain and fast to write.
    ``increases`` and ``notes`` fill 表1's 「其中：本期新增」 and 「备注」.
    ``correction_of`` (a version number) marks the workbook as a correction of
    that version of the same unit and period: the cover's title and note and
    the filling guide say so. ``guide``: ``guide_text(ref, validation, previous_values
    is not None)`` when the caller has it already (the demo writes ~80 returns).
    """
    ref = ref or load_reference()
    if unit_code not in ref.lookups["unit"]:
        raise ValueError(f"未知的填报单位代码：{unit_code}")
    rows = _item_rows(items, ref)

    wb = Workbook()
    cover = wb.active
    cover.title = COVER_SHEET
    correction = correction_text(ref, unit_code, period, correction_of) if correction_of else None
    _write_cover(cover, ref, unit_code, period, filler, phone, fill_date, validation, correction_of, correction)
    _write_indicators(wb.create_sheet(IND_SHEET), ref, values or {}, previous_values,
                      previous_period_label, validation, increases or {}, notes or {})
    ws_items = wb.create_sheet(ITEM_SHEET)
    tail = _write_items(ws_items, rows, validation)
    if validation:
        lists = _write_lists(wb.create_sheet(LISTS_SHEET), ref)
        last_row = ITEM_HEADER_ROW + max(VALIDATION_ROWS, len(rows) + 200)
        _add_item_validations(ws_items, lists, ref, last_row=last_row)
    _write_guide(wb.create_sheet(GUIDE_SHEET), ref, validation, previous_values is not None, correction, guide)
    wb.active = 0
    for ws in wb.worksheets:  # text typed by people (names, notes, filler) never becomes a formula
        for row in ws.iter_rows():
            for cell in row:
                neutralise(cell)

    buf = io.BytesIO()
    wb.save(buf)
    data = buf.getvalue()
    if tail is not None:
        data = _append_rows(data, ws_items.path.lstrip("/"), tail)
    return data


def _title(ws, text: str, width: int, size: int = 14) -> None:
    ws.cell(row=1, column=1, value=text).font = Font(bold=True, size=size)
    ws.cell(row=1, column=1).alignment = Alignment(horizontal="center", vertical="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.row_dimensions[1].height = 28


def _header(ws, row: int, labels: list[str]) -> None:
    for c, text in enumerate(labels, 1):
        cell = ws.cell(row=row, column=c, value=text)
        cell.font = Font(bold=True)
        cell.fill = _HEADER_FILL
        cell.border = _BORDER
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.protection = _LOCKED
    ws.row_dimensions[row].height = 32


def _protect(ws, *, rows: bool = False) -> None:
    """Protect the locked cells (headers); no password. Column widths stay adjustable."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = False
    p.formatRows = False
    if rows:
        p.insertRows = False
        p.deleteRows = False


def correction_text(ref: Reference, unit_code: str, period: Period, version: int) -> str:
    """What a correction template is for, in one paragraph (cover and filling guide)."""
    return (f"本表用于更正{ref.unit_name(unit_code)}{period.label}已报送的第{version}版报表，"
            f"已按第{version}版预填全部指标值和事项，只需改正有误之处。"
            "仍然存在的事项请不要删除；已结束的事项请保留该行，把「状态」改为「已完成」或「已终止」。"
            f"载入后成为新的当前版本，第{version}版仍保留在版本历史中。")


def _write_cover(ws, ref: Reference, unit_code: str, period: Period, filler, phone, fill_date,
                 validation: bool, correction_of: int | None = None, correction: str | None = None) -> None:
    title = f"{ref.plan.name}实施情况报表"
    _title(ws, title + (f"（更正第{correction_of}版）" if correction_of else ""), 4)
    entries = [
        ("unit", ref.unit_name(unit_code)),
        ("period", period.label),
        ("filler", filler or None),
        ("phone", None if phone is None or str(phone).strip() == "" else str(phone).strip()),
        ("fill_date", _as_date(fill_date)),
    ]
    for i, (key, value) in enumerate(entries):
        r = COVER_FIRST_ROW + i
        label = ws.cell(row=r, column=1, value=COVER_LABELS[key][0])
        label.font = Font(bold=True)
        label.border = _BORDER
        label.fill = _HEADER_FILL
        label.protection = _LOCKED
        cell = ws.cell(row=r, column=2, value=value)
        cell.border = _BORDER
        cell.protection = _UNLOCKED
        if key == "phone":
            cell.number_format = "@"  # text: keeps a leading zero
        elif key == "fill_date":
            cell.number_format = _DATE_FORMAT
        ws.row_dimensions[r].height = 22
    note_row = COVER_FIRST_ROW + len(entries) + 1
    note = ws.cell(row=note_row, column=1,
                   value="注：填报单位和报告期为必填项；填写前请阅读「填表说明」工作表。")
    note.font = Font(color="595959")
    if correction:
        fix = ws.cell(row=note_row + 1, column=1, value=f"更正说明：{correction}")
        fix.font = Font(bold=True, color="9C0006")
        fix.alignment = Alignment(wrap_text=True, vertical="top")
        ws.merge_cells(start_row=note_row + 1, start_column=1, end_row=note_row + 1, end_column=4)
        ws.row_dimensions[note_row + 1].height = 64
    ws.column_dimensions["A"].width = 14
    ws.column_dimensions["B"].width = 46
    if validation:
        _protect(ws)


def _write_indicators(ws, ref: Reference, values: dict, previous: dict | None, previous_label: str | None,
                      validation: bool, increases: dict | None = None, notes: dict | None = None) -> None:
    increases, notes = increases or {}, notes or {}
    ind = ref.plan.indicators
    width = len(IND_COLUMNS) + (1 if previous is not None else 0)
    _title(ws, IND_TITLE, width)
    measures = list(dict.fromkeys(ind["unit"].tolist()))
    ws.cell(row=2, column=1, value="单位：" + "、".join(measures))
    headers = [IND_HEADERS[k][0] for k in IND_COLUMNS]
    if previous is not None:
        headers.append(PREVIOUS_HEADER)
    _header(ws, IND_HEADER_ROW, headers)
    if previous is not None:
        prev_head = ws.cell(row=IND_HEADER_ROW, column=width)
        prev_head.fill = _PREVIOUS_FILL
        prev_head.font = Font(bold=True, color="808080")
        if previous_label:
            note = ws.cell(row=2, column=width, value=f"上期：{previous_label}")
            note.font = _PREVIOUS_FONT
            prev_head.comment = Comment(f"{previous_label}已报送的累计值，仅供对照，不会被读取。", "模板")
    first = IND_HEADER_ROW + 1
    for i, r in enumerate(ind.itertuples()):
        row = first + i
        cells = [r.code, r.name, r.unit, _count(values.get(r.code)), _count(increases.get(r.code)),
                 _text(notes.get(r.code))]
        for c, value in enumerate(cells, 1):
            cell = ws.cell(row=row, column=c, value=value)
            cell.border = _BORDER
            cell.protection = _LOCKED if c <= 3 else _UNLOCKED
            if c in (4, 5):
                cell.number_format = "0"
        if previous is not None:
            cell = ws.cell(row=row, column=width, value=_count(previous.get(r.code)))
            cell.fill = _PREVIOUS_FILL
            cell.font = _PREVIOUS_FONT
            cell.border = _BORDER
            cell.protection = _LOCKED
    last = first + len(ind) - 1
    for c, w in enumerate(IND_WIDTHS, 1):
        ws.column_dimensions[get_column_letter(c)].width = w
    if previous is not None:
        ws.column_dimensions[get_column_letter(width)].width = 16
    ws.freeze_panes = ws.cell(row=first, column=1)
    if validation and len(ind):
        dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                            errorStyle="warning", showErrorMessage=True, showInputMessage=True)
        dv.errorTitle = "请填写整数"
        dv.error = "应填写不小于0的整数；未填报请留空（留空不等于0）。"
        dv.promptTitle = "截至本期末累计值"
        dv.prompt = "填写截至报告期末的累计数（整数）。未填报请留空，确为零请填0。"
        dv.add(f"D{first}:E{last}")
        ws.add_data_validation(dv)
        _protect(ws)


@dataclass
class _Tail:
    """Item rows after the first, written straight into the sheet's XML (fast)."""

    first_row: int
    rows: list[list]
    styles: list[int]
    quoted: list[int]  # the same styles with Excel's quote prefix, for text that starts like a formula
    width: int = field(default=len(ITEM_COLUMNS))


def _write_items(ws, rows: list[list], validation: bool) -> _Tail | None:
    width = len(ITEM_COLUMNS)
    _title(ws, ITEM_TITLE, width)
    _header(ws, ITEM_HEADER_ROW, [ITEM_HEADERS[k][0] for k in ITEM_COLUMNS])
    date_col = ITEM_COLUMNS.index("start_date") + 1
    for c, w in enumerate(ITEM_WIDTHS, 1):
        dim = ws.column_dimensions[get_column_letter(c)]
        dim.width = w
        dim.protection = _UNLOCKED  # empty cells typed into later are editable
        if c == date_col:
            dim.number_format = _DATE_FORMAT
    ws.freeze_panes = ws.cell(row=ITEM_HEADER_ROW + 1, column=3)
    if validation:
        _protect(ws, rows=True)
    if not rows:
        return None
    # The first item row goes through openpyxl, which registers its cell
    # styles; the others reuse those style ids in _append_rows.
    first = ITEM_HEADER_ROW + 1
    styles, quoted = [], []
    for c, value in enumerate(rows[0], 1):
        cell = put(ws, first, c, value)
        prefixed = cell.quotePrefix
        cell.protection = _UNLOCKED
        if c == date_col:
            cell.number_format = _DATE_FORMAT
        cell.quotePrefix = False
        styles.append(cell.style_id)
        cell.quotePrefix = True
        quoted.append(cell.style_id)
        cell.quotePrefix = prefixed
    if len(rows) == 1:
        return None
    return _Tail(first_row=first + 1, rows=rows[1:], styles=styles, quoted=quoted)


def _append_rows(data: bytes, part: str, tail: _Tail) -> bytes:
    """Add ``tail`` rows to a saved sheet part: 50,000 rows in well under a second."""
    letters = [get_column_letter(c) for c in range(1, tail.width + 1)]
    sattr = [f' s="{s}"' if s else "" for s in tail.styles]
    qattr = [f' s="{s}"' for s in tail.quoted]
    out: list[str] = []
    texts: dict[str, str] = {}  # escaped once per distinct string
    r = tail.first_row
    for row in tail.rows:
        cells = []
        for c, v in enumerate(row):
            if v is None:
                continue
            ref = f"{letters[c]}{r}"
            if isinstance(v, (date, datetime)):
                d = v.date() if isinstance(v, datetime) else v
                cells.append(f'<c r="{ref}"{sattr[c]}><v>{(d - _EXCEL_EPOCH).days}</v></c>')
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f'<c r="{ref}"{sattr[c]}><v>{v!r}</v></c>')
            else:
                v = str(v)
                text = texts.get(v)
                if text is None:
                    text = texts[v] = escape(ILLEGAL_CHARACTERS_RE.sub("", v))
                style = qattr[c] if is_risky(v) else sattr[c]  # an inline string is never evaluated
                cells.append(f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>')
        out.append(f'<row r="{r}">{"".join(cells)}</row>')
        r += 1
    last_row = r - 1
    rows_xml = "".join(out).encode("utf-8")

    zin = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            content = zin.read(info.filename)
            if info.filename == part:
                head, sep, rest = content.partition(b"</sheetData>")
                if not sep:
                    raise RuntimeError(f"{part}: no sheetData")
                content = head + rows_xml + sep + rest
                content = re.sub(rb'<dimension ref="[^"]*"',
                                 f'<dimension ref="A1:{letters[-1]}{last_row}"'.encode(), content, count=1)
            copy = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            copy.compress_type = zipfile.ZIP_DEFLATED
            copy.external_attr = info.external_attr
            zout.writestr(copy, content)
    return buf.getvalue()


def _write_lists(ws, ref: Reference) -> dict[str, str]:
    """Drop-down sources on a hidden sheet -> {column key: absolute range}."""
    columns = {
        "type": ref.item_types["name"].tolist(),
        "sector": ref.sectors["name"].tolist(),
        "status": ref.statuses["name"].tolist(),
        "partners": partner_choices(ref),
    }
    ranges = {}
    for c, (key, names) in enumerate(columns.items(), 1):
        letter = get_column_letter(c)
        ws.cell(row=1, column=c, value=ITEM_HEADERS[key][0])
        for r, name in enumerate(names, 2):
            ws.cell(row=r, column=c, value=name)
        ranges[key] = f"'{ws.title}'!${letter}$2:${letter}${max(2, len(names) + 1)}"
        ws.column_dimensions[letter].width = 24
    ws.sheet_state = "hidden"
    ws.protection.sheet = True
    return ranges


def partner_choices(ref: Reference) -> list[str]:
    """Partner display names for the drop-down: members of the plan's groups first
    (in the groups' order), then the other domestic regions, then other countries."""
    groups = ref.partner_groups
    order = dict(zip(groups["name"], groups["sort"].fillna(999))) if "sort" in groups else {}
    rank = {}
    for i, r in enumerate(ref.partners.itertuples()):
        g = min((order.get(name, 999) for name in r.groups_list), default=None)
        if g is not None and g < 999:
            key = (0, g, i)
        else:
            key = (1 if r.kind == "domestic" else 2, 0, i)
        rank[r.name_zh] = key
    return sorted(rank, key=rank.get)


def _add_item_validations(ws, lists: dict[str, str], ref: Reference, last_row: int) -> None:
    first = ITEM_HEADER_ROW + 1

    def col(key: str) -> str:
        return get_column_letter(ITEM_COLUMNS.index(key) + 1)

    other = ref.item_types.loc[ref.item_types["indicator_code"].fillna("") == "", "name"].tolist()
    other_hint = f"计划所列类别之外的事项请选「{other[0]}」。" if other else ""
    specs = [
        ("type", "事项类别", "请从下拉列表中选择事项类别。" + other_hint, True),
        ("sector", "所属领域", "请从下拉列表中选择所属领域。", True),
        ("status", "状态", "请从下拉列表中选择状态。", True),
        ("partners", "合作国家（地区）",
         "可从下拉列表选择；多个国家（地区）请直接输入，用「、」分隔。港澳台属于国内地区。", False),
    ]
    for key, title, text, strict in specs:
        dv = DataValidation(type="list", formula1=lists[key], allow_blank=True,
                            showErrorMessage=strict, showInputMessage=True)
        dv.promptTitle = title
        dv.prompt = text
        if strict:
            dv.errorTitle = f"{title}不在列表中"
            dv.error = text
        dv.add(f"{col(key)}{first}:{col(key)}{last_row}")
        ws.add_data_validation(dv)
    money = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                           errorStyle="warning", showErrorMessage=True)
    money.errorTitle = "投入经费"
    money.error = "投入经费应为不小于0的数字（万元）。"
    money.add(f"{col('funding')}{first}:{col('funding')}{last_row}")
    ws.add_data_validation(money)


def _write_guide(ws, ref: Reference, validation: bool, has_previous: bool, correction: str | None = None,
                 guide: list[tuple[str, list[str]]] | None = None) -> None:
    ws.column_dimensions["A"].width = 110
    ws.cell(row=1, column=1, value="填表说明").font = Font(bold=True, size=14)
    r = 2
    if correction:
        r += 1
        cell = ws.cell(row=r, column=1, value=f"更正说明：{correction}")
        cell.font = Font(bold=True, color="9C0006")
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[r].height = 48
    for heading, lines in guide if guide is not None else guide_text(ref, validation, has_previous):
        r += 1
        ws.cell(row=r, column=1, value=heading).font = Font(bold=True, size=12)
        for line in lines:
            r += 1
            cell = ws.cell(row=r, column=1, value=line)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.sheet_view.showGridLines = False


def guide_text(ref: Reference, validation: bool = True, has_previous: bool = False) -> list[tuple[str, list[str]]]:
    """The filling rules, in plain Chinese, built from the reference data."""
    plan = ref.plan
    ind = plan.indicators
    stock = ind.loc[ind["kind"] == "stock", "name"].tolist()
    types = ref.item_types
    statuses = ref.statuses
    partners = ref.partners
    groups = ref.partner_groups
    live = statuses.loc[statuses["is_live"], "name"].tolist()
    dead = statuses.loc[~statuses["is_live"], "name"].tolist()
    pick = "请从下拉列表中选择" if validation else "请按下列名称填写"
    start = date_zh(plan.start)

    def names_of(kind: str) -> str:
        return "、".join(types.loc[types["partner_required"] == kind, "name"])

    def members(group: str) -> list[str]:
        return partners.loc[partners["groups_list"].map(lambda g: group in g), "name_zh"].tolist()

    foreign_groups = groups.loc[groups["kind"] == "foreign"].sort_values("sort")["name"].tolist()
    domestic_groups = [g for g in groups.loc[groups["kind"] == "domestic"].sort_values("sort")["name"]
                       if g != HK_MO_TW_GROUP]
    foreign_eg = "、".join(members(foreign_groups[0])[:3]) if foreign_groups else ""
    domestic_eg = "、".join(members(domestic_groups[0])[:3]) if domestic_groups else ""
    hmt = members(HK_MO_TW_GROUP)

    feeds = []
    for r in ind.itertuples():
        t = types.loc[types["indicator_code"] == r.code, "name"].tolist()
        if t:
            feeds.append(f"    {r.code} {r.name}：{'、'.join(t)}")

    sections = [
        ("一、工作表", [
            f"本报表共三张工作表：「{COVER_SHEET}」「{IND_SHEET}」「{ITEM_SHEET}」，缺一不可。"
            "请不要修改工作表名称和表头文字，也不要删除工作表；列的顺序可以不同，但表头名称必须保留。",
            f"「{COVER_SHEET}」：填写填报单位、报告期（必填）以及填报人、联系电话、填报日期。"
            "报告期可写成「2019年第二季度」「2019年上半年」「2019年度」等。",
            f"「{IND_SHEET}」：每个指标一行，填写截至报告期最后一天的累计值。",
            f"「{ITEM_SHEET}」：每个合作事项一行（事项类别见第三部分）。",
            "表头已锁定以防误改（工作表保护，未设密码）；数据区可自由填写，表2可在下方继续添加行。"
            "确需调整表头时，可在「审阅 → 撤消工作表保护」中直接取消保护。" if validation else
            "可在表2下方继续添加行。",
        ]),
        ("二、表1 指标进展", [
            "「截至本期末累计值」是截至报告期末（例如第二季度为6月30日）的累计数，不是本期新增数；「其中：本期新增」为本报告期内新增的数量，可不填。",
            f"存量指标（{'、'.join(stock)}）填报期末实有数量，包括{plan.start.year}年以前已有的；"
            f"其余指标从{start}起累计计算。" if stock else f"各指标从{start}起累计计算。",
            "留空（或填「—」）表示未填报，不等于0；确实为零请填0。只填写阿拉伯数字，不要带单位，不要填小数。",
            "累计值一般不应低于上一报告期已报的数值；如有下降（如撤销、合并），请在「备注」中说明原因。",
            "表1各指标的累计值应等于表2中对应类别、状态有效的事项数。对应关系：",
            *feeds,
            *([f"「{PREVIOUS_HEADER}」列是上一报告期已报送的数值，只供对照，不会被读取，无需修改。"]
              if has_previous else []),
        ]),
        ("三、表2 合作事项明细", [
            "每次报送都要列出截至报告期末仍然存在的全部事项（包括以前各期已报送过的），不是只列本期新增的事项。"
            "同一事项（名称和类别都相同）只列一行。",
            f"「{ITEM_HEADERS['type'][0]}」{pick}：{'、'.join(types['name'])}。",
            f"「{ITEM_HEADERS['sector'][0]}」{pick}：{'、'.join(ref.sectors['name'])}。",
            f"「{ITEM_HEADERS['partners'][0]}」：外国填国家名称（如{foreign_eg}），国内合作填省（区、市）名称（如{domestic_eg}）。"
            + (f"有多个时用「、」分隔，例如「{'、'.join(members(foreign_groups[0])[:2])}」。" if foreign_groups
               else "有多个时用「、」分隔。"),
            *([f"{'、'.join(hmt)}是中国的地区，属于国内合作方，不能作为外国合作方；请按这一写法填写。"] if hmt else []),
            f"必须有外国合作方的类别：{names_of('foreign')}。"
            f"必须有国内合作方的类别：{names_of('domestic')}。"
            f"国内外合作方均可（但必须填写）的类别：{names_of('any')}。",
            "「起始日期」填写日期，如 2019-03-15 或 2019年3月15日；只知道月份的可写 2019年3月。起始日期不能晚于报告期末。",
            f"「{ITEM_HEADERS['status'][0]}」{pick}：{'、'.join(statuses['name'])}。"
            + (f"其中「{'」「'.join(dead)}」的事项不计入指标统计（请保留该行，便于核对）；" if dead else "")
            + (f"「{'」「'.join(live)}」的事项计入统计；状态留空按计入统计处理。" if live else ""),
            f"「{ITEM_HEADERS['funding'][0]}」以万元为单位，只填数字。",
            "序号为「合计」「小计」的行不会作为事项读取。",
        ]),
        ("四、报送", [
            "接受 .xlsx、.xlsm、.xls 文件；请不要设置打开密码。单元格中可以使用公式，但须在Excel或WPS中保存后再上传。",
            "同一单位、同一报告期再次报送的报表，将替换此前报送的版本成为当前数据；此前的版本仍保留备查。",
        ]),
    ]
    numbered, n = [], 0
    for heading, lines in sections:
        out = []
        for line in lines:
            if line.startswith(" "):
                out.append(line)
            else:
                n += 1
                out.append(f"{n}. {line}")
        numbered.append((heading, out))
    return numbered


# --------------------------------------------------------------------------
# Item rows
def _isnan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _count(v) -> int | None:
    if v is None or v is pd.NA or _isnan(v):
        return None
    return int(v)


def _as_date(v):
    """A date for a date cell; text that is not a date stays text; blank -> None."""
    if v is None or v is pd.NaT:
        return None
    if isinstance(v, float):
        return None if math.isnan(v) else v
    if isinstance(v, np.datetime64):
        v = pd.Timestamp(v)
        if pd.isna(v):
            return None
    if isinstance(v, datetime):  # includes pandas Timestamp
        return v.date()
    if isinstance(v, date):
        return v
    if isinstance(v, str):
        s = v.strip()
        if not s:
            return None
        d, why = parse_date(s)
        return d if d is not None and why is None else s
    return v


def _text(v):
    if v is None or _isnan(v) or v is pd.NA or v is pd.NaT:
        return None
    s = str(v)
    return s if s.strip() else None


def _number(v):
    if v is None or v is pd.NA:
        return None
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return int(v)
    try:
        f = float(v)
    except (TypeError, ValueError):
        return _text(v)
    if math.isnan(f) or math.isinf(f):
        return None
    return int(f) if f.is_integer() and abs(f) < 1e15 else f


def _cached(values, fn) -> list:
    cache: dict = {}
    out = []
    for v in values:
        try:
            hit = cache[v]
        except KeyError:
            hit = cache[v] = fn(v)
        except TypeError:  # unhashable
            hit = fn(v)
        out.append(hit)
    return out


def _item_rows(items: pd.DataFrame | None, ref: Reference) -> list[list]:
    """items frame -> the 11 cell values of each 表2 row."""
    if items is None or len(items) == 0:
        return []
    n = len(items)

    def column(name: str) -> list:
        return items[name].tolist() if name in items.columns else [None] * n

    sector_names = ref.lookups["sector"].names
    partner_names = ref.lookups["partner"].names

    def sector(v):
        t = _text(v)
        return sector_names.get(t, t) if t else None

    def partners(v):
        if v is None:
            return None
        if isinstance(v, str):
            return v.strip() or None
        if isinstance(v, float):
            return None
        names = [partner_names.get(str(c), str(c)) for c in v if c is not None and not _isnan(c)]
        return "、".join(names) or None

    def partner_key(v):
        return tuple(v) if isinstance(v, (list, np.ndarray)) else v

    raw_partners = column("partners")
    cols = [
        list(range(1, n + 1)),
        _cached(column("item_name"), _text),
        _cached(column("item_type"), _text),
        _cached(column("sector_code"), sector),
        _cached([partner_key(p) for p in raw_partners], partners),
        _cached(column("partner_institutions"), _text),
        _cached(column("local_institution"), _text),
        _cached(column("start_date"), _as_date),
        _cached(column("status"), _text),
        _cached(column("funding_wan"), _number),
        _cached(column("note"), _text),
    ]
    return [list(r) for r in zip(*cols)]


# --------------------------------------------------------------------------
# Pre-filled template
ITEM_FIELDS = ["item_name", "item_type", "sector_code", "partners", "partner_institutions", "local_institution",
               "start_date", "status", "funding_wan", "note"]  # what a template lists of an item


@dataclass
class PreviousReturn:
    """A unit's current return the template is pre-filled from.

    For a new period: the return of the latest earlier period (``is_correction``
    False; its live items only). For a period the unit already reported: that
    period's current version (``is_correction`` True; every item, the 表1
    increases and notes, the cover's filler and phone).
    """

    period_code: str
    period_end: date
    values: dict[str, int]
    items: pd.DataFrame  # in the order they were listed
    version: int | None = None
    is_correction: bool = False
    increases: dict[str, int] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    filler: str | None = None
    phone: str | None = None
    received_at: datetime | None = None
    received_by: str | None = None

    @property
    def label(self) -> str:
        p = parse_period(self.period_code)
        return p.label if p else self.period_code


@contextmanager
def _views(db_path: Path | str):
    """A read-only connection when the database and its views exist, else None."""
    from .store import connect, has_public_views

    db_path = Path(db_path)
    if not db_path.exists():
        yield None
        return
    with connect(db_path) as con:
        yield con if has_public_views(con) else None


def _items(df: pd.DataFrame) -> pd.DataFrame:
    """A view's item rows as the template takes them: ITEM_FIELDS in file order."""
    return df.reindex(columns=ITEM_FIELDS).reset_index(drop=True)


def _date(v) -> date:
    return v.date() if isinstance(v, datetime) else v


def previous_return(db_path: Path | str, unit_code: str, period: Period) -> PreviousReturn | None:
    """The unit's current return for the latest period ending before ``period`` starts.

    Read-only, through the public views; None when there is none (or no database).
    """
    from .store import latest_period_before, live_items_at, values_at

    with _views(db_path) as cx:
        if cx is None:
            return None
        row = latest_period_before(cx, unit_code, period.start)
        if row is None:
            return None
        end, code = row
        values = values_at(cx, unit_code, end)
        items = _items(live_items_at(cx, unit_code, end))
    return PreviousReturn(period_code=code, period_end=_date(end), values=values, items=items)


def current_return(db_path: Path | str, unit_code: str, period: Period) -> PreviousReturn | None:
    """The unit's current version for ``period`` itself (same period end), to correct it.

    Every item is kept (terminated ones too: a correction must not drop rows),
    with 表1's increases and notes and the cover's filler and phone. None when
    the unit has not reported the period (or there is no database).
    """
    from .store import current_submission, version_indicator_rows, version_items

    with _views(db_path) as cx:
        if cx is None:
            return None
        row = current_submission(cx, unit_code, period.end)
        if row is None:
            return None
        sid, code, end, version = row["submission_id"], row["period_code"], row["period_end"], row["version"]
        filler, phone, received_at, received_by = row["filler"], row["phone"], row["received_at"], row["received_by"]
        values, increases, notes = {}, {}, {}
        for c, v, inc, note in version_indicator_rows(cx, sid):  # rows without a value too, with their notes
            if v is not None:
                values[c] = int(v)
            if inc is not None:
                increases[c] = int(inc)
            if note is not None and str(note).strip():
                notes[c] = str(note)
        items = _items(version_items(cx, sid))
    return PreviousReturn(period_code=code, period_end=_date(end), values=values, items=items,
                          version=None if version is None else int(version), is_correction=True,
                          increases=increases, notes=notes, filler=filler, phone=phone,
                          received_at=received_at, received_by=received_by)


def template_source(db_path: Path | str, unit_code: str, period: Period) -> PreviousReturn | None:
    """What a template for ``unit_code`` and ``period`` is pre-filled from: the period's own
    current version when the unit reported it (a correction), else the latest earlier return."""
    return current_return(db_path, unit_code, period) or previous_return(db_path, unit_code, period)


# --------------------------------------------------------------------------
# Choosing a template's period
def plan_periods(ref: Reference, kind: str, today: date | None = None) -> list:
    """The plan's periods of one kind (Q, H or Y), earliest first, none starting after ``today``."""
    today = today or date.today()
    per_year = {"Q": 4, "H": 2, "Y": 1}[kind]
    plan = ref.plan
    out = []
    for year in range(plan.start.year, plan.end.year + 1):
        for n in range(1, per_year + 1):
            p = Period(kind, year, n)
            if p.end >= plan.start and p.start <= plan.end and p.start <= today:
                out.append(p)
    return out


def next_unreported(periods: list, reported_ends: list[date]) -> int:
    """Index of the default period for a template: the first one after the unit's latest
    reported period (the first when it never reported, the last when it reported them all)."""
    if not periods:
        return 0
    if not reported_ends:
        return 0
    latest = max(pd.Timestamp(d).date() for d in reported_ends)
    for i, p in enumerate(periods):
        if p.end > latest:
            return i
    return len(periods) - 1


def build_template(db_path: Path | str, unit_code: str, period: Period, ref: Reference | None = None) -> bytes:
    """A template for ``unit_code`` and ``period``, pre-filled (see ``template_source``).

    A period the unit already reported: its current version's values, items,
    notes, filler and phone are filled in, and the workbook says it corrects
    that version. A new period: the live items of the last earlier return are
    listed and its values shown in the greyed reference column; the values
    column is left blank for the new cumulative figures. With no database or
    no return: an empty template.
    """
    ref = ref or load_reference()
    src = template_source(db_path, unit_code, period)
    if src is None:
        return write_return(unit_code=unit_code, period=period, ref=ref)
    if src.is_correction:
        return write_return(unit_code=unit_code, period=period, values=src.values, items=src.items,
                            increases=src.increases, notes=src.notes, filler=src.filler, phone=src.phone,
                            correction_of=src.version, ref=ref)
    return write_return(unit_code=unit_code, period=period, items=src.items, previous_values=src.values,
                        previous_period_label=src.label, ref=ref)


def main(argv: list[str] | None = None) -> int:
    """``python -m pipelines.template`` in-process: the same as ``python -m pipelines template``."""
    from .cli import run_command

    return run_command("template", argv, prog="python -m pipelines.template")
