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

import codecs
import html
import io
import logging
import re
import struct
import threading
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import PurePath

from .files import EXCEL_SUFFIXES
from .issues import Issue, make_issue
from .reader_pool import MB, READER, _main_hidden, _ReaderCrashed, _SheetReader, settings_limits  # noqa: F401
from .reader_process import SHEET_TITLES, SHEETS, Sheet, _find_sheet, _read_sheets, _reader_init  # noqa: F401

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_LIMITS = settings_limits()


@dataclass(frozen=True)
class Limits:
    """Refuse what would freeze the server, or take it past its memory, before
    parsing it. Defaults: ``limits`` in data/settings.yaml."""

    max_file_bytes: int = int(_LIMITS["file_mb"] * MB)
    max_uncompressed_bytes: int = int(_LIMITS["unpacked_mb"] * MB)
    max_text_bytes: int = int(_LIMITS["text_mb"] * MB)
    max_rows: int = int(_LIMITS["rows"])
    max_columns: int = int(_LIMITS["columns"])
    max_sheets: int = int(_LIMITS["sheets"])
    max_name_chars: int = int(_LIMITS["name_chars"])
    max_note_chars: int = int(_LIMITS["note_chars"])
    reader_memory_bytes: int = int(_LIMITS["reader_memory_mb"] * MB)


DEFAULT_LIMITS = Limits()
log = logging.getLogger(__name__)
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="xlsx-scan")

@dataclass
class RawWorkbook:
    file_name: str
    sheet_names: list[str]
    sheets: dict[str, Sheet] = field(default_factory=dict)  # role -> sheet
    names: dict[str, str] = field(default_factory=dict)  # role -> sheet name as found
    issues: list[Issue] = field(default_factory=list)
    # sheet -> cells longer than max_note_chars, cut to it: (Excel row, column from 1, characters)
    long_cells: dict[str, list[tuple[int, int, int]]] = field(default_factory=dict)


