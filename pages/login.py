"""登录 / 我的账户: the same login as the sidebar's, on a page of its own (a link can open it),
and, once logged in, the account, a password change and 退出登录."""
from __future__ import annotations

import streamlit as st

from pipelines import accounts, store
from ui import auth
from ui.common import db_path, esc, reference

account = auth.current_account()
msg = auth.take_message()
if account is None:
    st.title("登录")
    if msg:
        st.warning(msg)
    with st.container(border=True):
        auth.login_form(prefix="page_")
    st.caption("查看各页面的统计无需登录（除非管理员另行设置）；报送报表、查看版本历史、恢复版本和系统管理需要登录。"
               "连续多次输错口令，账户会被暂时锁定。")
    st.stop()

st.title("我的账户")
if msg:
    st.success(msg)
ref = reference()
st.markdown(f"**用户名**：{esc(account.user_name)}　**姓名**：{esc(account.display_name)}　**角色**：{account.role_zh}"
            + (f"　**单位**：{ref.unit_name(account.unit_code)}" if account.unit_code else ""))
can = {accounts.ADMIN: "全部功能：报送任何单位的报表、恢复版本、归档、系统管理和操作日志。",
       accounts.FILER: f"报送{ref.unit_name(account.unit_code) if account.unit_code else '本单位'}的报表，"
                       "下载本单位的预填模板，查看本单位的版本历史；浏览全部统计页面。",
       accounts.VIEWER: "浏览全部统计页面和下载统计表。"}
st.caption("可以做的事：" + can.get(account.role, ""))


def _change() -> None:
    old = str(st.session_state.get("pw_old") or "")
    new = str(st.session_state.get("pw_new") or "")
    again = str(st.session_state.get("pw_again") or "")
    for k in ("pw_old", "pw_new", "pw_again"):
        st.session_state[k] = ""
    acc = auth.current_account()
    if acc is None:
        return
    if new != again:
        st.session_state["pw_message"] = ("error", "两次输入的新口令不一致。")
        return
    try:
        with store.connect(db_path(), write=True, on_wait=None) as con:
            accounts.authenticate(con, acc.user_name, old)
            accounts.set_password(con, acc, acc.user_name, new)
    except (accounts.LoginError, ValueError) as exc:
        st.session_state["pw_message"] = ("error", f"口令未修改：{exc}")
        return
    st.session_state["pw_message"] = ("success", "口令已修改。")


with st.expander("修改口令", icon=":material/password:"):
    kind_text = st.session_state.pop("pw_message", None)
    if kind_text:
        getattr(st, kind_text[0])(kind_text[1])
    with st.form("pw_form", border=False):
        st.text_input("当前口令", type="password", key="pw_old", autocomplete="current-password")
        st.text_input(f"新口令（至少{accounts.MIN_PASSWORD}个字符）", type="password", key="pw_new",
                      autocomplete="new-password")
        st.text_input("再输入一次新口令", type="password", key="pw_again", autocomplete="new-password")
        st.form_submit_button("修改口令", on_click=_change, key="pw_submit")
st.button("退出登录", on_click=auth.logout, key="page_logout", icon=":material/logout:")
