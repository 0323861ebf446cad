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
import multiprocessing
import sys
import threading
import types
from contextlib import contextmanager
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import PurePath

import fastexcel
import pyarrow as pa
import pyarrow.compute as pc

from .issues import Issue, make_issue
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
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="xlsx-scan")

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


# The fast path of the extent scan reads only references long enough to matter.
# It applies to a chunk written the usual way: every <row> and <c> carries
# r="..." with a plain space before it, no element prefix. Anything else in a
# chunk (a reference spelled with other white space or quotes, a cell without
# a reference, x:row) sends that chunk through the exact, slower path.
_ODD_REF = re.compile(rb"r(?:\s+=|=\s|=')")
_WS_REF = re.compile(rb"[\t\n\r]r\s*=")
_ROW_NO_REF = re.compile(rb'<row(?! r=")')
_CELL_NO_REF = re.compile(rb'<c(?! r=")[\s/>]')
_PREFIXED = re.compile(rb':(?:row|c)[\s/>]')
_TAG = re.compile(rb'<(/?)(?:[\w.-]+:)?(row|c)(?=[\s/>])((?:[^>"\']|"[^"]*"|\'[^\']*\')*)>')
_R_ATTR = re.compile(rb'(?:^|\s)r\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')
_REF_PARTS = re.compile(rb"([A-Za-z]*)(\d+)")


def _ref(value: bytes) -> tuple[int, int] | None:
    """calamine's reading of an r attribute: (row, column), both from 1 (column 0: none); None if invalid."""
    m = _REF_PARTS.fullmatch(value)
    if not m or int(m.group(2)) < 1:
        return None
    return int(m.group(2)), _col_number(m.group(1).upper().decode())


class _Extent:
    """The rows and columns calamine would allocate for a sheet, followed chunk by chunk."""

    def __init__(self, limits: Limits):
        self.rows = self.cols = 0
        self.row_index = self.col_index = 0  # calamine's cursor for cells without a reference
        digits, letters = len(str(limits.max_rows)), len(_col_letters(limits.max_columns))
        self._danger = re.compile(rb' r="([A-Za-z]{%d,}\d+|[A-Za-z]*\d{%d,})"' % (letters, digits))

    def feed(self, buf: bytes) -> None:
        if (((b"\t" in buf or b"\n" in buf or b"\r" in buf) and _WS_REF.search(buf)) or _ODD_REF.search(buf)
                or _ROW_NO_REF.search(buf) or _CELL_NO_REF.search(buf) or _PREFIXED.search(buf)):
            self._exact(buf)
            return
        for value in self._danger.findall(buf):
            self._see(_ref(value))
        last = buf.rfind(b'<row r="')  # rows come in order: the last one is the extent so far
        if last >= 0:
            self._exact(buf[last:])

    def _see(self, ref: tuple[int, int] | None) -> None:
        if ref:
            self.rows, self.cols = max(self.rows, ref[0]), max(self.cols, ref[1])

    def _exact(self, buf: bytes) -> None:
        for m in _TAG.finditer(buf):
            closing, name, attrs = m.groups()
            if closing:
                if name == b"row":
                    self.row_index += 1
                    self.col_index = 0
                continue
            if attrs.endswith(b"/") and name == b"row":
                continue
            r = _R_ATTR.search(attrs)
            ref = _ref(r.group(1) if r.group(1) is not None else r.group(2)) if r else None
            if name == b"row":
                if ref:
                    self.row_index = ref[0] - 1
                self.rows = max(self.rows, self.row_index + 1)
                continue
            if ref and ref[1]:
                row, col = ref
                self.col_index = col - 1
            else:
                row, col = self.row_index + 1, self.col_index + 1
            self.col_index += 1
            self.rows, self.cols = max(self.rows, row), max(self.cols, col)


def _chunks(fh, size: int = _SCAN_CHUNK):
    """A sheet part in pieces that end at a </row>, decompressed one piece ahead in another thread."""
    pending = _POOL.submit(fh.read, size)
    tail = b""
    try:
        while True:
            chunk = pending.result()
            if chunk:
                pending = _POOL.submit(fh.read, size)
            buf = tail + chunk
            if chunk:
                cut = buf.rfind(b"</row>")
                if cut < 0:
                    tail = buf
                    continue
                buf, tail = buf[:cut + 6], buf[cut + 6:]
            else:
                tail = b""
            if buf:
                yield buf
            if not chunk:
                return
    finally:  # never leave a read running on a part the caller is about to close
        try:
            pending.result()
        except _ZIP_ERRORS:
            pass


