"""简报: the generated progress text for an as-of date and a scope (the region or one unit),
with the key figures beneath, a Word pack and every figure as PNG.

URL: the shared ``as_of`` plus ``scope`` (``all`` or a unit code).
"""
from __future__ import annotations

import streamlit as st

from pipelines.narrative import briefing_figures, narrative
from ui import filters
from ui.common import page_header, q, reference, require_data, show_chart

ref = reference()
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

data = q("briefing_inputs", as_of, unit=unit)
text = narrative(data, ref)

st.markdown(f"### {text.title}")
st.markdown(f"**{text.subtitle}**")
for section in text.sections:
    st.markdown(f"#### {section.heading}")
    for p in section.paragraphs:
        st.markdown(p)

st.markdown("#### 关键数据")
cols = st.columns(4)
for i, (label, value) in enumerate(text.key_figures):
    cols[i % 4].metric(label, value)

with st.expander("复制全文（纯文本）", expanded=False):
    st.code(text.text(), language=None, wrap_lines=True)

st.markdown("#### 主要图表")
for stem, fig in briefing_figures(data, ref):
    show_chart(fig, key=f"briefing_{stem}_{as_of}_{scope_code}")
