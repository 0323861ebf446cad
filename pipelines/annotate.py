"""Mark a return's problems on a copy of the workbook the user sent.

``annotate_workbook(data, file_name, issues)`` returns .xlsx bytes: every
problem that names a cell is filled red (error) or yellow (warning) with a
comment holding its message, and an added first sheet 「问题清单」 lists all
problems, the ones that could not be put on a cell highlighted. .xlsm files
are saved without macros; legacy .xls and files openpyxl cannot open are
rebuilt from their cell values (python-calamine); a file that cannot be read
at all gives a workbook with the list only. Nothing here raises on bad input.
"""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from datetime import datetime, time
from typing import Callable

from openpyxl import Workbook, load_workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, MergedCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter, quote_sheetname
from openpyxl.utils.exceptions import InvalidFileException

from .checks import COVER_LABELS, IND_HEADERS, ITEM_HEADERS
from .export import neutralise, put
from .faults import LOGGER
from .issues import ERROR, SEVERITY_ZH, Issue
from .read import DEFAULT_LIMITS, ZIP_MAGIC
from .reference import norm_key

LIST_SHEET = "问题清单"
AUTHOR = "报表检查"

ERROR_FILL = "FFC7CE"
WARNING_FILL = "FFEB9C"
ERROR_ROW_FILL = "FDE9EC"
WARNING_ROW_FILL = "FFF8DC"
UNPLACED_FILL = "F8CBAD"
HEADER_FILL = "DDEBF7"

HEADER_SCAN_ROWS = 30
LIST_HEADERS = ("严重程度", "工作表", "行", "列", "值", "说明", "建议", "标注位置")
LIST_WIDTHS = (10, 20, 6, 20, 22, 70, 24, 16)

# Codes for which the file must not be opened again: too big (a zip bomb), encrypted.
# refused for what opening them would cost (zip bombs, huge sheets, text that expands past the limit,
# a reader that ran out of memory) or encrypted: never opened here either
_DONT_OPEN = {"file-too-large", "sheet-too-large", "file-encrypted", "part-too-large", "text-too-large",
              "reader-failed"}
_CELL_IN_MESSAGE = re.compile(r"单元格([A-Z]{1,3})([1-9]\d*)")
_COLUMN_LETTERS = re.compile(r"^[A-Z]{1,3}$")


def _fill(rgb: str) -> PatternFill:
    return PatternFill("solid", fgColor=rgb)


# Header spellings the reader accepts, grouped: an issue that names one
# spelling finds the column under any other spelling of the same header.
def _alias_groups() -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for spec in (COVER_LABELS, IND_HEADERS, ITEM_HEADERS):
        for spellings in spec.values():
            keys = {norm_key(s) for s in spellings}
            for k in keys:
                groups.setdefault(k, set()).update(keys)
    return groups


_ALIASES = _alias_groups()
_KNOWN_HEADERS = set(_ALIASES)


@dataclass
class _Place:
    """Where an issue was marked: a cell, a whole row, or nowhere."""

    sheet: str | None = None
    row: int | None = None
    column: int | None = None

    @property
    def text(self) -> str:
        if self.column:
            return f"{get_column_letter(self.column)}{self.row}"
        if self.row:
            return f"第{self.row}行（整行）"
        return "未标注"

    @property
    def on_cell(self) -> bool:
        return bool(self.column)


# --------------------------------------------------------------------------
def annotate_workbook(data: bytes, file_name: str, issues: list[Issue],
                      log: Callable[[BaseException, str], object] | None = None) -> bytes:
    """An .xlsx copy of ``data`` with ``issues`` marked, and a first sheet 「问题清单」.

    A workbook openpyxl cannot open is expected (an .xls, a damaged file): its cell values are
    used instead, or the list alone. Anything that fails after the workbook is open is not
    expected: it is passed to ``log(exc, context)`` (``faults.log_exception`` bound to the
    database) and the next way is tried, so the user still gets a workbook.
    """
    issues = list(issues or [])
    if _may_open(data, issues):
        # the workbook itself; if openpyxl cannot read (or write) it, its cell values
        for opener in (_load, _rebuild):
            try:
                wb, names = opener(data)
            except _UNREADABLE:  # what a file openpyxl cannot read raises: try the next way
                continue
            if wb is None:
                continue
            try:
                places = _mark(wb, names, issues)
                _issue_sheet(wb, file_name, issues, places)
                return _save(wb)
            except Exception as exc:  # noqa: BLE001  (not expected: logged, then the next way)
                _report(log, exc, f"annotate {file_name} ({opener.__name__})")
    wb = _empty_workbook()  # nothing readable: the list alone
    try:
        _issue_sheet(wb, file_name, issues, [_Place() for _ in issues])
    except Exception as exc:  # noqa: BLE001  (not expected: logged; a one-line list instead)
        _report(log, exc, f"annotate {file_name} (list only)")
        wb = _empty_workbook()
        wb.create_sheet(LIST_SHEET).append([f"文件「{file_name}」无法读取，共有{len(issues)}个问题。"])
    return _save(wb)


