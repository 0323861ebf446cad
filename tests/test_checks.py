"""check_return() against RETURN_FORMAT.md: one small workbook per check, built in the test.

Each test takes ``valid_sheets`` (a minimal return with no issues at all),
changes one thing and asserts the issues with ``flatten([sheet, row, column,
code])``. The ``check`` fixture also asserts that every cell-level issue
carries its sheet, Excel row, column header as found and the cell's value.
"""
from __future__ import annotations

import copy
import io
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import PatternFill

from pipelines.checks import check_return
from pipelines.issues import CATALOGUE, ERROR, WARNING, Report
from pipelines.read import DEFAULT_LIMITS, Limits
from tests import hostile_files as hostile

TODAY = date(2019, 8, 1)  # the valid return's period, 2019年上半年, has ended
COVER, T1, T2 = "封面", "表1 指标进展", "表2 合作事项明细"
KEYS = ["sheet", "row", "column", "code"]
VALUE_COL = "截至本期末累计值"
PARTNER_COL = "合作国家（地区）"
EXAMPLES = Path(__file__).resolve().parents[2] / "shared" / "examples"

# Codes about a file, a sheet or a header: no cell to point at.
NOT_A_CELL = {"file-unreadable", "file-encrypted", "file-type", "file-too-large", "sheet-missing",
              "sheet-too-large", "header-missing", "column-missing", "label-missing", "items-empty",
              "empty-return"}


def assert_located(report) -> None:
    for i in report.issues:
        assert i.severity in (ERROR, WARNING) and i.message, i
        if i.code in NOT_A_CELL:
            continue
        assert i.sheet and isinstance(i.row, int) and i.column and i.value is not None, i
        assert i.message.startswith(f"{i.sheet} 第{i.row}行「{i.column}」："), i


@pytest.fixture
def check(make_workbook):
    """check(sheets, today=TODAY, limits=..., **make_workbook options) -> CheckedReturn."""
    def run(sheets, today=TODAY, file_name="x.xlsx", limits=DEFAULT_LIMITS, **options):
        out = check_return(make_workbook(sheets, **options), file_name, today=today, limits=limits)
        assert_located(out.report)
        return out
    return run


def put(sheets: dict, sheet: str, row: int, header: str, value) -> None:
    """Set the cell under ``header`` in Excel row ``row``."""
    rows = sheets[sheet]
    col = next(r.index(header) for r in rows if header in r)
    rows.extend([] for _ in range(row - len(rows)))
    rows[row - 1].extend([None] * (col + 1 - len(rows[row - 1])))
    rows[row - 1][col] = value


def set_cover(sheets: dict, label: str, value) -> None:
    """Set the value right of a 封面 label."""
    next(r for r in sheets[COVER] if r[0] == label)[1] = value


def item(name, item_type="其他合作事项", sector="科技服务与人才", partners=None, start="2019-01-01",
         status="在研", funding=None, seq=None) -> list:
    """A 表2 row in valid_sheets' column order."""
    return [seq, name, item_type, sector, partners, start, status, funding]


def flat(out, severity: str | None = None) -> list[list]:
    """The report's issues (of one severity) as rows of KEYS: ``Report.flatten``."""
    issues = [i for i in out.report.issues if severity is None or i.severity == severity]
    return Report(issues).flatten(KEYS)


def item_at(out, row: int) -> dict:
    return out.items.set_index("row").loc[row].to_dict()


# --------------------------------------------------------------------------
# The valid return
def test_valid_return_has_no_issues(check, valid_sheets):
    out = check(valid_sheets)
    assert out.report.issues == []
    assert (out.unit_code, out.period.code) == ("150200", "2019H1")
    assert out.indicators[["indicator_code", "value", "row"]].values.tolist() == [["I04", 2, 2], ["I09", 1, 3]]
    assert out.items[["row", "item_type", "indicator_code", "sector_code", "partners", "status", "is_live"]
                     ].values.tolist() == [
        [2, "国际科技合作项目", "I04", "S05", ["RUS"], "在建/在研", True],
        [3, "国内科技合作项目", "I04", "S06", ["CN-BJ"], "在建/在研", True],
        [4, "院士专家工作站", "I09", "S04", [], "已建成/已认定", True],
    ]
    assert out.items["start_date"].tolist() == [date(2018, 5, 10), date(2019, 3, 15), date(2018, 9, 1)]
    assert out.item_partners.values.tolist() == [[2, "RUS", "foreign"], [3, "CN-BJ", "domestic"]]


# --------------------------------------------------------------------------
# 封面: unit
def test_unknown_unit_with_suggestion(check, valid_sheets):
    set_cover(valid_sheets, "填报单位", "包头市政府")
    out = check(valid_sheets)
    assert flat(out) == [[COVER, 1, "填报单位", "unknown-unit"]]
    issue = out.report.errors[0]
    assert (issue.value, issue.suggestion) == ("包头市政府", "包头市")
    assert issue.message == "封面 第1行「填报单位」：无法识别填报单位「包头市政府」，是否为「包头市」？"
    assert out.unit_code is None


def test_ambiguous_wushi_names_both_candidates(check, valid_sheets):
    set_cover(valid_sheets, "填报单位", "乌市")
    out = check(valid_sheets)
    assert flat(out) == [[COVER, 1, "填报单位", "ambiguous-unit"]]
    issue = out.report.errors[0]
    assert issue.value == "乌市"
    assert "乌海市" in issue.message and "乌兰察布市" in issue.message
    assert out.unit_code is None


@pytest.mark.parametrize("text, code", [("包头", "150200"), ("呼市", "150100"), ("区直", "150000"),
                                        ("150200", "150200"), ("呼和浩特市", "150100")])
def test_unit_short_forms_accepted(check, valid_sheets, text, code):
    set_cover(valid_sheets, "填报单位", text)
    out = check(valid_sheets)
    assert (out.unit_code, out.report.issues) == (code, [])


# 封面: period
def test_unknown_period(check, valid_sheets):
    set_cover(valid_sheets, "报告期", "2019年第五季度")
    out = check(valid_sheets)
    assert flat(out) == [[COVER, 2, "报告期", "unknown-period"]]
    assert out.report.errors[0].value == "2019年第五季度"
    assert out.period is None


def test_period_in_the_future(check, valid_sheets):
    set_cover(valid_sheets, "报告期", "2019年下半年")
    out = check(valid_sheets, today=date(2019, 3, 1))
    assert flat(out) == [[COVER, 2, "报告期", "period-future"]]
    assert "今天是2019-03-01" in out.report.errors[0].message


def test_period_not_yet_ended_is_a_warning(check, valid_sheets):
    out = check(valid_sheets, today=date(2019, 6, 20))
    assert flat(out, ERROR) == []
    assert flat(out, WARNING) == [[COVER, 2, "报告期", "period-not-ended"]]


@pytest.mark.parametrize("period, today", [("2017年度", TODAY),  # before the plan starts
                                           ("2017年下半年", TODAY),
                                           ("2021年上半年", date(2022, 1, 1))])  # after it ends
def test_period_outside_the_plan(check, valid_sheets, period, today):
    set_cover(valid_sheets, "报告期", period)
    for row in range(2, 5):  # else 2018/2019 start dates lie after a 2017 period's end
        put(valid_sheets, T2, row, "起始日期", None)
    out = check(valid_sheets, today=today)
    assert flat(out, ERROR) == [[COVER, 2, "报告期", "period-outside-plan"]]
    assert "2018-01-01至2020-12-31" in out.report.errors[0].message


@pytest.mark.parametrize("label", ["填报单位：", "填报单位:", " 填报单位 ： ", "填报单位 :", "填报 单位"])
def test_cover_labels_with_colons_and_spaces(check, valid_sheets, label):
    valid_sheets[COVER][0][0] = label
    out = check(valid_sheets)
    assert (out.unit_code, out.report.issues) == ("150200", [])


