"""python -m pipelines progress: 完成率, 时间进度 and 差距 per indicator at an as-of date."""
from __future__ import annotations

DESCRIPTION = "按截止日期计算各指标完成率、时间进度和差距（与总览页同一算法）。"
EXAMPLES = [
    "python -m pipelines progress --db var/kjhz.duckdb --as-of 2019-06-30",
    "python -m pipelines progress --db var/kjhz.duckdb --as-of 2019-06-30 --unit 包头市 --json",
]
EXIT_CODES = "退出码：0 完成；2 参数有误；3 程序无法工作（详细信息写入数据库旁的 .log 文件）。"


def arguments(ap) -> None:
    ap.add_argument("--as-of", required=True, metavar="日期", help="截止日期，如 2019-06-30")
    ap.add_argument("--unit", default=None, metavar="单位", help="单位编码、全称或简称（如 150200、包头市），只看该单位")


def run(args, ap) -> int:
    from ..cli import print_json
    from ..progress import progress_json, progress_table, progress_text, return_basis, scope_arguments
    from ..admin import reference_for
    from ..store import connect

    ref = reference_for(args.db)  # with the plan values and settings changed on 系统管理
    as_of, unit = scope_arguments(ap, args, ref)
    with connect(args.db) as con:
        table = progress_table(con, as_of, unit=unit, ref=ref)
        basis = return_basis(con, as_of, ref)
    if unit is not None:
        basis = basis[basis["unit_code"] == unit]
    if args.json:
        print_json(progress_json(table, basis, as_of, unit, ref))
    else:
        print(progress_text(table))
    return 0
