"""Every Excel and CSV file the product writes goes through here.

Names in the returns are typed by people, so a cell can hold
``=HYPERLINK("http://x","y")`` or ``+cmd|' /C calc'!A0``. Written naively
such text becomes a live formula. The rule (OWASP's "CSV injection"):

* Excel: every text value is written as a *text* cell (never a formula), and
  text that starts with ``= + - @``, a tab or a carriage return (or their
  full-width forms) additionally gets Excel's own "quote prefix" (the hidden
  leading apostrophe), so it shows exactly as typed, stays text when the cell
  is edited, and is read back unchanged when the workbook is uploaded again.
* CSV: such a cell is prefixed with an apostrophe (Excel and WPS then show it
  as text instead of evaluating it).

``write_workbook`` builds a whole workbook from DataFrames (downloads, the
audit export); ``put`` writes one cell of a workbook built with openpyxl
(templates, annotated workbooks); ``write_csv`` writes CSV bytes.

    >>> data = write_workbook({"指标进展": df}, formats={"指标进展": {"完成率": PERCENT}},
    ...                       notes=[("范围", "全区"), ("截止日期", "2019年6月30日")])
"""
from __future__ import annotations

import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

# Text starting with one of these would be (or could become) a formula.
RISKY_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
PERCENT = "0.0%"
INTEGER = "#,##0"
DECIMAL = "#,##0.0"
DATE = "yyyy-mm-dd"
DATETIME = "yyyy-mm-dd hh:mm:ss"
NOTES_SHEET = "说明"
NOTES_HEADERS = ("项目", "说明")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"

_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_HEADER_FONT = Font(bold=True)


def is_risky(text: str) -> bool:
    """Would Excel (or a later edit of the cell) treat this text as a formula?"""
    return isinstance(text, str) and text.startswith(RISKY_START)


def clean_text(text: str) -> str:
    """Drop the control characters an .xlsx file cannot hold (tab, LF and CR stay)."""
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def csv_text(text: str) -> str:
    """One CSV text value: an apostrophe in front if it starts like a formula."""
    return "'" + text if is_risky(text) else text