def test_cover_label_missing_names_it(check, valid_sheets):
    del valid_sheets[COVER][1]
    out = check(valid_sheets)
    assert flat(out) == [[COVER, None, None, "label-missing"]]
    assert "「报告期」" in out.report.errors[0].message


def test_cover_label_without_value(check, valid_sheets):
    set_cover(valid_sheets, "报告期", None)
    out = check(valid_sheets)
    assert flat(out) == [[COVER, 2, "报告期", "missing-value"]]


def test_cover_phone_keeps_leading_zero_and_fill_date_is_read(check, valid_sheets):
    valid_sheets[COVER] += [["填报人：", "李明"], ["联系电话：", "04725123456"], ["填报日期：", date(2019, 7, 12)]]
    out = check(valid_sheets)
    assert out.report.issues == []
    assert out.cover == {"filler": "李明", "phone": "04725123456", "fill_date": date(2019, 7, 12)}


def test_cover_fill_date_not_a_date_is_a_warning(check, valid_sheets):
    valid_sheets[COVER].append(["填报日期", "七月中旬"])
    out = check(valid_sheets)
    assert [i.severity for i in out.report.issues] == [WARNING]
    assert flat(out) == [[COVER, 3, "填报日期", "invalid-date"]]


def test_cover_title_row_and_labels_away_from_column_a(check, valid_sheets):
    valid_sheets[COVER] = [["内蒙古自治区科技创新合作三年行动计划实施情况报表"], [],
                           [None, "填报单位：", None, "包头"], [None, "报告期：", "2019H1"]]
    out = check(valid_sheets, merged={COVER: ["A1:D1"]})
    assert (out.unit_code, out.period.code, out.report.issues) == ("150200", "2019H1", [])


# --------------------------------------------------------------------------
# 表1
def test_unknown_indicator_name_with_suggestion(check, valid_sheets):
    valid_sheets[T1].append([None, "院士专家站", 1])
    out = check(valid_sheets)
    assert flat(out) == [[T1, 4, "指标名称", "unknown-indicator"]]
    issue = out.report.errors[0]
    assert (issue.value, issue.suggestion) == ("院士专家站", "院士专家工作站")
    assert "是否为「院士专家工作站」" in issue.message


def test_unknown_indicator_code(check, valid_sheets):
    valid_sheets[T1].append(["I99", None, 1])
    out = check(valid_sheets)
    assert flat(out) == [[T1, 4, "指标编码", "unknown-indicator"]]
    assert out.report.errors[0].value == "I99"


def test_indicator_by_name_only(check, valid_sheets):
    valid_sheets[T1] = [["指标名称", VALUE_COL], ["国际国内科技合作项目", 2], ["院士工作站", 1]]
    out = check(valid_sheets)
    assert out.report.issues == []
    assert out.indicators[["indicator_code", "value"]].values.tolist() == [["I04", 2], ["I09", 1]]


def test_indicator_code_and_name_disagree_reads_the_code_with_a_warning(check, valid_sheets):
    put(valid_sheets, T1, 3, "指标名称", "联合实验室")
    out = check(valid_sheets)
    assert flat(out) == [[T1, 3, "指标名称", "indicator-name-mismatch"]]
    assert out.indicators["indicator_code"].tolist() == ["I04", "I09"]


def test_indicator_listed_twice(check, valid_sheets):
    valid_sheets[T1].append(["I04", "国际国内科技合作项目", 2])
    out = check(valid_sheets)
    assert flat(out) == [[T1, 4, "指标编码", "duplicate-indicator"]]
    assert "第2行" in out.report.errors[0].message


@pytest.mark.parametrize("value, code, shown", [(-1, "negative-number", "-1"),
                                                (3.5, "not-whole-number", "3.5"),
                                                ("3.5", "not-whole-number", "3.5"),
                                                ("若干", "not-a-number", "若干")])
def test_bad_indicator_values_are_errors_at_their_cell(check, valid_sheets, value, code, shown):
    put(valid_sheets, T1, 3, VALUE_COL, value)
    out = check(valid_sheets)
    assert flat(out) == [[T1, 3, VALUE_COL, code]]
    assert out.report.errors[0].value == shown
    assert out.indicators["indicator_code"].tolist() == ["I04"]


def test_bad_increase_is_an_error_in_its_own_column(check, valid_sheets):
    put(valid_sheets, T1, 2, "其中：本期新增", "-2")
    out = check(valid_sheets)
    assert flat(out) == [[T1, 2, "其中：本期新增", "negative-number"]]


@pytest.mark.parametrize("value, number", [("２", 2), ("2项", 2), ("2 项", 2)])
def test_full_width_or_unit_read_with_a_warning(check, valid_sheets, value, number):
    put(valid_sheets, T1, 2, VALUE_COL, value)
    out = check(valid_sheets)
    assert flat(out) == [[T1, 2, VALUE_COL, "number-normalised"]]
    assert out.report.warnings[0].value == value
    assert f"按{number}读取" in out.report.warnings[0].message
    assert out.indicators.set_index("indicator_code").loc["I04", "value"] == number


@pytest.mark.parametrize("blank", [None, "—", "-", "/", "——"])
def test_blank_marks_mean_not_reported(check, valid_sheets, blank):
    put(valid_sheets, T1, 3, VALUE_COL, blank)
    valid_sheets[T2].pop()  # so 表2 has no workstation either
    out = check(valid_sheets)
    assert out.report.issues == []
    assert out.indicators["indicator_code"].tolist() == ["I04"]


def test_zero_is_reported(check, valid_sheets):
    valid_sheets[T1].append(["I01", "国家级国际科技合作基地", 0])
    out = check(valid_sheets)
    assert out.report.issues == []
    assert out.indicators.set_index("indicator_code").loc["I01", "value"] == 0


def test_indicator_total_row_is_skipped(check, valid_sheets):
    valid_sheets[T1].append(["合计", None, 3])
    out = check(valid_sheets)
    assert out.report.issues == []
    assert len(out.indicators) == 2


def test_indicator_sheet_with_title_rows_and_header_variants(check, valid_sheets):
    valid_sheets[T1] = [["表1 科技创新合作指标进展情况"], ["单位：家、项、个"],
                        ["备注", " 截至本期末\n累计值 ", "指标名称", "指标编码", "计量单位", "其中:本期新增"],
                        [None, "２", "国际国内科技合作项目", "I04", "项", 1],
                        [None, 1, "院士专家工作站", "I09", "家", None]]
    out = check(valid_sheets, merged={T1: ["A1:F1"]})
    assert flat(out) == [[T1, 4, VALUE_COL, "number-normalised"]]
    assert out.indicators[["indicator_code", "value", "row"]].values.tolist() == [["I04", 2, 4], ["I09", 1, 5]]
    assert out.indicators["increase"].tolist()[0] == 1 and out.indicators["increase"].isna().tolist() == [False, True]


# --------------------------------------------------------------------------
# 表2: item types, sectors
def test_unknown_item_type_suggests_other(check, valid_sheets):
    valid_sheets[T2].append(item("技术培训", item_type="技术培训班"))
    out = check(valid_sheets)
    assert flat(out) == [[T2, 5, "事项类别", "unknown-item-type"]]
    issue = out.report.errors[0]
    assert (issue.value, issue.suggestion) == ("技术培训班", "其他合作事项")
    assert "其他合作事项" in issue.message


def test_unknown_item_type_suggests_a_close_type(check, valid_sheets):
    valid_sheets[T2].append(item("中蒙联合实验室", item_type="联合实验", partners="蒙古国"))
    out = check(valid_sheets)
    assert flat(out) == [[T2, 5, "事项类别", "unknown-item-type"]]
    assert out.report.errors[0].suggestion == "联合实验室"
    assert "是否为「联合实验室」" in out.report.errors[0].message


