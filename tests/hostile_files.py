"""Hostile workbooks, generated on the fly (no large binaries in the repository).

Each builder starts from a small valid return written by the template writer
and rewrites some of its parts with zipfile; large parts are written from
generators of chunks (streamed), so a file whose inside is gigabytes is built
in little memory. Used by tests/test_hostile.py and bench/hostile.py.
"""
from __future__ import annotations

import io
import os
import struct
import zipfile
from datetime import date
from typing import Callable, Iterable

import pandas as pd

from pipelines.normalise import Period
from pipelines.template import write_return

T2 = "表2 合作事项明细"
T1_PART, T2_PART = "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"  # as write_return saves them
WB_PART, RELS_PART, SST_PART = "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/sharedStrings.xml"
STYLES_PART = "xl/styles.xml"
NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'

ITEMS = pd.DataFrame([("稀土院士专家工作站", "院士专家工作站", "S04", [], date(2018, 9, 1), "已建成/已认定")],
                     columns=["item_name", "item_type", "sector_code", "partners", "start_date", "status"])


def valid_return() -> bytes:
    """包头市 2019年上半年: I09 = 1 and one item in 表2; loads without errors."""
    return write_return(unit_code="150200", period=Period("H", 2019, 1), values={"I09": 1}, items=ITEMS,
                        validation=False)


