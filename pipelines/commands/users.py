"""python -m pipelines users: platform accounts (there is no default account or password)."""
from __future__ import annotations

DESCRIPTION = ("管理平台账户（管理员、填报员、浏览）。口令从提示输入（输入两次，不显示），或加 --password-stdin "
               "从标准输入的第一行读取；口令从不写在命令行参数中。")
EXAMPLES = [
    "python -m pipelines users add --db var/kjhz.duckdb 张明 --role 管理员",
    "python -m pipelines users add --db var/kjhz.duckdb baotou1 --role 填报员 --unit 包头市 --name 王芳",
    "python -m pipelines users list --db var/kjhz.duckdb --json",
    "python -m pipelines users disable --db var/kjhz.duckdb baotou1",
]
EXIT_CODES = "退出码：0 完成；1 操作被拒绝（如口令太短、权限不足）；2 参数有误；3 程序无法工作（详细信息写入数据库旁的 .log 文件）。"
OWN_DB = OWN_JSON = True  # --db and --json after the action: python -m pipelines users add --db ... (as documented)
ACTIONS = {"add": "新建账户", "list": "列出账户", "passwd": "修改口令", "disable": "停用账户",
           "enable": "重新启用账户", "unlock": "解除口令错误锁定"}


def arguments(ap) -> None:
    from ..cli import add_db, add_json

    sub = ap.add_subparsers(dest="cmd", required=True, metavar="操作", title="操作（每个操作都有 --db 和 --json）")
    for name, helptext in ACTIONS.items():
        p = sub.add_parser(name, help=helptext, description=helptext)
        add_db(p, required=True, help="数据库文件，如 var/kjhz.duckdb")
        add_json(p)
        if name != "list":
            p.add_argument("user", metavar="用户名", help="用户名（登录名）")
        if name == "add":
            p.add_argument("--role", required=True, metavar="角色", help="管理员、填报员或浏览（也可写 admin / filer / viewer）")
            p.add_argument("--unit", metavar="单位", help="填报员所属单位（名称或代码，如 包头市 或 150200）")
            p.add_argument("--name", metavar="姓名", help="姓名（显示在报送记录和操作日志中）")
        if name in ("add", "passwd"):
            p.add_argument("--password-stdin", action="store_true", help="从标准输入的第一行读取口令")


def _password(args, user: str) -> str:
    import getpass
    import sys

    from .. import accounts

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"为「{user}」设置口令（至少{accounts.MIN_PASSWORD}个字符，输入时不显示）：")
    again = getpass.getpass("再输入一次：")
    if first != again:
        raise ValueError("两次输入的口令不一致。")
    return first


def run(args, ap) -> int:
    import sys

    from .. import accounts, store
    from ..cli import print_json
    from ..reference import load_reference

    store.init_db(args.db)
    me = accounts.Account.operator()
    try:
        if args.cmd == "list":
            ref = load_reference()
            with store.connect(args.db) as con:
                df = accounts.list_users(con)
            rows = []
            for r in df.itertuples():
                locked = r.locked_until is not None and str(r.locked_until) != "NaT"
                rows.append({"user": r.user_name, "name": r.display_name if isinstance(r.display_name, str) else None,
                             "role": r.role, "role_zh": accounts.ROLE_ZH.get(r.role, r.role),
                             "unit_code": r.unit_code if isinstance(r.unit_code, str) else None,
                             "state": "停用" if r.disabled else ("锁定" if locked else "正常")})
            if args.json:
                print_json({"users": rows})
            elif not rows:
                print("还没有账户。新建第一个管理员：python -m pipelines users add --db 数据库 用户名 --role 管理员")
            for u in ([] if args.json else rows):
                unit = f"　单位：{ref.unit_name(u['unit_code'])}" if u["unit_code"] else ""
                name = f"（{u['name']}）" if u["name"] else ""
                print(f"{u['user']}{name}　{u['role_zh']}{unit}　{u['state']}")
            return 0
        if args.cmd in ("add", "passwd"):
            password = _password(args, args.user)
        with store.connect(args.db, write=True) as con:
            if args.cmd == "add":
                acc = accounts.add_user(con, me, args.user, args.role, password, unit_code=args.unit,
                                        display_name=args.name)
                said = (f"已新建账户「{acc.user_name}」：{acc.role_zh}"
                        + (f"（{load_reference().unit_name(acc.unit_code)}）" if acc.unit_code else ""))
            elif args.cmd == "passwd":
                accounts.set_password(con, me, args.user, password)
                said = f"已修改「{args.user}」的口令。"
            elif args.cmd in ("disable", "enable"):
                accounts.set_disabled(con, me, args.user, args.cmd == "disable")
                said = f"已{'停用' if args.cmd == 'disable' else '启用'}账户「{args.user}」。"
            else:
                accounts.unlock(con, me, args.user)
                said = f"已解除「{args.user}」的锁定。"
    except (ValueError, accounts.PermissionDenied) as exc:  # refused: the reason, exit 1
        if args.json:
            print_json({"user": getattr(args, "user", None), "action": args.cmd, "ok": False, "message": str(exc)})
        print(str(exc), file=sys.stderr)
        return 1
    if args.json:
        print_json({"user": args.user, "action": args.cmd, "ok": True, "message": said})
    else:
        print(said)
    return 0