@pytest.mark.parametrize("row, spelling, canonical", [
    (4, "院士工作站", "院士专家工作站"),
    (2, "国际合作项目", "国际科技合作项目"),
    (5, "国际科技合作基地（国家级）", "国家级国际科技合作基地"),
    (5, "国际科技合作基地(国家级)", "国家级国际科技合作基地"),
])
def test_obvious_item_type_variants_accepted(check, valid_sheets, row, spelling, canonical):
    if row == 5:
        valid_sheets[T2].append(item("中俄合作基地", partners="俄罗斯"))
    put(valid_sheets, T2, row, "事项类别", spelling)
    out = check(valid_sheets)
    assert out.report.issues == []
    assert item_at(out, row)["item_type"] == canonical


def test_unknown_sector_with_suggestion(check, valid_sheets):
    put(valid_sheets, T2, 2, "所属领域", "生态屏障")
    out = check(valid_sheets)
    assert flat(out) == [[T2, 2, "所属领域", "unknown-sector"]]
    issue = out.report.errors[0]
    assert (issue.value, issue.suggestion) == ("生态屏障", "生态屏障与荒漠化防治")
    assert "是否为「生态屏障与荒漠化防治」" in issue.message


@pytest.mark.parametrize("text", ["S04", "s04", "稀土新材料", "稀土"])
def test_sector_by_code_or_name(check, valid_sheets, text):
    put(valid_sheets, T2, 2, "所属领域", text)
    out = check(valid_sheets)
    assert out.report.issues == []
    assert item_at(out, 2)["sector_code"] == "S04"


@pytest.mark.parametrize("header", ["事项名称", "事项类别", "所属领域"])
def test_required_item_cell_blank(check, valid_sheets, header):
    put(valid_sheets, T2, 4, header, None)
    out = check(valid_sheets)
    errors = flat(out, ERROR)
    assert errors == [[T2, 4, header, "missing-value"]]


# 表2: partners
def test_unknown_partner_with_suggestion(check, valid_sheets):
    put(valid_sheets, T2, 2, PARTNER_COL, "俄国")
    out = check(valid_sheets)
    assert flat(out) == [[T2, 2, PARTNER_COL, "unknown-partner"]]
    issue = out.report.errors[0]
    assert (issue.value, issue.suggestion) == ("俄国", "俄罗斯")
    assert issue.message == "表2 合作事项明细 第2行「合作国家（地区）」：无法识别「俄国」，是否为「俄罗斯」？"


def test_one_unknown_partner_among_several_is_named(check, valid_sheets):
    put(valid_sheets, T2, 2, PARTNER_COL, "蒙古国、俄国")
    out = check(valid_sheets)
    assert flat(out) == [[T2, 2, PARTNER_COL, "unknown-partner"]]
    assert out.report.errors[0].value == "蒙古国、俄国"
    assert "「俄国」" in out.report.errors[0].message


def test_ambiguous_partner(check, valid_sheets):
    valid_sheets[T2].append(item("联合实验室", item_type="联合实验室", partners="澳"))
    out = check(valid_sheets)
    assert flat(out) == [[T2, 5, PARTNER_COL, "ambiguous-partner"]]
    assert "中国澳门" in out.report.errors[0].message and "澳大利亚" in out.report.errors[0].message


@pytest.mark.parametrize("text, codes", [("俄罗斯联邦", ["RUS"]), ("蒙古", ["MNG"]), ("USA", ["USA"]),
                                         ("南韩", ["KOR"]), ("Germany", ["DEU"]), ("JPN", ["JPN"])])
def test_partner_aliases(check, valid_sheets, text, codes):
    put(valid_sheets, T2, 2, PARTNER_COL, text)
    out = check(valid_sheets)
    assert out.report.issues == []
    assert item_at(out, 2)["partners"] == codes


@pytest.mark.parametrize("sep", ["、", "，", ",", "；", ";", "/"])
def test_several_partners_by_each_separator(check, valid_sheets, sep):
    put(valid_sheets, T2, 2, PARTNER_COL, f"蒙古国{sep}俄罗斯联邦{sep}北京")
    out = check(valid_sheets)
    assert out.report.issues == []
    assert item_at(out, 2)["partners"] == ["MNG", "RUS", "CN-BJ"]
    ip = out.item_partners[out.item_partners["row"] == 2]
    assert ip[["partner_code", "partner_kind"]].values.tolist() == [
        ["MNG", "foreign"], ["RUS", "foreign"], ["CN-BJ", "domestic"]]


def test_international_project_without_foreign_partner(check, valid_sheets):
    put(valid_sheets, T2, 2, PARTNER_COL, None)
    out = check(valid_sheets)
    assert flat(out) == [[T2, 2, PARTNER_COL, "partner-required"]]
    issue = out.report.errors[0]
    assert issue.value == ""
    assert issue.message == "表2 合作事项明细 第2行「合作国家（地区）」：「国际科技合作项目」需要填写外国合作国家"


def test_domestic_project_without_domestic_partner(check, valid_sheets):
    put(valid_sheets, T2, 3, PARTNER_COL, None)
    out = check(valid_sheets)
    assert flat(out) == [[T2, 3, PARTNER_COL, "partner-required"]]
    assert "国内合作省（区、市）" in out.report.errors[0].message


def test_domestic_project_with_only_a_foreign_partner(check, valid_sheets):
    put(valid_sheets, T2, 3, PARTNER_COL, "俄罗斯")
    out = check(valid_sheets)
    assert flat(out) == [[T2, 3, PARTNER_COL, "partner-wrong-kind"]]
    assert "俄罗斯是外国" in out.report.errors[0].message


def test_partner_required_even_without_the_partner_column(check, valid_sheets):
    for row in valid_sheets[T2]:
        del row[4]
    out = check(valid_sheets)
    assert flat(out) == [[T2, 2, PARTNER_COL, "partner-required"], [T2, 3, PARTNER_COL, "partner-required"]]


def test_hong_kong_on_an_international_project_is_domestic(check, valid_sheets):
    put(valid_sheets, T2, 2, PARTNER_COL, "香港")
    out = check(valid_sheets)
    assert flat(out) == [[T2, 2, PARTNER_COL, "partner-wrong-kind"]]
    issue = out.report.errors[0]
    assert issue.value == "香港"
    assert "中国香港是国内地区" in issue.message and "不是外国" in issue.message
    assert "需要外国合作国家" in issue.message


@pytest.mark.parametrize("text, code", [("香港", "CN-HK"), ("台湾", "CN-TW"), ("澳门", "CN-MO"),
                                        ("中国香港", "CN-HK"), ("HK", "CN-HK")])
def test_hk_tw_mo_accepted_on_a_domestic_project_as_domestic(check, valid_sheets, text, code):
    put(valid_sheets, T2, 3, PARTNER_COL, text)
    out = check(valid_sheets)
    assert out.report.issues == []
    ip = out.item_partners[out.item_partners["row"] == 3]
    assert ip[["partner_code", "partner_kind"]].values.tolist() == [[code, "domestic"]]


# 表2: dates, status, funding
@pytest.mark.parametrize("value", ["不详", "2019.2.30", "2019年13月"])
def test_start_date_not_a_date(check, valid_sheets, value):
    put(valid_sheets, T2, 2, "起始日期", value)
    out = check(valid_sheets)
    assert flat(out) == [[T2, 2, "起始日期", "invalid-date"]]
    assert out.report.errors[0].value == value
    assert item_at(out, 2)["start_date"] is None


@pytest.mark.parametrize("value, shown", [("2019-07-01", "2019-07-01"), (date(2019, 7, 1), "2019-07-01"),
                                          ("2019年7月", "2019年7月")])
