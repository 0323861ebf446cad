"""Limits (issue 3, item 5): what could freeze or kill the server is refused or contained.

Each hostile workbook is built here, by hand, with zipfile. A spy counts the
workbooks handed to calamine's reader process, so the tests can see that a
file refused from its package was never opened, and that a sheet whose cells
make calamine ask for hundreds of GB stops only that process (calamine builds
the whole rectangle of a sheet at once) and is then named with its size.
"""
from __future__ import annotations

import io
import re
import socket
import tomllib
import zipfile
from datetime import date
from pathlib import Path

import fastexcel
import openpyxl
import pytest

from pipelines import read
from pipelines.checks import check_return
from pipelines.ingest import ingest_bytes
from pipelines.normalise import Period
from pipelines.read import DEFAULT_LIMITS, Limits, read_workbook
from pipelines.template import write_return
from tests.hostile_files import padded

REPO = Path(__file__).resolve().parent.parent
TODAY = date(2021, 3, 1)
T1, T2 = "表1 指标进展", "表2 合作事项明细"
T1_PART, T2_PART = "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml"  # as write_return saves them


@pytest.fixture(scope="module")
def valid() -> bytes:
    """A valid return for 包头市 2019年上半年 (I03 = 0; a warning that 表2 is empty, no error)."""
    return write_return(unit_code="150200", period=Period("H", 2019, 1), values={"I03": 0}, validation=False)


@pytest.fixture
def calamine(monkeypatch):
    """Counts the workbooks handed to calamine (in its reader process) and the times that process died."""
    class Spy:
        opened = 0
        crashed = 0

    real_submit, real_result = read.READER.submit, read.READER.result

    def submit(*args):
        Spy.opened += 1
        return real_submit(*args)

    def result(job):
        try:
            return real_result(job)
        except read._ReaderCrashed:
            Spy.crashed += 1
            raise

    monkeypatch.setattr(read.READER, "submit", submit)
    monkeypatch.setattr(read.READER, "result", result)
    return Spy


def rezip(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None,
          stream: dict[str, callable] | None = None) -> bytes:
    """The same package with some parts replaced, added, or written from a generator of chunks."""
    replace, add, stream = replace or {}, add or {}, stream or {}
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for info in src.infolist():
            if info.filename in stream:
                with z.open(info.filename, "w", force_zip64=True) as fh:
                    for chunk in stream[info.filename]():
                        fh.write(chunk)
            else:
                z.writestr(info.filename, replace.get(info.filename, src.read(info.filename)))
        for name, content in add.items():
            z.writestr(name, content)
    return buf.getvalue()