# what openpyxl raises for a file it cannot read (a damaged zip, a missing part, bad XML: SyntaxError
# covers the XML parsers' errors, lxml's too; an .xls)
_UNREADABLE = (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError, IndexError, AttributeError,
               SyntaxError, InvalidFileException)


def _report(log, exc: BaseException, context: str) -> None:
    if log is not None:
        log(exc, context)
    else:
        LOGGER.error("%s failed", context, exc_info=exc)


def _save(wb: Workbook) -> bytes:
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _empty_workbook() -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    return wb


def _may_open(data: bytes, issues: list[Issue]) -> bool:
    """Not empty, and not a file the checker refused as too large (a zip bomb, too much text) or encrypted."""
    return bool(data) and len(data) <= DEFAULT_LIMITS.max_file_bytes and not any(
        i.code in _DONT_OPEN for i in issues)


def _load(data: bytes) -> tuple[Workbook | None, dict[str, str]]:
    """The workbook as it is (.xlsx, .xlsm without its macros); -> (workbook, sheet names)."""
    if not data.startswith(ZIP_MAGIC):
        return None, {}
    wb = load_workbook(io.BytesIO(data), keep_vba=False, keep_links=False, rich_text=False)
    wb.template = False
    _clear_previous_annotation(wb)
    return wb, {n: n for n in wb.sheetnames}


def _rebuild(data: bytes) -> tuple[Workbook | None, dict[str, str]]:
    """A plain workbook holding the cell values python-calamine reads (e.g. from .xls)."""
    import python_calamine as calamine

    cannot_read = (calamine.CalamineError, OSError, ValueError)  # CalamineError: password, zip, XML, sheet
    try:
        book = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheet_names = list(book.sheet_names)
    except cannot_read:  # calamine cannot read it either: the list alone
        return None, {}
    wb = _empty_workbook()
    names: dict[str, str] = {}
    for i, name in enumerate(sheet_names):
        try:
            rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except cannot_read:  # one unreadable sheet: shown empty, the others still marked
            rows = []
        try:
            ws = wb.create_sheet(title=name)
        except ValueError:  # a name openpyxl refuses
            ws = wb.create_sheet(title=f"Sheet{i + 1}")
        names[name] = ws.title
        for row in rows:
            ws.append([_rebuilt(v) for v in row])
        for row in ws.iter_rows():  # values, not formulas: a text "=..." stays text
            for cell in row:
                neutralise(cell)
    if not wb.worksheets:
        return None, {}
    return wb, names


def _rebuilt(v):
    if isinstance(v, datetime) and v.time() == time(0):
        return v.date()  # shown as yyyy-mm-dd
    return _plain(v)


def _plain(v):
    if v == "" or v is None:
        return None
    if isinstance(v, str):
        return ILLEGAL_CHARACTERS_RE.sub("", v)
    return v


def _clear_previous_annotation(wb: Workbook) -> None:
    """A re-sent annotated copy: drop the old list and the marks this module made."""
    if LIST_SHEET not in wb.sheetnames:
        return
    wb.remove(wb[LIST_SHEET])
    ours = {ERROR_FILL, WARNING_FILL, ERROR_ROW_FILL, WARNING_ROW_FILL}
    for ws in wb.worksheets:
        for cell in list(ws._cells.values()):
            if cell.comment is not None and cell.comment.author == AUTHOR:
                cell.comment = None
            rgb = cell.fill.fgColor.rgb if cell.fill is not None and cell.fill.fgColor is not None else None
            if isinstance(rgb, str) and rgb[-6:].upper() in ours:
                cell.fill = PatternFill(fill_type=None)


