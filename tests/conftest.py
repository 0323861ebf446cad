"""Shared fixtures: tiny workbooks built in the test, so the fault is visible there."""
from __future__ import annotations

import copy

import openpyxl
import pytest

# A minimal valid return (RETURN_FORMAT.md): 表1 agrees with 表2, no issues at all.
# Row 1 of each list is Excel row 1.
VALID_SHEETS = {
    "封面": [
        ["填报单位", "包头市"],
        ["报告期", "2019年上半年"],
    ],
    "表1 指标进展": [
        ["指标编码", "指标名称", "截至本期末累计值", "其中：本期新增", "备注"],
        ["I04", "国际国内科技合作项目", 2, None, None],  # row 2
        ["I09", "院士专家工作站", 1, None, None],  # row 3
    ],
    "表2 合作事项明细": [
        ["序号", "事项名称", "事项类别", "所属领域", "合作国家（地区）", "起始日期", "状态", "投入经费（万元）"],
        [1, "中俄马铃薯种薯繁育", "国际科技合作项目", "绿色农畜产品", "俄罗斯", "2018-05-10", "在研", 50],  # row 2
        [2, "京蒙装备协同创新", "国内科技合作项目", "现代装备制造", "北京", "2019-03-15", "在研", 30],  # row 3
        [3, "稀土院士专家工作站", "院士专家工作站", "稀土新材料", None, "2018-09-01", "已建成", None],  # row 4
    ],
}


@pytest.fixture
def valid_sheets() -> dict[str, list[list]]:
    """A fresh copy of a minimal valid return's sheets; change one thing per test."""
    return copy.deepcopy(VALID_SHEETS)


@pytest.fixture
def make_workbook(tmp_path):
    """make_workbook({sheet: rows}, name=, hidden_rows={sheet: [rows]}, merged={sheet: ["A1:F1"]}) -> bytes.

    Writes a tiny .xlsx with openpyxl. None and "" leave the cell empty; a
    string starting with "=" is a formula (saved without a computed value).
    """
    def make(sheets: dict[str, list[list]], name: str = "x.xlsx",
             hidden_rows: dict[str, list[int]] | None = None,
             merged: dict[str, list[str]] | None = None) -> bytes:
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for sheet, rows in sheets.items():
            ws = wb.create_sheet(sheet)
            for r, row in enumerate(rows, start=1):
                for c, value in enumerate(row, start=1):
                    if value is not None and value != "":
                        ws.cell(row=r, column=c, value=value)
            for r in (hidden_rows or {}).get(sheet, []):
                ws.row_dimensions[r].hidden = True
            for rng in (merged or {}).get(sheet, []):
                ws.merge_cells(rng)
        path = tmp_path / name
        wb.save(path)
        return path.read_bytes()
    return make


@pytest.fixture
def encrypted_workbook() -> bytes:
    """What Excel saves for a workbook with an open password: an OLE2 (CFB)
    container holding EncryptionInfo and EncryptedPackage streams instead of
    the zip package. The streams here are filler, not real ciphertext."""
    return _cfb({"EncryptedPackage": b"\x00" * 4096, "EncryptionInfo": b"\x04\x00\x04\x00" + b"\x00" * 4092})


def _cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal valid compound file (MS-CFB v3, 512-byte sectors).

    Streams must be >= 4096 bytes so they live in regular sectors (no mini
    stream). Sector 0 is the FAT, sector 1 the directory, then the streams.
    """
    import struct

    free, end, fat_sect, nostream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    names = list(streams)
    assert len(names) <= 3 and all(len(v) >= 4096 and len(v) % 512 == 0 for v in streams.values())
    fat, starts, body = [fat_sect, end], [], b""
    for name in names:
        n = len(streams[name]) // 512
        first = len(fat)
        starts.append(first)
        fat += [first + i + 1 for i in range(n - 1)] + [end]
        body += streams[name]
    fat_sector = struct.pack("<128I", *(fat + [free] * (128 - len(fat))))

    def entry(name: str, kind: int, left=nostream, right=nostream, child=nostream, start=end, size=0) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00" if name else b""
        return (raw.ljust(64, b"\x00") + struct.pack("<HBB3I", len(raw), kind, 1, left, right, child)
                + b"\x00" * 36 + struct.pack("<IQ", start, size))

    # red-black tree of siblings, ordered by (name length, upper-cased name): a simple right-leaning chain
    order = sorted(range(len(names)), key=lambda i: (len(names[i]), names[i].upper()))
    right = {order[k]: order[k + 1] + 1 for k in range(len(order) - 1)}
    entries = entry("Root Entry", 5, child=order[0] + 1)
    for i, name in enumerate(names):
        entries += entry(name, 2, right=right.get(i, nostream), start=starts[i], size=len(streams[name]))
    entries = entries.ljust(512, b"\x00")  # unused entries
    header = (bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 16
              + struct.pack("<HHHHH6xIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, 0, 1, 1, 0, 4096, end, 0, end, 0)
              + struct.pack("<109I", 0, *([free] * 108)))
    return header + fat_sector + entries + body


@pytest.fixture
def downloads(monkeypatch):
    """Record what each st.download_button was given (the page builds the Excel on click)."""
    import streamlit
    from streamlit.delta_generator import DeltaGenerator

    seen: list[dict] = []
    original = DeltaGenerator.download_button

    def spy(self, label, data, *args, **kwargs):
        seen.append({"label": label, "data": data, "file_name": kwargs.get("file_name")})
        return original(self, label, data, *args, **kwargs)
    monkeypatch.setattr(DeltaGenerator, "download_button", spy)  # st.columns(...)[i].download_button
    monkeypatch.setattr(streamlit, "download_button",
                        lambda *a, **kw: spy(streamlit._main, *a, **kw))  # st.download_button
    return seen
