"""按领域: live items and funding by sector and item type, by unit, and period by period."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pipelines import queries
from pipelines.figures import clicked_codes, sector_bars, sector_growth, sector_unit_heatmap
from pipelines.vocab import STATE_CURRENT, STATE_NO_RETURN, quantity
from ui import filters
from ui.common import excel_bytes, figure, fmt_date, page_header, q, reference, require_data, show_chart, show_table

ref = reference()
page_header("按领域",
            "计划确定的12个重点领域的合作事项：各单位截至所选日期最近一期报表中的在册事项（已终止的事项不计入）。"
           "点击柱形可按该领域筛选。")
require_data("合作事项")

flt, basis, extra = filters.items_context()
as_of, scope, kw = flt.as_of, flt.scope(), flt.as_query()
sector_order = ref.sectors["name"].tolist()


def click_to_filter(event, current: tuple[str, ...]) -> None:
    """A click on a sector's bar (or line) narrows the page, and every page, to that sector."""
    codes = tuple(c for c in clicked_codes(event) if c in set(ref.sectors["code"]))
    if codes and codes != current:
        filters.set_filters(sectors=codes)
        st.rerun()


summary = q(queries.items_summary, as_of, **kw).iloc[0]
n_items = int(summary["items"])
cols = st.columns(4)
cols[0].metric("在册合作事项", quantity(n_items, "项"))
cols[1].metric("投入经费", quantity(summary['funding_wan'], "万元", 1),
               help=f"{int(summary['funded_items'])} 项事项填报了投入经费；未填报的不计入")
cols[2].metric("涉及领域", quantity(int(summary['sectors']), "个"))
cols[3].metric("涉及单位", quantity(int(summary['units']), "个"))
missing = basis[basis["state"] != STATE_CURRENT]
if len(missing):
    st.caption("统计依据：" + "；".join(
        f"{r.unit_name}{'尚无报表' if r.state == STATE_NO_RETURN else '沿用' + str(r.period_code) + '报表'}"
        for r in missing.itertuples()) + f"（当期：报告期末为{fmt_date(as_of)}的报表）。")

if n_items == 0:
    st.info("所选范围内没有在册的合作事项。可以放宽左侧的筛选条件，或选择更晚的截止日期。")

by_type = q(queries.items_by_sector_type, as_of, **kw)
# one chart at a time (each is one click away; drawing all three made the page slow)
view = filters.one_of("sector", "view", {"types": "按事项类别", "units": "按盟市", "periods": "按报告期"}, "查看")
if view == "types":
    ev = show_chart(figure(sector_bars, by_type, as_of, scope, extra, sector_order=sector_order,
                                type_order=ref.item_types["name"].tolist()),
                    key="sector_bars", on_select="rerun", selection_mode="points")
    click_to_filter(ev, flt.sectors)
elif view == "units":
    by_unit = q(queries.items_by_sector_unit, as_of, **kw)
    show_chart(figure(sector_unit_heatmap, by_unit, as_of, scope, extra, sector_order=sector_order,
                                   unit_order=ref.units["name"].tolist()), key="sector_unit_heatmap")
else:
    growth = q(queries.items_by_sector_period, as_of, **kw)
    growth_note = " · ".join(x for x in (flt.describe(), "各报告期末在册事项（当期未报送的单位沿用其上一期报表）") if x)
    ev = show_chart(figure(sector_growth, growth, as_of, scope, growth_note, sector_order=sector_order),
                    key="sector_growth", on_select="rerun", selection_mode="points")
    click_to_filter(ev, flt.sectors)

st.subheader("各领域汇总表")
if by_type.empty:
    st.caption("没有可汇总的事项。")
else:
    tbl = by_type.groupby(["sector_code", "sector_name"], as_index=False).agg(
        items=("items", "sum"), funding=("funding_wan", "sum"), funded=("funded_items", "sum"))
    wide = by_type.pivot_table(index="sector_code", columns="item_type", values="items", aggfunc="sum").fillna(0)
    wide = wide[[t for t in ref.item_types["name"] if t in wide.columns]].astype(int)
    show = pd.DataFrame({
        "领域编码": tbl["sector_code"], "所属领域": tbl["sector_name"], "在册事项（项）": tbl["items"].astype(int),
        "投入经费（万元）": tbl["funding"].round(1), "填报经费的事项（项）": tbl["funded"].astype(int),
    }).merge(wide, left_on="领域编码", right_index=True, how="left")
    show_table(show, hide_index=True, key="sector_table_types",
               key_columns=["领域编码", "所属领域", "在册事项（项）", "投入经费（万元）", "填报经费的事项（项）"])
    st.download_button("下载各领域汇总表（Excel）", lambda: excel_bytes(
        {"各领域汇总": show}, content="各领域在册合作事项数与投入经费（按事项类别）", scope=scope, as_of=as_of,
        filters=flt.describe(), extra=[("统计口径", "各单位截至该日期最近一期报表中的在册事项，不含已终止事项")]),
                       file_name=f"按领域汇总_{as_of.isoformat()}.xlsx", icon=":material/download:",
                       on_click="ignore")
