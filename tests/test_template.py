"""pipelines.template: the return workbook round-trips through the checker and the store."""
from __future__ import annotations

import io
import math
import subprocess
import sys
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pipelines.checks import check_return  # noqa: E402
from pipelines.ingest import ingest_bytes  # noqa: E402
from pipelines.normalise import parse_period  # noqa: E402
from pipelines.reference import load_reference  # noqa: E402
from pipelines.template import (  # noqa: E402
    GUIDE_SHEET, IND_SHEET, ITEM_SHEET, LISTS_SHEET, PREVIOUS_HEADER, build_template, main,
    next_unreported, partner_choices, plan_periods, write_return,
)

TODAY = date(2021, 1, 31)
ITEM_FIELDS = ["item_name", "item_type", "sector_code", "partners", "partner_institutions",
               "local_institution", "start_date", "status", "funding_wan", "note"]


def make_items() -> pd.DataFrame:
    rows = [
        ("中俄马铃薯种薯繁育", "国际科技合作项目", "S05", ["RUS"], "俄罗斯马铃薯研究所", "某农牧公司",
         date(2018, 5, 10), "在建/在研", 50.0, None),
        ("中蒙俄稀土选矿技术合作", "国际科技合作项目", "S04", ["MNG", "RUS"], "蒙古国科技大学", "包钢集团",
         date(2018, 9, 1), "在建/在研", 1200.5, "三方合作"),
        ("京津大数据协同创新", "国内科技合作项目", "S08", ["CN-BJ", "CN-TJ"], "北京理工大学", "某数据中心",
         date(2019, 3, 15), "已完成", 120.0, None),
        ("与港澳高校合作节能技术", "国内科技合作项目", "S11", ["CN-HK", "CN-MO"], "香港科技大学、澳门大学", None,
         date(2019, 1, 5), "在建/在研", None, "港澳属国内合作"),
        ("稀土院院士专家工作站", "院士专家工作站", "S04", [], None, "稀土研究院",
         date(2017, 6, 1), "已建成/已认定", None, "2017年已建"),
        ("中以节水灌溉联合实验室", "联合实验室", "S05", ["ISR"], "本-古里安大学", "农牧科学院",
         date(2019, 2, 20), "在建/在研", 200.0, None),
        ("中德新能源合作基地", "自治区级国际科技合作基地", "S01", ["DEU"], "弗劳恩霍夫研究所", "某能源公司",
         date(2018, 1, 1), "已终止", 10.0, "已撤销"),
        ("稀土钢应用技术引进", "引进技术成果", "S03", ["JPN", "CN-GD"], "东北大学（日本）", "包钢集团",
         date(2018, 11, 2), "已完成", 60.0, "技术许可 & 转让"),
        ("国际稀土论坛", "国际科技会议", "S04", ["KOR"], None, "稀土高新区", None, "已完成", 35.0, None),
    ]
    return pd.DataFrame(rows, columns=ITEM_FIELDS)


def values_for(items: pd.DataFrame, ref) -> dict[str, int | None]:
    """表1 values consistent with 表2: count of live items per indicator; I03 reported as 0."""
    feeds = dict(zip(ref.item_types["name"], ref.item_types["indicator_code"]))
    live = dict(zip(ref.statuses["name"], ref.statuses["is_live"]))
    counts: dict[str, int] = {}
    for t, s in zip(items["item_type"], items["status"]):
        code = feeds.get(t)
        if code and live[s]:
            counts[code] = counts.get(code, 0) + 1
    return {**counts, "I03": 0, "I06": counts.get("I06", 0), "I02": 0}


def same(a, b) -> bool:
    na = a is None or (isinstance(a, float) and math.isnan(a))
    nb = b is None or (isinstance(b, float) and math.isnan(b))
    return (na and nb) or a == b


