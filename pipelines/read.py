"""Workbook bytes -> raw sheets (text columns, row 0 = Excel row 1).

calamine reads .xlsx, .xlsm and legacy .xls without running anything
(macros, external links and formulas are never evaluated: a formula cell
gives its saved value). It is used through fastexcel, which hands each sheet
over as Arrow columns of cell text: a 50,000-row 表2 never becomes half a
million Python objects, and the checks work on whole columns. Sheets are
found by name, never by position. Every failure becomes an Issue; nothing
here raises on bad input.
"""
from __future__ import annotations

import html
import io
import logging
import re
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import PurePath

import fastexcel
import pyarrow as pa
import pyarrow.compute as pc

from .issues import Issue, make_issue
from .normalise import raw_text
from .reference import norm_key

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls"}


@dataclass(frozen=True)
class Limits:
    """Refuse what would freeze the server before parsing it."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_uncompressed_bytes: int = 500 * 1024 * 1024
    max_rows: int = 200_000
    max_columns: int = 200
    max_sheets: int = 50


DEFAULT_LIMITS = Limits()
log = logging.getLogger(__name__)
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="xlsx-scan")

# Sheet names accepted for each required sheet, compared with norm_key.
SHEETS = {
    "cover": ("封面",),
    "indicators": ("表1指标进展", "指标进展", "表1"),
    "items": ("表2合作事项明细", "合作事项明细", "表2"),
}
SHEET_TITLES = {"cover": "封面", "indicators": "表1 指标进展", "items": "表2 合作事项明细"}


class Sheet:
    """A sheet as read: one text column per Excel column ('' for an empty
    cell), from Excel row 1. A date cell reads as 2019-03-15 (with its time,
    2019-03-15 10:30, when it has one), a number as Excel shows it unformatted
    (5, 183.5), an error cell (#DIV/0!) as empty."""

    def __init__(self, columns: dict[int, pa.Array], num_rows: int):
        self._columns = columns  # 0-based Excel column -> string array without nulls
        self.num_rows = num_rows
        self.width = max(columns) + 1 if columns else 0

    @classmethod
    def from_rows(cls, rows: list[list]) -> "Sheet":
        """A sheet from Python rows (tests, and cells already read some other way)."""
        width = max(map(len, rows), default=0)
        cols = {j: pa.array([_cell_text(r[j]) if j < len(r) else "" for r in rows], pa.string()) for j in range(width)}
        return cls(cols, len(rows))

    def column(self, j: int) -> pa.Array:
        col = self._columns.get(j)
        return col if col is not None else pa.nulls(self.num_rows, pa.string()).fill_null("")

    def rows(self, stop: int | None = None) -> list[list[str]]:
        """The first ``stop`` rows (all by default) as lists of cell text."""
        stop = self.num_rows if stop is None else min(stop, self.num_rows)
        if not self.width:
            return [[] for _ in range(stop)]
        blank = [""] * stop
        cols = [self._columns[j].slice(0, stop).to_pylist() if j in self._columns else blank
                for j in range(self.width)]
        return [list(r) for r in zip(*cols)]


_DATETIME_TEXT = r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}):00$"


def _text_column(col: pa.Array) -> pa.Array:
    """A fastexcel string column as cell text: '' for empty, dates as raw_text shows them."""
    col = pc.fill_null(col, "")
    if pc.any(pc.ends_with(col, ":00")).as_py():
        col = pc.replace_substring_regex(col, _DATETIME_TEXT, r"\1 \2")
        col = pc.replace_substring_regex(col, r"^(\d{4}-\d{2}-\d{2}) 00:00$", r"\1")
    return col


def _cell_text(value) -> str:
    return value if value.__class__ is str else raw_text(value)


def _load_sheet(reader, name: str) -> Sheet:
    sheet = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
    batch = sheet.to_arrow()
    positions = [c.absolute_index for c in sheet.selected_columns]
    return Sheet({j: _text_column(col) for j, col in zip(positions, batch.columns)}, batch.num_rows)


