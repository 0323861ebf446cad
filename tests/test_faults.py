"""Every file gets an answer and the batch goes on; when the tool itself cannot
work, one Chinese line, exit status 3 and the traceback in ``<db>.log``."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import openpyxl
import pytest
from filelock import FileLock

from pipelines import checks, faults, store
from pipelines.ingest import ingest_bytes, main
from tests.test_ingest_cli import a_return

ROOT = Path(__file__).resolve().parent.parent
T1 = "表1 指标进展"


def run(*args: str, env: dict | None = None, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, sys.executable, "-m", "pipelines.ingest", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, **(env or {})})


def with_cell(data: bytes, sheet: str, cell: str, value) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb[sheet][cell] = value
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_number_that_crashed_the_batch_is_now_that_files_error_and_the_next_file_loads(tmp_path):
    (tmp_path / "a_太大.xlsx").write_bytes(with_cell(a_return(), T1, "D12", 1e20))  # I09
    (tmp_path / "b_好.xlsx").write_bytes(a_return())
    proc = run("--db", str(tmp_path / "k.duckdb"), str(tmp_path / "a_太大.xlsx"), str(tmp_path / "b_好.xlsx"))
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "a_太大.xlsx: 未通过 [包头市 2019年上半年] 错误1个，提示0个"
    assert lines[1] == ("  [错误] 表1 指标进展 第12行「截至本期末累计值」：「100000000000000000000」超出合理范围，"
                        "本列应为0到10,000,000之间的整数")
    assert "b_好.xlsx: 已入库 [包头市 2019年上半年 第1版] 错误0个，提示0个" in lines
    assert lines[-1] == "共2个文件：已入库1，未通过1，重复0"


def test_a_bug_met_on_one_file_is_that_files_error_logged_and_the_batch_goes_on(tmp_path, monkeypatch, capsys):
    real = checks.check_workbook

    def broken(wb, *args, **kwargs):
        if wb.file_name == "坏.xlsx":
            raise RuntimeError("a bug in the checker")
        return real(wb, *args, **kwargs)

    monkeypatch.setattr(checks, "check_workbook", broken)
    (tmp_path / "坏.xlsx").write_bytes(a_return())
    (tmp_path / "锁住.xlsx").write_bytes(b"x")
    (tmp_path / "好.xlsx").write_bytes(with_cell(a_return(), "封面", "B4", "2019年下半年"))
    real_read = Path.read_bytes

    def read_bytes(self):
        if self.name == "锁住.xlsx":
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    db = tmp_path / "k.duckdb"
    code = main(["--db", str(db), str(tmp_path / "坏.xlsx"), str(tmp_path / "锁住.xlsx"), str(tmp_path / "好.xlsx")])
    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    assert ("坏.xlsx: 未通过 [单位未识别 报告期未识别] 错误1个，提示0个\n"
            "  [错误] 检查文件「坏.xlsx」时程序内部出错，文件未载入；详细信息已写入日志，请联系管理员\n") in out
    assert "锁住.xlsx: 未通过 [单位未识别 报告期未识别] 错误1个，提示0个\n  [错误] 无法打开文件「锁住.xlsx」：没有读取权限\n" in out
    assert "好.xlsx: 已入库 [包头市 2019年下半年 第1版]" in out
    log = faults.log_path(db).read_text(encoding="utf-8")
    assert "RuntimeError: a bug in the checker" in log and "坏.xlsx" in log


def test_a_busy_database_is_exit_3_with_one_chinese_line_and_the_traceback_in_the_log(tmp_path):
    db = tmp_path / "k.duckdb"
    (tmp_path / "a.xlsx").write_bytes(a_return())
    store.init_db(db)
    with FileLock(str(db) + ".lock"):  # another writer holds the database
        proc = run("--db", str(db), str(tmp_path / "a.xlsx"), env={"KJHZ_BUSY_TIMEOUT": "1"})
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr
    log = faults.log_path(db)
    assert proc.stderr.strip().splitlines()[-1] == (
        f"错误：数据库 {db} 一直被其他任务占用，等待超时，请稍后再试（详细信息已写入日志 {log}）")
    assert "BusyError" in log.read_text(encoding="utf-8")
    assert proc.stdout == ""  # nothing was done


def _without_root_powers() -> tuple[str, ...]:
    """As root, file permissions do not bind: run the command without the capabilities that bypass them."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a read-only file cannot be made")
    caps = "-dac_override,-dac_read_search"
    return ("setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}")


