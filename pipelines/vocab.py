"""The project's words and formats, said once.

Everything a page, a figure, a query or a command line writes for people
about the same things uses these: the states of a unit's figures at an
as-of date, the progress statuses, the reporting states, the period and
frequency words, the settings of data/settings.yaml, and the Chinese
formatters for dates, periods, percentages, money and versions.

Imports nothing heavy: command lines use it before they need pandas.
"""
from __future__ import annotations

import calendar
import os
from datetime import date, datetime
from pathlib import Path

# --------------------------------------------------------------------------
# Where a unit's figures at an as-of date come from (progress.return_basis,
# queries.unit_indicator_matrix). DOMAIN.md: a figure is *current* only when
# its return is for the period that contains the as-of date, *carried
# forward* when it comes from an earlier period (progress.is_current).
STATE_CURRENT = "当期"      # the return for the period containing the as-of date
STATE_CARRIED = "结转"      # only an earlier return: its figures are carried forward
STATE_NO_RETURN = "缺报"    # a unit with no return on or before the date at all
STATE_NOT_REPORTED = "未报"  # one indicator without a figure (no return, or its cell left blank)
# "no figure to show", whichever of the two it is
NO_FIGURE_STATES = (STATE_NO_RETURN, STATE_NOT_REPORTED)
BASIS_STATES = (STATE_CURRENT, STATE_CARRIED, STATE_NO_RETURN)
# how a single unit's basis is said on a page and in a subtitle
BASIS_WORDS = {STATE_CURRENT: "当期已报", STATE_CARRIED: "沿用上期", STATE_NO_RETURN: "无报表"}

# --------------------------------------------------------------------------
# Progress statuses (DOMAIN.md): 完成率 against 时间进度
STATUS_DONE, STATUS_AHEAD, STATUS_SLIGHT, STATUS_BEHIND = "已完成", "超前", "略滞后", "滞后"
STATUS_NONE, STATUS_NO_TARGET, STATUS_SUBSET = "无数据", "未设目标", "不作判断"
STATUS_PARTIAL = "数据不全"  # units missing: figures without a verdict
STATUS_ORDER = [STATUS_DONE, STATUS_AHEAD, STATUS_SLIGHT, STATUS_BEHIND, STATUS_PARTIAL, STATUS_NO_TARGET,
                STATUS_SUBSET, STATUS_NONE]
VERDICTS = (STATUS_DONE, STATUS_AHEAD, STATUS_SLIGHT, STATUS_BEHIND)

# --------------------------------------------------------------------------
# Reporting states of one unit x period (报送情况)
REPORT_ON_TIME, REPORT_LATE, REPORT_MISSING, REPORT_PENDING = "按时", "逾期", "缺报", "待报"
REPORT_ORDER = [REPORT_ON_TIME, REPORT_LATE, REPORT_MISSING, REPORT_PENDING]
REPORT_RECEIVED = (REPORT_ON_TIME, REPORT_LATE)
FLAG_WARNINGS = "有提示"

# --------------------------------------------------------------------------
# Periods and frequencies
FREQUENCIES = ("Q", "H", "Y")
FREQUENCY_WORDS = {"Q": "季度", "H": "半年", "Y": "年度"}
DEFAULT_FREQUENCY = "H"
DEFAULT_DEADLINE_DAYS = 15
DEFAULT_VERDICT_MIN_COVERAGE = 1.0
DEFAULT_SOURCE_NOTE = "数据来源：各盟市报送数据"

MONEY_UNIT = "万元"
ITEM_UNIT = "项"
DASH = "—"


# --------------------------------------------------------------------------
# Where the database is unless a command or the app is told (``--db``): KJHZ_DB, else var/kjhz.duckdb
DEFAULT_DB = Path(os.environ.get("KJHZ_DB", Path(__file__).resolve().parent.parent / "var" / "kjhz.duckdb"))
# The reference data, plans and settings (KJHZ_DATA_DIR, for tests and other deployments)
DATA_DIR = Path(os.environ.get("KJHZ_DATA_DIR", Path(__file__).resolve().parent.parent / "data"))