@dataclass
class RawWorkbook:
    file_name: str
    sheet_names: list[str]
    sheets: dict[str, Sheet] = field(default_factory=dict)  # role -> sheet
    names: dict[str, str] = field(default_factory=dict)  # role -> sheet name as found
    issues: list[Issue] = field(default_factory=list)


def _human_bytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


def _find_sheet(names: list[str], role: str) -> str | None:
    wanted = [norm_key(a) for a in SHEETS[role]]
    keyed = {norm_key(n): n for n in names}
    for w in wanted:
        if w in keyed:
            return keyed[w]
    return None


_DIM = re.compile(rb'<dimension ref="[A-Z]+\d+:([A-Z]+)(\d+)"')
_FORMULA = re.compile(rb'<f\b[^>]*?(?:/>|>([^<]*)</f>)')  # not <formula1> (data validation)
_CELL_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_SAVED_VALUE = re.compile(rb'<v(?:\s[^>]*)?>[^<]+</v>|<is>')
# A cell showing #DIV/0!, #REF!, #N/A ...: calamine reads it as empty, so it must be caught here.
_ERROR_CELL = re.compile(rb'<c\b([^>/]*\bt="e"[^>/]*)>(?:<f\b[^>]*?(?:/>|>[^<]*</f>))?<v>([^<]*)</v>')
_SHEET_REL = re.compile(rb'<sheet [^>]*?name="([^"]+)"[^>]*?r:id="([^"]+)"')
_REL = re.compile(rb'<Relationship [^>]*?Id="([^"]+)"[^>]*?Target="([^"]+)"')
_REL2 = re.compile(rb'<Relationship [^>]*?Target="([^"]+)"[^>]*?Id="([^"]+)"')


def _col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def _col_letters(n: int) -> str:
    s = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)

UNREADABLE_HINT = "请用Excel或WPS打开该文件，确认内容完整后另存为 .xlsx 再上传；如无法打开，请向填报单位重新索取文件。"


def _why_unreadable(exc: BaseException, *, is_zip: bool = True) -> str:
    """A low-level reading error (zipfile, zlib, calamine: English) in words staff understand."""
    msg = str(exc).lower()
    if "cannot detect file format" in msg or "unsupported" in msg:
        return ("压缩包中没有Excel工作簿的内容，可能是改了扩展名的其他文件" if is_zip
                else "不是可识别的Excel文件，可能是改了扩展名的其他文件")
    if (isinstance(exc, (zlib.error, EOFError)) or "decompress" in msg or "deflate" in msg or "crc" in msg
            or "invalid" in msg and "distance" in msg):
        return "文件中的压缩数据已损坏"
    if isinstance(exc, zipfile.BadZipFile) or "zip" in msg or "truncated" in msg or "eof" in msg:
        return "文件不完整，可能是下载、复制或保存时中断"
    if "xml" in msg:
        return "工作簿内部结构已损坏"
    return "文件内容无法解析"


def _unreadable(file_name: str, exc: BaseException, *, sheet: str | None = None, is_zip: bool = True) -> Issue:
    """The file-level issue for a file that cannot be read: Chinese only; the detail goes to the log."""
    log.info("unreadable workbook %r%s: %s: %s", file_name, f" (sheet {sheet!r})" if sheet else "",
             type(exc).__name__, exc)
    return make_issue("file-unreadable", sheet=sheet, value=file_name, detail=_why_unreadable(exc, is_zip=is_zip),
                      suggestion=UNREADABLE_HINT)

_SHEET_ELEMENT = re.compile(rb'<(?:\w+:)?sheet\s')
_ANY_REF = re.compile(rb'\sr\s*=\s*["\']([A-Z]{0,3})(\d+)')
_SCAN_CHUNK = 1 << 22