# --------------------------------------------------------------------------
class _SheetIndex:
    """Text in the first rows of a sheet, to find an issue's column by its header."""

    def __init__(self, ws):
        self.ws = ws
        self.top: dict[str, list[tuple[int, int]]] = {}
        counts: dict[int, int] = {}
        max_row = min(HEADER_SCAN_ROWS, ws.max_row or 0)
        for r, row in enumerate(ws.iter_rows(min_row=1, max_row=max_row, values_only=True), 1):
            for c, v in enumerate(row, 1):
                if isinstance(v, str):
                    k = norm_key(v)
                    if k:
                        self.top.setdefault(k, []).append((r, c))
                        if k in _KNOWN_HEADERS:
                            counts[r] = counts.get(r, 0) + 1
        best = max(counts.items(), key=lambda kv: (kv[1], -kv[0]), default=(None, 0))
        self.header_row = best[0] if best[1] >= 2 else None

    def column(self, header: str, row: int) -> int | None:
        key = norm_key(header)
        for keys in ({key}, _ALIASES.get(key, {key})):
            cands = [(r, c) for k in keys for r, c in self.top.get(k, ()) if r < row]
            if cands:
                in_header = [c for r, c in cands if r == self.header_row]
                if in_header:
                    return in_header[0]
                return max(cands)[1]  # the nearest header above the row
            label = self._label(keys, row)  # label/value layout (封面)
            if label is not None:
                return label
        return None

    def _label(self, keys: set[str], row: int) -> int | None:
        cells = next(self.ws.iter_rows(min_row=row, max_row=row), ())
        for i, cell in enumerate(cells):
            if isinstance(cell.value, str) and norm_key(cell.value) in keys:
                for nxt in cells[i + 1:i + 4]:  # the value: next non-empty cell to the right
                    if nxt.value is not None and str(nxt.value).strip():
                        return nxt.column
                return cell.column + 1
        return None


def _top_left(ws, row: int, col: int) -> tuple[int, int]:
    if isinstance(ws.cell(row=row, column=col), MergedCell):
        for rng in ws.merged_cells.ranges:
            if rng.min_row <= row <= rng.max_row and rng.min_col <= col <= rng.max_col:
                return rng.min_row, rng.min_col
    return row, col


def _mark(wb: Workbook, names: dict[str, str], issues: list[Issue]) -> list[_Place]:
    indexes: dict[str, _SheetIndex] = {}
    places: list[_Place] = []
    cells: dict[tuple[str, int, int], list[Issue]] = {}
    rows: dict[tuple[str, int], list[Issue]] = {}
    for issue in issues:
        place = _Place()
        title = names.get(issue.sheet or "")
        if title is not None and title in wb.sheetnames and issue.row:
            ws = wb[title]
            col = None
            if issue.column:
                if title not in indexes:
                    indexes[title] = _SheetIndex(ws)
                col = indexes[title].column(issue.column, issue.row)
            if col is None:  # a cell named by reference: 「单元格J12」, or a column letter
                m = _CELL_IN_MESSAGE.search(issue.message or "")
                if m and int(m.group(2)) == issue.row:
                    col = column_index_from_string(m.group(1))
                elif issue.column and _COLUMN_LETTERS.match(issue.column):
                    col = column_index_from_string(issue.column)
            if col is not None:
                r, col = _top_left(ws, issue.row, col)
                place = _Place(title, r, col)
                cells.setdefault((title, r, col), []).append(issue)
            else:
                place = _Place(title, issue.row)
                rows.setdefault((title, issue.row), []).append(issue)
        places.append(place)

    for (title, r), found in rows.items():
        ws = wb[title]
        fill = _fill(ERROR_ROW_FILL if any(i.severity == ERROR for i in found) else WARNING_ROW_FILL)
        for c in range(1, max(ws.max_column or 1, 1) + 1):
            cell = ws.cell(row=r, column=c)
            if not isinstance(cell, MergedCell):
                cell.fill = fill
        first = ws.cell(row=r, column=1)
        if not isinstance(first, MergedCell):
            _comment(first, found)
    for (title, r, c), found in cells.items():
        cell = wb[title].cell(row=r, column=c)
        cell.fill = _fill(ERROR_FILL if any(i.severity == ERROR for i in found) else WARNING_FILL)
        _comment(cell, found)
    return places


