"""Raw cells -> typed values (pipelines/normalise.py), against RETURN_FORMAT.md and DOMAIN.md."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from pipelines.normalise import (
    Number, is_blank, parse_date, parse_number, parse_period, split_partners, time_progress,
)

PLAN_START, PLAN_END = date(2018, 1, 1), date(2020, 12, 31)
Q2 = (date(2019, 4, 1), date(2019, 6, 30))
H1 = (date(2019, 1, 1), date(2019, 6, 30))
H2 = (date(2019, 7, 1), date(2019, 12, 31))
YEAR = (date(2019, 1, 1), date(2019, 12, 31))


# --------------------------------------------------------------------------
# Periods: every spelling DOMAIN.md lists
@pytest.mark.parametrize("text, expected", [
    ("2019年第二季度", Q2),
    ("2019年二季度", Q2),
    ("2019年2季度", Q2),
    ("2019Q2", Q2),
    ("2019-Q2", Q2),
    ("2019q2", Q2),
    ("2019 年 第二季度", Q2),
    ("２０１９年第二季度", Q2),  # full-width digits
    ("２０１９Ｑ２", Q2),
    ("2019年1-6月", H1),
    ("2019年上半年", H1),
    ("2019H1", H1),
    ("2019年7-12月", H2),
    ("2019年下半年", H2),
    ("2019H2", H2),
    ("2019年度", YEAR),
    ("2019年", YEAR),
    ("2019年全年", YEAR),
    (2019, YEAR),  # a number cell
    ("2019年第一季度", (date(2019, 1, 1), date(2019, 3, 31))),
    ("2019年1-3月", (date(2019, 1, 1), date(2019, 3, 31))),
    ("2019年第四季度", (date(2019, 10, 1), date(2019, 12, 31))),
    ("2019年10-12月", (date(2019, 10, 1), date(2019, 12, 31))),
])
def test_period_spellings(text, expected):
    p = parse_period(text)
    assert p is not None
    assert (p.start, p.end) == expected


def test_period_codes_and_labels():
    assert [parse_period(t).code for t in ("2019年第二季度", "2019年上半年", "2019年度")] == ["2019Q2", "2019H1", "2019"]
    assert [parse_period(t).label for t in ("2019Q2", "2019H2", "2019")] == ["2019年第二季度", "2019年下半年", "2019年度"]


@pytest.mark.parametrize("text", ["", None, "上半年", "2019年第五季度", "2019年1-5月", "2019年3月", "明年", "2019Q5"])
def test_period_not_recognised(text):
    assert parse_period(text) is None


# --------------------------------------------------------------------------
# Dates
@pytest.mark.parametrize("value, expected", [
    (date(2019, 3, 15), date(2019, 3, 15)),  # a date cell
    (datetime(2019, 3, 15, 10, 30), date(2019, 3, 15)),
    (43539, date(2019, 3, 15)),  # Excel serial number
    (43539.0, date(2019, 3, 15)),
    ("43539", date(2019, 3, 15)),  # serial stored as text
    ("2019-03-15", date(2019, 3, 15)),
    ("2019/3/15", date(2019, 3, 15)),
    ("2019.3.15", date(2019, 3, 15)),
    ("2019年3月15日", date(2019, 3, 15)),
    ("２０１９.３.１５", date(2019, 3, 15)),
    ("2019年3月", date(2019, 3, 1)),  # month precision: first day of the month
    ("2019.3", date(2019, 3, 1)),
    (2018.9, date(2018, 9, 1)),  # 2018.9 typed into a number cell
    ("2019年", date(2019, 1, 1)),
    ("2019", date(2019, 1, 1)),  # a bare year, not serial day 2019 (1905-07-11)
    (2019, date(2019, 1, 1)),
])
def test_date_spellings(value, expected):
    assert parse_date(value) == (expected, None)


def test_dates_from_1950_and_full_width_digits_are_dates():
    assert parse_date("1950-01-01") == (date(1950, 1, 1), None)
    assert parse_date("２０１９-03-15") == (date(2019, 3, 15), None)


@pytest.mark.parametrize("value", ["", None, "—", "-", "/"])
def test_blank_date_is_no_date_and_no_problem(value):
    assert parse_date(value) == (None, None)


@pytest.mark.parametrize("value, reason", [
    ("2019.2.30", "日期不存在"),
    ("2019.13", "月份无效"),
    ("不详", "不是日期"),
    ("去年春天", "不是日期"),
    (True, "不是日期"),
    (-5, "Excel日期序号应大于0"),
    (0, "Excel日期序号应大于0"),
    ("0", "Excel日期序号应大于0"),
    (1, "早于1950年"),  # serial 1 is 1899-12-31
    ("1899-01-01", "早于1950年"),
    (datetime(1949, 12, 31), "早于1950年"),
    ("١٥٠", "含有「١」「٥」「٠」，请用0-9书写数字"),
    ("٢٠١٩-03-15", "含有「٢」「٠」「١」「٩」，请用0-9书写数字"),
    ("nan", "不是日期"),  # float() would have read it as blank
    ("1e5", "不是日期"),
])
def test_invalid_date_gives_a_reason(value, reason):
    assert parse_date(value) == (None, reason)


# --------------------------------------------------------------------------
# Numbers
@pytest.mark.parametrize("value, expected", [
    (12, Number(12.0)),
    (12.0, Number(12.0)),
    ("12", Number(12.0)),
    (" 12 ", Number(12.0)),
    ("１２", Number(12.0, normalised=True)),  # full-width digits
    ("12家", Number(12.0, normalised=True)),  # trailing unit
    ("12 家", Number(12.0, normalised=True)),
    ("1,200.5", Number(1200.5, normalised=True)),
    ("１,２００", Number(1200.0, normalised=True)),
    ("-1", Number(-1.0)),  # negative and fractional values are read; checks judge them
    ("3.5", Number(3.5)),
])
def test_number_spellings(value, expected):
    assert parse_number(value) == expected


@pytest.mark.parametrize("value", ["", None, "—", "-", "/", "——", "／", float("nan")])
def test_blank_marks_mean_not_reported(value):
    assert parse_number(value) == Number(None)
    assert is_blank(value)


@pytest.mark.parametrize("value", ["若干", "约12", "12%", "十二", True, date(2019, 1, 1)])
def test_text_is_not_a_number(value):
    assert parse_number(value) == Number(None, "not-a-number")


def test_zero_is_reported_not_blank():
    assert parse_number(0) == Number(0.0)
    assert not is_blank(0)


# --------------------------------------------------------------------------
# Time progress (序时进度)
def test_time_progress_mid_2019_is_exactly_one_half():
    assert time_progress(PLAN_START, PLAN_END, date(2019, 6, 30)) == 0.5


def test_time_progress_end_of_first_month_is_one_36th():
    assert time_progress(PLAN_START, PLAN_END, date(2018, 1, 31)) == 1 / 36


def test_time_progress_inside_a_month_is_pro_rata_by_day():
    # 13 full months + 14 of February 2019's 28 days
    assert time_progress(PLAN_START, PLAN_END, date(2019, 2, 14)) == pytest.approx(13.5 / 36)
    # 29 full months + 15 of June 2020's 30 days
    assert time_progress(PLAN_START, PLAN_END, date(2020, 6, 15)) == pytest.approx(29.5 / 36)


@pytest.mark.parametrize("as_of, expected", [
    (date(2017, 12, 31), 0.0),
    (date(2000, 1, 1), 0.0),
    (PLAN_END, 1.0),
    (date(2021, 6, 30), 1.0),
])
def test_time_progress_is_clamped_outside_the_plan(as_of, expected):
    assert time_progress(PLAN_START, PLAN_END, as_of) == expected


# --------------------------------------------------------------------------
# Partners
@pytest.mark.parametrize("sep", ["、", "，", ",", "；", ";", "/", "／"])
def test_partners_split_on_each_separator(sep):
    assert split_partners(f"俄罗斯{sep}蒙古国") == ["俄罗斯", "蒙古国"]


def test_partners_split_trims_and_drops_empty_parts():
    assert split_partners(" 俄罗斯 、 蒙古国 、、 日本") == ["俄罗斯", "蒙古国", "日本"]
    assert split_partners("俄罗斯、—") == ["俄罗斯"]
    assert split_partners("") == []
    assert split_partners(None) == []


def test_partners_mixed_separators():
    assert split_partners("北京,天津；河北/广东") == ["北京", "天津", "河北", "广东"]


# --------------------------------------------------------------------------
# No silent readings: odd digits refused, invisible characters named
@pytest.mark.parametrize("text", ["١٥٠", "4²", "۱۲", "①", "٣项", "１٥"])
def test_digits_other_than_0_to_9_are_not_numbers(text):
    assert parse_number(text) == Number(None, "odd-digits")


def test_full_width_digits_are_still_read_with_a_note():
    assert parse_number("１５０") == Number(150.0, None, True)


@pytest.mark.parametrize("text", ["٢٠١٩年上半年", "2019年上半年²"])
def test_a_period_with_odd_digits_is_not_recognised(text):
    assert parse_period(text) is None


def test_visible_names_every_invisible_character():
    from pipelines.normalise import invisible_chars, strip_invisible, visible

    assert visible("包\u200b头") == "包[零宽空格]头"
    assert visible("\ufeff包头\u200f市\x01") == "[字节序标记BOM]包头[从右到左标记]市[控制字符U+0001]"
    assert visible("包头市\n第二行\t") == "包头市\n第二行\t"  # line breaks and tabs are seen
    assert visible("ᠮᠣᠩᠭᠣᠯ\u180e") == "ᠮᠣᠩᠭᠣᠯ\u180e"  # Mongolian's own format characters stay
    assert invisible_chars("a\u200bb\u200bc\u202e") == ["零宽空格", "从右到左覆盖"]
    assert strip_invisible("包\u200b头\u2066市") == "包头市"
    assert visible(None) == "" and visible(12) == "12"