def assert_items_equal(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert len(got) == len(want)
    for g, w in zip(got.to_dict("records"), want.to_dict("records")):
        for f in ITEM_FIELDS:
            gv, wv = g[f], w[f]
            if f == "partners":
                gv, wv = list(gv), list(wv)
            assert same(gv, wv), (f, gv, wv, w["item_name"])


@pytest.mark.parametrize("unit_code", ["150200", "152900"])
@pytest.mark.parametrize("period_text", ["2019H1", "2020Q3"])
@pytest.mark.parametrize("validation", [True, False])
def test_round_trip(tmp_path, unit_code, period_text, validation):
    ref = load_reference()
    period = parse_period(period_text)
    items = make_items()
    values = values_for(items, ref)
    data = write_return(unit_code=unit_code, period=period, values=values, items=items, filler="李明",
                        phone="0471-6951234", fill_date=date(2021, 1, 10), ref=ref, validation=validation)
    name = f"{unit_code}_{period.code}.xlsx"
    checked = check_return(data, name, ref=ref, today=TODAY)

    assert checked.report.issues == []
    assert checked.unit_code == unit_code
    assert checked.period == period
    assert checked.cover == {"filler": "李明", "phone": "0471-6951234", "fill_date": date(2021, 1, 10)}
    assert_items_equal(checked.items, items)
    got_values = dict(zip(checked.indicators["indicator_code"], checked.indicators["value"].astype(int)))
    assert got_values == values

    result = ingest_bytes(tmp_path / "kjhz.duckdb", data, name, today=TODAY)
    assert result.status == "loaded"
    assert result.issues == []


def test_sheets_headers_and_extra_column_ignored():
    ref = load_reference()
    period = parse_period("2019Q2")
    data = write_return(unit_code="150200", period=period, values={"I09": 1}, items=make_items().iloc[4:5],
                        previous_values={"I09": 1, "I04": 7}, previous_period_label="2019年第一季度", ref=ref)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["封面", IND_SHEET, ITEM_SHEET, LISTS_SHEET, GUIDE_SHEET]
    assert wb[LISTS_SHEET].sheet_state == "hidden"
    assert [ws.title for ws in wb.worksheets if ws.sheet_state == "visible"][-1] == GUIDE_SHEET

    cover = wb["封面"]
    assert cover["A3"].value == "填报单位" and cover["B3"].value == "包头市"
    assert cover["A4"].value == "报告期" and cover["B4"].value == "2019年第二季度"
    assert cover["B6"].number_format == "@"

    t1 = wb[IND_SHEET]
    assert t1["A1"].value == "表1 科技创新合作指标进展情况"
    assert "A1:G1" in {str(r) for r in t1.merged_cells.ranges}
    header = [c.value for c in t1[3]]
    assert header == ["指标编码", "指标名称", "计量单位", "截至本期末累计值", "其中：本期新增", "备注", PREVIOUS_HEADER]
    codes = [t1.cell(row=r, column=1).value for r in range(4, 4 + len(ref.plan.indicators))]
    assert codes == ref.plan.indicators["code"].tolist()
    prev = {t1.cell(row=r, column=1).value: t1.cell(row=r, column=7).value for r in range(4, 18)}
    assert prev["I09"] == 1 and prev["I04"] == 7 and prev["I01"] is None
    assert t1["G4"].font.color.rgb.endswith("808080")

    t2 = wb[ITEM_SHEET]
    assert [c.value for c in t2[2]] == ["序号", "事项名称", "事项类别", "所属领域", "合作国家（地区）", "合作单位",
                                        "本地承担单位", "起始日期", "状态", "投入经费（万元）", "备注"]
    assert t2["H3"].is_date and t2["H3"].number_format == "yyyy-mm-dd"
    assert t2.freeze_panes == "C3" and t1.freeze_panes == "A4"
    assert t2.column_dimensions["B"].width >= 20

    checked = check_return(data, "x.xlsx", ref=ref, today=TODAY)
    assert checked.report.issues == []  # the reference column and the extra sheets are not read
    assert checked.indicators["indicator_code"].tolist() == ["I09"]


def test_validations_and_protection():
    ref = load_reference()
    data = write_return(unit_code="150200", period=parse_period("2019Q2"), items=make_items(), ref=ref)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    t2 = wb[ITEM_SHEET]
    dvs = {str(dv.sqref).split(":")[0][0]: dv for dv in t2.data_validations.dataValidation}
    for col in "CDIE":
        assert dvs[col].type == "list" and dvs[col].allow_blank
        assert dvs[col].formula1.startswith(f"'{LISTS_SHEET}'!")
        assert str(dvs[col].sqref).endswith("502")  # 500 rows below the header
    assert dvs["E"].showErrorMessage is False  # several partners may be typed
    assert dvs["C"].showErrorMessage is True
    lists = wb[LISTS_SHEET]
    col_d = [c.value for c in lists["D"][1:] if c.value]
    assert col_d == partner_choices(ref) and len(col_d) == len(ref.partners)
    assert [c.value for c in lists["A"][1:] if c.value] == ref.item_types["name"].tolist()

    for ws in (t2, wb[IND_SHEET], wb["封面"]):
        assert ws.protection.sheet and not ws.protection.password
    assert t2["B2"].protection.locked and t2["A1"].protection.locked
    assert not t2["B3"].protection.locked and not t2["H3"].protection.locked
    assert all(t2.column_dimensions[c].protection.locked is False for c in "ABCDEFGHIJK")
    t1 = wb[IND_SHEET]
    assert t1["D3"].protection.locked and t1["A4"].protection.locked
    assert not t1["D4"].protection.locked and not t1["E4"].protection.locked
    assert wb["封面"]["A3"].protection.locked and not wb["封面"]["B3"].protection.locked

    plain = openpyxl.load_workbook(io.BytesIO(write_return(
        unit_code="150200", period=parse_period("2019Q2"), items=make_items(), ref=ref, validation=False)))
    assert LISTS_SHEET not in plain.sheetnames
    assert not plain[ITEM_SHEET].data_validations.dataValidation
    assert not plain[ITEM_SHEET].protection.sheet


def test_every_partner_name_reads_back():
    ref = load_reference()
    lookup = ref.lookups["partner"]
    names = partner_choices(ref)
    assert sorted(lookup.resolve(n).code for n in names) == sorted(ref.partners["code"])


def test_many_rows_fast_path():
    ref = load_reference()
    base = make_items()
    big = pd.concat([base] * 400, ignore_index=True)
    big["item_name"] = [f"{n} <{i}>" for i, n in enumerate(big["item_name"])]
    data = write_return(unit_code="150100", period=parse_period("2020Q3"), items=big, ref=ref, validation=False)
    checked = check_return(data, "big.xlsx", ref=ref, today=TODAY)
    assert checked.report.errors == []
    assert len(checked.items) == len(big)
    assert_items_equal(checked.items, big)
    assert checked.items["row"].tolist() == list(range(3, 3 + len(big)))


def test_items_given_as_text_and_timestamps():
    ref = load_reference()
    items = pd.DataFrame({
        "item_name": ["甲", "乙"],
        "item_type": ["国际科技合作项目", "国内科技合作项目"],
        "sector_code": ["S04", "S08"],
        "partners": ["俄罗斯、蒙古国", ["CN-BJ"]],
        "start_date": [pd.Timestamp("2019-03-15"), "2019年4月"],
        "funding_wan": [float("nan"), 3],
    })
    data = write_return(unit_code="150200", period=parse_period("2019H1"), items=items, ref=ref)
    checked = check_return(data, "x.xlsx", ref=ref, today=TODAY)
    assert checked.report.errors == []
    assert [list(p) for p in checked.items["partners"]] == [["RUS", "MNG"], ["CN-BJ"]]
    assert checked.items["start_date"].tolist() == [date(2019, 3, 15), date(2019, 4, 1)]


# --------------------------------------------------------------------------
def load(db, unit, period_text, items, ref):
    period = parse_period(period_text)
    data = write_return(unit_code=unit, period=period, values=values_for(items, ref), items=items, ref=ref)
    r = ingest_bytes(db, data, f"{unit}_{period.code}.xlsx", today=TODAY)
    assert r.status == "loaded", r.issues
    return values_for(items, ref)


def test_build_template_from_previous_return(tmp_path):
    ref = load_reference()
    db = tmp_path / "kjhz.duckdb"
    items = make_items()
    load(db, "150200", "2018", items.iloc[[0, 1, 4]], ref)
    values = load(db, "150200", "2019H1", items, ref)
    load(db, "150100", "2019H1", items.iloc[:2], ref)  # another unit: not used

    data = build_template(db, "150200", parse_period("2019Q3"), ref=ref)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    t1, t2 = wb[IND_SHEET], wb[ITEM_SHEET]
    assert t1["G3"].value == PREVIOUS_HEADER and "2019年上半年" in t1["G2"].value
    prev = {t1.cell(row=r, column=1).value: t1.cell(row=r, column=7).value for r in range(4, 18)}
    assert {k: v for k, v in prev.items() if v is not None} == values
    assert all(t1.cell(row=r, column=4).value is None for r in range(4, 18))  # staff fill new values

    live = items[items["status"] != "已终止"].reset_index(drop=True)
    listed = [t2.cell(row=r, column=2).value for r in range(3, t2.max_row + 1)]
    assert listed == live["item_name"].tolist()

    checked = check_return(data, "tpl.xlsx", ref=ref, today=TODAY)
    assert checked.report.errors == []
    assert checked.unit_code == "150200" and checked.period == parse_period("2019Q3")
    assert_items_equal(checked.items, live)

    # the latest period ending before the new one starts
    older = openpyxl.load_workbook(io.BytesIO(build_template(db, "150200", parse_period("2019Q1"), ref=ref)))
    assert "2018年度" in older[IND_SHEET]["G2"].value
    assert older[ITEM_SHEET].max_row == 2 + 3

    # no earlier return, or no database: an empty template
    for db_path, unit in ((db, "152900"), (tmp_path / "missing.duckdb", "150200")):
        empty = openpyxl.load_workbook(io.BytesIO(build_template(db_path, unit, parse_period("2019Q3"), ref=ref)))
        assert empty[IND_SHEET]["G3"].value is None
        assert empty[ITEM_SHEET].max_row == 2
    assert not (tmp_path / "missing.duckdb").exists()


def test_cli_writes_template(tmp_path, capsys):
    ref = load_reference()
    db = tmp_path / "kjhz.duckdb"
    load(db, "150200", "2019H1", make_items(), ref)
    out = tmp_path / "out" / "包头_2019Q3.xlsx"
    assert main(["--db", str(db), "--unit", "包头", "--period", "2019年第三季度", "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)

    wb = openpyxl.load_workbook(out)
    t2 = wb[ITEM_SHEET]
    assert t2.data_validations.dataValidation
    assert t2.protection.sheet
    assert t2["A2"].protection.locked and t2["E2"].protection.locked
    assert not t2["B3"].protection.locked and not t2["E3"].protection.locked
    assert t2.column_dimensions["E"].protection.locked is False  # empty rows below are editable
    assert wb["封面"]["B3"].value == "包头市" and wb["封面"]["B4"].value == "2019年第三季度"


@pytest.mark.parametrize("args, text", [
    (["--unit", "乌市", "--period", "2019Q3"], "有歧义"),
    (["--unit", "包头", "--period", "2019年13季度"], "无法识别报告期"),
    (["--unit", "火星市", "--period", "2019Q3"], "无法识别填报单位"),
    (["--unit", "包头", "--period", "2016年"], "不在"),
    (["--period", "2019Q3"], "--unit"),
])
def test_cli_bad_arguments(tmp_path, capsys, args, text):
    with pytest.raises(SystemExit) as exc:
        main(["--db", str(tmp_path / "x.duckdb"), "-o", str(tmp_path / "t.xlsx"), *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "错误：" in err and text in err
    assert not (tmp_path / "t.xlsx").exists()


def test_cli_module_entry_point(tmp_path):
    out = tmp_path / "t.xlsx"
    proc = subprocess.run([sys.executable, "-m", "pipelines.template", "--db", str(tmp_path / "none.duckdb"),
                           "--unit", "152900", "--period", "2020Q3", "-o", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out)
    assert openpyxl.load_workbook(out)["封面"]["B3"].value == "阿拉善盟"


def test_template_for_a_reported_period_is_a_correction_of_its_current_version(tmp_path):
    """Re-downloading the template of a period already reported must not lose anything of it."""
    from pipelines.diff import check_upload
    from pipelines.template import current_return, template_source

    ref = load_reference()
    db = tmp_path / "kjhz.duckdb"
    items = make_items()  # 9 items, one of them 已终止
    load(db, "150200", "2018", items.iloc[[0, 1, 4]], ref)
    period = parse_period("2019H1")
    values = values_for(items, ref)
    v1 = write_return(unit_code="150200", period=period, values=values, items=items, ref=ref, filler="李明",
                      phone="0472-1234567", increases={"I04": 1}, notes={"I09": "含2017年已建1家"})
    assert ingest_bytes(db, v1, "v1.xlsx", today=TODAY, who="王芳").status == "loaded"

    src = template_source(db, "150200", period)
    assert src.is_correction and src.version == 1 and src.period_code == "2019H1"
    data = build_template(db, "150200", period, ref=ref)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    t1, t2, cover = wb[IND_SHEET], wb[ITEM_SHEET], wb["封面"]
    # the values are filled in (it is the same period), no reference column
    filled = {t1.cell(row=r, column=1).value: t1.cell(row=r, column=4).value for r in range(4, 18)}
    assert {k: v for k, v in filled.items() if v is not None} == values
    assert t1["E7"].value == 1 and t1["F12"].value == "含2017年已建1家"  # I04 increase, I09 note
    assert t1["G3"].value is None
    # every item, the terminated one too, in the order listed
    listed = [t2.cell(row=r, column=2).value for r in range(3, t2.max_row + 1)]
    assert listed == items["item_name"].tolist()
    assert "已终止" in [t2.cell(row=r, column=9).value for r in range(3, t2.max_row + 1)]
    # it says what it is
    assert "更正第1版" in cover["A1"].value
    assert (cover["B5"].value, cover["B6"].value) == ("李明", "0472-1234567")
    guide = "\n".join(str(c.value) for c in wb[GUIDE_SHEET]["A"] if c.value)
    assert "更正包头市2019年上半年已报送的第1版报表" in guide

    # sent back unchanged, it changes nothing: no item removed, added or changed, no value moved
    pv = check_upload(db, data, "更正.xlsx", ref=ref, today=TODAY)
    assert pv.errors == [] and pv.replaces.version == 1 and pv.version == 2
    assert (len(pv.added), len(pv.removed), len(pv.changed)) == (0, 0, 0)
    assert pv.indicators["change"].fillna(0).eq(0).all()
    assert ingest_bytes(db, data, "更正.xlsx", today=TODAY).status == "loaded"
    again = openpyxl.load_workbook(io.BytesIO(build_template(db, "150200", period, ref=ref)))
    assert "更正第2版" in again["封面"]["A1"].value

    # a period ending on the same day (2019Q2) corrects the same return
    assert current_return(db, "150200", parse_period("2019Q2")).version == 2
    # a new period is not a correction: last period's live items, values blank, last values for reference
    new = openpyxl.load_workbook(io.BytesIO(build_template(db, "150200", parse_period("2019H2"), ref=ref)))
    assert "更正" not in new["封面"]["A1"].value
    assert not any("更正" in str(c.value) for c in new[GUIDE_SHEET]["A"] if c.value)
    assert new[IND_SHEET]["G3"].value == PREVIOUS_HEADER and "2019年上半年" in new[IND_SHEET]["G2"].value
    assert all(new[IND_SHEET].cell(row=r, column=4).value is None for r in range(4, 18))
    live = items[items["status"] != "已终止"]["item_name"].tolist()
    assert [new[ITEM_SHEET].cell(row=r, column=2).value for r in range(3, new[ITEM_SHEET].max_row + 1)] == live
    assert template_source(db, "152900", period) is None


def test_template_periods_and_default():
    ref = load_reference()
    halves = plan_periods(ref, "H", today=date(2021, 3, 1))
    assert [p.code for p in halves] == ["2018H1", "2018H2", "2019H1", "2019H2", "2020H1", "2020H2"]
    assert [p.code for p in plan_periods(ref, "Y", today=date(2019, 5, 1))] == ["2018", "2019"]
    assert len(plan_periods(ref, "Q", today=date(2021, 3, 1))) == 12
    assert next_unreported(halves, []) == 0
    assert halves[next_unreported(halves, [date(2018, 6, 30), date(2019, 6, 30)])].code == "2019H2"
    assert halves[next_unreported(halves, [date(2020, 12, 31)])].code == "2020H2"
