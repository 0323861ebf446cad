"""Raw cell values -> typed values: periods, dates, counts, money, partner lists.

Each function takes one raw value (whatever calamine returned: str, float,
int, date, datetime, bool or '') and returns a typed value plus, where the
input needed fixing, a reason code. Callers apply them once per distinct
value of a column, which keeps big returns fast.
"""
from __future__ import annotations

import calendar
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd

BLANK_MARKS = {"", "—", "——", "-", "--", "/", "／", "－", "―", "–", "无数据", "未填报", "n/a", "na"}

_CN_NUM = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def clean_text(value: object) -> str:
    """A cell as display text: NFKC-folded (full-width to half-width), trimmed, '' for empty."""
    if isinstance(value, str):
        return unicodedata.normalize("NFKC", value).strip()
    return raw_text(value)


def raw_text(value: object) -> str:
    """A cell as the user typed it (for messages): no folding, trimmed."""
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer():
            return str(int(value))
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M") if (value.hour or value.minute) else value.strftime("%Y-%m-%d")
    if isinstance(value, date):
        return value.strftime("%Y-%m-%d")
    return str(value).strip()


def is_blank(value: object) -> bool:
    return clean_text(value).lower() in BLANK_MARKS


# --------------------------------------------------------------------------
# Periods
@dataclass(frozen=True)
class Period:
    kind: str  # "Q", "H" or "Y"
    year: int
    n: int  # quarter 1-4, half 1-2, or 1 for a year

    @property
    def start(self) -> date:
        first = {"Q": 3 * (self.n - 1) + 1, "H": 6 * (self.n - 1) + 1, "Y": 1}[self.kind]
        return date(self.year, first, 1)

    @property
    def end(self) -> date:
        last = {"Q": 3 * self.n, "H": 6 * self.n, "Y": 12}[self.kind]
        return date(self.year, last, calendar.monthrange(self.year, last)[1])

    @property
    def code(self) -> str:
        return {"Q": f"{self.year}Q{self.n}", "H": f"{self.year}H{self.n}", "Y": f"{self.year}"}[self.kind]

    @property
    def label(self) -> str:
        if self.kind == "Q":
            return f"{self.year}年第{'一二三四'[self.n - 1]}季度"
        if self.kind == "H":
            return f"{self.year}年{'上下'[self.n - 1]}半年"
        return f"{self.year}年度"


_MONTH_RANGES = {(1, 3): ("Q", 1), (4, 6): ("Q", 2), (7, 9): ("Q", 3), (10, 12): ("Q", 4),
                 (1, 6): ("H", 1), (7, 12): ("H", 2), (1, 12): ("Y", 1)}

_P_Q = re.compile(r"^(\d{4})(?:年)?[-_ ]?(?:第?([一二三四1-4])季度?|q([1-4]))$")
_P_Q2 = re.compile(r"^(\d{4})[-_ ]?q([1-4])$")
_P_H = re.compile(r"^(\d{4})(?:年)?[-_ ]?(?:([上下])半年|h([12]))$")
_P_Y = re.compile(r"^(\d{4})(?:年|年度|年全年|全年|年年度)?$")
_P_M = re.compile(r"^(\d{4})年?(\d{1,2})[-~至到](\d{1,2})月?$")


def parse_period(value: object) -> Period | None:
    """Any spelling DOMAIN.md lists -> Period, or None."""
    s = clean_text(value).lower().replace(" ", "")
    if not s:
        return None
    m = _P_Q2.match(s)
    if m:
        return Period("Q", int(m.group(1)), int(m.group(2)))
    m = _P_Q.match(s)
    if m and (m.group(2) or m.group(3)):
        return Period("Q", int(m.group(1)), _CN_NUM.get(m.group(2) or m.group(3)))
    m = _P_H.match(s)
    if m:
        n = {"上": 1, "下": 2}.get(m.group(2) or "", None) or int(m.group(3))
        return Period("H", int(m.group(1)), n)
    m = _P_M.match(s)
    if m:
        hit = _MONTH_RANGES.get((int(m.group(2)), int(m.group(3))))
        if hit:
            return Period(hit[0], int(m.group(1)), hit[1])
        return None
    m = _P_Y.match(s)
    if m and 1900 < int(m.group(1)) < 2200:
        return Period("Y", int(m.group(1)), 1)
    return None


def period_label(code_or_end: object) -> str:
    """How people name a period: 「2019年上半年」 for a Period or any spelling of one
    (2019H1, 2019年1-6月 ...); for a bare period end, which may close a quarter and a
    half-year alike, 「2019年6月底」; 「—」 for nothing. Text that is no period is shown as is.
    """
    v = code_or_end
    if isinstance(v, Period):
        return v.label
    if isinstance(v, np.datetime64):
        v = pd.Timestamp(v)
    if v is None or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, (datetime, date)):  # includes pandas Timestamp
        d = v.date() if isinstance(v, datetime) else v
        if d.day == calendar.monthrange(d.year, d.month)[1]:
            return f"{d.year}年{d.month}月底"
        return f"{d.year}年{d.month}月{d.day}日"
    p = parse_period(v)
    if p is not None:
        return p.label
    s = str(v).strip()
    return s or "—"


