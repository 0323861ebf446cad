"""按国别: partner countries on a world map with China's official boundaries, the top partners,
the plan's partner groups, domestic partner regions (港澳台 as regions of China) and partner x sector."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pipelines import queries
from pipelines.figures import (
    clicked_codes, domestic_partners_bar, partner_groups_bar, partner_sector_heatmap, partner_top,
    partner_world_map,
)
from pipelines.vocab import quantity
from ui import filters
from ui.common import (
    excel_bytes, figure, page_header, q, reference, require_data, show_chart, show_table, table_height,
)

ref = reference()
page_header("按国别",
            "合作国家（地区）与计划确定的重点合作方向：各单位截至所选日期最近一期报表中的在册事项（已终止的事项不计入）。"
           "一项事项有几个合作方，就在每个合作方下各计一次。点击地图上的国家或柱形可按该合作方筛选。")
require_data("合作事项")

flt, basis, extra = filters.items_context()
as_of, scope, kw = flt.as_of, flt.scope(), flt.as_query()
if flt.partners:
    st.info("已按合作方筛选：各图只统计所选合作方（及其所在分组）的事项。清除左侧「合作国家（地区）或分组」可看全部。",
            icon=":material/filter_alt:")
known = set(ref.partners["code"]) | set(ref.partner_groups["code"])


def click_to_filter(event) -> None:
    """A click on a country, a bar or a group narrows every page to that partner (or group)."""
    codes = tuple(c for c in clicked_codes(event) if c in known)
    if codes and codes != flt.partners:
        filters.set_filters(partners=codes)
        st.rerun()


def chart_that_filters(fig, key: str) -> None:
    """Draw a chart whose countries or bars filter the page when clicked."""
    click_to_filter(show_chart(fig, key=key, on_select="rerun", selection_mode="points"))


kinds = q(queries.items_by_partner_kind, as_of, **kw).set_index("kind")
foreign = q(queries.items_by_partner, as_of, **kw, kind="foreign")
domestic = q(queries.items_by_partner, as_of, **kw, kind="domestic")
summary = q(queries.items_summary, as_of, **kw).iloc[0]
cols = st.columns(4)
cols[0].metric("合作国家", quantity(int(kinds.loc['foreign', 'partners']), "个"))
cols[1].metric("国际合作事项", quantity(int(kinds.loc['foreign', 'items']), "项"), help="至少有一个国外合作方的在册事项")
cols[2].metric("国内合作省（区、市）", quantity(int(kinds.loc['domestic', 'partners']), "个"), help="含中国香港、中国澳门、中国台湾")
cols[3].metric("国内合作事项", quantity(int(kinds.loc['domestic', 'items']), "项"),
               help="至少有一个国内其他省（区、市）合作方的在册事项")
if int(summary["items"]) == 0:
    st.info("所选范围内没有在册的合作事项。可以放宽左侧的筛选条件，或选择更晚的截止日期。")

# one chart at a time, the world map first (each is one click away; a page drawing the map and a
# second chart at once was the slowest to open: bench/browser.py)
view = filters.one_of("partner", "view", {
    "map": "世界地图", "top": "主要合作国家", "domestic": "国内合作省（区、市）", "groups": "计划重点合作方向",
    "sectors": "合作方与领域",
}, "查看")
if view == "map":
    chart_that_filters(figure(partner_world_map, foreign, as_of, scope, extra), "partner_map")
elif view == "top":
    chart_that_filters(figure(partner_top, foreign, as_of, scope, extra), "partner_top")
elif view == "domestic":
    chart_that_filters(figure(domestic_partners_bar, domestic, as_of, scope, extra), "partner_domestic")
elif view == "groups":
    groups = q(queries.items_by_partner_group, as_of, **kw)
    left, right = st.columns(2)
    with left:
        chart_that_filters(figure(partner_groups_bar, groups, as_of, scope, extra), "partner_groups")
    with right:
        st.markdown("**计划确定的重点合作方向**（《三年行动计划》三（二））")
        g = ref.partner_groups.merge(groups[["group_code", "items"]], left_on="code", right_on="group_code", how="left")
        show_table(pd.DataFrame({"方向": g["name"], "范围": g["kind"].map({"foreign": "国际", "domestic": "国内"}),
                                   "在册事项（项）": g["items"].fillna(0).astype(int), "计划要求": g["description"]}),
                     hide_index=True, height=table_height(len(g), cap=None, max_px=560), place="column")
        st.caption("一项事项在同一方向下只计一次（如同时与俄罗斯、蒙古国合作的事项在「中俄蒙经济走廊」计1项）。"
                   "各国家（地区）所属的方向见页末的合作方明细表。点击柱形可按该方向筛选。")
else:
    matrix = q(queries.items_by_partner_sector, as_of, **kw, top=20)
    show_chart(figure(partner_sector_heatmap, matrix, as_of, scope, extra, sector_order=ref.sectors["name"].tolist()),
               key="partner_sector")

st.subheader("合作方明细表")
both = pd.concat([foreign, domestic], ignore_index=True)
if both.empty:
    st.caption("没有注明合作国家（地区）的在册事项。")
else:
    in_groups = dict(zip(ref.partners["code"], ref.partners["groups_list"].map("、".join)))
    show = pd.DataFrame({
        "代码": both["partner_code"], "合作国家（地区）": both["name"],
        "类别": both["kind"].map({"foreign": "国外", "domestic": "国内（省区市、港澳台）"}),
        "所在洲": both["continent"].where(both["kind"] == "foreign", ""),
        "所属合作方向": both["partner_code"].map(in_groups).fillna(""),
        "在册事项（项）": both["items"].astype(int), "相关事项投入经费（万元）": both["funding_wan"].round(1),
    })
    show_table(show, hide_index=True, width="stretch")
    st.caption("「相关事项投入经费」为该合作方参与事项的经费合计；一项事项有多个合作方时，其经费在每个合作方下都计入，各行不可相加。")
    st.download_button("下载合作方明细表（Excel）", lambda: excel_bytes(
        {"合作方": show}, content="各合作国家（地区）的在册合作事项", scope=scope, as_of=as_of, filters=flt.describe(),
        extra=[("统计口径", "各单位截至该日期最近一期报表中的在册事项，不含已终止事项；"
                        "中国香港、中国澳门、中国台湾为中国的地区，列入国内")]),
                       file_name=f"按国别汇总_{as_of.isoformat()}.xlsx", icon=":material/download:",
                       on_click="ignore")
