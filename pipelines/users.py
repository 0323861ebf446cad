"""Accounts from the command line (there is no default account or password).

    python -m pipelines.users add --db var/kjhz.duckdb 张明 --role 管理员
    python -m pipelines.users add --db var/kjhz.duckdb baotou1 --role 填报员 --unit 包头市 --name 王芳
    printf '%s\\n' "$PW" | python -m pipelines.users add --db var/kjhz.duckdb viewer1 --role 浏览 --password-stdin
    python -m pipelines.users list --db var/kjhz.duckdb
    python -m pipelines.users passwd --db var/kjhz.duckdb baotou1
    python -m pipelines.users disable --db var/kjhz.duckdb baotou1     (enable / unlock likewise)

The password is read from a prompt (typed twice, not shown) or, with
``--password-stdin``, from the first line of standard input; it is never an
argument (it would be in the shell history and the process list).
"""
from __future__ import annotations

import argparse
import getpass
import sys

from . import accounts, store
from .reference import load_reference


def _password(args, user: str) -> str:
    if args.password_stdin:
        line = sys.stdin.readline()
        return line.rstrip("\r\n")
    first = getpass.getpass(f"为「{user}」设置口令（至少{accounts.MIN_PASSWORD}个字符，输入时不显示）：")
    again = getpass.getpass("再输入一次：")
    if first != again:
        raise ValueError("两次输入的口令不一致。")
    return first


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipelines.users", description="管理平台账户（管理员、填报员、浏览）。")
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name, helptext in (("add", "新建账户"), ("list", "列出账户"), ("passwd", "修改口令"),
                           ("disable", "停用账户"), ("enable", "重新启用账户"), ("unlock", "解除口令错误锁定")):
        p = sub.add_parser(name, help=helptext, description=helptext)
        p.add_argument("--db", required=True, help="数据库文件，如 var/kjhz.duckdb")
        if name != "list":
            p.add_argument("user", help="用户名（登录名）")
        if name == "add":
            p.add_argument("--role", required=True, help="管理员、填报员或浏览（也可写 admin / filer / viewer）")
            p.add_argument("--unit", help="填报员所属单位（名称或代码，如 包头市 或 150200）")
            p.add_argument("--name", help="姓名（显示在报送记录和操作日志中）")
        if name in ("add", "passwd"):
            p.add_argument("--password-stdin", action="store_true", help="从标准输入的第一行读取口令")
    args = ap.parse_args(argv)
    store.init_db(args.db)
    me = accounts.Account.operator()
    try:
        if args.cmd == "list":
            ref = load_reference()
            with store.connect(args.db) as con:
                df = accounts.list_users(con)
            if df.empty:
                print("还没有账户。新建第一个管理员：python -m pipelines.users add --db 数据库 用户名 --role 管理员")
                return 0
            for r in df.itertuples():
                state = "停用" if r.disabled else ("锁定" if r.locked_until is not None and str(r.locked_until) != "NaT"
                                                  else "正常")
                unit = f"　单位：{ref.unit_name(r.unit_code)}" if isinstance(r.unit_code, str) else ""
                name = f"（{r.display_name}）" if isinstance(r.display_name, str) else ""
                print(f"{r.user_name}{name}　{accounts.ROLE_ZH.get(r.role, r.role)}{unit}　{state}")
            return 0
        if args.cmd in ("add", "passwd"):
            password = _password(args, args.user)
        with store.connect(args.db, write=True) as con:
            if args.cmd == "add":
                acc = accounts.add_user(con, me, args.user, args.role, password, unit_code=args.unit,
                                        display_name=args.name)
                print(f"已新建账户「{acc.user_name}」：{acc.role_zh}"
                      + (f"（{load_reference().unit_name(acc.unit_code)}）" if acc.unit_code else ""))
            elif args.cmd == "passwd":
                accounts.set_password(con, me, args.user, password)
                print(f"已修改「{args.user}」的口令。")
            elif args.cmd in ("disable", "enable"):
                accounts.set_disabled(con, me, args.user, args.cmd == "disable")
                print(f"已{'停用' if args.cmd == 'disable' else '启用'}账户「{args.user}」。")
            elif args.cmd == "unlock":
                accounts.unlock(con, me, args.user)
                print(f"已解除「{args.user}」的锁定。")
    except (ValueError, accounts.PermissionDenied) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
