"""python -m pipelines reporting: who reported which period, on time or late, and the rates."""
from __future__ import annotations

DESCRIPTION = "各单位各报告期报送情况（按时、逾期、缺报、待报）与完整率、及时率（与「报送情况」页同一算法）。"
EXAMPLES = [
    "python -m pipelines reporting --db var/kjhz.duckdb",
    "python -m pipelines reporting --db var/kjhz.duckdb --today 2021-03-01 --deadline-days 30 --json",
]
EXIT_CODES = "退出码：0 完成；2 参数有误；3 程序无法工作（详细信息写入数据库旁的 .log 文件）。"


def arguments(ap) -> None:
    ap.add_argument("--today", default=None, metavar="日期", help="按哪一天统计（默认今天），如 2021-03-01")
    ap.add_argument("--deadline-days", type=int, default=None, metavar="天数",
                    help="报告期结束后多少天内报送算按时（默认见 data/settings.yaml 的 deadline_days）")


def run(args, ap) -> int:
    from datetime import date

    try:
        today = date.fromisoformat(args.today) if args.today else date.today()
    except ValueError:
        ap.error(f"无法识别日期「{args.today}」，请写成 2021-03-01")

    from ..admin import reference_for
    from ..cli import print_json
    from ..reporting import reporting_json, reporting_matrix, reporting_text
    from ..store import connect

    reference_for(args.db)  # the deadline and frequency set on 系统管理
    with connect(args.db) as con:
        m = reporting_matrix(con, today, args.deadline_days)
    if args.json:
        print_json(reporting_json(m, today))
    else:
        print(reporting_text(m))
    return 0