def _package_issues(data: bytes, name: str, limits: Limits) -> list[Issue]:
    """Limits read from the zip directory and workbook.xml alone, before calamine opens the file
    (calamine decompresses and parses the shared strings and styles as it opens)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        total = sum(i.file_size for i in zf.infolist())
        if total > limits.max_uncompressed_bytes:
            return [make_issue("file-too-large", value=name, detail=f"解压后有{_human_bytes(total)}",
                               limit=_human_bytes(limits.max_uncompressed_bytes))]
        n = len(_SHEET_ELEMENT.findall(zf.read("xl/workbook.xml"))) if "xl/workbook.xml" in zf.namelist() else 0
    except _ZIP_ERRORS as exc:
        return [_unreadable(name, exc)]
    if n > limits.max_sheets:
        return [make_issue("sheet-too-large", value=f"{n}个工作表", limit=f"{limits.max_sheets}个工作表")]
    return []


def _odd_refs(buf: bytes) -> bool:
    """Whether some r attribute may be written other than ' r="' (other white space, quotes)."""
    return (b"\nr" in buf or b"\tr" in buf or b"\rr" in buf or b" =" in buf or b"= " in buf
            or buf.count(b"r=") != buf.count(b'r="'))


def _sheet_extent(fh, limits: Limits) -> tuple[int, int]:
    """(last row, last column) a sheet's cells reach, streaming the part.

    calamine allocates the rectangle from A1 to the farthest cell before it
    returns anything, and goes by the cells, not by <dimension> (which may be
    missing or wrong): a 6 KB file with one cell at XFD1048576 would ask for
    about 500 GB and abort the whole process. Every row and cell reference is
    looked at; only those long enough to matter are parsed (a column is
    reported only when its letters are as many as the limit's).
    """
    fast_row = re.compile(rb' r="[A-Z]{0,3}(\d{%d,})"' % len(str(limits.max_rows)))
    fast_col = re.compile(rb' r="([A-Z]{%d,})\d' % len(_col_letters(limits.max_columns)))
    max_row = max_col = rows = row_cells = 0
    tail = b""
    while True:
        chunk = fh.read(_SCAN_CHUNK)
        buf = tail + chunk
        if chunk:  # look at whole rows only, so counts are not split across a chunk boundary
            cut = buf.rfind(b"</row>")
            if cut < 0:
                tail = buf
                continue
            buf, tail = buf[:cut + 6], buf[cut + 6:]
        elif not buf:
            break
        else:
            tail = b""
        if _odd_refs(buf):
            for m in _ANY_REF.finditer(buf):
                max_row = max(max_row, int(m.group(2)))
                max_col = max(max_col, _col_number(m.group(1).decode()))
        else:
            max_row = max(max_row, max(map(int, fast_row.findall(buf)), default=0))
            max_col = max(max_col, max((_col_number(c.decode()) for c in set(fast_col.findall(buf))), default=0))
        rows += buf.count(b"<row")  # a row without a reference is the next row
        if b"<c>" in buf or b"<c/>" in buf or buf.count(b"<c ") != buf.count(b'<c r="'):
            # cells without a reference take the next column: count the cells along each row
            for k, piece in enumerate(buf.split(b"<row")):
                n = piece.count(b"<c>") + piece.count(b"<c ") + piece.count(b"<c/>")
                row_cells = row_cells + n if k == 0 else n
                max_col = max(max_col, row_cells)
        if not chunk:
            break
    return max(max_row, rows), max_col


def _xlsx_sheet_parts(zf: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> part path inside the package."""
    try:
        wb = zf.read("xl/workbook.xml")
        rels = zf.read("xl/_rels/workbook.xml.rels")
    except KeyError:
        return {}
    targets = {rid.decode(): tgt.decode() for rid, tgt in _REL.findall(rels)}
    targets.update({rid.decode(): tgt.decode() for tgt, rid in _REL2.findall(rels)})
    out = {}
    for name, rid in _SHEET_REL.findall(wb):
        tgt = targets.get(rid.decode())
        if tgt:
            tgt = tgt.lstrip("/")
            out[html.unescape(name.decode("utf-8"))] = tgt if tgt.startswith("xl/") else f"xl/{tgt}"
    return out


def _inspect_xlsx(data: bytes, name: str, wanted: dict[str, str], limits: Limits,
                  formulas: bool = True) -> list[Issue]:
    """Package-level checks before parsing: zip bomb, sheet size, formulas with no value.

    With ``formulas=False`` only the size checks run: the <dimension> in each
    sheet's first 4 KB, then the cells' real extent, streamed (nothing is kept).
    """
    issues: list[Issue] = []
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        total = sum(i.file_size for i in zf.infolist())
    except zipfile.BadZipFile as exc:
        return [_unreadable(name, exc)]
    if total > limits.max_uncompressed_bytes:
        return [make_issue("file-too-large", value=name, detail=f"解压后有{_human_bytes(total)}",
                           limit=_human_bytes(limits.max_uncompressed_bytes))]
    parts = _xlsx_sheet_parts(zf)
    for role, sheet in wanted.items():
        part = parts.get(sheet)
        if not part or part not in zf.namelist():
            continue
        try:
            with zf.open(part) as fh:
                head = fh.read(4096)
        except _ZIP_ERRORS as exc:  # e.g. a part larger than the directory says
            issues.append(_unreadable(name, exc, sheet=sheet))
            continue
        m = _DIM.search(head)
        if m:
            rows, cols = int(m.group(2)), _col_number(m.group(1).decode())
            if rows > limits.max_rows or cols > limits.max_columns:
                issues.append(make_issue("sheet-too-large", sheet=sheet, value=f"{rows}行×{cols}列",
                                         limit=f"{limits.max_rows}行×{limits.max_columns}列"))
                continue
        if not formulas:
            try:
                with zf.open(part) as fh:
                    rows, cols = _sheet_extent(fh, limits)
            except _ZIP_ERRORS as exc:
                issues.append(_unreadable(name, exc, sheet=sheet))
                continue
            if rows > limits.max_rows or cols > limits.max_columns:
                over = [f"{rows}行"] if rows > limits.max_rows else []
                over += [f"{cols}列"] if cols > limits.max_columns else []
                issues.append(make_issue("sheet-too-large", sheet=sheet, value="×".join(over),
                                         limit=f"{limits.max_rows}行×{limits.max_columns}列"))
            continue
        try:
            xml = zf.read(part)
        except _ZIP_ERRORS as exc:
            issues.append(_unreadable(name, exc, sheet=sheet))
            continue
        for cell in _ERROR_CELL.finditer(xml) if b't="e"' in xml else ():
            ref = _CELL_REF.search(cell.group(1))
            if ref:
                letters, row = ref.group(1).decode(), int(ref.group(2))
                issues.append(make_issue("cell-error", sheet=sheet, row=row, column=letters,
                                         value=html.unescape(cell.group(2).decode("utf-8")), cell=f"{letters}{row}"))
        if b"<f" not in xml:
            continue
        for formula in _FORMULA.finditer(xml):
            # the <c ...> element around this <f>: no other cell starts in between
            start, end = xml.rfind(b"<c ", 0, formula.start()), xml.find(b"</c>", formula.end())
            attrs = xml[start:xml.find(b">", start)]
            body = xml[formula.end():end]
            ref = _CELL_REF.search(attrs)
            if start < 0 or end < 0 or ref is None or _SAVED_VALUE.search(body):
                continue
            if b't="str"' in attrs and b"<v" in body:  # a formula whose saved result is ""
                continue
            letters, row = ref.group(1).decode(), int(ref.group(2))
            # column: the letter here; checks.py replaces it with the header text
            issues.append(make_issue("formula-no-value", sheet=sheet, row=row, column=letters,
                                     value="=" + html.unescape((formula.group(1) or b"").decode("utf-8")),
                                     cell=f"{letters}{row}"))
    return issues


def read_workbook(data: bytes, file_name: str, limits: Limits = DEFAULT_LIMITS) -> RawWorkbook:
    """Read the three sheets of a return. Problems are in ``.issues``."""
    wb = RawWorkbook(file_name=file_name, sheet_names=[])
    suffix = PurePath(file_name).suffix.lower()
    if len(data) > limits.max_file_bytes:
        wb.issues.append(make_issue("file-too-large", value=file_name, detail=f"有{_human_bytes(len(data))}",
                                    limit=_human_bytes(limits.max_file_bytes)))
        return wb
    if not data:
        wb.issues.append(make_issue("file-unreadable", value=file_name, detail="文件是空的，大小为0字节",
                                    suggestion="请在Excel或WPS中重新保存报表后再上传。"))
        return wb
    is_zip, is_ole = data.startswith(ZIP_MAGIC), data.startswith(OLE_MAGIC)
    if is_ole and "EncryptedPackage".encode("utf-16-le") in data[:65536 * 8]:
        wb.issues.append(make_issue("file-encrypted", value=file_name))
        return wb
    if not (is_zip or is_ole):
        code = "file-type" if suffix not in EXCEL_SUFFIXES else "file-unreadable"
        wb.issues.append(make_issue(code, value=file_name, detail="文件内容不是Excel格式，可能是改了扩展名的其他文件",
                                    suggestion=UNREADABLE_HINT if code == "file-unreadable" else None))
        return wb
    if is_zip:
        wb.issues.extend(_package_issues(data, file_name, limits))
        if wb.issues:
            return wb
    try:
        book = fastexcel.read_excel(data)
        wb.sheet_names = list(book.sheet_names)
    except Exception as exc:  # calamine raises several types for bad files
        msg = str(exc)
        if "password" in msg.lower() or "encrypt" in msg.lower():
            wb.issues.append(make_issue("file-encrypted", value=file_name))
        else:
            wb.issues.append(_unreadable(file_name, exc, is_zip=is_zip))
        return wb
    if len(wb.sheet_names) > limits.max_sheets:
        wb.issues.append(make_issue("sheet-too-large", value=f"{len(wb.sheet_names)}个工作表",
                                    limit=f"{limits.max_sheets}个工作表"))
        return wb
    for role in SHEETS:
        found = _find_sheet(wb.sheet_names, role)
        if found is None:
            wb.issues.append(make_issue("sheet-missing", expected=SHEET_TITLES[role],
                                        value="、".join(wb.sheet_names) or "无"))
        else:
            wb.names[role] = found
    formula_scan = None
    if is_zip:
        pre = _inspect_xlsx(data, file_name, wb.names, limits, formulas=False)
        wb.issues.extend(pre)
        if any(i.code in ("file-too-large", "sheet-too-large", "file-unreadable") for i in pre):
            return wb
        # decompressing the sheets for the formula scan overlaps with calamine's parse
        formula_scan = _POOL.submit(_inspect_xlsx, data, file_name, dict(wb.names), limits)
    for role, sheet in wb.names.items():
        try:
            read = _load_sheet(book, sheet)
        except Exception as exc:
            wb.issues.append(_unreadable(file_name, exc, sheet=sheet, is_zip=is_zip))
            continue
        if read.num_rows > limits.max_rows:
            wb.issues.append(make_issue("sheet-too-large", sheet=sheet, value=f"{read.num_rows}行",
                                        limit=f"{limits.max_rows}行"))
            continue
        wb.sheets[role] = read
    if formula_scan is not None:
        wb.issues.extend(i for i in formula_scan.result() if i.code in ("formula-no-value", "cell-error"))
    return wb