def _human_bytes(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB" if n >= 1024 * 1024 else f"{n / 1024:.0f} KB"


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
    if isinstance(exc, _PartCorrupt):
        return exc.why
    msg = str(exc).lower()
    if "cannot detect file format" in msg or "unsupported" in msg:
        return ("压缩包中没有Excel工作簿的内容，可能是改了扩展名的其他文件" if is_zip
                else "不是可识别的Excel文件，可能是改了扩展名的其他文件")
    if (isinstance(exc, (zlib.error, EOFError)) or "decompress" in msg or "deflate" in msg or "crc" in msg
            or "invalid" in msg and "distance" in msg):
        return "文件中的压缩数据已损坏"
    if isinstance(exc, zipfile.BadZipFile) or "zip" in msg or "truncated" in msg or "eof" in msg:
        return "文件不完整，可能是下载、复制或保存时中断"
    if "utf-8" in msg or "utf8" in msg or "decode" in msg or "encoding" in msg:
        return "工作簿内部有无法识别的字符编码"
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
_INFLATE_IN = 1 << 16
_MAX_PIECE = 4 * _SCAN_CHUNK


# --------------------------------------------------------------------------
# Parts of the package, decompressed as they stream and counted as they come:
# the sizes the zip directory declares are never trusted for memory.
class _PartCorrupt(Exception):
    """A part that cannot be decompressed as the package says; ``why`` is Chinese."""

    def __init__(self, why: str, path: str = ""):
        super().__init__(f"{why} [{path}]")  # the path inside the package: for the log
        self.why = why


class _PartTooLarge(Exception):
    def __init__(self, label: str, limit: int, whole: bool):
        super().__init__(label)
        self.label, self.limit, self.whole = label, limit, whole


class _Budget:
    """Decompressed bytes of every part the reader will open, all together."""

    def __init__(self, limit: int):
        self.limit, self.used = limit, 0
        self._lock = threading.Lock()

    def take(self, n: int, label: str) -> None:
        with self._lock:
            self.used += n
            if self.used > self.limit:
                raise _PartTooLarge(label, self.limit, True)


_PART_KINDS = (
    (re.compile(r"(^|/)_rels/workbook\.xml\.rels$", re.I), "工作簿关系表"),
    (re.compile(r"(^|/)workbook\.xml$", re.I), "工作簿目录"),
    (re.compile(r"sharedstrings[^/]*\.xml$", re.I), "共享字符串表"),
    (re.compile(r"styles[^/]*\.xml$", re.I), "样式表"),
    (re.compile(r"(comments|threadedcomments)[^/]*\.xml$", re.I), "批注"),
    (re.compile(r"^\[content_types\]\.xml$", re.I), "内容类型表"),
    (re.compile(r"\.rels$", re.I), "关系表"),
    (re.compile(r"(^|/)tables/", re.I), "表格定义"),
    (re.compile(r"(^|/)_rels/", re.I), "关系表"),
    (re.compile(r"(^|/)worksheets/", re.I), "工作表"),
)


def _part_label(name: str, sheet: str | None = None) -> str:
    """A part of the package as staff can read it: 「工作表「表2 合作事项明细」」, 「共享字符串表」
    (the path inside the package goes to the log)."""
    if sheet is not None:
        return f"工作表「{sheet}」"
    return next((k for rx, k in _PART_KINDS if rx.search(name)), "其他内部部件")


def _inflate(data: bytes, info: zipfile.ZipInfo, label: str, budget: _Budget,
             cap: int | None = None, size: int = _SCAN_CHUNK):
    """A part's bytes, decompressed ``size`` at a time from the package itself
    (not through zipfile, which stops at the declared size): every byte is
    counted against ``budget`` (and ``cap``, for this part), the CRC and the
    real size checked at the end. Raises _PartCorrupt / _PartTooLarge."""
    log.debug("streaming %s (%s)", info.filename, label)
    view = memoryview(data)
    off = info.header_offset
    if off < 0 or off + 30 > len(data) or data[off:off + 4] != ZIP_MAGIC:
        raise _PartCorrupt(f"文件不完整或已损坏，找不到{label}的内容", info.filename)
    name_len, extra_len = struct.unpack_from("<HH", data, off + 26)
    start = off + 30 + name_len + extra_len
    end = start + info.compress_size
    if end > len(data):
        raise _PartCorrupt(f"文件不完整，{label}缺少末尾部分，可能是下载、复制或保存时中断", info.filename)
    crc = got = 0

    def count(chunk: bytes) -> None:
        nonlocal crc, got
        got += len(chunk)
        budget.take(len(chunk), label)
        if cap is not None and got > cap:
            raise _PartTooLarge(label, cap, False)
        crc = zlib.crc32(chunk, crc)

    if info.compress_type == zipfile.ZIP_STORED:
        for pos in range(start, end, size):
            chunk = bytes(view[pos:min(pos + size, end)])
            count(chunk)
            yield chunk
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        # small steps of input (whatever it expands to is at most ``size``), output yielded ``size`` at a time
        d = zlib.decompressobj(-15)
        pos, pending, held = start, [], 0
        try:
            while not d.eof:
                if d.unconsumed_tail:
                    src = d.unconsumed_tail
                elif pos < end:
                    src = view[pos:min(pos + _INFLATE_IN, end)]
                    pos += len(src)
                else:
                    raise _PartCorrupt(f"{label}的压缩数据不完整，文件已损坏", info.filename)
                chunk = d.decompress(src, size)
                if chunk:
                    count(chunk)
                    pending.append(chunk)
                    held += len(chunk)
                    if held >= size:
                        yield b"".join(pending)
                        pending, held = [], 0
            if pending:
                yield b"".join(pending)
        except zlib.error as exc:
            log.info("corrupt deflate stream in %s: %s", label, exc)
            raise _PartCorrupt(f"{label}的压缩数据已损坏", info.filename) from None
    else:
        raise _PartCorrupt(f"{label}使用了不支持的压缩方式", info.filename)
    if crc != info.CRC:
        raise _PartCorrupt(f"{label}的校验码不符，内容已损坏", info.filename)
    if got != info.file_size:
        raise _PartCorrupt(f"{label}的实际大小与压缩包目录所写不符，文件已损坏", info.filename)


def _part_bytes(data: bytes, info: zipfile.ZipInfo, label: str, budget: _Budget, cap: int | None = None) -> bytes:
    return b"".join(_inflate(data, info, label, budget, cap))


def _utf8(xml: bytes, label: str) -> str:
    try:
        return xml.decode("utf-8")
    except UnicodeDecodeError:
        raise _PartCorrupt(f"{label}中有无法识别的字符编码，工作簿内部结构已损坏") from None


# Parts calamine never opens for the three sheets: not decompressed here either.
_UNTOUCHED = re.compile(r"^(?:docProps/|customXml/|xl/(?:drawings|charts|chartsheets|pivotCache|pivotTables|media|"
                        r"externalLinks|printerSettings|embeddings|ctrlProps|activeX|queryTables|slicers|"
                        r"slicerCaches|timelines|timelineCaches|richData|theme|persons)/)", re.I)
_WORKSHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.I)
_SI_END = b"</si>"
_SI = re.compile(rb"<si>(.*?)</si>", re.S)


