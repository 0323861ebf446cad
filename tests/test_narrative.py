"""The briefing text (pipelines.narrative) against fixtures with known numbers.

Every expected value is worked out by hand from the fixture in the test.
"""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from pipelines.narrative import gather, narrative, overall_rate
from pipelines.reference import load_reference
from pipelines.store import connect
from tests.factories import load_values

REPO = Path(__file__).resolve().parent.parent
ALL = load_reference().plan.indicators
TARGET = dict(zip(ALL["code"], ALL["target"].astype(int)))
UNITS = load_reference().unit_codes


@pytest.fixture
def db(tmp_path):
    return tmp_path / "n.duckdb"


def text_of(db, as_of, unit=None, ref=None):
    with connect(db) as con:
        data = gather(con, as_of, unit, ref=ref)
    return data, narrative(data, ref)


def section(text, heading_start: str) -> str:
    return "\n".join(next(s for s in text.sections if s.heading.startswith(heading_start)).paragraphs)


def everyone(db, period, values, items_for=None):
    for u in UNITS:
        load_values(db, u, period, values, items=(items_for or {}).get(u))


def test_known_numbers_give_the_right_values_percentages_and_words(db):
    # 13 units x 10 工作站 = 130 of 180 (72.2%); 13 x 1 PCT = 13 of 40 (32.5%); at 2019-06-30 time is 50%
    everyone(db, "2019H1", {**{c: 0 for c in TARGET}, "I09": 10, "I07": 1})
    data, t = text_of(db, date(2019, 6, 30))
    overall = section(t, "一")
    indicators = section(t, "二")
    assert "截至2019年6月底，全区累计建成院士专家工作站130家，完成目标的72.2%，高于时间进度22.2个百分点。" in indicators
    assert "PCT专利申请量累计达到13件，完成目标的32.5%，低于时间进度17.5个百分点。" in indicators
    assert "超前于时间进度的指标1项：院士专家工作站（完成率72.2%，高于时间进度22.2个百分点）" in indicators
    assert "滞后于时间进度的指标" in indicators and "PCT专利申请（完成率32.5%" in indicators
    # the other 12 indicators were reported as 0: 滞后 (0% vs 50%)
    rate = (130 / 180 + 13 / 40) / 14
    assert overall_rate(data.table) == pytest.approx(rate)
    assert f"全区14项指标平均完成率为{rate * 100:.1f}%，时间进度为50.0%，低于时间进度{(0.5 - rate) * 100:.1f}个百分点" in overall
    assert "超前1项" in overall and "滞后13项" in overall
    assert "13个填报单位中13个当期报送" in section(t, "五")
    assert "没有沿用" in section(t, "五")
    assert ("时间进度", "50.0%") in t.key_figures
    # a figure on its own reads as on every page's metrics: number, space, unit (prose has no space)
    figures = dict(t.key_figures)
    assert figures["在册合作事项"] == f"{data.n_items:,} 项" and figures["投入经费"].endswith(" 万元")