def _comment(cell, found: list[Issue]) -> None:
    ordered = sorted(found, key=lambda i: i.severity != ERROR)
    lines = []
    for i in ordered:
        text = f"【{SEVERITY_ZH.get(i.severity, i.severity)}】{i.message}"
        if i.suggestion:
            text += f"（建议：{i.suggestion}）"
        lines.append(text)
    old = cell.comment
    if old is not None and old.author != AUTHOR and old.text:
        lines.append(f"（原批注）{old.text}")
    text = "\n".join(lines)
    height = 24 + 18 * sum(1 + len(line) // 22 for line in lines)
    cell.comment = Comment(text, AUTHOR, height=min(height, 400), width=320)


# --------------------------------------------------------------------------
def _issue_sheet(wb: Workbook, file_name: str, issues: list[Issue], places: list[_Place]) -> None:
    if LIST_SHEET in wb.sheetnames:
        wb.remove(wb[LIST_SHEET])
    ws = wb.create_sheet(LIST_SHEET, 0)
    for other in wb.worksheets[1:]:
        other.sheet_view.tabSelected = False
    wb.active = 0
    ws.sheet_view.tabSelected = True

    n_err = sum(i.severity == ERROR for i in issues)
    n_unplaced = sum(not p.on_cell for p in places)
    if issues:
        summary = (f"文件「{file_name}」共有{len(issues)}个问题：错误{n_err}个（单元格标红），"
                   f"提示{len(issues) - n_err}个（单元格标黄），鼠标移到标色单元格上可看批注。")
        if n_unplaced:
            summary += f"其中{n_unplaced}个问题无法标注到具体单元格，已在下表中用橙色突出显示。"
    else:
        summary = f"文件「{file_name}」未发现问题。"
    ws.cell(row=1, column=1, value=summary).font = Font(bold=True)
    ws.cell(row=1, column=1).alignment = Alignment(wrap_text=True, vertical="center")
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(LIST_HEADERS))
    ws.row_dimensions[1].height = 36
    for c, text in enumerate(LIST_HEADERS, 1):
        cell = ws.cell(row=2, column=c, value=text)
        cell.font = Font(bold=True)
        cell.fill = _fill(HEADER_FILL)
    for c, w in enumerate(LIST_WIDTHS, 1):
        ws.column_dimensions[get_column_letter(c)].width = w

    sheet_order = {name: n for n, name in enumerate(wb.sheetnames)}

    def sort_key(k: int):
        i = issues[k]
        return (i.severity != ERROR, places[k].on_cell, sheet_order.get(places[k].sheet or i.sheet, -1),
                i.row or 0)

    order = sorted(range(len(issues)), key=sort_key)
    for r, k in enumerate(order, 3):
        i, p = issues[k], places[k]
        d = i.to_dict()
        values = [SEVERITY_ZH.get(d["severity"], d["severity"]), d["sheet"], d["row"], d["column"], d["value"],
                  d["message"], d["suggestion"], p.text]
        for c, v in enumerate(values, 1):
            cell = put(ws, r, c, _plain(v) if isinstance(v, str) else v)
            if c == 6:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row=r, column=1).fill = _fill(ERROR_FILL if i.severity == ERROR else WARNING_FILL)
        if not p.on_cell:
            for c in range(2, len(LIST_HEADERS) + 1):
                ws.cell(row=r, column=c).fill = _fill(UNPLACED_FILL)
            ws.cell(row=r, column=6).font = Font(bold=True)
        if p.sheet and p.row:
            link = ws.cell(row=r, column=len(LIST_HEADERS))
            link.hyperlink = f"#{quote_sheetname(p.sheet)}!{get_column_letter(p.column or 1)}{p.row}"
            link.font = Font(color="0563C1", underline="single")
    ws.freeze_panes = "A3"
    if issues:
        ws.auto_filter.ref = f"A2:{get_column_letter(len(LIST_HEADERS))}{len(issues) + 2}"