@dataclass
class _Package:
    """What the serial pass over a workbook's structure parts found."""

    zf: zipfile.ZipFile
    parts: dict[str, str]  # sheet name -> part path
    budget: _Budget
    sst_lengths: list[int] = field(default_factory=list)  # bytes of each shared string as stored (an upper bound)
    issues: list[Issue] = field(default_factory=list)


def _package(data: bytes, name: str, limits: Limits) -> _Package | list[Issue]:
    """The zip directory and every part calamine reads when it opens a workbook
    (workbook.xml and its rels, shared strings, styles, comments, ...), each
    decompressed as it streams and counted, before calamine sees the file.
    Worksheets are left to ``_scan_sheets``."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except _ZIP_ERRORS as exc:
        return [_unreadable(name, exc)]
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_bytes:  # an honest bomb: refused from the directory alone
        return [make_issue("file-too-large", value=name, detail=f"解压后有{_human_bytes(total)}",
                           limit=_human_bytes(limits.max_uncompressed_bytes))]
    budget = _Budget(limits.max_uncompressed_bytes)
    pkg = _Package(zf, {}, budget)
    try:
        by_name = {i.filename: i for i in infos}
        wb_info, rels_info = by_name.get("xl/workbook.xml"), by_name.get("xl/_rels/workbook.xml.rels")
        wb_xml = rels_xml = b""
        if wb_info is not None:
            wb_xml = _part_bytes(data, wb_info, _part_label(wb_info.filename), budget, limits.max_text_bytes)
            _utf8(wb_xml, _part_label(wb_info.filename))
        if rels_info is not None:
            rels_xml = _part_bytes(data, rels_info, _part_label(rels_info.filename), budget, limits.max_text_bytes)
            _utf8(rels_xml, _part_label(rels_info.filename))
        n = len(_SHEET_ELEMENT.findall(wb_xml))
        if n > limits.max_sheets:
            return [make_issue("sheet-too-large", value=f"{n}个工作表", limit=f"{limits.max_sheets}个工作表")]
        pkg.parts = _sheet_parts(wb_xml, rels_xml)
        for info in infos:
            path = info.filename
            if (info in (wb_info, rels_info) or info.is_dir() or _UNTOUCHED.match(path) or _WORKSHEET.match(path)
                    or not path.lower().endswith((".xml", ".rels"))):
                continue
            label = _part_label(path)
            if path.lower() == "xl/sharedstrings.xml":
                pkg.sst_lengths = _shared_string_lengths(data, info, label, budget, limits.max_text_bytes)
                continue
            decoder = codecs.getincrementaldecoder("utf-8")()
            try:
                for chunk in _inflate(data, info, label, budget, limits.max_text_bytes):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
            except UnicodeDecodeError:
                raise _PartCorrupt(f"{label}中有无法识别的字符编码，工作簿内部结构已损坏", path) from None
    except _PartTooLarge as exc:
        return [_too_large(name, exc)]
    except _PartCorrupt as exc:
        return [_unreadable(name, exc)]
    except _ZIP_ERRORS as exc:
        return [_unreadable(name, exc)]
    return pkg


def _too_large(file_name: str, exc: _PartTooLarge) -> Issue:
    scope = "文件解压后全部内容合计的上限" if exc.whole else "单个部件的上限"
    return make_issue("part-too-large", value=file_name, part=exc.label, limit=_human_bytes(exc.limit), scope=scope)


def _shared_string_lengths(data: bytes, info: zipfile.ZipInfo, label: str, budget: _Budget, cap: int) -> list[int]:
    """Bytes each shared string takes in the part (its text and any markup: never less than the text)."""
    lengths: list[int] = []
    decoder = codecs.getincrementaldecoder("utf-8")()
    tail, carry = b"", 0  # carry: bytes of an entry too long to hold, counted, not kept
    try:
        for chunk in _inflate(data, info, label, budget, cap):
            decoder.decode(chunk)
            buf = tail + chunk
            cut = buf.rfind(_SI_END)
            if cut < 0:
                if len(buf) > _MAX_PIECE:
                    carry, tail = carry + len(buf), b""
                else:
                    tail = buf
                continue
            buf, tail = buf[:cut + 5], buf[cut + 5:]
            if carry:  # the end of that long entry
                first = buf.find(_SI_END) + 5
                lengths.append(carry + first)
                buf, carry = buf[first:], 0
            lengths.extend(map(len, _SI.findall(buf)))
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise _PartCorrupt(f"{label}中有无法识别的字符编码，工作簿内部结构已损坏", info.filename) from None
    return lengths
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



def _chunks(pieces):
    """Decompressed pieces of a sheet part regrouped to end at a </row>, the next
    piece decompressed in another thread meanwhile (zlib lets go of the GIL)."""
    it = iter(pieces)
    pending = _POOL.submit(next, it, b"")
    tail = b""
    try:
        while True:
            chunk = pending.result()
            if chunk:
                pending = _POOL.submit(next, it, b"")
            end = chunk.rfind(b"</row>") if chunk else -1
            if end >= 0:  # the usual case, the same cut as below with one copy instead of two
                end += 6
                buf, tail = b"".join((tail, memoryview(chunk)[:end])), chunk[end:]
                yield buf
                continue
            buf = tail + chunk
            if chunk:
                cut = buf.rfind(b"</row>")
                if cut >= 0:
                    cut += 6
                elif len(buf) > _MAX_PIECE:  # no row ends here (a huge comment, a huge cell): cut before a tag
                    cut = buf.rfind(b"<", len(buf) - _SCAN_CHUNK)
                    cut = cut if cut > 0 else len(buf)
                else:
                    tail = buf
                    continue
                buf, tail = buf[:cut], buf[cut:]
            else:
                tail = b""
            if buf:
                yield buf
            if not chunk:
                return
    finally:  # never leave a read running on a part the caller is about to drop
        try:
            pending.result()
        except Exception:  # noqa: BLE001 - the caller already has the error it stopped for
            pass


def _sheet_extent(pieces, limits: Limits) -> tuple[int, int]:
    """(last row, last column) a sheet's cells reach, streaming the part.

    calamine allocates the rectangle from A1 to the farthest cell before it
    returns anything, and goes by the cells, not by <dimension> (which may be
    missing or wrong): a 6 KB file with one cell at XFD1048576 would ask for
    about 500 GB and abort the whole process. Every row and cell reference is
    looked at; a sheet within the limits may be reported smaller than it is
    (only references long enough to pass a limit are parsed), one beyond them
    never is. ``pieces``: the part's decompressed bytes, in pieces (or a file).
    """
    if hasattr(pieces, "read"):
        fh = pieces
        pieces = iter(lambda: fh.read(_SCAN_CHUNK), b"")
    extent = _Extent(limits)
    for buf in _chunks(pieces):
        extent.feed(buf)
    return extent.rows, extent.cols


def _sheet_parts(wb: bytes, rels: bytes) -> dict[str, str]:
    """Sheet name -> part path inside the package, from workbook.xml and its rels."""
    targets = {rid.decode(): tgt.decode("utf-8", "replace") for rid, tgt in _REL.findall(rels)}
    targets.update({rid.decode(): tgt.decode("utf-8", "replace") for tgt, rid in _REL2.findall(rels)})
    out = {}
    for name, rid in _SHEET_REL.findall(wb):
        tgt = targets.get(rid.decode("utf-8", "replace"))
        if tgt:
            tgt = tgt.lstrip("/")
            out[html.unescape(name.decode("utf-8", "replace"))] = tgt if tgt.startswith("xl/") else f"xl/{tgt}"
    return out


def _wanted(parts: dict[str, str]) -> dict[str, str]:
    """role -> sheet name, as workbook.xml lists the sheets."""
    names = list(parts)
    return {role: found for role in SHEETS if (found := _find_sheet(names, role)) is not None}


_S_CELL = re.compile(rb"""<c\b[^>]*?\bt=["']s["'][^>]*>\s*<v>\s*(\d+)\s*</v>""")


@dataclass
class _SheetScan:
    """What the streaming pass over one sheet part found (nothing of it is kept)."""

    issues: list[Issue] = field(default_factory=list)
    fatal: Issue | None = None  # the file cannot be read at all


def _scan_sheet(data: bytes, pkg: _Package, sheet: str, limits: Limits, *, formulas: bool = True,
                extent: bool = False, name: str = "") -> _SheetScan:
    """One pass over a sheet part, streamed: its decompressed bytes counted,
    formulas without a saved value and error cells found (``formulas``), and
    (``extent``) the rows and columns its cells reach."""
    out = _SheetScan()
    path = pkg.parts.get(sheet)
    info = _info(pkg.zf, path)
    if info is None:
        return out
    label = _part_label(path, sheet)
    ext = _Extent(limits) if extent else None
    first = True
    try:
        for buf in _chunks(_inflate(data, info, label, pkg.budget)):
            if first:
                first = False
                m = _DIM.search(buf, 0, 4096)
                if m and not extent:
                    rows, cols = int(m.group(2)), _col_number(m.group(1).decode())
                    if rows > limits.max_rows or cols > limits.max_columns:
                        out.issues.append(make_issue("sheet-too-large", sheet=sheet, value=f"{rows}行×{cols}列",
                                                     limit=f"{limits.max_rows}行×{limits.max_columns}列"))
                        return out
            if ext is not None:
                ext.feed(buf)
            if formulas:
                out.issues.extend(_formula_issues(buf, sheet))
    except _PartTooLarge as exc:
        out.fatal = _too_large(name, exc)
        return out
    except (_PartCorrupt, *_ZIP_ERRORS) as exc:
        out.fatal = _unreadable(name, exc, sheet=sheet)
        return out
    if ext is not None and (ext.rows > limits.max_rows or ext.cols > limits.max_columns):
        over = [f"{ext.rows}行"] if ext.rows > limits.max_rows else []
        over += [f"{ext.cols}列"] if ext.cols > limits.max_columns else []
        out.issues.append(make_issue("sheet-too-large", sheet=sheet, value="×".join(over),
                                     limit=f"{limits.max_rows}行×{limits.max_columns}列"))
    return out


def _info(zf: zipfile.ZipFile, path: str | None) -> zipfile.ZipInfo | None:
    if not path:
        return None
    try:
        return zf.getinfo(path)
    except KeyError:
        return None


def _formula_issues(xml: bytes, sheet: str) -> list[Issue]:
    """Error cells (#DIV/0! ...) and formulas without a saved value in a piece of a sheet part ending at a </row>."""
    issues = []
    for cell in _ERROR_CELL.finditer(xml) if b't="e"' in xml else ():
        ref = _CELL_REF.search(cell.group(1))
        if ref:
            letters, row = ref.group(1).decode(), int(ref.group(2))
            issues.append(make_issue("cell-error", sheet=sheet, row=row, column=letters,
                                     value=html.unescape(cell.group(2).decode("utf-8", "replace")),
                                     cell=f"{letters}{row}"))
    if b"<f" not in xml:
        return issues
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
                                 value="=" + html.unescape((formula.group(1) or b"").decode("utf-8", "replace")),
                                 cell=f"{letters}{row}"))
    return issues