def period_from_end(end: date, kind: str) -> Period:
    if kind == "Y":
        return Period("Y", end.year, 1)
    if kind == "H":
        return Period("H", end.year, 1 if end.month <= 6 else 2)
    return Period("Q", end.year, (end.month - 1) // 3 + 1)


# --------------------------------------------------------------------------
# Dates
_EXCEL_EPOCH = date(1899, 12, 30)
_TIME_PART = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$")  # 「2019-03-15 00:00:00」
_D_YMD = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_D_YM = re.compile(r"^(\d{4})[-/.年](\d{1,2})月?$")
_D_Y = re.compile(r"^(\d{4})年$")
_D_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_date(value: object) -> tuple[date | None, str | None]:
    """-> (date, None), (None, None) for blank, or (None, reason) when invalid.

    Accepts date cells, Excel serial numbers, 2019-03-15, 2019/3/15, 2019.3.15,
    2019年3月15日, 20190315, and month precision (2019年3月, 2019.3, 2019-03),
    read as the first day of that month.
    """
    if isinstance(value, datetime):
        return value.date(), None
    if isinstance(value, date):
        return value, None
    if isinstance(value, bool):
        return None, "不是日期"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return None, None
        if 1990 <= value < 2100 and not float(value).is_integer():
            # a number like 2018.9 typed into a number cell: year.month
            year, frac = divmod(round(float(value) * 100), 100)
            month = frac // 10 if frac % 10 == 0 and frac >= 10 else frac
            if 1 <= month <= 12:
                return date(int(year), int(month), 1), None
            return None, "不是日期"
        if 1900 <= value <= 2100:  # a bare year, read as 「2019年」, not the serial day 1905-07-11
            return date(int(value), 1, 1), None
        if 1 <= value < 80000:
            return _EXCEL_EPOCH + timedelta(days=int(value)), None
        return None, "不是日期"
    s = clean_text(value)
    if s.lower() in BLANK_MARKS:
        return None, None
    s = _TIME_PART.sub("", s).replace(" ", "")
    for rx, has_day in ((_D_YMD, True), (_D_COMPACT, True), (_D_YM, False)):
        m = rx.match(s)
        if m:
            y, mo = int(m.group(1)), int(m.group(2))
            d = int(m.group(3)) if has_day else 1
            try:
                return date(y, mo, d), None
            except ValueError:
                return None, "日期不存在" if 1 <= mo <= 12 else "月份无效"
    m = _D_Y.match(s)
    if m:
        return date(int(m.group(1)), 1, 1), None
    try:  # a serial number stored as text
        f = float(s)
    except ValueError:
        return None, "不是日期"
    return parse_date(f)


# --------------------------------------------------------------------------
# Numbers
_NUM = re.compile(r"^([+-]?\d+(?:\.\d+)?)(.*)$")
_UNIT_SUFFIX = {"", "家", "项", "个", "件", "位", "场", "场次", "次", "名", "人", "万元", "元", "所", "处"}


@dataclass(frozen=True)
class Number:
    value: float | None  # None: blank / not reported, or invalid
    problem: str | None = None  # issue code when invalid
    normalised: bool = False  # text was fixed (full width, unit, separators)


def parse_number(value: object) -> Number:
    """Read a number cell. Blank marks -> Number(None)."""
    if isinstance(value, bool):
        return Number(None, "not-a-number")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and math.isnan(value):
            return Number(None)
        return Number(float(value))
    if isinstance(value, (date, datetime)):
        return Number(None, "not-a-number")
    raw = "" if value is None else str(value).strip()
    s = unicodedata.normalize("NFKC", raw).strip()
    if s.lower() in BLANK_MARKS:
        return Number(None)
    compact = s.replace(",", "").replace(" ", "")
    m = _NUM.match(compact)
    if not m or m.group(2) not in _UNIT_SUFFIX:
        return Number(None, "not-a-number")
    num = float(m.group(1))
    changed = compact != raw or m.group(2) != ""
    return Number(num, None, changed)


# --------------------------------------------------------------------------
# Partners
_PARTNER_SEP = re.compile(r"[、，,；;/／\n]+")


def split_partners(value: object) -> list[str]:
    s = raw_text(value)
    if not s:
        return []
    return [p.strip() for p in _PARTNER_SEP.split(s) if p.strip() and p.strip() not in BLANK_MARKS]


# --------------------------------------------------------------------------
# Time progress (序时进度)
def time_progress(start: date, end: date, as_of: date) -> float:
    """Months elapsed / months in plan, with the current month pro rata by day.

    2019-06-30 in a 2018-01-01..2020-12-31 plan -> 18/36 = 0.5.
    """
    total = (end.year - start.year) * 12 + end.month - start.month + 1
    if as_of < start:
        return 0.0
    if as_of >= end:
        return 1.0
    full = (as_of.year - start.year) * 12 + as_of.month - start.month
    days = calendar.monthrange(as_of.year, as_of.month)[1]
    return min(1.0, max(0.0, (full + as_of.day / days) / total))