def test_start_date_after_period_end(check, valid_sheets, value, shown):
    put(valid_sheets, T2, 2, "起始日期", value)
    out = check(valid_sheets)
    assert flat(out) == [[T2, 2, "起始日期", "date-after-period"]]
    assert out.report.errors[0].value == shown
    assert "晚于报告期末（2019-06-30）" in out.report.errors[0].message


@pytest.mark.parametrize("value, expected", [(date(2019, 3, 15), date(2019, 3, 15)), (43539, date(2019, 3, 15)),
                                             ("2019/3/15", date(2019, 3, 15)), ("2019.3", date(2019, 3, 1)),
                                             ("2019-06-30", date(2019, 6, 30))])
def test_start_date_spellings(check, valid_sheets, value, expected):
    put(valid_sheets, T2, 2, "起始日期", value)
    out = check(valid_sheets)
    assert out.report.issues == []
    assert item_at(out, 2)["start_date"] == expected


def test_unknown_status(check, valid_sheets):
    put(valid_sheets, T2, 2, "状态", "暂停")
    out = check(valid_sheets)
    assert flat(out) == [[T2, 2, "状态", "unknown-status"]]


def test_funding_with_thousands_separator(check, valid_sheets):
    put(valid_sheets, T2, 2, "投入经费（万元）", "1,200.5")
    out = check(valid_sheets)
    assert out.report.issues == []
    assert item_at(out, 2)["funding_wan"] == 1200.5


def test_negative_funding(check, valid_sheets):
    put(valid_sheets, T2, 2, "投入经费（万元）", -5)
    out = check(valid_sheets)
    assert flat(out) == [[T2, 2, "投入经费（万元）", "negative-funding"]]
    assert out.report.errors[0].value == "-5"


def test_funding_not_a_number(check, valid_sheets):
    put(valid_sheets, T2, 2, "投入经费（万元）", "待定")
    out = check(valid_sheets)
    assert flat(out) == [[T2, 2, "投入经费（万元）", "not-a-number"]]


# 表2: duplicates
def test_same_item_twice_names_the_first_row(check, valid_sheets):
    valid_sheets[T2].append(list(valid_sheets[T2][1]))
    put(valid_sheets, T1, 2, VALUE_COL, 3)
    out = check(valid_sheets)
    assert flat(out) == [[T2, 5, "事项名称", "duplicate-item"]]
    assert "与第2行是同一事项" in out.report.errors[0].message


def test_same_item_with_spelling_variants_is_still_a_duplicate(check, valid_sheets):
    valid_sheets[T2].append(item("中俄马铃薯 种薯繁育", item_type="国际合作项目", partners="俄罗斯"))
    put(valid_sheets, T1, 2, VALUE_COL, 3)
    out = check(valid_sheets)
    assert flat(out) == [[T2, 5, "事项名称", "duplicate-item"]]


def test_same_name_different_type_is_fine(check, valid_sheets):
    valid_sheets[T2].append(item("中俄马铃薯种薯繁育", item_type="引进技术成果", partners="俄罗斯"))
    out = check(valid_sheets)
    assert out.report.issues == []
    assert len(out.items) == 4


# 表1 vs 表2
def test_totals_disagree_is_a_warning(check, valid_sheets):
    put(valid_sheets, T1, 3, VALUE_COL, 9)
    out = check(valid_sheets)
    assert flat(out) == [[T1, 3, VALUE_COL, "totals-mismatch"]]
    assert out.report.ok
    assert "填报9，但表2中此类在建/有效事项有1项" in out.report.warnings[0].message


def test_terminated_items_do_not_count_as_live(check, valid_sheets):
    valid_sheets[T2].append(item("中止的国际项目", item_type="国际科技合作项目", partners="日本", status="已终止"))
    out = check(valid_sheets)
    assert out.report.issues == []
    assert not item_at(out, 5)["is_live"]


def test_a_live_extra_item_makes_totals_disagree(check, valid_sheets):
    valid_sheets[T2].append(item("新的国际项目", item_type="国际科技合作项目", partners="日本", status="已完成"))
    out = check(valid_sheets)
    assert flat(out) == [[T1, 2, VALUE_COL, "totals-mismatch"]]
    assert "有3项" in out.report.warnings[0].message


def test_items_sheet_with_only_its_header_is_a_return_with_no_items(check, valid_sheets):
    valid_sheets[T2] = valid_sheets[T2][:1]
    out = check(valid_sheets)
    assert out.report.ok
    assert flat(out) == [[T2, None, None, "items-empty"]]
    assert out.items.empty and out.item_partners.empty
    assert list(out.items.columns)[:4] == ["row", "item_name", "item_type", "indicator_code"]


def test_nothing_reported_at_all(check, valid_sheets):
    valid_sheets[T1] = valid_sheets[T1][:1]
    valid_sheets[T2] = valid_sheets[T2][:1]
    out = check(valid_sheets)
    assert flat(out) == [[None, None, None, "empty-return"]]
    assert out.report.ok and out.indicators.empty and out.items.empty


# 表2: layout
@pytest.mark.parametrize("mark", ["合计", "总计", "小计", "合 计"])
def test_total_row_is_skipped(check, valid_sheets, mark):
    valid_sheets[T2].append([mark, None, None, None, None, None, None, 80])
    out = check(valid_sheets)
    assert out.report.issues == []
    assert out.items["row"].tolist() == [2, 3, 4]


def test_total_row_marked_in_the_name_column_is_skipped(check, valid_sheets):
    valid_sheets[T2].append([None, "合计", None, None, None, None, None, 80])
    out = check(valid_sheets)
    assert out.report.issues == []
    assert out.items["row"].tolist() == [2, 3, 4]


def test_blank_rows_are_skipped_and_rows_keep_their_excel_numbers(check, valid_sheets):
    valid_sheets[T2][2:2] = [[], [None] * 8]
    valid_sheets[T2].append([])
    put(valid_sheets, T2, 6, PARTNER_COL, "俄国")  # the workstation, now on row 6
    out = check(valid_sheets)
    assert out.items["row"].tolist() == [2, 5, 6]
    assert flat(out) == [[T2, 6, PARTNER_COL, "unknown-partner"]]


def test_pre_numbered_empty_rows_are_blank_rows(check, valid_sheets):
    valid_sheets[T2] += [[4], [5], ["6"]]  # a template numbered ahead of the data
    out = check(valid_sheets)
    assert out.report.issues == []
    assert out.items["row"].tolist() == [2, 3, 4]


def test_hidden_rows_are_data(check, valid_sheets):
    out = check(valid_sheets, hidden_rows={T2: [3], T1: [2]})
    assert out.report.issues == []
    assert out.items["row"].tolist() == [2, 3, 4]
    assert out.indicators["indicator_code"].tolist() == ["I04", "I09"]


def test_header_spelling_variants_are_accepted(check, valid_sheets):
    valid_sheets[T2][0] = ["序 号", "事项\n名称", " 事项类别 ", "所属\n领域", "合作国家(地区)", "起始 日期", "状态",
                           "投入经费(万元)"]
    put(valid_sheets, T2, 2, "合作国家(地区)", "俄国")
    put(valid_sheets, T2, 2, "投入经费(万元)", "1,200.5")
    out = check(valid_sheets)
    assert flat(out) == [[T2, 2, "合作国家(地区)", "unknown-partner"]]  # the header as found
    assert item_at(out, 3)["partners"] == ["CN-BJ"]
    assert item_at(out, 2)["funding_wan"] == 1200.5


def test_title_rows_above_the_header(check, valid_sheets):
    valid_sheets[T2][0:0] = [["表2 科技创新合作事项明细"], ["填报说明：每个事项一行"], []]
    put(valid_sheets, T2, 5, PARTNER_COL, "俄国")
    out = check(valid_sheets, merged={T2: ["A1:H1"]})
    assert out.items["row"].tolist() == [5, 6, 7]
    assert flat(out) == [[T2, 5, PARTNER_COL, "unknown-partner"]]