def test_a_read_only_database_is_exit_3_with_one_chinese_line(tmp_path):
    db = tmp_path / "k.duckdb"
    ingest_bytes(db, a_return(), "a.xlsx")
    db.chmod(0o444)
    (tmp_path / "b.xlsx").write_bytes(with_cell(a_return(), "封面", "B4", "2019年下半年"))
    try:
        proc = run("--db", str(db), str(tmp_path / "b.xlsx"), prefix=_without_root_powers())
    finally:
        db.chmod(0o644)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    log = faults.log_path(db)
    assert proc.stderr.strip().splitlines() == [
        f"错误：无法写入数据库 {db}：文件或所在文件夹是只读的（没有写权限），请检查权限或换一个位置（详细信息已写入日志 {log}）"]
    assert "Permission denied" in log.read_text(encoding="utf-8")


def test_a_database_folder_that_cannot_exist_is_exit_3(tmp_path):
    (tmp_path / "a.xlsx").write_bytes(a_return())
    db = tmp_path / "a.xlsx" / "k.duckdb"  # under a file
    proc = run("--db", str(db), str(tmp_path / "a.xlsx"))
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith(f"错误：找不到数据库 {db} 所在的文件夹，或其路径中有一段不是文件夹")
    assert "详细信息已写入日志" in line  # in the temp folder: the database's own folder is a file


def test_exit_on_tool_failure_is_reusable_by_any_command(tmp_path, capsys):
    db = tmp_path / "k.duckdb"
    with pytest.raises(SystemExit) as exc:
        with faults.exit_on_tool_failure(db, "report"):
            raise OSError(28, "No space left on device")
    assert exc.value.code == faults.EXIT_TOOL == 3
    assert capsys.readouterr().err == (f"错误：磁盘空间已满，无法写入数据库 {db} 或其文件夹，请清理磁盘后再试"
                                       f"（详细信息已写入日志 {faults.log_path(db)}）\n")
    with pytest.raises(SystemExit) as exc:  # usage errors keep their own status
        with faults.exit_on_tool_failure(db):
            raise SystemExit(2)
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        with faults.exit_on_tool_failure(db):
            raise KeyError("bug")
    assert capsys.readouterr().err.startswith("错误：程序内部错误，未能完成（详细信息已写入日志")
    assert "KeyError: 'bug'" in faults.log_path(db).read_text(encoding="utf-8")


# --------------------------------------------------------------------------
# Rejected originals are not kept forever
def test_rejected_originals_go_after_the_retention_and_loaded_ones_stay(tmp_path):
    db = tmp_path / "k.duckdb"
    old = datetime.now() - timedelta(days=31)
    good = a_return()
    bad = with_cell(good, T1, "D12", "若干")
    bad_recent = with_cell(good, T1, "D12", "很多")
    assert ingest_bytes(db, good, "好.xlsx", received_at=old).status == "loaded"
    assert ingest_bytes(db, bad, "坏.xlsx", received_at=old).status == "rejected"
    assert ingest_bytes(db, bad_recent, "新坏.xlsx").status == "rejected"
    # the same bytes as a loaded file, once rejected (e.g. before a unit was added to data/): kept
    later = with_cell(good, "封面", "B4", "2019年下半年")
    assert ingest_bytes(db, later, "后.xlsx", received_at=old).status == "loaded"
    folder = store.files_dir(db)
    stray_old = folder / "ab" / ("ab" * 32 + ".xlsx")
    stray_old.parent.mkdir(exist_ok=True)
    stray_old.write_bytes(b"left by a crash")
    os.utime(stray_old, (old.timestamp(), old.timestamp()))
    stray_new = folder / "cd" / ("cd" * 32 + ".xlsx")
    stray_new.parent.mkdir(exist_ok=True)
    stray_new.write_bytes(b"being loaded right now")

    bad_file = store.original_path(db, checks.file_hash(bad))
    assert bad_file is not None
    assert set(store.cleanup_rejected_originals(db)) == {bad_file, stray_old}
    assert store.original_path(db, checks.file_hash(bad)) is None
    for kept in (good, later, bad_recent):
        assert store.original_path(db, checks.file_hash(kept)) is not None
    assert not stray_old.exists() and stray_new.exists()
    assert store.cleanup_rejected_originals(db) == []  # nothing more to do