def cell_value(value):
    """A Python/pandas/numpy value as something openpyxl writes as data (not a formula)."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return "、".join(str(v) for v in value if v is not None)
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, np.generic):
        value = value.item()
        return None if isinstance(value, float) and math.isnan(value) else value
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.replace(tzinfo=None)
    if isinstance(value, (bool, int, float, date, datetime)):
        return value
    if isinstance(value, pd.Timedelta):
        return str(value)
    return str(value)


def put(ws, row: int, column: int, value, number_format: str | None = None):
    """Write one cell of a normal (not write-only) openpyxl worksheet; -> the cell.

    Text is always a text cell; risky text gets the quote prefix.
    """
    value = cell_value(value)
    cell = ws.cell(row=row, column=column)
    _assign(cell, value)
    if number_format:
        cell.number_format = number_format
    return cell


def neutralise(cell) -> None:
    """Make an existing openpyxl cell safe: a formula-like text becomes quoted text."""
    if isinstance(cell.value, str):
        _assign(cell, cell.value)


def _assign(cell, value) -> None:
    if isinstance(value, str):
        value = clean_text(value)
        cell.value = value
        cell.data_type = "s"  # openpyxl would make "=..." a formula
        if is_risky(value):
            cell.quotePrefix = True
    else:
        cell.value = value


def sheet_title(name: str, taken: Iterable[str] = ()) -> str:
    """A valid, unique Excel sheet name (31 characters, none of []:*?/\\)."""
    base = _BAD_SHEET_CHARS.sub("_", str(name)).strip("'") or "Sheet"
    base = base[:31]
    taken = {t.lower() for t in taken}
    title, n = base, 2
    while title.lower() in taken:
        suffix = f"({n})"
        title = base[:31 - len(suffix)] + suffix
        n += 1
    return title


def export_notes(content: str, *, scope: str, source: str, demo: bool, as_of: date | None = None,
                 filters: str | None = None, extra: Sequence[tuple[str, object]] = (),
                 exported_at: datetime | None = None) -> list[tuple[str, object]]:
    """The 说明 sheet every Excel export starts with, so the file stands alone: what it holds, the
    scope, the filters, the as-of date, the source, demo data or not, and when it was exported
    (``extra``: further (项目, 说明) rows, e.g. 统计口径, before the export time)."""
    from .vocab import date_zh

    return [
        ("内容", content),
        ("范围", scope),
        ("筛选条件", filters or "无"),
        ("截止日期", date_zh(as_of) if as_of is not None else "—"),
        ("数据来源", source),
        ("数据性质", "演示数据（系统生成，非真实报送，请勿引用）" if demo else "正式报送数据"),
        *extra,
        ("导出时间", f"{exported_at or datetime.now():%Y-%m-%d %H:%M}"),
    ]


def notes_frame(notes: Mapping[str, object] | Sequence[tuple[str, object]]) -> pd.DataFrame:
    pairs = list(notes.items()) if isinstance(notes, Mapping) else [tuple(p) for p in notes]
    return pd.DataFrame(pairs, columns=list(NOTES_HEADERS))


def write_workbook(sheets: Mapping[str, pd.DataFrame], *, formats: Mapping[str, Mapping[str, str]] | None = None,
                   notes: Mapping[str, object] | Sequence[tuple[str, object]] | None = None,
                   notes_name: str = NOTES_SHEET, widths: Mapping[str, Mapping[str, float]] | None = None,
                   index: bool = False) -> bytes:
    """An .xlsx workbook, one sheet per DataFrame, in order; -> bytes.

    ``formats``: ``{sheet: {column: number format}}``, e.g. ``{"指标进展": {"完成率": PERCENT}}``
    (percentages stay numbers: write 0.5 with ``PERCENT`` to show 50.0%).
    Date and datetime columns get ``DATE``/``DATETIME`` unless given.
    ``notes``: ``(项目, 说明)`` pairs (or a dict) written first as a sheet
    ``notes_name`` (「说明」): scope, filters, as-of date, source, export time.
    ``widths``: ``{sheet: {column: width}}``; otherwise widths follow the header.
    """
    formats = formats or {}
    widths = widths or {}
    ordered: list[tuple[str, pd.DataFrame, bool]] = []
    if notes is not None:
        ordered.append((notes_name, notes_frame(notes), True))
    for name, df in sheets.items():
        if isinstance(df, pd.Series):
            df = df.to_frame()
        if index:
            df = df.reset_index()
        ordered.append((name, df, False))

    wb = Workbook(write_only=True)
    taken: list[str] = []
    for name, df, is_notes in ordered:
        title = sheet_title(name, taken)
        taken.append(title)
        _write_frame(wb.create_sheet(title), df, formats.get(name, {}), widths.get(name, {}), is_notes)
    if not taken:
        ws = wb.create_sheet("Sheet")
        ws.append(["（无数据）"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _write_frame(ws, df: pd.DataFrame, formats: Mapping[str, str], widths: Mapping[str, float],
                 is_notes: bool) -> None:
    columns = [str(c) for c in df.columns]
    fmts = [formats.get(col) or _default_format(df.iloc[:, i]) for i, col in enumerate(columns)]
    for i, col in enumerate(columns, 1):
        w = widths.get(col)
        if w is None:
            w = 60 if is_notes and i == 2 else min(40, max(8, 2 * len(col) + 2))
        ws.column_dimensions[get_column_letter(i)].width = w
    ws.freeze_panes = "A2"

    header = []
    for col in columns:
        cell = WriteOnlyCell(ws)
        _assign(cell, clean_text(col))
        cell.font = _HEADER_FONT
        header.append(cell)
    ws.append(header)

    wrap = Alignment(wrap_text=True, vertical="top") if is_notes else None
    for values in df.itertuples(index=False, name=None):
        row = []
        for v, fmt in zip(values, fmts):
            v = cell_value(v)
            if isinstance(v, str) or fmt or wrap:
                cell = WriteOnlyCell(ws)
                _assign(cell, v)
                if fmt and not isinstance(v, str):
                    cell.number_format = fmt
                if wrap:
                    cell.alignment = wrap
                row.append(cell)
            else:
                row.append(v)
        ws.append(row)


def _default_format(s: pd.Series) -> str | None:
    """Dates show as dates (openpyxl would otherwise show a datetime with 00:00:00)."""
    values = s.dropna()
    if values.empty:
        return None
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return DATETIME if (values.dt.normalize() != values).any() else DATE
    first = values.iloc[0]
    if isinstance(first, datetime):
        return DATETIME
    if isinstance(first, date):
        return DATE
    return None


def write_csv(df: pd.DataFrame, *, index: bool = False) -> bytes:
    """CSV bytes (UTF-8 with BOM, so Excel and WPS read the Chinese); risky text prefixed."""
    out = df.reset_index() if index else df.copy()
    out.columns = [csv_text(str(c)) for c in out.columns]
    for c in out.columns:
        s = out[c]
        if s.dtype == object or pd.api.types.is_string_dtype(s.dtype):
            out[c] = s.map(lambda v: csv_text(cell_value(v)) if isinstance(cell_value(v), str) else cell_value(v),
                           na_action="ignore")
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")  # CRLF: a CR in a cell is quoted


def formula_cells(data: bytes) -> list[str]:
    """Cells of an .xlsx that Excel would evaluate (for checks and tests): ['sheet!A1', ...]."""
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data))
    return [f"{ws.title}!{c.coordinate}" for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if c.data_type == "f"]
