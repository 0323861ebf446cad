"""科技创新合作监测平台 — entry point: page config, navigation, shared sidebar."""
from __future__ import annotations

import streamlit as st

from ui.common import ensure_database

st.set_page_config(page_title="科技创新合作监测平台", page_icon="📊", layout="wide")

ensure_database()

pages = {
    "进展监测": [
        st.Page("pages/overview.py", title="总览", icon="📊", default=True, url_path="overview"),
    ],
    "数据报送": [
    ],
}
nav = st.navigation({k: v for k, v in pages.items() if v})
st.sidebar.caption("内蒙古自治区科技创新合作三年行动计划（2018-2020年）实施监测")
nav.run()
