"""One command line: ``python -m pipelines <command> [options]``.

Each command is a module of ``pipelines/commands/`` registered in ``COMMANDS``
(one line: name -> module, one-line help). A command module defines

- ``DESCRIPTION`` (Chinese, may span lines) and ``EXAMPLES`` (command lines),
- ``arguments(ap)``: its own options (``--db`` and ``--json`` are added here, unless the module
  sets ``OWN_DB`` / ``OWN_JSON`` and adds them itself, e.g. after a sub-action),
- ``run(args, ap) -> int``: the work, calling the library; ``ap.error(...)`` for usage errors,

and imports nothing heavy at module level: pandas, plotly, openpyxl, duckdb and
rapidfuzz only inside ``run``, so ``--help`` of any command is quick.

One way to fail, for every command: usage errors print the usage and a Chinese
「错误：…」 line (exit 2); a file's own faults are that file's result (exit 1);
when the tool itself cannot work (database busy past its timeout, read-only,
disk full, a bug) ONE Chinese line goes to stderr, the traceback to
``<db>.log`` beside the database, and the exit status is 3
(``faults.exit_on_tool_failure``).

The module forms documented before (``python -m pipelines.ingest …``) call
``run_command`` with their own program name and behave the same.

Example:
    python -m pipelines ingest --db var/kjhz.duckdb 报表/2019年上半年/
    python -m pipelines progress --db var/kjhz.duckdb --as-of 2019-06-30 --json
"""
from __future__ import annotations

import argparse
import atexit
import importlib
import json
import logging
import os
import re
import sys
import threading
import unicodedata
from typing import Callable, NoReturn

from .faults import EXIT_USAGE, exit_on_tool_failure

# name -> (module, one-line help). Registering a command is one line here.
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("pipelines.commands.ingest", "检查并载入报表（文件或文件夹）"),
    "progress": ("pipelines.commands.progress", "截至某日的指标完成率、时间进度和差距"),
    "template": ("pipelines.commands.template", "生成某单位某报告期的预填报表模板"),
    "reporting": ("pipelines.commands.reporting", "各单位各报告期报送情况与完整率、及时率"),
    "briefing": ("pipelines.commands.briefing", "生成简报：Word 文档和全部图表（PNG）"),
    "users": ("pipelines.commands.users", "管理平台账户（新建、列出、改口令、停用、启用、解锁）"),
    "backup": ("pipelines.commands.backup", "备份数据库和原始报表文件，或检查备份"),
    "restore": ("pipelines.commands.restore", "从备份恢复数据库和原始报表文件"),
    "demo": ("pipelines.commands.demo", "生成并载入演示数据库"),
}
PROG = "python -m pipelines"
EXIT_CODES = ("退出码：0 完成；1 有报表未通过检查；2 参数有误；\n"
              "3 程序无法工作（数据库被占用超时、只读、磁盘已满或程序出错），详细信息写入数据库旁的 .log 文件。")


# --------------------------------------------------------------------------
# The parser: Chinese usage, help and errors
def _width(text: str) -> int:
    """Columns a terminal gives ``text``: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


class _ChineseFormatter(argparse.RawDescriptionHelpFormatter):
    """「用法：」 and help columns aligned by display width (argparse counts characters)."""

    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)

    def add_argument(self, action):
        super().add_argument(action)
        if action.help is not argparse.SUPPRESS:
            inv = self._format_action_invocation(action)
            self._action_max_length = max(self._action_max_length, _width(inv) + self._current_indent)

    def _format_action(self, action):
        text = super()._format_action(action)
        inv = self._format_action_invocation(action)
        extra = _width(inv) - len(inv)
        head = " " * self._current_indent + inv
        if extra and text.startswith(head) and not text.startswith(head + "\n"):
            first, sep, rest = text.partition("\n")
            pad = len(first) - len(head) - len(first[len(head):].lstrip(" "))
            first = head + " " * max(2, pad - extra) + first[len(head):].lstrip(" ")
            text = first + sep + rest
        return text


# argparse's own messages (Python 3.11-3.13 wording) -> Chinese; anything else passes through.
_ARGPARSE_ZH = [
    (re.compile(r"^the following arguments are required: (.+)$"), "缺少必需的参数：{0}"),
    (re.compile(r"^unrecognized arguments: (.+)$"), "无法识别的参数：{0}"),
    (re.compile(r"^argument (.+?): invalid choice: (.+?) \(choose from (.+)\)$"), "参数 {0} 的值 {1} 无效，可选：{2}"),
    (re.compile(r"^argument (.+?): expected one argument$"), "参数 {0} 后面需要一个值"),
    (re.compile(r"^argument (.+?): expected at least one argument$"), "参数 {0} 后面至少需要一个值"),
    (re.compile(r"^argument (.+?): expected (\d+) arguments?$"), "参数 {0} 后面需要{1}个值"),
    (re.compile(r"^argument (.+?): ignored explicit argument (.+)$"), "参数 {0} 不接受值 {1}"),
    (re.compile(r"^argument (.+?): invalid (\w+) value: (.+)$"), "参数 {0} 的值 {2} 无效"),
    (re.compile(r"^argument (.+?): not allowed with argument (.+)$"), "参数 {0} 不能与 {1} 同时使用"),
    (re.compile(r"^ambiguous option: (.+?) could match (.+)$"), "选项 {0} 有歧义，可能是：{1}"),
    (re.compile(r"^argument (.+?): (.+)$"), "参数 {0}：{1}"),
]


def argparse_zh(message: str) -> str:
    """One of argparse's English error messages in Chinese (others unchanged)."""
    for rx, template in _ARGPARSE_ZH:
        m = rx.match(message)
        if m:
            return template.format(*m.groups())
    return message


class ChineseArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that speaks Chinese: 「用法：」, section titles, ``-h`` and
    「错误：…」 messages (argparse's own translated). Exit status 2 on bad usage, as argparse."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _ChineseFormatter)
        add_help = kwargs.pop("add_help", True)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help="显示本帮助并退出")

    def format_help(self) -> str:
        text = super().format_help()
        for group in self._action_groups:  # argparse ends section titles with an ASCII colon
            if group.title:
                text = text.replace(f"\n{group.title}:\n", f"\n{group.title}：\n")
        return text

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(2, f"错误：{argparse_zh(message)}\n")



# --------------------------------------------------------------------------
# Shared options and output
def default_db() -> str:
    """``KJHZ_DB`` or var/kjhz.duckdb (as the app)."""
    from .vocab import DEFAULT_DB

    return str(DEFAULT_DB)


def add_db(ap: argparse.ArgumentParser, *, required: bool = False, help: str | None = None) -> None:
    kw = {"required": True} if required else {"default": default_db()}
    ap.add_argument("--db", metavar="数据库", help=help or "DuckDB 数据库文件（默认：环境变量 KJHZ_DB 或 var/kjhz.duckdb）",
                    **kw)


def add_json(ap: argparse.ArgumentParser, help: str | None = None) -> None:
    ap.add_argument("--json", action="store_true", help=help or "以 JSON 输出结果")


def print_json(obj) -> None:
    """JSON on stdout: UTF-8 text as is (not \\u escapes), indented."""
    json.dump(obj, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _parser(name: str, prog: str):
    module_name = COMMANDS[name][0]
    mod = importlib.import_module(module_name)
    examples = "\n".join("  " + e for e in mod.EXAMPLES)
    ap = ChineseArgumentParser(prog=prog, description=mod.DESCRIPTION,
                               epilog=f"示例：\n{examples}\n\n{getattr(mod, 'EXIT_CODES', EXIT_CODES)}")
    if not getattr(mod, "OWN_DB", False):  # a module with OWN_DB adds --db (and --json) where they fit
        add_db(ap)
    if not getattr(mod, "OWN_JSON", False):
        add_json(ap)
    mod.arguments(ap)
    return mod, ap


def run_command(name: str, argv: list[str] | None = None, prog: str | None = None) -> int:
    """Parse ``argv`` for command ``name`` and run it, failing the one way (see the module)."""
    mod, ap = _parser(name, prog or f"{PROG} {name}")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    with exit_on_tool_failure(getattr(args, "db", None) or default_db(), name):
        return int(mod.run(args, ap) or 0)


def _top_help() -> str:
    width = max(len(n) for n in COMMANDS)
    lines = [f"用法：{PROG} <命令> [选项]", "", "科技创新合作监测平台的命令行。每个命令都有 --db（数据库）和 --json（JSON 输出）；"
             f"「{PROG} <命令> -h」显示该命令的说明和示例。", "", "命令："]
    lines += [f"  {n.ljust(width)}  {h}" for n, (_, h) in COMMANDS.items()]
    lines += ["", "示例：", f"  {PROG} ingest --db var/kjhz.duckdb 报表/2019年上半年/",
              f"  {PROG} progress --db var/kjhz.duckdb --as-of 2019-06-30 --json", "", EXIT_CODES]
    return "\n".join(lines) + "\n"


def exit_process(run: Callable[[], int | None]) -> NoReturn:
    """``sys.exit(run())`` for a process that is one command line, without the interpreter's
    teardown: once ``run`` has returned (or exited with a status) and everything a user, a
    pipe or the database would miss is done (the threads joined, so the reader process is
    shut down; the atexit functions run, so multiprocessing's semaphores are released and
    file locks freed; logging flushed; stdout and stderr flushed), the process ends at once
    with that status. Python would otherwise spend 0.2-0.3 s freeing pandas, pyarrow and
    DuckDB object by object. Database connections are closed by the commands themselves
    (``store.connect``). When stdout cannot be flushed (a closed pipe) or the status is not a
    number, Python ends the process the usual way and reports as it always does."""
    try:
        code = run()
    except SystemExit as exc:  # usage errors (2), a tool failure (3), --help (0)
        code = exc.code
    if code is None:
        code = 0
    if not isinstance(code, int):
        sys.exit(code)
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is None or threading.current_thread() is not threading.main_thread():
        sys.exit(code)
    shutdown()  # what Python does first on exit: threading's atexit hooks, then join the threads
    atexit._run_exitfuncs()
    logging.shutdown()
    try:
        for stream in (sys.stdout, sys.stderr):
            if stream is not None:
                stream.flush()
    except (OSError, ValueError):
        sys.exit(code)
    os._exit(code)


def run_module(name: str) -> NoReturn:
    """``python -m pipelines.<name>``: the command ``name``, run and ended as ``python -m pipelines
    <name>`` does (the module form hands over before the module's own imports)."""
    exit_process(lambda: run_command(name, prog=f"python -m pipelines.{name}"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        (sys.stdout if argv else sys.stderr).write(_top_help())
        return 0 if argv else EXIT_USAGE
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        sys.stderr.write(f"用法：{PROG} <命令> [选项]\n错误：没有命令「{name}」，可用的命令：{'、'.join(COMMANDS)}\n")
        return EXIT_USAGE
    return run_command(name, rest)