def read_yaml(path: Path | str):
    """A YAML file of data/ (safe: plain data only), through libyaml when PyYAML has it (10x faster)."""
    import yaml

    with open(path, encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


# --------------------------------------------------------------------------
# Settings (data/settings.yaml), read through the reference data
def settings(ref=None) -> dict:
    """data/settings.yaml as loaded with the reference data (``ref`` or the cached one)."""
    if ref is None:
        from .reference import load_reference

        ref = load_reference()
    return ref.settings


def reporting_frequency(ref=None) -> str:
    """How often units report: "Q", "H" or "Y" (settings.yaml ``reporting_frequency``)."""
    return str(settings(ref).get("reporting_frequency", DEFAULT_FREQUENCY))


def deadline_days(ref=None) -> int:
    """Days after a period's end within which a return is on time (settings.yaml ``deadline_days``)."""
    return int(settings(ref).get("deadline_days", DEFAULT_DEADLINE_DAYS))


def verdict_min_coverage(ref=None) -> float:
    """Share of the units in scope whose figures a region verdict (超前/略滞后/滞后) needs
    (settings.yaml ``verdict_min_coverage``; 1.0 = every unit)."""
    return float(settings(ref).get("verdict_min_coverage", DEFAULT_VERDICT_MIN_COVERAGE))


def source_note(ref=None) -> str:
    """The source line printed under every chart (settings.yaml ``source_note``)."""
    return str(settings(ref).get("source_note") or DEFAULT_SOURCE_NOTE)


def max_count(ref=None) -> int:
    """The largest 表1 count a return may give (settings.yaml ``max_count``)."""
    return int(settings(ref)["max_count"])


def max_funding_wan(ref=None) -> float:
    """The largest 表2 funding, in 万元, a return may give (settings.yaml ``max_funding_wan``)."""
    return float(settings(ref)["max_funding_wan"])


def rejected_retention_days(ref=None) -> float:
    """Days a rejected original is kept (settings.yaml ``rejected_retention_days``)."""
    return float(settings(ref)["rejected_retention_days"])


# --------------------------------------------------------------------------
# Formatters
def is_missing(x) -> bool:
    """None, NaN, NaT or pandas' NA."""
    if x is None:
        return True
    try:
        return bool(x != x)
    except TypeError:  # pd.NA
        return True


def _as_date(d) -> date:
    if isinstance(d, datetime):  # includes pandas Timestamp
        return d.date()
    if isinstance(d, date):
        return d
    import pandas as pd

    return pd.Timestamp(d).date()


def date_zh(d) -> str:
    """「2019年6月30日」; 「—」 for nothing."""
    if is_missing(d):
        return DASH
    d = _as_date(d)
    return f"{d.year}年{d.month}月{d.day}日"


def month_day_zh(d, today: date | None = None) -> str:
    """「3月8日」 within ``today``'s year, 「2019年3月8日」 otherwise."""
    if is_missing(d):
        return DASH
    d = _as_date(d)
    if today is not None and d.year == today.year:
        return f"{d.month}月{d.day}日"
    return date_zh(d)


def _as_datetime(d) -> datetime:
    if isinstance(d, datetime):
        return d
    import pandas as pd

    return pd.Timestamp(d)


def datetime_zh(d) -> str:
    """「2019-07-10 09:30」: when something was received or loaded."""
    return DASH if is_missing(d) else f"{_as_datetime(d):%Y-%m-%d %H:%M}"


def date_time_zh(d) -> str:
    """「2019年7月10日 09:30」: when something happened, for people; 「—」 for nothing."""
    if is_missing(d):
        return DASH
    d = _as_datetime(d)
    return f"{date_zh(d)} {d:%H:%M}"


def end_phrase(d) -> str:
    """A period end as said in sentences: 「2019年底」, 「2019年6月底」, else 「2019年6月15日」."""
    d = _as_date(d)
    if d.month == 12 and d.day == 31:
        return f"{d.year}年底"
    if d.day == calendar.monthrange(d.year, d.month)[1]:
        return f"{d.year}年{d.month}月底"
    return date_zh(d)


def date_phrase(d) -> str:
    """An as-of date as said in sentences: 「2019年6月底」 for a month's end, 「2019年6月15日」 otherwise
    (progress.as_of_phrase puts it into the plan file's 「截至{date}」)."""
    d = _as_date(d)
    if d.day == calendar.monthrange(d.year, d.month)[1]:
        return f"{d.year}年{d.month}月底"
    return date_zh(d)


def period_label(code_or_end) -> str:
    """「2019年上半年」 for a period (any spelling), 「2019年6月底」 for a period end, 「—」 for nothing."""
    from .normalise import period_label as _label

    return _label(code_or_end)


def pct(x, digits: int = 1) -> str:
    """A ratio as a percentage: 0.7 -> 「70.0%」; 「—」 for nothing."""
    return DASH if is_missing(x) else f"{x * 100:.{digits}f}%"


def number(x, digits: int = 0) -> str:
    """A count or amount with thousands separators: 14011 -> 「14,011」; 「—」 for nothing. Tables
    that mix numbers with words (「—」, 「未分解」) show their numbers through it, so a number reads
    the same in every table, metric and chart."""
    return DASH if is_missing(x) else f"{x:,.{digits}f}"


def quantity(x, unit: str, digits: int = 0) -> str:
    """A figure that stands on its own (a metric, a key figure, a chart label): the number with
    thousands separators, a space, its unit: 「14,011 项」, 「162,367.6 万元」; 「—」 for nothing.
    Inside a Chinese sentence, and in the region map's labels where room is short, the unit
    follows the number directly (「共12项」, 「包头市 21家」)."""
    return DASH if is_missing(x) else f"{number(x, digits)} {unit}"


def period_end_ticks(start: date, end: date, months: int = 6) -> tuple[list[date], list[str]]:
    """Ticks for a date axis of the plan: its start (「2018年初」) and every period end every
    ``months`` months up to ``end`` (「2018年6月底」, 「2018年底」: end_phrase), nothing after it."""
    vals, text = [start], [f"{start.year}年初"]
    y, m = start.year, months
    while True:
        while m > 12:
            y, m = y + 1, m - 12
        d = date(y, m, calendar.monthrange(y, m)[1])
        if d > end:
            break
        if d > start:
            vals.append(d)
            text.append(end_phrase(d))
        m += months
    return vals, text


def money_wan(x, digits: int = 1) -> str:
    """An amount in 万元: 「1,234.5万元」; 「—」 for nothing."""
    return DASH if is_missing(x) else f"{x:,.{digits}f}{MONEY_UNIT}"


def version_zh(v) -> str:
    """「第2版」; 「—」 for no version."""
    return DASH if is_missing(v) else f"第{int(v)}版"