def part(data: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read(name)


def codes(wb_or_checked) -> list[tuple[str, str | None]]:
    issues = getattr(wb_or_checked, "issues", None)
    if issues is None:
        issues = wb_or_checked.report.issues
    return [(i.code, i.sheet) for i in issues if i.severity == "error"]


# --------------------------------------------------------------------------
# (a) zip bombs: refused from the zip directory, before anything is decompressed
def test_zip_bomb_in_shared_strings_is_refused_before_calamine_opens_it(valid, calamine):
    # calamine decompresses and parses the shared strings as it opens a workbook
    sst = (b'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
           b'spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>x</t></si></sst>')
    ct = part(valid, "[Content_Types].xml").replace(b"</Types>", (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.sharedStrings+xml"/></Types>'))
    rels = part(valid, "xl/_rels/workbook.xml.rels").replace(b"</Relationships>", (
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>'))
    with_sst = rezip(valid, replace={"[Content_Types].xml": ct, "xl/_rels/workbook.xml.rels": rels},
                     add={"xl/sharedStrings.xml": sst})
    assert read_workbook(with_sst, "ok.xlsx").sheets  # the package itself is fine
    calamine.opened = 0
    over = DEFAULT_LIMITS.max_uncompressed_bytes // (1 << 20) + 20
    bomb = rezip(with_sst, stream={"xl/sharedStrings.xml": padded(sst, b"</sst>", over)})
    assert len(bomb) < 5 * 1024 * 1024 < over * 1024 * 1024  # small on disk, huge inside
    wb = read_workbook(bomb, "炸弹.xlsx")
    assert codes(wb) == [("file-too-large", None)]
    msg = wb.issues[0].message
    assert "解压后有" in msg and f"上限{DEFAULT_LIMITS.max_uncompressed_bytes // (1 << 20)}.0 MB" in msg, msg
    assert calamine.opened == 0


def test_zip_bomb_in_a_sheet_is_refused_with_the_limit_named(valid, calamine):
    limits = Limits(max_uncompressed_bytes=8 * 1024 * 1024)
    bomb = rezip(valid, stream={T2_PART: padded(part(valid, T2_PART), b"</sheetData>", 16)})
    wb = read_workbook(bomb, "bomb.xlsx", limits)
    assert codes(wb) == [("file-too-large", None)]
    assert "超过上限8.0 MB" in wb.issues[0].message
    assert calamine.opened == 0


def test_a_part_larger_than_its_directory_entry_says_is_unreadable_not_a_crash(valid, calamine):
    import struct

    bomb = bytearray(rezip(valid, stream={T2_PART: padded(part(valid, T2_PART), b"</sheetData>", 4)}))
    name = T2_PART.encode()
    pos = 0
    while (pos := bomb.find(name, pos + 1)) > 0:  # declare 1000 bytes in the local and central headers
        if bomb[pos - 30:pos - 26] == b"PK\x03\x04":
            struct.pack_into("<I", bomb, pos - 30 + 22, 1000)
        elif bomb[pos - 46:pos - 42] == b"PK\x01\x02":
            struct.pack_into("<I", bomb, pos - 46 + 24, 1000)
    out = check_return(bytes(bomb), "lies.xlsx", today=TODAY)
    assert ("file-unreadable", T2) in codes(out)


# --------------------------------------------------------------------------
# (b) sheet dimensions: refused without building a single row
def test_sheet_claiming_a_million_rows_is_refused_without_building_it(valid, calamine):
    xml = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:K1000000"', part(valid, T2_PART))
    wb = read_workbook(rezip(valid, replace={T2_PART: xml}), "big.xlsx")
    assert codes(wb) == [("sheet-too-large", T2)]
    assert "1000000行" in wb.issues[0].message and f"上限{DEFAULT_LIMITS.max_rows}行" in wb.issues[0].message
    assert calamine.opened == 0


@pytest.mark.parametrize("ref, dimension, shown", [
    ("XFD1048576", b'<dimension ref="A1:K3"/>', "1048576行×16384列"),  # 6 KB that would ask for ~500 GB
    ("A300000", None, "300000行"),                                     # no <dimension> at all
    ("XFD2", b'<dimension ref="A1:K3"/>', "16384列"),
])
def test_a_far_cell_is_refused_whatever_the_dimension_says(valid, calamine, ref, dimension, shown):
    xml = re.sub(rb'<dimension ref="[^"]+"\s*/>', dimension or b"", part(valid, T2_PART))
    row = re.sub(r"[A-Z]", "", ref)
    xml = xml.replace(b"</sheetData>", f'<row r="{row}"><c r="{ref}" t="n"><v>1</v></c></row></sheetData>'.encode())
    wb = read_workbook(rezip(valid, replace={T2_PART: xml}), "far.xlsx")
    assert codes(wb) == [("sheet-too-large", T2)]
    assert shown in wb.issues[0].message
    # 500 GB stops the reader process, not this one; the next file gets a new reader
    assert calamine.crashed == (1 if ref == "XFD1048576" else 0)
    assert read_workbook(valid, "next.xlsx").sheets.keys() == {"cover", "indicators", "items"}


def test_references_written_unusually_are_still_seen(valid, calamine):
    # XML allows other white space and single quotes around attributes; calamine reads them all
    xml = part(valid, T2_PART).replace(b"</sheetData>", b"<row r='9'><c\nr = 'XFD9'><v>1</v></c></row></sheetData>")
    wb = read_workbook(rezip(valid, replace={T2_PART: xml}), "odd.xlsx")
    assert codes(wb) == [("sheet-too-large", T2)] and "16384列" in wb.issues[0].message


def test_a_far_cell_spelled_unusually_is_still_named_after_the_reader_stops(valid, calamine):
    xml = re.sub(rb'<dimension ref="[^"]+"\s*/>', b"", part(valid, T2_PART)).replace(
        b"</sheetData>", b"<row r='1048576'><c\tr = 'xfd1048576'><v>1</v></c></row></sheetData>")
    wb = read_workbook(rezip(valid, replace={T2_PART: xml}), "odd-far.xlsx")
    assert codes(wb) == [("sheet-too-large", T2)] and "1048576行×16384列" in wb.issues[0].message
    assert calamine.crashed == 1


def test_cells_without_references_are_counted_along_their_row(valid, calamine):
    cells = b"<c><v>1</v></c>" * (DEFAULT_LIMITS.max_columns + 1)
    xml = part(valid, T2_PART).replace(b"</sheetData>", b"<row>" + cells + b"</row></sheetData>")
    wb = read_workbook(rezip(valid, replace={T2_PART: xml}), "wide.xlsx")
    assert codes(wb) == [("sheet-too-large", T2)] and f"{DEFAULT_LIMITS.max_columns + 1}列" in wb.issues[0].message


def test_the_extent_scan_sizes_a_large_honest_sheet():
    # 20,000 item rows (what the scan costs is measured in bench/hostile.py, not here)
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("s")
    for i in range(20_000):
        ws.append([i, f"项目{i}", "国际科技合作项目", "S01", "俄罗斯", None, None, "2019-01-01", "在研", 12.5, None])
    buf = io.BytesIO()
    wb.save(buf)
    z = zipfile.ZipFile(buf)
    with z.open("xl/worksheets/sheet1.xml") as fh:
        extent = read._sheet_extent(fh, DEFAULT_LIMITS)
    assert extent[0] == 20_000 and extent[1] <= 11


# --------------------------------------------------------------------------
# (c) file size, (d) sheet count
def test_file_over_max_file_bytes_is_refused_unopened(valid, calamine):
    wb = read_workbook(valid, "x.xlsx", Limits(max_file_bytes=len(valid) - 1))
    assert codes(wb) == [("file-too-large", None)]
    assert "超过上限" in wb.issues[0].message and calamine.opened == 0
    huge = b"PK\x03\x04" + bytes(DEFAULT_LIMITS.max_file_bytes)
    wb = read_workbook(huge, "大文件.xlsx")
    assert codes(wb) == [("file-too-large", None)] and "超过上限50.0 MB" in wb.issues[0].message
    assert calamine.opened == 0


def test_upload_limit_in_streamlit_config_matches_max_file_bytes():
    with open(REPO / ".streamlit" / "config.toml", "rb") as fh:
        mb = tomllib.load(fh)["server"]["maxUploadSize"]
    assert mb * 1024 * 1024 == DEFAULT_LIMITS.max_file_bytes  # Streamlit counts 1 MB = 1024 * 1024 bytes


def test_too_many_sheets_is_refused_from_workbook_xml(valid, calamine):
    book = openpyxl.load_workbook(io.BytesIO(valid))
    for k in range(DEFAULT_LIMITS.max_sheets):
        book.create_sheet(f"附表{k + 1}")
    buf = io.BytesIO()
    book.save(buf)
    wb = read_workbook(buf.getvalue(), "many.xlsx")
    n = DEFAULT_LIMITS.max_sheets + 4
    assert codes(wb) == [("sheet-too-large", None)]
    assert f"{n}个工作表" in wb.issues[0].message and f"上限{DEFAULT_LIMITS.max_sheets}个工作表" in wb.issues[0].message
    assert calamine.opened == 0


# --------------------------------------------------------------------------
# (e) formulas: the saved value is read; no saved value is an error that says so
def with_formula(valid: bytes, formula: str, saved: str | None) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(valid))
    book[T1]["D6"] = "=" + formula  # I03's value cell
    buf = io.BytesIO()
    book.save(buf)
    data = buf.getvalue()
    if saved is None:
        return data
    xml = part(data, T1_PART)
    f = f"<f>{formula}</f>".encode()
    empty = b"<v />" if f + b"<v />" in xml else b"<v></v>"  # openpyxl (with lxml: <v></v>) saves no value
    assert f + empty in xml
    return rezip(data, replace={T1_PART: xml.replace(f + empty, f + f"<v>{saved}</v>".encode())})


def test_formula_without_saved_value_is_an_error_naming_cell_and_formula(valid):
    out = check_return(with_formula(valid, "2*3", None), "f.xlsx", today=TODAY)
    errors = [i for i in out.report.issues if i.severity == "error"]
    assert [(i.code, i.sheet, i.row) for i in errors] == [("formula-no-value", T1, 6)]
    assert "D6" in errors[0].message and "=2*3" in errors[0].message and "没有保存计算结果" in errors[0].message


def test_formula_with_saved_value_is_read_by_that_value(valid):
    out = check_return(with_formula(valid, "2*3", "6"), "f.xlsx", today=TODAY)
    assert out.report.ok, [i.message for i in out.report.errors]
    values = out.indicators.set_index("indicator_code")["value"]
    assert values["I03"] == 6


# --------------------------------------------------------------------------
# (f) macros and (g) external links: never run, never followed; the saved data load
def test_xlsm_with_vba_project_loads_as_data(valid, tmp_path):
    ct = part(valid, "[Content_Types].xml").replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
        b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')
    rels = part(valid, "xl/_rels/workbook.xml.rels").replace(b"</Relationships>", (
        b'<Relationship Id="rId90" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" '
        b'Target="vbaProject.bin"/></Relationships>'))
    marker = tmp_path / "macro-ran"
    vba = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + f'Sub Workbook_Open(): Open "{marker}" For Output As #1'.encode()
    xlsm = rezip(valid, replace={"[Content_Types].xml": ct, "xl/_rels/workbook.xml.rels": rels},
                 add={"xl/vbaProject.bin": vba})
    result = ingest_bytes(tmp_path / "m.duckdb", xlsm, "宏.xlsm", today=TODAY)
    assert (result.status, result.unit_code, result.errors) == ("loaded", "150200", [])
    assert not marker.exists()


def test_external_link_is_never_followed_and_its_saved_value_is_read(valid, tmp_path):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.setblocking(False)
    url = f"http://127.0.0.1:{server.getsockname()[1]}/外部工作簿.xlsx"
    ns = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rns = b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    link = (b'<?xml version="1.0" encoding="UTF-8"?><externalLink ' + ns + b" " + rns + b'><externalBook r:id="rId1">'
            b'<sheetNames><sheetName val="Sheet1"/></sheetNames><sheetDataSet><sheetData sheetId="0"><row r="1">'
            b'<cell r="A1"><v>7</v></cell></row></sheetData></sheetDataSet></externalBook></externalLink>')
    link_rels = (b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                 b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                 b'officeDocument/2006/relationships/externalLinkPath" Target="' + url.encode()
                 + b'" TargetMode="External"/></Relationships>')
    ct = part(valid, "[Content_Types].xml").replace(b"</Types>", (
        b'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.externalLink+xml"/></Types>'))
    rels = part(valid, "xl/_rels/workbook.xml.rels").replace(b"</Relationships>", (
        b'<Relationship Id="rId91" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'externalLink" Target="externalLinks/externalLink1.xml"/></Relationships>'))
    wbxml = part(valid, "xl/workbook.xml").replace(
        b"</sheets>", b'</sheets><externalReferences><externalReference r:id="rId91"/></externalReferences>')
    linked = with_formula(valid, "[1]Sheet1!A1", "7")
    data = rezip(linked, replace={"[Content_Types].xml": ct, "xl/_rels/workbook.xml.rels": rels,
                                  "xl/workbook.xml": wbxml},
                 add={"xl/externalLinks/externalLink1.xml": link,
                      "xl/externalLinks/_rels/externalLink1.xml.rels": link_rels})
    try:
        result = ingest_bytes(tmp_path / "x.duckdb", data, "外部链接.xlsx", today=TODAY)
        with pytest.raises(BlockingIOError):
            server.accept()  # nobody knocked
    finally:
        server.close()
    assert (result.status, result.errors) == ("loaded", [])
    out = check_return(data, "外部链接.xlsx", today=TODAY)
    assert out.indicators.set_index("indicator_code")["value"]["I03"] == 7
