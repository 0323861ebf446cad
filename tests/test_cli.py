"""`python -m pipelines <command>`: one command line, Chinese help with examples, one way to fail."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import COMMANDS, run_command
from pipelines.ingest import ingest_files, report_json
from pipelines.normalise import parse_period
from pipelines.template import write_return
from tests.test_ingest_cli import ITEMS, a_return

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_every_command_has_chinese_help_with_an_example_and_the_shared_options(name, capsys):
    with pytest.raises(SystemExit) as done:
        run_command(name, ["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"用法：python -m pipelines {name}")
    assert "显示本帮助并退出" in out and ":\n" not in out  # Chinese section titles
    if name == "users":  # --db and --json come after the action: python -m pipelines users add --db ...
        with pytest.raises(SystemExit):
            run_command(name, ["add", "--help"])
        out += capsys.readouterr().out
    assert "--db" in out and "--json" in out
    assert f"示例：\n  python -m pipelines {name} " in out and "退出码：" in out


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert [n for n in COMMANDS if f"python -m pipelines {n}" not in readme] == []


def test_the_command_list_and_usage_errors():
    listed = run("pipelines", "--help")
    assert listed.returncode == 0 and listed.stdout.startswith("用法：python -m pipelines <命令>")
    assert all(f"  {n} " in listed.stdout for n in COMMANDS)
    bare = run("pipelines")
    assert bare.returncode == 2 and "命令：" in bare.stderr
    unknown = run("pipelines", "nosuch")
    assert unknown.returncode == 2
    assert unknown.stderr.splitlines()[-1] == "错误：没有命令「nosuch」，可用的命令：" + "、".join(COMMANDS)
    bad = run("pipelines", "progress", "--as-of", "2019/13/01")
    assert bad.returncode == 2 and bad.stderr.splitlines()[-1] == "错误：无法识别日期「2019/13/01」，请写成 2019-06-30"


def test_the_module_forms_are_the_same_commands():
    for name in COMMANDS:
        old = run(f"pipelines.{name}", "--help")
        new = run("pipelines", name, "--help")
        assert old.returncode == new.returncode == 0
        assert old.stdout.startswith(f"用法：python -m pipelines.{name}")
        assert old.stdout.split("\n\n", 1)[1] == new.stdout.split("\n\n", 1)[1]  # all but the usage lines


HEAVY = ("pandas", "plotly", "openpyxl", "rapidfuzz", "duckdb", "pyarrow", "numpy", "docx")
LOADED_AFTER_HELP = """import os, runpy, sys
sys.argv = [sys.argv[1], *sys.argv[2:]]
def _exit(code):  # the command line ends with os._exit (cli.exit_process): look at sys.modules first
    raise SystemExit(code)
os._exit = _exit
try:
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
except SystemExit as done:
    assert done.code == 0, done.code
print(" ".join(m for m in %r if m in sys.modules))
""" % (HEAVY,)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_loads_no_heavy_library(name):
    """``--help`` answers at once: neither form of a command imports pandas, plotly, openpyxl... for it."""
    for form in (["pipelines", name], [f"pipelines.{name}"]):
        proc = subprocess.run([sys.executable, "-c", LOADED_AFTER_HELP, *form, "--help"], cwd=ROOT,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "用法：" in proc.stdout and proc.stdout.splitlines()[-1] == "", (form, proc.stdout.splitlines()[-1])


def test_ingest_json_equals_the_in_process_result(tmp_path):
    folder = tmp_path / "报表"
    folder.mkdir()
    (folder / "a_包头市.xlsx").write_bytes(a_return())
    (folder / "b_乌市.xlsx").write_bytes(a_return("乌市"))  # rejected: ambiguous unit
    (folder / "c_包头市下半年.xlsx").write_bytes(write_return(
        unit_code="150200", period=parse_period("2019H2"), values={"I09": 0}, items=ITEMS, validation=False))
    proc = run("pipelines", "ingest", "--db", str(tmp_path / "cli.duckdb"), "--json", str(folder))
    assert proc.returncode == 1
    files = sorted(folder.iterdir())
    here = report_json([r for _, _, r in ingest_files(tmp_path / "lib.duckdb", files, who="命令行")])
    assert json.loads(proc.stdout) == here
    assert [f["status"] for f in here["files"]] == ["loaded", "rejected", "loaded"]
    assert "value-decreased" in [i["code"] for i in here["files"][2]["warnings"]]  # I09 fell from 1 to 0


def test_a_tool_failure_is_one_chinese_line_exit_3_and_a_log(tmp_path):
    db = tmp_path / "不是数据库.duckdb"
    db.write_text("这不是 DuckDB 文件")
    proc = run("pipelines", "reporting", "--db", str(db), "--today", "2021-03-01")
    assert proc.returncode == 3
    assert len(proc.stderr.strip().splitlines()) == 1 and proc.stderr.startswith("错误：")
    assert "Traceback" in (tmp_path / "不是数据库.duckdb.log").read_text(encoding="utf-8")


def test_reporting_and_template_answer_in_json(tmp_path):
    db = tmp_path / "kjhz.duckdb"
    assert run("pipelines", "ingest", "--db", str(db), str(_write(tmp_path, "a.xlsx", a_return()))).returncode == 0
    rep = run("pipelines", "reporting", "--db", str(db), "--today", "2019-08-01", "--json")
    assert rep.returncode == 0, rep.stderr
    got = json.loads(rep.stdout)
    baotou = [c for c in got["cells"] if c["unit_code"] == "150200"]
    # loaded today, long after 2019H1's deadline: 逾期
    assert [(c["period_code"], c["state"]) for c in baotou] == [("2018H1", "缺报"), ("2018H2", "缺报"), ("2019H1", "逾期")]
    assert (got["expected"], got["received"], got["late"]) == (39, 1, 1)
    out = tmp_path / "模板"
    out.mkdir()
    tpl = run("pipelines", "template", "--db", str(db), "--unit", "包头", "--period", "2019H2", "-o", str(out), "--json")
    assert tpl.returncode == 0, tpl.stderr
    t = json.loads(tpl.stdout)
    assert (t["unit_code"], t["period_code"]) == ("150200", "2019H2") and Path(t["file"]).exists()


def _write(folder: Path, name: str, data: bytes) -> Path:
    p = folder / name
    p.write_bytes(data)
    return p


def test_pages_call_their_queries_by_reference_and_keep_sql_out():
    """q(queries.items_at, ...): an editor and a reader can follow a page to its SQL."""
    import re

    for p in [*ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py"), ROOT / "app.py"]:
        text = p.read_text(encoding="utf-8")
        assert not re.search(r"\bq\(\s*[\"']", text), p.name
        assert ".execute(" not in text, p.name


def test_sql_lives_only_in_the_store_layer():
    """Every statement is in pipelines/store/ or pipelines/queries.py; the other pipelines call functions."""
    store_layer = {ROOT / "pipelines" / "queries.py", *ROOT.glob("pipelines/store/*.py")}
    for p in ROOT.glob("pipelines/**/*.py"):
        if p not in store_layer:
            assert ".execute(" not in p.read_text(encoding="utf-8"), p.relative_to(ROOT)