def test_columns_in_another_order_and_an_unknown_column(check, valid_sheets):
    order = [7, 5, 3, 1, 0, 6, 2, 4]
    valid_sheets[T2] = [[row[i] for i in order] + [extra] for row, extra in
                        zip(valid_sheets[T2], ["联系人", "张三", "李四", "王五"])]
    out = check(valid_sheets)
    assert out.report.issues == []
    assert out.items[["row", "item_type", "sector_code", "partners"]].values.tolist() == [
        [2, "国际科技合作项目", "S05", ["RUS"]], [3, "国内科技合作项目", "S06", ["CN-BJ"]],
        [4, "院士专家工作站", "S04", []]]


# --------------------------------------------------------------------------
# Sheets, headers and columns
@pytest.mark.parametrize("missing", [COVER, T1, T2])
def test_missing_sheet_is_named(check, valid_sheets, missing):
    del valid_sheets[missing]
    out = check(valid_sheets)
    assert flat(out, ERROR) == [[None, None, None, "sheet-missing"]]
    assert f"缺少工作表「{missing}」" in out.report.errors[0].message


@pytest.mark.parametrize("t1, t2", [("表1", "表2"), ("指标进展", "合作事项明细"), ("表1指标进展", "表2 合作事项明细 ")])
def test_short_sheet_names_accepted(check, valid_sheets, t1, t2):
    valid_sheets[t1] = valid_sheets.pop(T1)
    valid_sheets[t2] = valid_sheets.pop(T2)
    put(valid_sheets, t2, 2, PARTNER_COL, "俄国")
    out = check(valid_sheets)
    assert flat(out) == [[t2, 2, PARTNER_COL, "unknown-partner"]]  # the sheet as named
    assert len(out.indicators) == 2 and len(out.items) == 3


@pytest.mark.parametrize("header", ["事项名称", "事项类别", "所属领域"])
def test_missing_required_item_column_is_named(check, valid_sheets, header):
    col = valid_sheets[T2][0].index(header)
    for row in valid_sheets[T2]:
        del row[col]
    out = check(valid_sheets)
    assert flat(out, ERROR) == [[T2, None, None, "column-missing"]]
    assert f"缺少必填列「{header}」" in out.report.errors[0].message


def test_missing_value_column_in_indicators_is_named(check, valid_sheets):
    for row in valid_sheets[T1]:
        del row[2]
    out = check(valid_sheets)
    assert flat(out, ERROR) == [[T1, None, None, "column-missing"]]
    assert f"「{VALUE_COL}」" in out.report.errors[0].message


def test_indicators_without_code_or_name_column(check, valid_sheets):
    valid_sheets[T1] = [["计量单位", VALUE_COL, "备注"], ["项", 2, None]]
    out = check(valid_sheets)
    assert flat(out, ERROR) == [[T1, None, None, "column-missing"]]
    assert "「指标编码」或「指标名称」" in out.report.errors[0].message


def test_items_sheet_without_a_header(check, valid_sheets):
    valid_sheets[T2] = [["表2 科技创新合作事项明细"], ["中俄马铃薯种薯繁育", "国际科技合作项目"]]
    out = check(valid_sheets)
    assert flat(out, ERROR) == [[T2, None, None, "header-missing"]]


# --------------------------------------------------------------------------
# Formulas
@pytest.mark.parametrize("sheet, row, header", [(T1, 2, VALUE_COL), (T2, 3, "投入经费（万元）"),
                                                (COVER, 1, "填报单位")])
def test_formula_without_saved_value_is_an_error(check, valid_sheets, sheet, row, header):
    if sheet == COVER:
        valid_sheets[COVER][0][1] = '="包头"&"市"'
    else:
        put(valid_sheets, sheet, row, header, "=1+1")
    out = check(valid_sheets)
    errors = [i for i in out.report.errors if i.code == "formula-no-value"]
    assert [[i.sheet, i.row, i.column, i.code] for i in errors] == [[sheet, row, header, "formula-no-value"]]
    assert errors[0].value.startswith("=")


def test_formula_after_a_styled_empty_cell_is_located(make_workbook, valid_sheets):
    put(valid_sheets, T1, 3, VALUE_COL, "=SUM(1,2)")
    wb = openpyxl.load_workbook(io.BytesIO(make_workbook(valid_sheets)))
    wb[T1]["A3"].value = None
    wb[T1]["A3"].fill = PatternFill("solid", fgColor="FFFF00")  # written as <c r="A3" s="1"/>
    buf = io.BytesIO()
    wb.save(buf)
    out = check_return(buf.getvalue(), "x.xlsx", today=TODAY)
    assert [[i.sheet, i.row, i.column, i.code, i.value] for i in out.report.errors] == [
        [T1, 3, VALUE_COL, "formula-no-value", "=SUM(1,2)"]]


def _with_saved_value(data: bytes, sheet_part: str, old: bytes, new: bytes) -> bytes:
    """Rewrite one sheet's XML inside the package, as Excel would save a computed formula."""
    src, buf = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == sheet_part:
                if old not in body:  # openpyxl writes an empty value as <v /> or, with lxml, <v></v>
                    old = old.replace(b"<v />", b"<v></v>")
                assert old in body
                body = body.replace(old, new)
            dst.writestr(info, body)
    return buf.getvalue()


@pytest.mark.parametrize("saved", [b'<c r="C2"><f>1+1</f><v>2</v></c>',
                                   b'<c r="C2" t="str"><f>IF(1,"","")</f><v></v></c>'])
def test_formula_with_a_saved_value_is_read(make_workbook, valid_sheets, saved):
    put(valid_sheets, T1, 2, VALUE_COL, "=1+1")
    data = _with_saved_value(make_workbook(valid_sheets), "xl/worksheets/sheet2.xml",
                             b'<c r="C2"><f>1+1</f><v /></c>', saved)
    out = check_return(data, "x.xlsx", today=TODAY)
    assert out.report.errors == []


@pytest.mark.parametrize("sheet, row, header, shown", [(T1, 2, VALUE_COL, "#DIV/0!"), (T2, 3, "所属领域", "#N/A")])
def test_excel_error_value_is_an_error_not_a_blank(check, valid_sheets, sheet, row, header, shown):
    put(valid_sheets, sheet, row, header, shown)  # openpyxl writes these as error cells (t="e")
    out = check(valid_sheets)
    errors = [[i.sheet, i.row, i.column, i.code, i.value] for i in out.report.errors if i.code == "cell-error"]
    assert errors == [[sheet, row, header, "cell-error", shown]]
    assert "显示错误值" in out.report.errors[0].message


def test_formula_whose_saved_value_is_an_error(make_workbook, valid_sheets):
    put(valid_sheets, T1, 2, VALUE_COL, "=1+1")
    data = _with_saved_value(make_workbook(valid_sheets), "xl/worksheets/sheet2.xml",
                             b'<c r="C2"><f>1+1</f><v /></c>', b'<c r="C2" s="0" t="e"><f>1/0</f><v>#DIV/0!</v></c>')
    out = check_return(data, "x.xlsx", today=TODAY)
    assert [[i.row, i.column, i.code, i.value] for i in out.report.errors] == [[2, VALUE_COL, "cell-error", "#DIV/0!"]]


# --------------------------------------------------------------------------
# Files that are not a readable workbook: one file-level error, never an exception
def _only_file_error(out, code: str) -> None:
    assert [(i.code, i.severity, i.sheet, i.row) for i in out.report.issues] == [(code, ERROR, None, None)]
    assert out.unit_code is None and out.indicators is None and out.items is None


@pytest.mark.parametrize("name", ["报表.xlsx", "报表.xlsm", "报表.XLSX"])
def test_excel_suffixes_accepted(check, valid_sheets, name):
    assert check(valid_sheets, file_name=name).report.issues == []


