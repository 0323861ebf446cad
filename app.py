"""科技创新合作监测平台 — entry point: page config, navigation, shared sidebar."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui import auth
from ui.common import ensure_database, favicon, page_chrome, show_failure
from ui.navigation import DEFAULT_PAGE, sections

# a narrower sidebar than Streamlit's 300 px leaves the pages room on a 1024-pixel screen
st.set_page_config(page_title="科技创新合作监测平台", page_icon=favicon(), layout="wide", initial_sidebar_state=244)
page_chrome()

HERE = Path(__file__).resolve().parent
pages = {
    section: [st.Page(str(HERE / f), title=t, icon=f":material/{i}:", url_path=u, default=(u == DEFAULT_PAGE))
              for f, t, i, u in entries]
    for section, entries in sections().items()
}
account = auth.current_account()
if account is None or account.role != "admin":
    pages.pop("系统管理", None)  # only offered to administrators; the page and pipelines check again
if account is not None:
    pages["账户"] = [st.Page(str(HERE / "pages/login.py"), title="我的账户", icon=":material/account_circle:",
                           url_path="login")]
nav = st.navigation({k: v for k, v in pages.items() if v})
account = auth.sidebar()  # the login form (or who is logged in) on every page
st.sidebar.caption("内蒙古自治区科技创新合作三年行动计划（2018-2020年）实施监测")
# after st.navigation: the sidebar shows the Chinese page titles, also while the demo is being built
ensure_database()
if account is None and auth.accounts.auth_settings()["viewing_requires_login"]:
    # data/settings.yaml auth.viewing_requires_login: nothing but the login until logged in
    st.title("科技创新合作监测平台")
    st.info("本平台需要登录后查看。请在左侧边栏「登录」中输入用户名和口令；账户由管理员开通。", icon=":material/lock:")
    st.stop()
try:
    nav.run()
except Exception as exc:  # no traceback on a page: a Chinese message, the traceback in <db>.log
    show_failure(exc, nav.url_path or "")
