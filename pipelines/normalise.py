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


# --------------------------------------------------------------------------
# Characters a reader cannot see: removed from every cell (with a warning) and
# named in every message, 「包[零宽空格]头」, so what is wrong can be seen.
INVISIBLE: dict[str, str] = {
    "\u200b": "零宽空格", "\u200c": "零宽不连字", "\u200d": "零宽连字", "\u2060": "零宽不换行",
    "\ufeff": "字节序标记BOM", "\u00ad": "软连字符", "\u061c": "阿拉伯文字母标记",
    "\u200e": "从左到右标记", "\u200f": "从右到左标记",
    "\u202a": "从左到右嵌入", "\u202b": "从右到左嵌入", "\u202c": "方向格式结束",
    "\u202d": "从左到右覆盖", "\u202e": "从右到左覆盖",
    "\u2066": "从左到右隔离", "\u2067": "从右到左隔离", "\u2068": "方向隔离", "\u2069": "方向隔离结束",
    "\u2061": "不可见运算符", "\u2062": "不可见运算符", "\u2063": "不可见运算符", "\u2064": "不可见运算符",
    "\ufff9": "注音标记", "\ufffa": "注音标记", "\ufffb": "注音标记",
}
# control characters other than tab, line feed and carriage return
for _c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), *range(0x7F, 0xA0)]:
    INVISIBLE[chr(_c)] = f"控制字符U+{_c:04X}"
_INVISIBLE_RX = re.compile("[" + "".join(re.escape(c) for c in INVISIBLE) + "]")
# the same class for Arrow's RE2 (pyarrow.compute), which takes \x{...} escapes
INVISIBLE_RE2 = "[" + "".join(f"\\x{{{ord(c):04X}}}" for c in INVISIBLE) + "]"


def invisible_chars(text: str) -> list[str]:
    """The invisible characters in ``text``, each named once: ['零宽空格', ...]."""
    return list(dict.fromkeys(INVISIBLE[c] for c in _INVISIBLE_RX.findall(text)))


def strip_invisible(text: str) -> str:
    return _INVISIBLE_RX.sub("", text)


def visible(value: object) -> str:
    """Any value as text a person can check: every invisible character named in
    brackets, 「包\u200b头」 -> 「包[零宽空格]头」. Every message goes through it."""
    text = "" if value is None else str(value)
    return _INVISIBLE_RX.sub(lambda m: f"[{INVISIBLE[m.group()]}]", text) if _INVISIBLE_RX.search(text) else text


# --------------------------------------------------------------------------
# Digits: only 0-9 and full-width ０-９ are read as digits. Others (Arabic-Indic
# ١٥٠, superscripts 4², circled ①) are refused, never read silently.
def odd_digits(text: str) -> list[str]:
    """Characters of ``text`` that are digits but not 0-9 or ０-９: ['١', '²']."""
    out = []
    for c in text:
        if c.isascii() or "\uff10" <= c <= "\uff19":
            continue
        if c.isdigit() or c.isdecimal() or unicodedata.category(c) == "No":
            out.append(c)
    return list(dict.fromkeys(out))


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

# re.ASCII: \d is 0-9 only (full-width digits are folded to 0-9 first; other scripts' digits are not digits here)
_P_Q = re.compile(r"^(\d{4})(?:年)?[-_ ]?(?:第?([一二三四1-4])季度?|q([1-4]))$", re.ASCII)
_P_Q2 = re.compile(r"^(\d{4})[-_ ]?q([1-4])$", re.ASCII)
_P_H = re.compile(r"^(\d{4})(?:年)?[-_ ]?(?:([上下])半年|h([12]))$", re.ASCII)
_P_Y = re.compile(r"^(\d{4})(?:年|年度|年全年|全年|年年度)?$", re.ASCII)
_P_M = re.compile(r"^(\d{4})年?(\d{1,2})[-~至到](\d{1,2})月?$", re.ASCII)


def parse_period(value: object) -> Period | None:
    """Any spelling DOMAIN.md lists -> Period, or None."""
    if isinstance(value, str) and odd_digits(value):
        return None
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
        from .vocab import date_zh

        return date_zh(d)
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
_TIME_PART = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?$", re.ASCII)  # 「2019-03-15 00:00:00」
_D_YMD = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$", re.ASCII)
_D_YM = re.compile(r"^(\d{4})[-/.年](\d{1,2})月?$", re.ASCII)
_D_Y = re.compile(r"^(\d{4})年$", re.ASCII)
_D_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$", re.ASCII)
EARLIEST_DATE = date(1950, 1, 1)  # nothing in these returns started before; earlier is a typo or a bad serial


def parse_date(value: object) -> tuple[date | None, str | None]:
    """-> (date, None), (None, None) for blank, or (None, reason) when invalid.

    Accepts date cells, Excel serial numbers, 2019-03-15, 2019/3/15, 2019.3.15,
    2019年3月15日, 20190315, and month precision (2019年3月, 2019.3, 2019-03),
    read as the first day of that month. Dates before 1950, Excel serials of 0
    or less and digits other than 0-9 / ０-９ are invalid.
    """
    d, why = _parse_date(value)
    if d is not None and d < EARLIEST_DATE:
        return None, f"早于{EARLIEST_DATE.year}年"
    return d, why


def _parse_date(value: object) -> tuple[date | None, str | None]:
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
        if value <= 0:
            return None, "Excel日期序号应大于0"
        if value < 80000:
            return _EXCEL_EPOCH + timedelta(days=int(value)), None
        return None, "不是日期"
    if isinstance(value, str) and odd_digits(value):
        return None, f"含有「{'」「'.join(odd_digits(value))}」，请用0-9书写数字"
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
    if not _SERIAL_TEXT.fullmatch(s):
        return None, "不是日期"
    return _parse_date(float(s))  # a serial number stored as text


# --------------------------------------------------------------------------
# Numbers
_NUM = re.compile(r"^([+-]?\d+(?:\.\d+)?)(.*)$", re.ASCII)
_SERIAL_TEXT = re.compile(r"[+-]?\d+(?:\.\d+)?", re.ASCII)
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
        if not math.isfinite(value):
            return Number(None, "not-a-number")
        return Number(float(value))
    if isinstance(value, (date, datetime)):
        return Number(None, "not-a-number")
    raw = "" if value is None else str(value).strip()
    if odd_digits(raw):
        return Number(None, "odd-digits")
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
