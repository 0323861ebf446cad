"""Issue 8, reader side: any file, any fault - bounded memory, every file answered, no orphans.

Every hostile workbook is generated here (tests/hostile_files.py: zipfile,
large parts written from generators). For each: the exact Chinese message,
and the next file in the same command-line call still loads. The memory the
process tree reaches on each kind is measured in bench/hostile.py, not here.
"""
from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines import read
from pipelines.checks import check_return
from pipelines.ingest import ingest_bytes
from pipelines.read import DEFAULT_LIMITS, read_workbook
from pipelines.template import write_return
from pipelines.normalise import Period
from tests import hostile_files as h

ROOT = Path(__file__).resolve().parent.parent
T2 = h.T2
MB = DEFAULT_LIMITS.max_text_bytes // (1024 * 1024)
UNPACKED = DEFAULT_LIMITS.max_uncompressed_bytes // (1024 * 1024)
UNREADABLE = "无法读取文件「{name}」：文件已损坏或不是Excel工作簿（{why}）"
PART_CAP = "文件「{name}」中的{part}解压后超过{mb}.0 MB（单个部件的上限），可能是压缩炸弹或含有大量无关内容，请删除无关内容后另存再上传"
TEXT = (f"{T2}：三张表的单元格文字合计超过上限{MB}.0 MB（同一段文字被多个单元格引用时按每次引用计算），"
        "请删除无关内容后再上传")


def errors(data: bytes, name: str = "x.xlsx") -> list[str]:
    return [i.message for i in check_return(data, name).report.errors]


def valid(unit: str, half: int) -> bytes:
    return write_return(unit_code=unit, period=Period("H", 2019, half), values={"I09": 1}, items=h.ITEMS,
                        validation=False)


# Each hostile kind -> (file builder, the one error it gets). Built lazily: some take a second.
def _bomb_false(part: str, label: str, mb: int = MB + 4):
    return (lambda: h.bomb(part, mb, honest=False),
            lambda name: [PART_CAP.format(name=name, part=label, mb=MB)])