def _shared_text(data: bytes, pkg: _Package, sheet: str, limit: int) -> int:
    """Bytes of shared-string text a sheet's cells expand to (each use counted),
    stopping once past ``limit``: what calamine would build for them."""
    info = _info(pkg.zf, pkg.parts.get(sheet))
    if info is None or not pkg.sst_lengths:
        return 0
    lengths, n, total = pkg.sst_lengths, len(pkg.sst_lengths), 0
    for buf in _chunks(_inflate(data, info, _part_label(info.filename, sheet), _Budget(1 << 62))):
        for idx in _S_CELL.findall(buf):
            k = int(idx)
            total += lengths[k] if k < n else 0
        if total > limit:
            break
    return total


# --------------------------------------------------------------------------
# The reader process (what runs there: pipelines/reader_process.py; started and fed: pipelines/reader_pool.py)
_LONG_CELLS_SHOWN = 20  # per sheet; more are counted in the last message


def read_workbook(data: bytes, file_name: str, limits: Limits = DEFAULT_LIMITS) -> RawWorkbook:
    """Read the three sheets of a return. Problems are in ``.issues``; never raises for a file."""
    try:
        return _read_workbook(data, file_name, limits)
    except Exception as exc:  # noqa: BLE001 - a file must never end the batch or show a traceback
        log.exception("reading %r failed", file_name)
        wb = RawWorkbook(file_name=file_name, sheet_names=[])
        wb.issues.append(make_issue("reader-failed", value=file_name, detail=f"出现意外错误（{type(exc).__name__}）"))
        return wb
    finally:  # refused before reading: the reading the command line started early is not wanted
        READER.drop_prefetched(data)