def _sheet_extent(fh, limits: Limits) -> tuple[int, int]:
    """(last row, last column) a sheet's cells reach, streaming the part.

    calamine allocates the rectangle from A1 to the farthest cell before it
    returns anything, and goes by the cells, not by <dimension> (which may be
    missing or wrong): a 6 KB file with one cell at XFD1048576 would ask for
    about 500 GB and abort the whole process. Every row and cell reference is
    looked at; a sheet within the limits may be reported smaller than it is
    (only references long enough to pass a limit are parsed), one beyond them
    never is.
    """
    extent = _Extent(limits)
    for buf in _chunks(fh):
        extent.feed(buf)
    return extent.rows, extent.cols


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
                  formulas: bool = True, extent: bool = True) -> list[Issue]:
    """Package-level checks: zip bomb, sheet size, formulas with no value.

    With ``formulas=False`` only the size checks run: the <dimension> in each
    sheet's first 4 KB, then (``extent``) the cells' real extent, streamed
    (nothing is kept) - what tells why the reader process stopped.
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
        if not formulas and not extent:
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


def _read_sheets(data: bytes) -> dict:
    """Runs in the reader process: open the workbook, find the three sheets by
    name and read them. Exceptions come back as (type name, message)."""
    try:
        book = fastexcel.read_excel(data)
    except Exception as exc:  # calamine raises several types for bad files
        return {"error": (type(exc).__name__, str(exc))}
    names = list(book.sheet_names)
    out: dict = {"sheet_names": names, "roles": {}, "sheets": {}}
    for role in SHEETS:
        found = _find_sheet(names, role)
        if found is None:
            continue
        out["roles"][role] = found
        try:
            sheet = _load_sheet(book, found)
            out["sheets"][found] = (sheet._columns, sheet.num_rows)
        except Exception as exc:
            out["sheets"][found] = ("error", type(exc).__name__, str(exc))
    return out


class _ReaderCrashed(Exception):
    pass


class _SheetReader:
    """calamine runs in a separate process. It sizes a sheet from its cells,
    whatever <dimension> says, and a 6 KB file with a cell at XFD1048576 makes
    it ask for hundreds of GB and abort: only that process goes, the app stays
    up, and the next file gets a fresh one. Reading there also runs on another
    core while this process scans the package for formulas. One process, kept
    warm between files: uploads arriving together are read one after another."""

    TIMEOUT = 120.0  # seconds for one workbook

    def __init__(self):
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _get(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(["pipelines.read"])
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_reader_init)
            return self._pool

    def _reset(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.kill()
            pool.shutdown(wait=False, cancel_futures=True)

    def submit(self, data: bytes) -> Future:
        with _main_hidden():
            try:
                return self._get().submit(_read_sheets, data)
            except BrokenProcessPool:
                self._reset()
                return self._get().submit(_read_sheets, data)

    def result(self, fut: Future) -> dict:
        try:
            return fut.result(timeout=self.TIMEOUT)
        except (BrokenProcessPool, TimeoutError) as exc:
            self._reset()
            raise _ReaderCrashed(type(exc).__name__) from exc


@contextmanager
def _main_hidden():
    """Start reader processes without the parent's __main__: multiprocessing would
    otherwise run that script again in each one (a benchmark, a test file, a
    notebook), and the reader needs nothing from it."""
    with _MAIN_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


_MAIN_LOCK = threading.Lock()


def _reader_init() -> None:
    try:  # if memory runs out, this process is the one to stop, not the app
        with open("/proc/self/oom_score_adj", "w") as fh:
            fh.write("1000")
    except OSError:
        pass


READER = _SheetReader()


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
    wanted: dict[str, str] = {}
    if is_zip:
        wb.issues.extend(_package_issues(data, file_name, limits))
        if wb.issues:
            return wb
        # what <dimension> declares is refused before anything is parsed
        wanted = _declared_sheets(data)
        pre = _inspect_xlsx(data, file_name, wanted, limits, formulas=False, extent=False)
        if pre:
            wb.issues.extend(pre)
            return wb
    job = READER.submit(data)
    formulas = _inspect_xlsx(data, file_name, wanted, limits) if wanted else []  # meanwhile, here
    try:
        got = READER.result(job)
    except _ReaderCrashed:
        # the reader process died: find out why, streaming the parts (nothing is built)
        why = _inspect_xlsx(data, file_name, wanted, limits, formulas=False) if wanted else []
        wb.issues.extend(why or [_unreadable(file_name, MemoryError("reader stopped"), is_zip=is_zip)])
        return wb
    if "error" in got:
        kind, msg = got["error"]
        if "password" in msg.lower() or "encrypt" in msg.lower():
            wb.issues.append(make_issue("file-encrypted", value=file_name))
        else:
            wb.issues.append(_unreadable(file_name, _ReadError(f"{kind}: {msg}"), is_zip=is_zip))
        return wb
    wb.sheet_names = got["sheet_names"]
    if len(wb.sheet_names) > limits.max_sheets:
        wb.issues.append(make_issue("sheet-too-large", value=f"{len(wb.sheet_names)}个工作表",
                                    limit=f"{limits.max_sheets}个工作表"))
        return wb
    for role in SHEETS:
        found = got["roles"].get(role)
        if found is None:
            wb.issues.append(make_issue("sheet-missing", expected=SHEET_TITLES[role],
                                        value="、".join(wb.sheet_names) or "无"))
        else:
            wb.names[role] = found
    for role, sheet in wb.names.items():
        read = got["sheets"][sheet]
        if read[0] == "error":
            wb.issues.append(_unreadable(file_name, _ReadError(f"{read[1]}: {read[2]}"), sheet=sheet, is_zip=is_zip))
            continue
        read = Sheet(*read)
        if read.num_rows > limits.max_rows or read.width > limits.max_columns:
            over = [f"{read.num_rows}行"] if read.num_rows > limits.max_rows else []
            over += [f"{read.width}列"] if read.width > limits.max_columns else []
            wb.issues.append(make_issue("sheet-too-large", sheet=sheet, value="×".join(over),
                                        limit=f"{limits.max_rows}行×{limits.max_columns}列"))
            continue
        wb.sheets[role] = read
    if wanted and wanted != wb.names:  # names spelled differently in workbook.xml: scan what was read
        formulas = _inspect_xlsx(data, file_name, dict(wb.names), limits)
    wb.issues.extend(i for i in formulas if i.code in ("formula-no-value", "cell-error"))
    return wb


class _ReadError(Exception):
    """An error calamine reported in the reader process, with its original type name."""


def _declared_sheets(data: bytes) -> dict[str, str]:
    """role -> sheet name, as workbook.xml lists the sheets."""
    try:
        names = list(_xlsx_sheet_parts(zipfile.ZipFile(io.BytesIO(data))))
    except _ZIP_ERRORS:
        return {}
    return {role: found for role in SHEETS if (found := _find_sheet(names, role)) is not None}