KINDS = {
    # zip bombs whose directory declares 1,000 bytes: counted as they stream, refused at the part's cap
    "共享字符串炸弹": _bomb_false(h.SST_PART, "共享字符串表"),
    "样式表炸弹": _bomb_false(h.STYLES_PART, "样式表"),
    "工作簿目录炸弹": _bomb_false(h.WB_PART, "工作簿目录"),
    "关系表炸弹": _bomb_false(h.RELS_PART, "工作簿关系表"),
    "内容类型表炸弹": _bomb_false("[Content_Types].xml", "内容类型表"),
    # a sheet: counted against everything the reader opens, together
    "工作表炸弹": (lambda: h.bomb(h.T2_PART, UNPACKED + 8, honest=False),
              lambda name: [f"文件「{name}」中的工作表「{T2}」解压后超过{UNPACKED}.0 MB（文件解压后全部内容合计的上限），"
                            "可能是压缩炸弹或含有大量无关内容，请删除无关内容后另存再上传"]),
    # an honest bomb: refused from the directory alone
    "如实申报的炸弹": (lambda: h.bomb(h.SST_PART, UNPACKED + 8),
                lambda name: [f"文件「{name}」解压后有{UNPACKED + 8}.0 MB，超过上限{UNPACKED}.0 MB，请删除无关内容后再上传"]),
    # shared strings: one long string in 90,000 cells (100,000 was a PicklingError), many long unique ones
    "一段长文字用九万次": (lambda: h.reused_string(90_000), lambda name: [TEXT]),
    "两千个不同的长名称": (lambda: h.unique_long_names(2_000),
                  lambda name: [PART_CAP.format(name=name, part="共享字符串表", mb=MB)]),
    # not UTF-8, broken deflate, wrong CRC, cut short
    "工作簿目录编码错误": (lambda: h.non_utf8(h.WB_PART), lambda name: [UNREADABLE.format(
        name=name, why="工作簿目录中有无法识别的字符编码，工作簿内部结构已损坏")]),
    "关系表编码错误": (lambda: h.non_utf8(h.RELS_PART), lambda name: [UNREADABLE.format(
        name=name, why="工作簿关系表中有无法识别的字符编码，工作簿内部结构已损坏")]),
    "关系表压缩数据损坏": (lambda: h.corrupt_deflate(h.RELS_PART), lambda name: [UNREADABLE.format(
        name=name, why="工作簿关系表的压缩数据已损坏")]),
    "工作表压缩数据损坏": (lambda: h.corrupt_deflate(h.T2_PART), lambda name: [f"{T2}：" + UNREADABLE.format(
        name=name, why=f"工作表「{T2}」的压缩数据已损坏")]),
    "关系表校验码错误": (lambda: h.bad_crc(h.RELS_PART), lambda name: [UNREADABLE.format(
        name=name, why="工作簿关系表的校验码不符，内容已损坏")]),
    "样式表校验码错误": (lambda: h.bad_crc(h.STYLES_PART), lambda name: [UNREADABLE.format(
        name=name, why="样式表的校验码不符，内容已损坏")]),
    "文件被截断": (lambda: h.truncated(), lambda name: [UNREADABLE.format(
        name=name, why="文件不完整，可能是下载、复制或保存时中断")]),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_hostile_kind_gets_its_exact_message(kind):
    build, expected = KINDS[kind]
    name = f"{kind}.xlsx"
    assert errors(build(), name) == expected(name)


def test_a_batch_answers_every_hostile_file_and_loads_the_file_after_each(tmp_path):
    """One command-line call: hostile, valid, hostile, valid ... every file answered, every valid one loaded."""
    from pipelines.reference import load_reference

    units = load_reference().units["code"].tolist()
    kinds = [k for k in KINDS if k not in ("工作表炸弹", "如实申报的炸弹")]  # the slowest to build; tested above
    order = []
    for k, kind in enumerate(kinds):
        bad = tmp_path / f"{k:02d}a_{kind}.xlsx"
        bad.write_bytes(KINDS[kind][0]())
        unit, half = units[k % len(units)], 1 + k // len(units)
        good = tmp_path / f"{k:02d}b_{unit}_{half}.xlsx"
        good.write_bytes(valid(unit, half))
        order += [(bad, kind), (good, None)]
    proc = subprocess.run([sys.executable, "-m", "pipelines.ingest", "--db", str(tmp_path / "kjhz.duckdb"), "--json",
                           *[str(p) for p, _ in order]], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    files = json.loads(proc.stdout)["files"]
    assert [f["file"] for f in files] == [p.name for p, _ in order]
    for (path, kind), got in zip(order, files):
        if kind is None:
            assert (got["status"], got["errors"]) == ("loaded", []), got
        else:
            assert got["status"] == "rejected"
            assert [e["message"] for e in got["errors"]] == KINDS[kind][1](path.name)


@pytest.mark.parametrize("kind", ["工作表炸弹", "如实申报的炸弹", "共享字符串炸弹", "一段长文字用九万次"])
def test_a_hostile_first_file_read_ahead_by_the_command_line_gets_its_message_and_the_next_loads(tmp_path, kind):
    """The command line hands its first file to the reader before the checks are imported: a
    bomb in that place is still refused with its own message and the next file still loads."""
    from pipelines.reference import load_reference

    bad, good = tmp_path / f"a_{kind}.xlsx", tmp_path / "b_valid.xlsx"
    bad.write_bytes(KINDS[kind][0]())
    good.write_bytes(valid(load_reference().units["code"].iloc[0], 1))
    proc = subprocess.run([sys.executable, "-m", "pipelines", "ingest", "--db", str(tmp_path / "kjhz.duckdb"),
                           "--json", str(bad), str(good)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 1, proc.stderr
    first, second = json.loads(proc.stdout)["files"]
    assert (first["status"], [e["message"] for e in first["errors"]]) == ("rejected", KINDS[kind][1](bad.name))
    assert (second["status"], second["errors"]) == ("loaded", [])


# --------------------------------------------------------------------------
# cell text: names and organisations a few hundred characters, 备注 a few thousand (data/settings.yaml)
NAME, NOTE = DEFAULT_LIMITS.max_name_chars, DEFAULT_LIMITS.max_note_chars


def test_a_name_longer_than_its_limit_is_refused_with_row_column_and_length():
    assert errors(h.long_cell("B", NAME + 1)) == [
        f"{T2} 第3行「事项名称」：单元格B3有{NAME + 1}个字符，超过上限{NAME}个字符，请删减后再上传"]
    assert errors(h.long_cell("B", NAME)) == []


def test_a_note_may_be_longer_than_a_name_but_not_without_end():
    assert errors(h.long_cell("K", NAME * 2)) == []
    assert errors(h.long_cell("K", 30_000)) == [
        f"{T2} 第3行「备注」：单元格K3有30000个字符，超过上限{NOTE}个字符，请删减后再上传"]


def test_a_long_string_reused_a_few_times_is_named_cell_by_cell_and_counted():
    got = errors(h.reused_string(30))
    assert got[0] == f"{T2} 第3行「备注」：单元格K3有30000个字符，超过上限{NOTE}个字符，请删减后再上传"
    assert got[-1] == (f"{T2} 第22行「备注」：单元格K22有30000个字符，超过上限{NOTE}个字符"
                       "（本表另有10个单元格也超过上限），请删减后再上传")
    assert len(got) == 20


# --------------------------------------------------------------------------
# the reader process: whatever happens there is that file's error
def _killing_submit(times: int):
    """READER.submit that kills the reader under the job, the first ``times`` times."""
    real_submit = read.READER.submit
    left = [times]

    def submit(*args):
        if left[0] <= 0:
            return real_submit(*args)
        left[0] -= 1
        readers = read.READER.processes()  # started without this test's __main__ (an app script)
        for proc in readers:  # stopped first, so that it cannot finish the job before it is killed
            os.kill(proc.pid, signal.SIGSTOP)
        fut = real_submit(*args)
        for proc in readers:
            os.kill(proc.pid, signal.SIGKILL)
        return fut
    return submit


def test_a_reader_that_keeps_dying_is_the_files_error_and_the_next_file_gets_a_new_one(monkeypatch):
    assert read_workbook(h.valid_return(), "先读一个.xlsx").sheets  # a reader process is there, warm
    monkeypatch.setattr(read.READER, "submit", _killing_submit(2))
    wb = read_workbook(h.valid_return(), "被中断.xlsx")
    assert [i.message for i in wb.issues] == [
        f"读取文件「被中断.xlsx」时读取进程意外停止（多半是所需内存超过上限{DEFAULT_LIMITS.reader_memory_bytes // 2**20}.0 MB），"
        "请删除无关内容后另存为 .xlsx 再上传；仍不能读取请联系管理员"]
    monkeypatch.undo()
    assert read_workbook(h.valid_return(), "下一个.xlsx").sheets.keys() == {"cover", "indicators", "items"}


def test_the_reader_process_reads_without_pandas_or_numpy():
    """The reader's memory ceiling counts every library it loads: pyarrow would load NumPy when
    imported and pandas (45 MB) the first time it turns a Python value into Arrow. Dates, empty
    cells and a cell over the length limit take those paths."""
    assert read_workbook(h.valid_return(), "a.xlsx").sheets
    assert errors(h.long_cell("K", 30_000))
    for proc in read.READER.processes():
        with open(f"/proc/{proc.pid}/maps") as fh:
            loaded = fh.read()
        assert "pyarrow" in loaded and "/pandas/" not in loaded and "/numpy/" not in loaded


def test_a_file_read_when_the_reader_died_for_another_is_read_again(monkeypatch):
    """In the server the reader is shared: a reader stopped by someone else's file does not fail this one."""
    assert read_workbook(h.valid_return(), "先读一个.xlsx").sheets
    monkeypatch.setattr(read.READER, "submit", _killing_submit(1))
    wb = read_workbook(h.valid_return(), "无辜的.xlsx")
    assert wb.issues == [] and wb.sheets.keys() == {"cover", "indicators", "items"}


def test_a_result_that_cannot_come_back_is_the_files_error(monkeypatch):
    def result(fut):
        fut.result()
        raise pickle.PicklingError("Can't pickle <class 'pyarrow.lib.StringArray'>")

    monkeypatch.setattr(read.READER, "result", result)
    wb = read_workbook(h.valid_return(), "x.xlsx")
    assert [i.message for i in wb.issues] == [
        "读取文件「x.xlsx」时读取进程出错（PicklingError），请删除无关内容后另存为 .xlsx 再上传；仍不能读取请联系管理员"]
    monkeypatch.undo()
    assert read_workbook(h.valid_return(), "下一个.xlsx").sheets


def test_an_unexpected_error_while_reading_is_the_files_error(monkeypatch):
    def broken(*args, **kwargs):
        raise KeyError("boom")

    monkeypatch.setattr(read, "_package", broken)
    wb = read_workbook(h.valid_return(), "x.xlsx")
    assert [i.message for i in wb.issues] == [
        "读取文件「x.xlsx」时出现意外错误（KeyError），请删除无关内容后另存为 .xlsx 再上传；仍不能读取请联系管理员"]


# --------------------------------------------------------------------------
# no orphans: killing the command line (SIGKILL too) ends its reader, forkserver and resource tracker
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_killing_the_command_line_mid_load_leaves_no_process_of_it(tmp_path, how):
    folder = tmp_path / "returns"
    folder.mkdir()
    slow, quick = h.reused_string(300), h.valid_return()  # 300 x 30,000 characters keep the reader busy
    for k in range(30):
        (folder / f"{k:02d}.xlsx").write_bytes(slow if k % 2 else quick)
    proc = subprocess.Popen([sys.executable, "-m", "pipelines.ingest", "--db", str(tmp_path / "kjhz.duckdb"),
                             str(folder)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kids: set[int] = set()
    for _ in range(1200):  # until the reader, its forkserver and the resource tracker are all there
        kids = h.process_tree(proc.pid) - {proc.pid}
        if len(kids) >= 3 or proc.poll() is not None:
            break
        time.sleep(0.05)
    assert proc.poll() is None and len(kids) >= 3, "the command line finished before it could be killed"
    proc.send_signal(how)
    proc.wait()
    for _ in range(200):  # poll: they go within seconds
        left = [pid for pid in kids if h.running(pid)]
        if not left:
            break
        time.sleep(0.05)
    assert left == []


# --------------------------------------------------------------------------
# a file over the size limit: refused before anything is stored
def test_a_file_over_the_size_limit_is_refused_before_anything_is_stored(tmp_path):
    from pipelines.store import files_dir

    db = tmp_path / "kjhz.duckdb"
    big = h.valid_return() + bytes(DEFAULT_LIMITS.max_file_bytes)
    r = ingest_bytes(db, big, "大文件.xlsx")
    assert r.status == "rejected"
    assert [i.message for i in r.errors] == [
        f"文件「大文件.xlsx」有{len(big) / 2**20:.1f} MB，超过上限{DEFAULT_LIMITS.max_file_bytes // 2**20}.0 MB，"
        "请删除无关内容后再上传"]
    stored = [p for p in files_dir(db).rglob("*") if p.is_file()] if files_dir(db).exists() else []
    assert stored == []


def test_the_command_line_refuses_a_file_over_the_size_limit_unread_and_goes_on(tmp_path):
    from pipelines.store import files_dir

    big = tmp_path / "01_大文件.xlsx"
    with open(big, "wb") as fh:  # sparse: 60 MB on paper, nothing on disk
        fh.write(h.valid_return())
        fh.truncate(60 * 2**20)
    good = tmp_path / "02_包头市.xlsx"
    good.write_bytes(h.valid_return())
    db = tmp_path / "kjhz.duckdb"
    proc = subprocess.run([sys.executable, "-m", "pipelines.ingest", "--db", str(db), "--json", str(big), str(good)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    files = json.loads(proc.stdout)["files"]
    assert [(f["file"], f["status"]) for f in files] == [(big.name, "rejected"), (good.name, "loaded")]
    assert [e["message"] for e in files[0]["errors"]] == [
        f"文件「{big.name}」有60.0 MB，超过上限{DEFAULT_LIMITS.max_file_bytes // 2**20}.0 MB，请删除无关内容后再上传"]
    assert len([p for p in files_dir(db).rglob("*") if p.is_file()]) == 1  # the loaded file's original only


@pytest.mark.parametrize("kind", ["共享字符串炸弹", "工作表炸弹", "一段长文字用九万次", "两千个不同的长名称"])
def test_a_file_refused_for_its_size_is_never_opened_to_annotate_it(monkeypatch, kind):
    """The annotated copy (upload page, --annotate) would open it with openpyxl or calamine in this process."""
    from pipelines import annotate

    data = KINDS[kind][0]()
    issues = check_return(data, "x.xlsx").report.issues

    def never(*args, **kwargs):
        raise AssertionError("opened")

    monkeypatch.setattr(annotate, "_load", never)
    monkeypatch.setattr(annotate, "_rebuild", never)
    assert annotate.annotate_workbook(data, "x.xlsx", issues)  # still a workbook: the list of problems