def _read_workbook(data: bytes, file_name: str, limits: Limits) -> RawWorkbook:
    wb = RawWorkbook(file_name=file_name, sheet_names=[])
    suffix = PurePath(file_name).suffix.lower()
    if len(data) > limits.max_file_bytes:
        wb.issues.append(oversized(file_name, len(data), limits))
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
    pkg: _Package | None = None
    wanted: dict[str, str] = {}
    if is_zip:
        got_pkg = _package(data, file_name, limits)
        if isinstance(got_pkg, list):
            wb.issues.extend(got_pkg)
            return wb
        pkg = got_pkg
        wanted = _wanted(pkg.parts)
        # what <dimension> declares is refused before anything is parsed
        for sheet in wanted.values():
            head = _sheet_head(data, pkg, sheet, limits)
            if head is not None:
                wb.issues.append(head)
        if wb.issues:
            return wb
    job = READER.submit(data, limits)
    scans: dict[str, _SheetScan] = {}
    for sheet in wanted.values():  # meanwhile, here: one streamed pass over each sheet
        scans[sheet] = scan = _scan_sheet(data, pkg, sheet, limits, name=file_name)
        if scan.fatal is not None or any(i.code == "sheet-too-large" for i in scan.issues):
            READER.abandon(job)  # no need to wait for calamine: the file is refused
            wb.issues.append(scan.fatal or next(i for i in scan.issues if i.code == "sheet-too-large"))
            return wb
    try:
        got = READER.result(job)
    except _ReaderCrashed:
        # the reader process stopped (its memory ceiling, or calamine aborted): find out why, streaming
        wb.issues.extend(_why_reader_stopped(data, pkg, wanted, limits, file_name) if pkg else [])
        if wb.issues:
            return wb
        try:  # no reason found: the reader may have stopped for another upload's file; once more, alone
            got = READER.result(READER.submit(data, limits))
        except _ReaderCrashed:
            wb.issues.append(make_issue("reader-failed", value=file_name,
                                        detail="读取进程意外停止（多半是所需内存超过上限"
                                               f"{_human_bytes(limits.reader_memory_bytes)}）"))
            return wb
    except Exception as exc:  # noqa: BLE001 - e.g. a result that could not be sent back
        log.warning("reader failed on %r: %s: %s", file_name, type(exc).__name__, exc)
        wb.issues.append(make_issue("reader-failed", value=file_name, detail=f"读取进程出错（{type(exc).__name__}）"))
        return wb
    if "error" in got:
        kind, msg = got["error"]
        if "password" in msg.lower() or "encrypt" in msg.lower():
            wb.issues.append(make_issue("file-encrypted", value=file_name))
        else:
            wb.issues.append(_unreadable(file_name, _ReadError(f"{kind}: {msg}"), is_zip=is_zip))
        return wb
    if "text_too_large" in got:
        wb.issues.append(_text_too_large(got["text_too_large"], limits))
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
        _, columns, num_rows, long_cells = read
        read = Sheet(columns, num_rows)
        if read.num_rows > limits.max_rows or read.width > limits.max_columns:
            over = [f"{read.num_rows}行"] if read.num_rows > limits.max_rows else []
            over += [f"{read.width}列"] if read.width > limits.max_columns else []
            wb.issues.append(make_issue("sheet-too-large", sheet=sheet, value="×".join(over),
                                        limit=f"{limits.max_rows}行×{limits.max_columns}列"))
            continue
        wb.long_cells[sheet] = long_cells
        wb.issues.extend(long_cell_issues(sheet, [(*c, limits.max_note_chars, None) for c in long_cells]))
        wb.sheets[role] = read
    if wanted != wb.names:  # names spelled differently in workbook.xml: scan what was read
        scans = {}
        if pkg is not None:
            for sheet in wb.names.values():
                scans[sheet] = scan = _scan_sheet(data, pkg, sheet, limits, name=file_name)
                if scan.fatal is not None:
                    wb.issues.append(scan.fatal)
    for scan in scans.values():
        wb.issues.extend(i for i in scan.issues if i.code in ("formula-no-value", "cell-error"))
    return wb


