"""`python -m pipelines.ingest`: Chinese messages, skipped files named, exit codes 0/1/2."""
from __future__ import annotations

import io
import subprocess
import sys
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from pipelines.ingest import ChineseArgumentParser, argparse_zh
from pipelines.normalise import parse_period
from pipelines.template import write_return

ROOT = Path(__file__).resolve().parent.parent
ITEMS = pd.DataFrame([("稀土院士专家工作站", "院士专家工作站", "S04", [], date(2018, 9, 1), "已建成/已认定")],
                     columns=["item_name", "item_type", "sector_code", "partners", "start_date", "status"])


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines.ingest", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)


def a_return(unit_cell: str | None = None) -> bytes:
    data = write_return(unit_code="150200", period=parse_period("2019H1"), values={"I09": 1}, items=ITEMS,
                        validation=False)
    if unit_cell is None:
        return data
    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb["封面"]["B3"] = unit_cell
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_folder_names_what_it_skips_and_what_it_could_not_identify(tmp_path):
    folder = tmp_path / "2019年上半年"
    folder.mkdir()
    (folder / "包头市.xlsx").write_bytes(a_return())
    (folder / "乌市.xlsx").write_bytes(a_return("乌市"))  # period known, unit ambiguous
    (folder / "损坏.xlsx").write_bytes(b"PK\x03\x04 not really a workbook")  # neither known
    (folder / "a.txt").write_text("说明")
    (folder / "b.pdf").write_bytes(b"%PDF-1.4")
    (folder / "~$包头市.xlsx").write_bytes(b"")  # Excel's lock file while the workbook is open

    proc = run("--db", str(tmp_path / "kjhz.duckdb"), str(folder))
    assert proc.returncode == 1  # something was rejected
    assert "已跳过非Excel文件：a.txt、b.pdf" in proc.stderr.splitlines()
    assert "已跳过临时文件或隐藏文件：~$包头市.xlsx" in proc.stderr.splitlines()
    out = proc.stdout
    assert "包头市.xlsx: 已入库 [包头市 2019年上半年 第1版]" in out
    assert "乌市.xlsx: 未通过 [单位未识别 2019年上半年]" in out
    assert "损坏.xlsx: 未通过 [单位未识别 报告期未识别]" in out
    assert "?" not in out
    assert "文件不完整" in out and "建议：" in out  # the reader's Chinese wording, not zipfile's English
    assert "zip" not in out.lower()
    assert out.strip().splitlines()[-1] == "共3个文件：已入库1，未通过2，重复0"


def test_exit_codes_and_chinese_usage_messages(tmp_path):
    ok = tmp_path / "包头市.xlsx"
    ok.write_bytes(a_return())
    proc = run("--db", str(tmp_path / "kjhz.duckdb"), "--dry-run", str(ok))
    assert proc.returncode == 0 and "检查通过（未入库） [包头市 2019年上半年 第1版]" in proc.stdout

    helped = run("-h")
    assert helped.returncode == 0
    assert helped.stdout.startswith("用法：python -m pipelines.ingest")
    for text in ("位置参数：", "选项：", "-h, --help", "显示本帮助并退出", "--dry-run", "--annotate", "--json",
                 "--user", "--db", "退出码："):
        assert text in helped.stdout, text
    assert "usage" not in helped.stdout and "show this help" not in helped.stdout

    for args, message in [
        ((), "错误：缺少必需的参数：文件或文件夹"),
        (("--bogus", str(ok)), "错误：无法识别的参数：--bogus"),
        ((str(ok), "--db"), "错误：参数 --db 后面需要一个值"),
        ((str(tmp_path / "没有这个文件.xlsx"),), "错误：找不到文件："),
    ]:
        proc = run(*args)
        assert proc.returncode == 2, args
        lines = proc.stderr.strip().splitlines()
        assert lines[0].startswith("用法：python -m pipelines.ingest"), proc.stderr
        assert lines[-1].startswith(message), proc.stderr
        assert "usage" not in proc.stderr and "error:" not in proc.stderr

    only_text = tmp_path / "空文件夹"
    only_text.mkdir()
    (only_text / "说明.docx").write_bytes(b"x")
    proc = run(str(only_text))
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[0] == "已跳过非Excel文件：说明.docx"
    assert proc.stderr.strip().endswith("错误：没有找到 Excel 文件")


