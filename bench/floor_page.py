"""The floor page for bench/browser.py: one Streamlit page with one 14-bar plotly chart and one
14-row table, drawn the way the app draws them (same chart config, same table helper).

Nothing a real page could do takes less than this in the browser: plotly.js and the data grid
are laid out on every load. Run by bench/browser.py as its own ``streamlit run``.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402

from ui.common import PLOTLY_CONFIG, show_table  # noqa: E402

st.set_page_config(page_title="floor", layout="wide")
st.title("基准页")
df = pd.DataFrame({"指标": [f"I{i:02d} 指标{i}" for i in range(1, 15)], "完成率": [i * 7.0 for i in range(1, 15)]})
fig = go.Figure(go.Bar(x=df["完成率"], y=df["指标"], orientation="h"))
fig.update_layout(title="十四项指标", height=520)
st.plotly_chart(fig, config=PLOTLY_CONFIG, width="stretch")
show_table(df, hide_index=True)