def test_empty_file():
    out = check_return(b"", "x.xlsx", today=TODAY)
    _only_file_error(out, "file-unreadable")
    assert "文件是空的" in out.report.errors[0].message


def test_corrupt_workbook(make_workbook, valid_sheets):
    data = make_workbook(valid_sheets)
    out = check_return(data[: len(data) // 2], "x.xlsx", today=TODAY)
    _only_file_error(out, "file-unreadable")


def test_zip_that_is_not_a_workbook():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    _only_file_error(check_return(buf.getvalue(), "x.xlsx", today=TODAY), "file-unreadable")


def test_renamed_text_file():
    out = check_return("填报单位,包头市\n报告期,2019年上半年\n".encode(), "报表.xlsx", today=TODAY)
    _only_file_error(out, "file-unreadable")
    assert out.report.errors[0].value == "报表.xlsx"


def test_csv_file():
    out = check_return("事项名称,事项类别\n中俄项目,国际科技合作项目\n".encode("gbk"), "报表.csv", today=TODAY)
    _only_file_error(out, "file-type")
    assert ".xlsx" in out.report.errors[0].message


def test_password_protected_workbook(encrypted_workbook):
    out = check_return(encrypted_workbook, "报表.xlsx", today=TODAY)
    _only_file_error(out, "file-encrypted")
    assert "密码" in out.report.errors[0].message


# Limits (read.Limits): refuse before parsing
def test_file_too_large(make_workbook, valid_sheets):
    out = check_return(make_workbook(valid_sheets), "x.xlsx", today=TODAY, limits=Limits(max_file_bytes=100))
    _only_file_error(out, "file-too-large")


def test_uncompressed_size_too_large(check, valid_sheets):
    out = check(valid_sheets, limits=Limits(max_uncompressed_bytes=1000))
    assert flat(out) == [[None, None, None, "file-too-large"]]


def test_sheet_with_too_many_rows(check, valid_sheets):
    out = check(valid_sheets, limits=Limits(max_rows=3))
    assert flat(out, ERROR) == [[T2, None, None, "sheet-too-large"]]


def test_too_many_sheets(check, valid_sheets):
    out = check(valid_sheets, limits=Limits(max_sheets=2))
    assert flat(out) == [[None, None, None, "sheet-too-large"]]


# --------------------------------------------------------------------------
# Checks that need what is already loaded (pipelines.store.history_issues)
def test_value_lower_than_the_previous_period_warns(check, valid_sheets, tmp_path):
    from pipelines.store import connect, history_issues
    from tests.factories import load_values

    db = tmp_path / "s.duckdb"
    load_values(db, "150200", "2018年下半年", {"I04": 5, "I09": 1})
    out = check(valid_sheets)
    with connect(db) as con:
        issues = history_issues(con, out)
    assert [[i.sheet, i.row, i.column, i.code, i.value] for i in issues] == [
        [T1, 2, VALUE_COL, "value-decreased", "2"]]
    assert issues[0].severity == WARNING and "上一报告期（2018年下半年）" in issues[0].message  # not the code 2018H2


# --------------------------------------------------------------------------
# One workbook with every cell-level fault once; nothing stops at the first
def every_fault_sheets(valid_sheets: dict) -> dict:
    s = valid_sheets
    s[COVER].append(["填报日期", "七月中旬"])  # row 3
    s[T1] += [
        ["I01", "国家级国际科技合作基地", -1],  # 4
        ["I02", "自治区级国际科技合作基地", 3.5],  # 5
        ["I03", "科技成果转化服务平台", "若干"],  # 6
        ["I05", "引进国内外创新技术和转移转化成果", "=1+1"],  # 7
        [None, "院士专家站", 1],  # 8
        ["I04", "国际国内科技合作项目", 2],  # 9
        ["I10", "联合实验室", "２"],  # 10
        ["I06", "国际科技会议", "#REF!"],  # 11
    ]
    put(s, T1, 3, VALUE_COL, 5)  # 表2 has 1 workstation
    s[T2] += [
        item("技术培训", item_type="技术培训班"),  # 5
        item("荒漠化防治", sector="生态屏障"),  # 6
        item("中俄联合实验室", item_type="联合实验室", partners="俄国"),  # 7
        item("中澳联合实验室", item_type="联合实验室", partners="澳"),  # 8
        item("香港合作", item_type="国际科技合作项目", partners="香港", status="已终止"),  # 9
        item("无伙伴项目", item_type="国际科技合作项目", status="已终止"),  # 10
        item("状态不明", status="暂停"),  # 11
        item("日期有误", start="2019.2.30"),  # 12
        item("日期太晚", start="2019-08-01"),  # 13
        item("经费为负", funding=-5),  # 14
        item("经费不明", funding="待定"),  # 15
        item(None),  # 16
        item("荒漠化防治", item_type="其他"),  # 17: row 6 again (same name, same type)
    ]
    return s


EVERY_FAULT = [
    [COVER, 3, "填报日期", "invalid-date"],
    [T1, 4, VALUE_COL, "negative-number"],
    [T1, 5, VALUE_COL, "not-whole-number"],
    [T1, 6, VALUE_COL, "not-a-number"],
    [T1, 7, VALUE_COL, "formula-no-value"],
    [T1, 11, VALUE_COL, "cell-error"],
    [T1, 8, "指标名称", "unknown-indicator"],
    [T1, 9, "指标编码", "duplicate-indicator"],
    [T1, 10, "指标名称", "indicator-name-mismatch"],
    [T1, 10, VALUE_COL, "number-normalised"],
    [T1, 3, VALUE_COL, "totals-mismatch"],
    [T1, 10, VALUE_COL, "totals-mismatch"],
    [T2, 16, "事项名称", "missing-value"],
    [T2, 5, "事项类别", "unknown-item-type"],
    [T2, 6, "所属领域", "unknown-sector"],
    [T2, 7, PARTNER_COL, "unknown-partner"],
    [T2, 8, PARTNER_COL, "ambiguous-partner"],
    [T2, 9, PARTNER_COL, "partner-wrong-kind"],
    [T2, 10, PARTNER_COL, "partner-required"],
    [T2, 11, "状态", "unknown-status"],
    [T2, 12, "起始日期", "invalid-date"],
    [T2, 13, "起始日期", "date-after-period"],
    [T2, 15, "投入经费（万元）", "not-a-number"],
    [T2, 14, "投入经费（万元）", "negative-funding"],
    [T2, 17, "事项名称", "duplicate-item"],
]


def test_one_workbook_with_every_cell_fault_once(check, valid_sheets):
    out = check(every_fault_sheets(valid_sheets))
    assert sorted(flat(out), key=str) == sorted(EVERY_FAULT, key=str)


# --------------------------------------------------------------------------
# The example returns in shared/examples (README.md there)
def _example(name: str) -> bytes:
    path = EXAMPLES / name
    if not path.exists():
        pytest.skip(f"{path} not present (shared/ lies beside the repository)")
    return path.read_bytes()


def test_valid_example_loads_with_the_expected_warnings():
    out = check_return(_example("包头市_2019年上半年_科技合作报表.xlsx"), "包头.xlsx", today=TODAY)
    assert_located(out.report)
    assert out.report.ok
    assert (out.unit_code, out.period.code) == ("150200", "2019H1")
    warnings = flat(out, WARNING)
    assert [T1, 7, VALUE_COL, "totals-mismatch"] in warnings  # I04: 5 vs 4 live projects
    assert [T1, 12, VALUE_COL, "totals-mismatch"] in warnings  # I09: 9 vs 1 workstation
    assert [T1, 7, VALUE_COL, "number-normalised"] in warnings  # 「5项」
    assert [T1, 10, VALUE_COL, "number-normalised"] in warnings  # 「２」
    assert {c for *_, c in warnings} <= {"totals-mismatch", "number-normalised"}
    ind = out.indicators.dropna(subset=["value"]).set_index("indicator_code")["value"]
    assert (ind["I04"], ind["I07"]) == (5, 2) and "I06" not in ind.index  # 「—」: not reported
    assert out.items["row"].tolist() == [3, 4, 5, 6, 7, 8, 9]  # hidden row 8 kept, 合计 skipped
    assert item_at(out, 4)["partners"] == ["MNG", "RUS"] and item_at(out, 4)["funding_wan"] == 1200.5
    assert item_at(out, 8)["item_type"] == "院士专家工作站"


def test_bad_example_names_exactly_the_problems_in_its_readme():
    out = check_return(_example("有错误的报表示例.xlsx"), "bad.xlsx", today=TODAY)
    assert_located(out.report)
    got = {(i.sheet, i.row, i.column, i.value, i.code) for i in out.report.errors}
    pc = "合作国家(地区)"
    assert got == {
        (COVER, 3, "填报单位", "乌市", "ambiguous-unit"),
        (T1, 8, VALUE_COL, "-1", "negative-number"),
        (T1, 12, VALUE_COL, "3.5", "not-whole-number"),
        (T1, 13, VALUE_COL, "若干", "not-a-number"),
        (T2, 3, pc, "俄国", "unknown-partner"),
        (T2, 3, "起始日期", "2019.2.30", "invalid-date"),
        (T2, 4, pc, "", "partner-required"),
        (T2, 4, "所属领域", "生态屏障", "unknown-sector"),
        (T2, 4, "起始日期", "2019-08-01", "date-after-period"),
        (T2, 5, "事项名称", "中蒙草原修复示范", "duplicate-item"),
        (T2, 6, pc, "香港", "partner-wrong-kind"),
        (T2, 7, "事项类别", "技术培训班", "unknown-item-type"),
    }
    by_cell = {(i.row, i.column): i for i in out.report.errors}
    assert by_cell[(3, pc)].suggestion == "俄罗斯"
    assert by_cell[(4, "所属领域")].suggestion == "生态屏障与荒漠化防治"
    assert "中国香港是国内地区" in by_cell[(6, pc)].message
    assert "第4行" in by_cell[(5, "事项名称")].message


# --------------------------------------------------------------------------
# Every code in the catalogue is raised by some workbook here
SKIPPED: dict[str, str] = {  # code -> why it cannot be raised by a return on its own (tested in test_faults.py)
    "internal-error": "a bug in the checker, made in the test by breaking it",
    "file-unopenable": "a file the command line cannot open (permissions), not a return's content",
    "reader-failed": "the reader process failing for a reason no scan can name: tests/test_hostile.py kills it",
}


# code -> (change to valid_sheets or None, check_return options): for codes a single
# workbook cannot hold together with the others (they are about the whole cover,
# sheet or file)
ONE_WORKBOOK_PER_CODE = {
    "sheet-missing": (lambda s: s.pop(T2), {}),
    "header-missing": (lambda s: s.update({T2: [["表2"], ["只有数据", "没有表头"]]}), {}),
    "column-missing": (lambda s: s.update({T1: [["指标编码", "备注"], ["I04", None]]}), {}),
    "label-missing": (lambda s: s[COVER].pop(), {}),
    "unknown-unit": (lambda s: set_cover(s, "填报单位", "包头市政府"), {}),
    "ambiguous-unit": (lambda s: set_cover(s, "填报单位", "乌市"), {}),
    "unknown-period": (lambda s: set_cover(s, "报告期", "2019年第五季度"), {}),
    "period-outside-plan": (lambda s: set_cover(s, "报告期", "2017年度"), {}),
    "period-future": (lambda s: set_cover(s, "报告期", "2019年下半年"), {"today": date(2019, 3, 1)}),
    "period-not-ended": (None, {"today": date(2019, 6, 1)}),
    "items-empty": (lambda s: s.update({T2: s[T2][:1]}), {}),
    "empty-return": (lambda s: s.update({T1: s[T1][:1], T2: s[T2][:1]}), {}),
    "file-too-large": (None, {"limits": Limits(max_file_bytes=100)}),
    "sheet-too-large": (None, {"limits": Limits(max_rows=3)}),
    "odd-digits": (lambda s: put(s, T1, 3, VALUE_COL, "١"), {}),
    "number-too-large": (lambda s: put(s, T1, 3, VALUE_COL, 10**8), {}),
    "funding-too-large": (lambda s: put(s, T2, 2, "投入经费（万元）", 2e6), {}),
    "invisible-chars": (lambda s: set_cover(s, "填报单位", "包\u200b头市"), {}),
    "invisible-chars-more": (lambda s: s[T2].extend(item(f"事项\u200b{n}") for n in range(25)), {}),
    "cell-too-long": (lambda s: s[T2][1].__setitem__(1, "长" * 600), {}),
}


def test_every_catalogue_code_is_raised(make_workbook, valid_sheets, encrypted_workbook, tmp_path):
    from pipelines.store import connect, history_issues
    from tests.factories import load_values

    raised = {i.code for i in check_return(make_workbook(every_fault_sheets(copy.deepcopy(valid_sheets))),
                                           "x.xlsx", today=TODAY).report.issues}
    for code, (change, options) in ONE_WORKBOOK_PER_CODE.items():
        sheets = copy.deepcopy(valid_sheets)
        if change:
            change(sheets)
        got = {i.code for i in check_return(make_workbook(sheets), "x.xlsx", **{"today": TODAY, **options}
                                            ).report.issues}
        assert code in got, (code, got)
        raised |= got
    for code, data, name in [("file-unreadable", b"", "x.xlsx"), ("file-type", b"a,b\n", "x.csv"),
                             ("file-encrypted", encrypted_workbook, "x.xlsx"),
                             ("part-too-large", hostile.bomb(hostile.STYLES_PART, 50, honest=False), "x.xlsx"),
                             ("text-too-large", hostile.reused_string(800), "x.xlsx")]:
        assert [i.code for i in check_return(data, name).report.issues] == [code]
        raised.add(code)
    # value-decreased needs an earlier return in the store
    load_values(tmp_path / "s.duckdb", "150200", "2018年下半年", {"I04": 5})
    with connect(tmp_path / "s.duckdb") as con:
        raised |= {i.code for i in history_issues(con, check_return(make_workbook(valid_sheets), "x.xlsx",
                                                                    today=TODAY))}
    # items-removed: a load told to refuse dropping items the current version lists
    from pipelines.ingest import ingest_bytes
    db = tmp_path / "r.duckdb"
    assert ingest_bytes(db, make_workbook(valid_sheets), "a.xlsx", today=TODAY).status == "loaded"
    fewer = copy.deepcopy(valid_sheets)
    fewer[T2] = fewer[T2][:-1]
    refused = ingest_bytes(db, make_workbook(fewer), "b.xlsx", today=TODAY, refuse_removals=True)
    assert refused.status == "rejected" and len(refused.removed_items) == 1
    raised |= {i.code for i in refused.issues}

    assert raised <= set(CATALOGUE)
    assert set(CATALOGUE) - set(SKIPPED) - raised == set()


def test_every_catalogue_entry_has_a_severity_title_and_template():
    for code, (severity, title, template) in CATALOGUE.items():
        assert severity in (ERROR, WARNING) and title and template, code


# --------------------------------------------------------------------------
# Note lines staff write under a table, and dates typed with a time
def test_note_lines_under_the_tables_are_not_data(check, valid_sheets):
    valid_sheets["表1 指标进展"].append(["注：本表数据截至6月30日", None, None, None, None])
    valid_sheets["表2 合作事项明细"].append([None, "填表说明：经费单位为万元", None, None, None, None, None, None])
    out = check(valid_sheets)
    assert out.report.issues == []
    assert len(out.items) == 3


def test_date_typed_with_a_time_is_read(check, valid_sheets):
    put(valid_sheets, "表2 合作事项明细", 2, "起始日期", "2018-05-10 00:00:00")
    out = check(valid_sheets)
    assert out.report.errors == []
    assert item_at(out, 2)["start_date"] == date(2018, 5, 10)


def test_base_without_level_is_ambiguous_and_names_both(check, valid_sheets):
    valid_sheets["表2 合作事项明细"].append(item("中俄合作基地", "国际科技合作基地", partners="俄罗斯"))
    out = check(valid_sheets)
    [issue] = [i for i in out.report.errors if i.code == "unknown-item-type"]
    assert "国家级国际科技合作基地" in issue.message and "自治区级国际科技合作基地" in issue.message


# --------------------------------------------------------------------------
# Numbers that do not fit, odd digits, early dates, invisible characters: never read silently
@pytest.mark.parametrize("value, code, message", [
    (1e20, "number-too-large", "「100000000000000000000」超出合理范围，本列应为0到10,000,000之间的整数"),
    (9.3e18, "number-too-large", "「9300000000000000000」超出合理范围，本列应为0到10,000,000之间的整数"),
    (10_000_001, "number-too-large", "「10000001」超出合理范围，本列应为0到10,000,000之间的整数"),
    ("1E+20", "not-a-number", "「1E+20」不是数字，请填写阿拉伯数字；未填报请留空"),
    (2.5, "not-whole-number", "「2.5」不是整数，本列应填写整数个数"),
    ("١٥٠", "odd-digits", "「١٥٠」中的「١」「٥」「٠」不是0-9的数字，请用0-9（阿拉伯数字）填写"),
    ("4²", "odd-digits", "「4²」中的「²」不是0-9的数字，请用0-9（阿拉伯数字）填写"),
])
def test_a_count_that_does_not_fit_is_a_cell_error(make_workbook, valid_sheets, value, code, message):
    put(valid_sheets, T1, 3, VALUE_COL, value)
    out = check_return(make_workbook(valid_sheets), "x.xlsx", today=TODAY)
    errors = [(i.sheet, i.row, i.column, i.code, i.message) for i in out.report.errors]
    assert errors == [(T1, 3, VALUE_COL, code, f"{T1} 第3行「{VALUE_COL}」：{message}")]
    assert out.indicators["indicator_code"].tolist() == ["I04"]  # the bad value is not taken


def test_the_largest_count_allowed_is_taken(make_workbook, valid_sheets):
    put(valid_sheets, T1, 3, VALUE_COL, 10_000_000)
    out = check_return(make_workbook(valid_sheets), "x.xlsx", today=TODAY)
    assert out.report.ok and out.indicators.set_index("indicator_code")["value"]["I09"] == 10_000_000


@pytest.mark.parametrize("value, code, message", [
    (1e308, "funding-too-large", "超出合理范围（上限1,000,000万元），请核对单位是否为万元"),
    (2_000_000, "funding-too-large", "投入经费「2000000」超出合理范围（上限1,000,000万元），请核对单位是否为万元"),
    ("١٥٠", "odd-digits", "「١٥٠」中的「١」「٥」「٠」不是0-9的数字，请用0-9（阿拉伯数字）填写"),
    ("5²", "odd-digits", "「5²」中的「²」不是0-9的数字，请用0-9（阿拉伯数字）填写"),
    ("1e308", "not-a-number", "「1e308」不是数字，投入经费请填写数字（万元）"),
    ("inf", "not-a-number", "「inf」不是数字，投入经费请填写数字（万元）"),
])
def test_funding_that_does_not_fit_is_a_cell_error(make_workbook, valid_sheets, value, code, message):
    put(valid_sheets, T2, 2, "投入经费（万元）", value)
    out = check_return(make_workbook(valid_sheets), "x.xlsx", today=TODAY)
    errors = [(i.sheet, i.row, i.column, i.code) for i in out.report.errors]
    assert errors == [(T2, 2, "投入经费（万元）", code)]
    assert out.report.errors[0].message.endswith(message)
    assert out.items["funding_wan"].fillna(0).max() <= 1_000_000


@pytest.mark.parametrize("value, reason", [
    (0, "Excel日期序号应大于0"), (-1, "Excel日期序号应大于0"), ("1899-12-31", "早于1950年"),
    (1, "早于1950年"), ("1949-10-01", "早于1950年"), ("٢٠١٩-03-15", "含有「٢」「٠」「١」「٩」，请用0-9书写数字"),
])
def test_early_dates_bad_serials_and_odd_digits_are_not_dates(make_workbook, valid_sheets, value, reason):
    put(valid_sheets, T2, 2, "起始日期", value)
    out = check_return(make_workbook(valid_sheets), "x.xlsx", today=TODAY)
    (e,) = out.report.errors
    assert (e.sheet, e.row, e.column, e.code) == (T2, 2, "起始日期", "invalid-date")
    assert f"不是有效日期（{reason}）" in e.message


def test_invisible_characters_are_removed_with_a_warning_that_shows_them(make_workbook, valid_sheets):
    set_cover(valid_sheets, "填报单位", "包\u200b头市")
    put(valid_sheets, T2, 2, "所属领域", "绿色农畜产品\u200f")
    put(valid_sheets, T2, 3, "事项名称", "\ufeff京蒙装备协同创新")
    out = check_return(make_workbook(valid_sheets), "x.xlsx", today=TODAY)
    assert out.report.ok and out.unit_code == "150200"  # read as 包头市 once the character is gone
    assert [i.message for i in out.report.warnings] == [
        "封面 第1行「填报单位」：「包[零宽空格]头市」中有看不见的字符（零宽空格），已删除，按「包头市」读取",
        f"{T2} 第2行「所属领域」：「绿色农畜产品[从右到左标记]」中有看不见的字符（从右到左标记），已删除，按「绿色农畜产品」读取",
        f"{T2} 第3行「事项名称」：「[字节序标记BOM]京蒙装备协同创新」中有看不见的字符（字节序标记BOM），已删除，"
        "按「京蒙装备协同创新」读取",
    ]
    assert "\ufeff" not in "".join(out.items["item_name"])


def test_every_message_shows_invisible_characters_by_name():
    from pipelines.issues import make_issue

    i = make_issue("unknown-unit", sheet="封\u200b面", row=1, column="填报单位", value="包\u202e头")
    assert i.message == "封[零宽空格]面 第1行「填报单位」：无法识别填报单位「包[从右到左覆盖]头」"
    assert i.value == "包\u202e头"  # the cell's text itself is kept as it was


def test_a_period_written_with_other_digits_says_which_characters(make_workbook, valid_sheets):
    set_cover(valid_sheets, "报告期", "٢٠١٩年上半年")
    out = check_return(make_workbook(valid_sheets), "x.xlsx", today=TODAY)
    assert [i.message for i in out.report.errors] == [
        "封面 第2行「报告期」：「٢٠١٩年上半年」中的「٢」「٠」「١」「٩」不是0-9的数字，请用0-9（阿拉伯数字）填写"]
    assert out.period is None


def test_an_issue_is_data_its_message_rendered_from_code_and_params():
    from pipelines.issues import Issue, make_issue

    i = make_issue("unknown-partner", sheet="表2 合作事项明细", row=17, column="合作国家（地区）", value="俄国",
                   part="俄国", hint="，是否为「俄罗斯」？", suggestion="俄罗斯")
    assert i.message == "表2 合作事项明细 第17行「合作国家（地区）」：无法识别「俄国」，是否为「俄罗斯」？"
    assert i.params == {"part": "俄国", "hint": "，是否为「俄罗斯」？"}
    d = i.to_dict()
    assert Issue.from_dict(d) == i
    del d["message"]  # from code and params alone: the same message
    assert Issue.from_dict(d).message == i.message
    assert Report([i]).to_frame()[["sheet", "row", "code"]].values.tolist() == [["表2 合作事项明细", 17, "unknown-partner"]]
