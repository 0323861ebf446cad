"""Figures that read right (issue 12): date axes tick at period ends in Chinese and stop at the plan's
end, colour scales cover the data, numbers carry thousands separators. Checked on the figure objects:
tick text, axis ranges, colour-bar ranges and label text, as a reader sees them."""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from pipelines import figures as F
from pipelines import queries as Q
from pipelines.reference import load_reference
from pipelines.store import connect
from pipelines.vocab import number, period_end_ticks
from tests.factories import load_values

REF = load_reference()
START, END = REF.plan.start, REF.plan.end


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    db = tmp_path_factory.mktemp("read") / "r.duckdb"
    for period, v in (("2018H2", 14011), ("2019H1", 15200), ("2019H2", 16890)):
        load_values(db, "150100", period, {"I09": 12, "I01": v})
    with connect(db) as con:
        return Q.region_series(con, until=date(2019, 12, 31))


def _as_date(v) -> date:
    return pd.Timestamp(v).date()


def test_period_end_ticks_are_chinese_period_ends_up_to_the_plan_end():
    vals, text = period_end_ticks(START, END)
    assert text[0] == f"{START.year}年初"
    assert "2019年6月底" in text and "2019年底" in text and "2020年底" in text
    assert vals[-1] == END and all(v <= END for v in vals)
    assert not any("1月" in t for t in text)  # never on 1 January (the end-of-2019 point above 「2020年」)
    assert period_end_ticks(START, END, months=12)[1] == ["2018年初", "2018年底", "2019年底", "2020年底"]


def test_trend_chart_ticks_at_period_ends_and_stops_at_the_plan_end(series):
    fig = F.trend_chart(series[series["indicator_code"] == "I01"], None, START, END, date(2019, 12, 31))
    ax = fig.layout.xaxis
    assert "2019年底" in ax.ticktext and "2019年6月底" in ax.ticktext
    # the end-of-2019 point sits on the 「2019年底」 tick
    ticks = dict(zip(ax.ticktext, (_as_date(v) for v in ax.tickvals)))
    assert ticks["2019年底"] == date(2019, 12, 31)
    # the axis runs to the plan's end, not into the next year
    assert _as_date(ax.range[1]) <= END + timedelta(days=10) and not any("2021" in t for t in ax.ticktext)
    assert ax.ticktext[-1] == f"{END.year}年底"


def test_trend_chart_numbers_have_thousands_separators(series):
    fig = F.trend_chart(series[series["indicator_code"] == "I01"], None, START, END, date(2019, 12, 31))
    hover = " ".join(str(c) for tr in fig.data for c in (tr.customdata if tr.customdata is not None else []))
    assert "累计值：16,890" in hover and "累计值：16890" not in hover
    target = next(a.text for a in fig.layout.annotations if (a.text or "").startswith("目标"))
    assert "," in target or int("".join(ch for ch in target if ch.isdigit())) < 1000


def test_small_multiples_tick_at_year_ends_and_stop_at_the_plan_end(series):
    fig = F.trend_small_multiples(series, date(2019, 12, 31), plan_start=START, plan_end=END)
    ax = fig.layout.xaxis
    assert list(ax.ticktext) == ["2018年初", "2018年底", "2019年底", "2020年底"]
    assert _as_date(ax.range[1]) <= END + timedelta(days=10)


def _top_label(cb, zmax) -> float:
    return cb.tick0 + cb.dtick * round((zmax - cb.tick0) / cb.dtick)


@pytest.mark.parametrize("top_value", [23, 20, 7, 121])
def test_count_heatmaps_colour_bar_ends_at_or_above_the_largest_cell(top_value):
    df = pd.DataFrame({"sector_name": ["能源", "农业", "能源"], "unit_name": ["包头市", "包头市", "赤峰市"],
                       "sector_code": ["S01", "S02", "S01"], "items": [top_value, 1, 2]})
    fig = F.sector_unit_heatmap(df, date(2019, 12, 31))
    hm = fig.data[0]
    assert hm.zmax >= top_value and abs(_top_label(hm.colorbar, hm.zmax) - hm.zmax) < 1e-9


def test_world_map_colour_bar_ends_at_or_above_the_largest_country():
    fig = F.partner_world_map(pd.DataFrame({"partner_code": ["RUS", "MNG"], "name": ["俄罗斯", "蒙古国"],
                                            "kind": "foreign", "items": [51, 49]}), date(2020, 12, 31))
    tr = next(t for t in fig.data if t.name == "合作国家")
    assert tr.zmax >= 51 and abs(_top_label(tr.colorbar, tr.zmax) - tr.zmax) < 1e-9


def test_sector_growth_labels_period_ends_like_the_trend_charts():
    df = pd.DataFrame({"at_date": [date(2019, 6, 30), date(2019, 12, 31)], "sector_name": "能源",
                       "sector_code": "S01", "items": [3, 5], "units_with_return": [2, 2]})
    fig = F.sector_growth(df, date(2019, 12, 31))
    assert list(fig.data[0].x) == ["2019年6月底", "2019年底"]


def test_number_formats_counts_and_amounts_the_same_way_everywhere():
    assert number(14011) == "14,011" and number(162367.64, 1) == "162,367.6" and number(None) == "—"