def oversized(file_name: str, size: int, limits: Limits = DEFAULT_LIMITS) -> Issue:
    """The issue for a file over ``max_file_bytes`` (its size known without reading it)."""
    return make_issue("file-too-large", value=file_name, detail=f"有{_human_bytes(size)}",
                      limit=_human_bytes(limits.max_file_bytes))


def _text_too_large(sheet: str, limits: Limits) -> Issue:
    return make_issue("text-too-large", sheet=sheet, limit=_human_bytes(limits.max_text_bytes))


def long_cell_issues(sheet: str, cells: list[tuple[int, int, int, int, str | None]]) -> list[Issue]:
    """cell-too-long for (Excel row, column from 1, characters, limit, column title or None), in
    sheet order; after the first few, one count."""
    out = []
    cells = sorted(cells)
    for k, (row, col, length, limit, title) in enumerate(cells[:_LONG_CELLS_SHOWN]):
        letters = _col_letters(col)
        more = (f"（本表另有{len(cells) - _LONG_CELLS_SHOWN}个单元格也超过上限）"
                if k == _LONG_CELLS_SHOWN - 1 and len(cells) > _LONG_CELLS_SHOWN else "")
        out.append(make_issue("cell-too-long", sheet=sheet, row=row, column=title or letters, cell=f"{letters}{row}",
                              length=length, limit=limit, more=more))
    return out