def test_the_command_line_cleans_rejected_originals_when_it_starts(tmp_path):
    db = tmp_path / "k.duckdb"
    bad = with_cell(a_return(), T1, "D12", "若干")
    ingest_bytes(db, bad, "坏.xlsx", received_at=datetime.now() - timedelta(days=40))
    assert store.original_path(db, checks.file_hash(bad)) is not None
    (tmp_path / "a.xlsx").write_bytes(a_return())
    assert run("--db", str(db), str(tmp_path / "a.xlsx")).returncode == 0
    assert store.original_path(db, checks.file_hash(bad)) is None


def test_file_names_with_invisible_characters_are_shown_visibly_by_the_command_line(tmp_path):
    name = "包头\u200b市.xlsx"
    (tmp_path / name).write_bytes(a_return())
    proc = run("--db", str(tmp_path / "k.duckdb"), "--dry-run", str(tmp_path / name))
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[0].startswith("包头[零宽空格]市.xlsx: 检查通过（未入库）")


def test_every_value_that_does_not_fit_is_its_files_error_and_the_batch_goes_on(tmp_path):
    """表1 I09 is D12; 表2's first item is row 3 (start date H, funding J); 封面 B3 is the unit."""
    T2 = "表2 合作事项明细"
    base = a_return()
    cases = [
        ("1_9.3E18.xlsx", with_cell(base, T1, "D12", 9.3e18),
         "表1 指标进展 第12行「截至本期末累计值」：「9300000000000000000」超出合理范围，本列应为0到10,000,000之间的整数"),
        ("2_阿拉伯数字.xlsx", with_cell(base, T1, "D12", "١٥٠"),
         "表1 指标进展 第12行「截至本期末累计值」：「١٥٠」中的「١」「٥」「٠」不是0-9的数字，请用0-9（阿拉伯数字）填写"),
        ("3_上标.xlsx", with_cell(base, T1, "D12", "4²"),
         "表1 指标进展 第12行「截至本期末累计值」：「4²」中的「²」不是0-9的数字，请用0-9（阿拉伯数字）填写"),
        ("4_序号0.xlsx", with_cell(base, T2, "H3", 0),  # a date-formatted cell: Excel shows 1899-12-31
         f"{T2} 第3行「起始日期」：「1899-12-31」不是有效日期（早于1950年），请写成 2019-03-15 或 2019年3月15日"),
        ("5_1900年.xlsx", with_cell(base, T2, "H3", "1900-01-01"),
         f"{T2} 第3行「起始日期」：「1900-01-01」不是有效日期（早于1950年），请写成 2019-03-15 或 2019年3月15日"),
        ("6_经费.xlsx", with_cell(base, T2, "J3", 1e7),
         f"{T2} 第3行「投入经费（万元）」：投入经费「10000000」超出合理范围（上限1,000,000万元），请核对单位是否为万元"),
    ]
    for name, data, _ in cases:
        (tmp_path / name).write_bytes(data)
    (tmp_path / "7_零宽空格.xlsx").write_bytes(with_cell(base, "封面", "B3", "包\u200b头市"))
    proc = run("--db", str(tmp_path / "k.duckdb"), str(tmp_path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    out = proc.stdout
    for name, _, message in cases:
        assert f"{name}: 未通过 [包头市 2019年上半年] 错误1个，提示0个\n  [错误] {message}\n" in out, name
    # the last file loads, its invisible character removed and named
    assert ("7_零宽空格.xlsx: 已入库 [包头市 2019年上半年 第1版] 错误0个，提示1个\n"
            "  [提示] 封面 第3行「填报单位」：「包[零宽空格]头市」中有看不见的字符（零宽空格），已删除，按「包头市」读取\n") in out
    assert out.strip().splitlines()[-1] == "共7个文件：已入库1，未通过6，重复0"