def test_argparse_messages_in_chinese(capsys):
    ap = ChineseArgumentParser(prog="demo")
    ap.add_argument("--kind", choices=["Q", "H", "Y"])
    with pytest.raises(SystemExit) as exc:
        ap.parse_args(["--kind", "M"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == "错误：参数 --kind 的值 'M' 无效，可选：'Q', 'H', 'Y'"
    assert argparse_zh("argument --n: invalid int value: 'x'") == "参数 --n 的值 'x' 无效"
    assert argparse_zh("ambiguous option: --d could match --db, --dry-run") == "选项 --d 有歧义，可能是：--db, --dry-run"
    assert argparse_zh("请用 --unit 指定填报单位") == "请用 --unit 指定填报单位"  # ours pass through


def test_a_load_that_removes_items_says_how_many_and_refuse_removals_refuses_it(tmp_path):
    import json

    db = str(tmp_path / "kjhz.duckdb")
    v1, v2 = tmp_path / "v1.xlsx", tmp_path / "v2.xlsx"
    v1.write_bytes(a_return())
    v2.write_bytes(write_return(unit_code="150200", period=parse_period("2019H1"), values={"I09": 2},
                                items=ITEMS.iloc[:0], validation=False))  # drops the one item
    assert run("--db", db, str(v1)).returncode == 0

    refused = run("--db", db, "--json", "--refuse-removals", str(v2))
    assert refused.returncode == 1
    f = json.loads(refused.stdout)["files"][0]
    assert (f["status"], f["removed_items"], [e["code"] for e in f["errors"]]) == ("rejected", 1, ["items-removed"])

    loaded = run("--db", db, str(v2))  # without the option: loads as documented, and says what it removed
    assert loaded.returncode == 0
    assert "v2.xlsx: 已入库 [包头市 2019年上半年 第2版] 错误0个，提示1个，删除了当前版本中的1项事项" in loaded.stdout


# The command line leaves without Python's slow teardown (cli.exit_process). What must still hold:
# every line written, the database whole, no warning from multiprocessing, and nothing left running.
LEFT_BEHIND = """import ctypes, json, os, subprocess, sys, time
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: its orphans come here
out, err = open(sys.argv[1], "w"), open(sys.argv[2], "w")
code = subprocess.run(sys.argv[3:], stdout=out, stderr=err).returncode
left = []
for _ in range(200):  # the reader, its forkserver and the resource tracker go within seconds
    while True:  # reap what has ended
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
    left = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{p}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[1] == str(os.getpid()):
                    left.append(p)
        except OSError:  # gone meanwhile
            pass
    if not left:
        break
    time.sleep(0.05)
print(json.dumps({"code": code, "left": left}))
"""


@pytest.mark.parametrize("form", [["pipelines", "ingest"], ["pipelines.ingest"]])
def test_the_command_line_ends_with_its_output_written_the_database_whole_and_no_process_left(tmp_path, form):
    import json

    import duckdb

    f = tmp_path / "包头市.xlsx"
    f.write_bytes(a_return())
    db = tmp_path / "kjhz.duckdb"
    out, err = tmp_path / "out.txt", tmp_path / "err.txt"
    proc = subprocess.run([sys.executable, "-c", LEFT_BEHIND, str(out), str(err), sys.executable, "-m", *form,
                           "--db", str(db), str(f)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert got == {"code": 0, "left": []}
    assert out.read_text(encoding="utf-8").splitlines() == [
        "包头市.xlsx: 已入库 [包头市 2019年上半年 第1版] 错误0个，提示0个", "共1个文件：已入库1，未通过0，重复0"]
    assert err.read_text(encoding="utf-8") == ""  # e.g. no "resource_tracker: ... leaked semaphore"
    assert not db.with_name(db.name + ".wal").exists()  # closed as usual: everything in the database file
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM items").fetchone() == (1,)
        assert con.execute("SELECT status, version FROM submissions").fetchall() == [("loaded", 1)]
    finally:
        con.close()