def part(data: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read(name)


Chunks = Callable[[], Iterable[bytes]]


def rezip(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
          stream: dict[str, Chunks] | None = None, level: int = 9) -> bytes:
    """The same package with parts replaced, added, or written from a generator of chunks."""
    replace, add, stream = replace or {}, add or {}, stream or {}
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
        names = [i.filename for i in src.infolist()] + [n for n in list(add) + list(stream)
                                                        if n not in src.namelist()]
        for name in dict.fromkeys(names):
            if name in stream:
                with z.open(name, "w", force_zip64=True) as fh:
                    for chunk in stream[name]():
                        fh.write(chunk)
            elif name in add:
                z.writestr(name, add[name])
            else:
                z.writestr(name, replace.get(name, src.read(name)))
    return buf.getvalue()


def declare_size(data: bytes, name: str, size: int) -> bytes:
    """Rewrite the uncompressed size the zip declares for ``name`` (local and central headers, zip64 too)."""
    out = bytearray(data)
    key = name.encode()
    pos = 0
    while (pos := out.find(key, pos + 1)) > 0:
        if out[pos - 30:pos - 26] == b"PK\x03\x04":
            hdr, size_at, n_len_at = pos - 30, 22, 26
        elif out[pos - 46:pos - 42] == b"PK\x01\x02":
            hdr, size_at, n_len_at = pos - 46, 24, 28
        else:
            continue
        if struct.unpack_from("<I", out, hdr + size_at)[0] == 0xFFFFFFFF:  # zip64: the size is in the extra field
            n_len, x_len = struct.unpack_from("<HH", out, hdr + n_len_at)
            extra = hdr + (30 if hdr == pos - 30 else 46) + n_len
            end = extra + x_len
            while extra < end:
                tag, length = struct.unpack_from("<HH", out, extra)
                if tag == 1:
                    struct.pack_into("<Q", out, extra + 4, size)
                extra += 4 + length
        else:
            struct.pack_into("<I", out, hdr + size_at, size)
    return bytes(out)


def with_shared_strings(data: bytes, sst: bytes | Chunks) -> bytes:
    """Add a sharedStrings part (content type and relationship included)."""
    ct = part(data, "[Content_Types].xml").replace(b"</Types>", (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
    rels = part(data, RELS_PART).replace(b"</Relationships>", (
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'))
    replace = {"[Content_Types].xml": ct, RELS_PART: rels}
    if callable(sst):
        return rezip(data, replace=replace, stream={SST_PART: sst})
    return rezip(data, replace=replace, add={SST_PART: sst})


def padded(xml: bytes, before: bytes, megabytes: int) -> Chunks:
    """``xml`` with a huge, repetitive XML comment inserted before ``before``, as a generator."""
    head, tail = xml.split(before, 1)

    def gen():
        yield head + b"<!--"
        chunk = b"A" * (1 << 20)
        for _ in range(megabytes):
            yield chunk
        yield b"-->" + before + tail
    return gen


def bomb(part_name: str, megabytes: int, *, honest: bool = True, base: bytes | None = None) -> bytes:
    """A zip bomb in one part: ``megabytes`` MB of comment inside it; with ``honest=False``
    the zip declares a size of 1,000 bytes for it."""
    data = base or valid_return()
    if part_name == SST_PART and SST_PART not in zipfile.ZipFile(io.BytesIO(data)).namelist():
        data = with_shared_strings(data, b'<?xml version="1.0" encoding="UTF-8"?><sst ' + NS
                                   + b' count="1" uniqueCount="1"><si><t>x</t></si></sst>')
    xml = part(data, part_name)
    close = xml[xml.rstrip().rfind(b"</"):]  # the root element's end tag
    out = rezip(data, stream={part_name: padded(xml, close.strip(), megabytes)}, level=1)
    return out if honest else declare_size(out, part_name, 1000)


def _items_sheet(rows: Callable[[int], bytes], n: int) -> Chunks:
    """表2 with its usual header and ``n`` data rows from ``rows(excel_row)``, streamed."""
    def gen():
        yield (b'<?xml version="1.0" encoding="UTF-8"?><worksheet ' + NS + b'><sheetData>'
               b'<row r="1"><c r="A1" t="inlineStr"><is><t>' + T2.encode() + b'</t></is></c></row><row r="2">')
        for k, h in enumerate(["序号", "事项名称", "事项类别", "所属领域", "合作国家（地区）", "合作单位",
                               "本地承担单位", "起始日期", "状态", "投入经费（万元）", "备注"]):
            yield f'<c r="{chr(65 + k)}2" t="inlineStr"><is><t>{h}</t></is></c>'.encode()
        yield b"</row>"
        batch = []
        for r in range(3, n + 3):
            batch.append(rows(r))
            if len(batch) == 2000:
                yield b"".join(batch)
                batch = []
        yield b"".join(batch) + b"</sheetData></worksheet>"
    return gen


def _item_cells(r: int, name: bytes, note: bytes) -> bytes:
    return (f'<row r="{r}"><c r="A{r}"><v>{r - 2}</v></c>'.encode() + name
            + f'<c r="C{r}" t="inlineStr"><is><t>院士专家工作站</t></is></c>'
              f'<c r="D{r}" t="inlineStr"><is><t>稀土新材料</t></is></c>'
              f'<c r="H{r}" t="inlineStr"><is><t>2018-09-01</t></is></c>'
              f'<c r="I{r}" t="inlineStr"><is><t>已建成</t></is></c>'.encode() + note + b"</row>")


def reused_string(rows: int, length: int = 30_000) -> bytes:
    """One ``length``-character shared string used as 备注 in every one of ``rows`` item rows."""
    text = ("备" * length).encode()
    sst = b'<?xml version="1.0" encoding="UTF-8"?><sst ' + NS + b'><si><t>' + text + b"</t></si></sst>"

    def row(r: int) -> bytes:
        name = f'<c r="B{r}" t="inlineStr"><is><t>事项{r}</t></is></c>'.encode()
        return _item_cells(r, name, f'<c r="K{r}" t="s"><v>0</v></c>'.encode())
    return with_shared_strings(rezip(valid_return(), stream={T2_PART: _items_sheet(row, rows)}, level=6), sst)


def unique_long_names(rows: int, length: int = 30_000) -> bytes:
    """``rows`` item rows, each with its own ``length``-character name (shared strings)."""
    filler = "名" * (length - 8)

    def sst():
        yield b'<?xml version="1.0" encoding="UTF-8"?><sst ' + NS + b">"
        for k in range(rows):
            yield f"<si><t>{k:08d}{filler}</t></si>".encode()
        yield b"</sst>"

    def row(r: int) -> bytes:
        return _item_cells(r, f'<c r="B{r}" t="s"><v>{r - 3}</v></c>'.encode(), b"")
    return with_shared_strings(rezip(valid_return(), stream={T2_PART: _items_sheet(row, rows)}, level=6), sst)


def long_cell(column: str, length: int, *, row: int = 3) -> bytes:
    """The valid return with one inline cell of 表2 (``column`` letter, Excel ``row``) ``length`` characters long."""
    def one(r: int) -> bytes:
        name = f'<c r="B{r}" t="inlineStr"><is><t>事项{r}</t></is></c>'.encode()
        if column == "B" and r == row:
            name = f'<c r="B{r}" t="inlineStr"><is><t>{"长" * length}</t></is></c>'.encode()
        note = f'<c r="K{r}" t="inlineStr"><is><t>{"注" * length}</t></is></c>'.encode() \
            if column == "K" and r == row else b""
        return _item_cells(r, name, note)
    return rezip(valid_return(), stream={T2_PART: _items_sheet(one, max(row - 2, 1))})


def non_utf8(part_name: str) -> bytes:
    """``part_name`` (workbook.xml or its rels) with a byte that is not UTF-8 in an attribute."""
    data = valid_return()
    xml = part(data, part_name)
    if part_name == WB_PART:
        bad = xml.replace("表2".encode(), b"\xb1\xed2", 1)
    else:
        bad = xml.replace(b'Target="', b'Target="\xff', 1)
    return rezip(data, replace={part_name: bad})


def corrupt_deflate(part_name: str) -> bytes:
    """``part_name``'s compressed bytes overwritten in the middle: the deflate stream is broken."""
    data = bytearray(rezip(valid_return(), level=9))
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(part_name)
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    local_extra = struct.unpack_from("<H", data, info.header_offset + 28)[0]
    start = info.header_offset + 30 + len(info.filename.encode()) + local_extra
    for k in range(start + 4, start + info.compress_size - 2):
        data[k] = 0xFF
    return bytes(data)


def bad_crc(part_name: str) -> bytes:
    """``part_name`` stored intact but with a wrong CRC in both headers."""
    data = bytearray(valid_return())
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(part_name)
    wrong = (info.CRC ^ 0xDEADBEEF) & 0xFFFFFFFF
    struct.pack_into("<I", data, info.header_offset + 14, wrong)
    key = part_name.encode()
    pos = 0
    while (pos := data.find(key, pos + 1)) > 0:
        if data[pos - 46:pos - 42] == b"PK\x01\x02":
            struct.pack_into("<I", data, pos - 46 + 16, wrong)
    return bytes(data)


def truncated(fraction: float = 0.6) -> bytes:
    data = valid_return()
    return data[:int(len(data) * fraction)]




# --------------------------------------------------------------------------
# A process tree, from /proc (Linux): what the tests and bench/hostile.py watch
def proc_state(pid: int) -> tuple[int, str] | None:
    """(parent pid, state letter) of a process; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            rest = fh.read().rsplit(")", 1)[1].split()
        return int(rest[1]), rest[0]
    except (OSError, IndexError, ValueError):
        return None


def running(pid: int) -> bool:
    st = proc_state(pid)
    return st is not None and st[1] not in ("Z", "X")


def process_tree(root: int) -> set[int]:
    """``root`` and every live process descending from it."""
    parents = {}
    for p in os.listdir("/proc"):
        if p.isdigit():
            st = proc_state(int(p))
            if st is not None and st[1] not in ("Z", "X"):
                parents[int(p)] = st[0]
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return tree