def test_all_complete(db):
    everyone(db, "2020H2", {c: -(-TARGET[c] // 13) for c in TARGET})  # each unit 1/13 of target, rounded up
    _, t = text_of(db, date(2020, 12, 31))
    assert "14项指标均已完成目标。" in section(t, "一")
    assert "已完成目标的指标14项" in section(t, "二")
    assert "滞后" not in section(t, "一")


def test_all_behind(db):
    everyone(db, "2019H1", {c: 0 for c in TARGET})
    _, t = text_of(db, date(2019, 6, 30))
    one = section(t, "一")
    assert "平均完成率为0.0%" in one and "低于时间进度50.0个百分点" in one
    assert "14项指标均落后于时间进度，其中滞后14项、略滞后0项" in one


def test_no_data(db):
    load_values(db, "150100", "2019H1", {})  # a return with 表1 left empty
    data, t = text_of(db, date(2019, 6, 30))
    assert "全区暂无报送数据；时间进度为50.0%" in section(t, "一")
    assert "全区暂无在册的合作事项" in section(t, "四")
    assert "暂无报送数据" in section(t, "二")


def test_units_missing_no_verdict_and_the_number_of_units(db):
    load_values(db, "150100", "2019H1", {"I09": 30})
    load_values(db, "150200", "2018H2", {"I09": 6})
    _, t = text_of(db, date(2019, 6, 30))
    one = section(t, "一")
    assert "仅来自13个填报单位中的2个" in one and "暂不判断" in one
    said = one.replace("超前或滞后", "")
    assert "超前" not in said and "滞后" not in said
    five = section(t, "五")
    assert "包头市沿用2018年下半年报表" in five
    assert "尚无任何报表的单位" in five and "阿拉善盟" in five
    assert "未作超前或滞后的判断" in five


def test_figures_older_than_the_date_are_said_in_every_sentence(db):
    everyone(db, "2019H1", {c: 1 for c in TARGET})
    _, t = text_of(db, date(2019, 9, 30))
    assert t.subtitle.startswith("截至2019年9月底（数据截至6月30日）")
    assert section(t, "一").startswith("截至2019年9月底（数据截至6月30日），全区14项指标")
    lines = [p for p in section(t, "二").split("\n") if p.startswith("（")]
    assert len(lines) == 14 and all("（数据截至6月30日）" in p for p in lines)
    assert "文中数字截至2019年6月30日" in section(t, "五")


def test_one_unit_only(db):
    everyone(db, "2018H2", {"I09": 5}, items_for={"150200": [
        dict(item_name="中俄稀土", item_type="国际科技合作项目", indicator_code="I04", sector_code="S04",
             partners=["RUS"])]})
    load_values(db, "150200", "2019H1", {"I09": 9}, items=[
        dict(item_name="中俄稀土", item_type="国际科技合作项目", indicator_code="I04", sector_code="S04",
             partners=["RUS"]),
        dict(item_name="中蒙草原", item_type="国际科技合作项目", indicator_code="I04", sector_code="S10",
             partners=["MNG"]),
        dict(item_name="蒙德稀土", item_type="国际科技合作项目", indicator_code="I04", sector_code="S04",
             partners=["MNG", "DEU"])])
    data, t = text_of(db, date(2019, 6, 30), unit="150200")
    assert data.scope == "包头市" and t.subtitle.startswith("截至2019年6月底　包头市")
    assert "包头市累计建成院士专家工作站9家，占全区目标的5.0%。" in section(t, "二")  # 9 / 180
    assert "超前" not in section(t, "二") and "滞后" not in section(t, "二")
    three = section(t, "三")
    # 3 items; the other 12 units have none: first of 13
    assert "包头市在册合作事项3项，在有报表的13个填报单位中居第1位。与2018年12月底相比，新增2项。" in three
    four = section(t, "四")
    assert "增加最多的合作国家是蒙古国（新增2项，现有2项）、德国（新增1项，现有1项）" in four
    assert "稀土新材料（新增1项，现有2项）" in four and "生态屏障与荒漠化防治（新增1项，现有1项）" in four
    assert "依据包头市2019年上半年的报表" in section(t, "五")


def test_wording_comes_from_the_plan_file(db):
    everyone(db, "2019H1", {"I09": 10})
    ref = load_reference()
    w = dict(ref.plan.wording, brief_h_overall="一、总体情况（改）", when="到{date}为止")
    ref2 = dataclasses.replace(ref, plan=dataclasses.replace(ref.plan, wording=w))
    _, t = text_of(db, date(2019, 6, 30), ref=ref2)
    assert t.sections[0].heading == "一、总体情况（改）"
    assert section(t, "一").startswith("到2019年6月底为止，全区")


def test_region_value_in_text_equals_progress_cli(db):
    everyone(db, "2019H1", {"I09": 7})
    load_values(db, "150100", "2019H1", {"I09": 20}, tag="v2")
    out = subprocess.run([sys.executable, "-m", "pipelines.progress", "--db", str(db), "--as-of", "2019-06-30",
                          "--json"], capture_output=True, text=True, cwd=REPO, check=True)
    value = {r["indicator_code"]: r for r in json.loads(out.stdout)["indicators"]}["I09"]["value"]
    assert value == 12 * 7 + 20
    _, t = text_of(db, date(2019, 6, 30))
    assert f"全区累计建成院士专家工作站{value}家" in section(t, "二")


def test_units_ahead_and_behind_on_their_allocated_targets(db, monkeypatch):
    import pandas as pd

    import pipelines.reference

    ref = load_reference()
    alloc = pd.DataFrame({"unit_code": ["150100", "150200"], "indicator_code": ["I09", "I09"],
                          "target": [20.0, 20.0], "baseline": [0.0, 0.0]})
    ref2 = dataclasses.replace(ref, plan=dataclasses.replace(ref.plan, allocations=alloc))
    monkeypatch.setattr(pipelines.reference, "load_reference", lambda: ref2)  # the plan file with 任务分解
    everyone(db, "2019H1", {"I09": 1})
    load_values(db, "150100", "2019H1", {"I09": 16}, tag="v2")  # 80% of its 20 at 50% time
    load_values(db, "150200", "2019H1", {"I09": 4}, tag="v2")   # 20%
    _, t = text_of(db, date(2019, 6, 30), ref=ref2)
    three = section(t, "三")
    assert "按分解到各单位的目标计（时间进度50.0%），平均完成率超过时间进度的有呼和浩特市（80.0%）；低于时间进度的有包头市（20.0%）。" in three