def _sheet_head(data: bytes, pkg: _Package, sheet: str, limits: Limits) -> Issue | None:
    """sheet-too-large when the <dimension> in the first 4 KB of a sheet part declares too much."""
    info = _info(pkg.zf, pkg.parts.get(sheet))
    if info is None:
        return None
    try:
        head = next(_inflate(data, info, _part_label(info.filename, sheet), _Budget(1 << 62), size=4096), b"")
    except (_PartCorrupt, _PartTooLarge, *_ZIP_ERRORS):
        return None  # the full scan says what is wrong with it
    m = _DIM.search(head)
    if m:
        rows, cols = int(m.group(2)), _col_number(m.group(1).decode())
        if rows > limits.max_rows or cols > limits.max_columns:
            return make_issue("sheet-too-large", sheet=sheet, value=f"{rows}行×{cols}列",
                              limit=f"{limits.max_rows}行×{limits.max_columns}列")
    return None


def _why_reader_stopped(data: bytes, pkg: _Package, wanted: dict[str, str], limits: Limits,
                        file_name: str) -> list[Issue]:
    """After the reader process stopped: the sheet whose cells reach too far, or
    whose shared strings expand past the text limit, streamed (nothing is built)."""
    for sheet in wanted.values():
        scan = _scan_sheet(data, replace(pkg, budget=_Budget(1 << 62)), sheet, limits, formulas=False,
                           extent=True, name=file_name)
        if scan.fatal is not None:
            return [scan.fatal]
        if scan.issues:
            return scan.issues
    text = 0
    for sheet in wanted.values():
        text += _shared_text(data, pkg, sheet, limits.max_text_bytes - text)
        if text > limits.max_text_bytes:
            return [_text_too_large(sheet, limits)]
    return []


class _ReadError(Exception):
    """An error calamine reported in the reader process, with its original type name."""
