"""简报: the generated progress text for an as-of date and a scope (the region or one unit),
with the key figures beneath, a Word pack and every figure as PNG.

URL: the shared ``as_of`` plus ``scope`` (``all`` or a unit code).
"""
from __future__ import annotations

import streamlit as st

from pipelines import queries
from pipelines.briefing import DOCX_MIME, ZIP_MIME, pack_for
from pipelines.narrative import briefing_figures, narrative
from ui import filters
from ui.common import (
    data_key, db_path, esc, figure, on_demand, page_header, print_view, q, reference, require_data, show_chart,
)



@st.cache_data(show_spinner="正在生成简报（文字、表格和图片）…", max_entries=8)
def pack(key: tuple, db: str, as_of, unit):
    """The .docx and the zip, built once per data version, date and scope (both buttons share it)."""
    return pack_for(db, as_of, unit)


ref = reference()
print_view()
page_header("简报", "按所选截止日期和范围自动生成的进展简报：文字与各页图表来自同一组查询，可下载 Word 文档和全部图片。")
require_data("简报")

flt = filters.sidebar(show=("as_of",))
as_of = flt.as_of
codes = ref.unit_codes
choices = ["all"] + codes
default = flt.units[0] if len(flt.units) == 1 else "all"
scope_code = st.selectbox("范围", choices, key=filters.url_choice("briefing", "scope", choices, default, "范围"),
                          format_func=lambda c: "全区" if c == "all" else ref.unit_name(c))
filters.url_set("briefing", "scope", scope_code)
unit = None if scope_code == "all" else scope_code

data = q(queries.briefing_inputs, as_of, unit=unit)
text = narrative(data, ref)

stem = f"{data.scope}_{as_of.isoformat()}"
left, right = st.columns(2)
left.download_button("下载简报（Word）", lambda: pack(data_key(), str(db_path()), as_of, unit).docx,
                     file_name=f"简报_{stem}.docx", mime=DOCX_MIME, icon=":material/description:",
                     on_click="ignore", help="A4，仿宋正文、黑体标题、页码；含全文、14项指标进展表和主要图表")
right.download_button("下载全部图表（PNG，zip）", lambda: pack(data_key(), str(db_path()), as_of, unit).zip,
                      file_name=f"简报图表_{stem}.zip", mime=ZIP_MIME, icon=":material/folder_zip:",
                      on_click="ignore", help="每张图一个 PNG（2400 像素宽），含标题、截止日期和数据来源")

# the text is generated from reference names and numbers; escaped all the same (shown as written)
st.markdown(f"### {esc(text.title)}")
st.markdown(f"**{esc(text.subtitle)}**")
for section in text.sections:
    st.markdown(f"#### {esc(section.heading)}")
    for p in section.paragraphs:
        st.markdown(esc(p))

st.markdown("#### 关键数据")
cols = st.columns(4)
for i, (label, value) in enumerate(text.key_figures):
    cols[i % 4].metric(esc(label), esc(value))

copy_box = on_demand("复制全文（纯文本）", key="briefing_copy")
if copy_box.open:
    copy_box.code(text.text(), language=None, wrap_lines=True)

st.markdown("#### 主要图表")
figs = dict(figure(briefing_figures, data, ref))
# one chart at a time (each is one click away, and every chart is in the Word pack and the zip):
# drawing all five made the page slow. Printed: the text, the key figures and the chosen chart.
with st.container(key="print_hide_chart_choice"):
    stem = filters.one_of("briefing", "chart", {s: s.split("_", 1)[-1] for s in figs}, "图表")
show_chart(figs[stem], key=f"briefing_{stem}_{as_of}_{scope_code}")
