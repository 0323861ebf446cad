"""Login in the sidebar of every page, the session's account, and its expiry.

The account lives in the Streamlit session (server side; a new browser tab
or a reload starts logged out). Each run re-reads it from the database, so a
disabled account or a changed role takes effect at once, and ends it after
``session_idle_minutes`` without activity or ``session_max_hours`` after
login (data/settings.yaml ``auth:``). The pages only decide what to offer;
the pipelines functions that change data check the account again.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import streamlit as st

from pipelines import accounts, audit, store
from pipelines.accounts import Account
from ui.common import db_path, esc

SESSION = "auth_session"   # {"user", "login_at", "seen_at", "oidc"}
MESSAGE = "auth_message"


def _settings() -> dict:
    return accounts.auth_settings()


def current_account() -> Account | None:
    """The logged-in account of this session, or None (expired sessions end here)."""
    s = _settings()
    sess = st.session_state.get(SESSION)
    if sess is None and s.get("oidc"):
        sess = _oidc_session()
    if sess is None:
        return None
    now = datetime.now()
    idle = timedelta(minutes=float(s["session_idle_minutes"]))
    total = timedelta(hours=float(s["session_max_hours"]))
    if now - sess["seen_at"] > idle or now - sess["login_at"] > total:
        _end(sess, "会话超时，自动退出")
        st.session_state[MESSAGE] = "登录已超时，请重新登录。"
        return None
    try:
        with store.connect(db_path(), on_wait=None) as con:
            acc = accounts.get_account(con, sess["user"])
    except Exception:
        acc = None
    if acc is None:
        st.session_state.pop(SESSION, None)
        return None
    sess["seen_at"] = now
    return acc


def _oidc_session() -> dict | None:
    """Streamlit's st.login (OIDC) when switched on: the role mapping stays in the database."""
    try:
        user = st.user
        if not getattr(user, "is_logged_in", False):
            return None
        email = user.get("email") or user.get("sub")
    except Exception:
        return None
    with store.connect(db_path(), on_wait=None) as con:
        acc = accounts.account_for_identity(con, email)
    if acc is None:
        st.session_state[MESSAGE] = f"统一身份认证账户「{email}」尚未在本平台开通，请联系管理员。"
        return None
    now = datetime.now()
    sess = st.session_state[SESSION] = {"user": acc.user_name, "login_at": now, "seen_at": now, "oidc": True}
    audit.log(db_path(), acc, "login", detail="统一身份认证（OIDC）")
    return sess


def _end(sess: dict, reason: str) -> None:
    st.session_state.pop(SESSION, None)
    try:
        with store.connect(db_path(), on_wait=None) as con:
            acc = accounts.get_account(con, sess["user"])
        accounts.logout(db_path(), acc or Account(user_name=sess["user"], role=""), reason)
    except Exception:
        pass
    if sess.get("oidc"):
        try:
            st.logout()
        except Exception:
            pass


def _login(prefix: str = "") -> None:
    name = str(st.session_state.get(f"{prefix}login_user") or "").strip()
    password = str(st.session_state.get(f"{prefix}login_password") or "")
    st.session_state[f"{prefix}login_password"] = ""  # never kept in the session
    if not name or not password:
        st.session_state[MESSAGE] = "请输入用户名和口令。"
        return
    try:
        with store.connect(db_path(), write=True, on_wait=None) as con:
            acc = accounts.authenticate(con, name, password)
    except accounts.LoginError as exc:
        st.session_state[MESSAGE] = str(exc)
        return
    except store.BusyError:
        st.session_state[MESSAGE] = "数据库正忙，请稍后再试。"
        return
    now = datetime.now()
    st.session_state[SESSION] = {"user": acc.user_name, "login_at": now, "seen_at": now, "oidc": False}
    st.session_state.pop(MESSAGE, None)


def take_message() -> str | None:
    return st.session_state.pop(MESSAGE, None)


def logout() -> None:
    _logout()


def _logout() -> None:
    sess = st.session_state.get(SESSION)
    if sess:
        _end(sess, "退出登录")
    # widget state of the pages is dropped with the account: nothing acts on it afterwards
    for k in list(st.session_state.keys()):
        if k not in (SESSION,) and not str(k).startswith("_"):
            del st.session_state[k]
    st.session_state[MESSAGE] = "已退出登录。"


def sidebar() -> Account | None:
    """The login form (or who is logged in, and 退出登录) at the top of every page's sidebar."""
    acc = current_account()
    box = st.sidebar.container(border=True)
    msg = st.session_state.pop(MESSAGE, None)
    if acc is not None:
        box.markdown(f":material/account_circle: **{esc(acc.display_name or acc.user_name)}**　{acc.role_zh}"
                     + (f"·{_unit_name(acc.unit_code)}" if acc.unit_code else ""))
        box.button("退出登录", key="auth_logout", on_click=_logout, icon=":material/logout:")
        return acc
    if msg:
        box.warning(msg)
    s = _settings()
    if s.get("oidc"):
        if box.button("统一身份认证登录", key="auth_oidc", icon=":material/login:"):
            st.login()
    with box.expander("登录", icon=":material/login:", expanded=bool(msg) or s["viewing_requires_login"]):
        login_form()
    return None


def login_form(prefix: str = "") -> None:
    """用户名, 口令, 登录 (the sidebar's, or the 登录 page's with ``prefix="page_"``)."""
    with st.form(f"{prefix}login_form", clear_on_submit=False, border=False):
        st.text_input("用户名", key=f"{prefix}login_user", autocomplete="username")
        st.text_input("口令", type="password", key=f"{prefix}login_password", autocomplete="current-password")
        st.form_submit_button("登录", on_click=_login, args=(prefix,), type="primary", key=f"{prefix}login_submit")
    st.caption("报送报表、恢复版本和系统管理需要登录。账户由管理员开通。")


def _unit_name(code: str) -> str:
    from ui.common import reference

    return reference().unit_name(code)


def login_required(action: str, unit_code: str | None = None) -> Account:
    """For a page (or part) that needs a login: stop with a Chinese notice unless allowed."""
    acc = current_account()
    what = accounts.ACTION_ZH.get(action, action)
    if acc is None:
        st.info(f"{what}需要登录。请在左侧边栏「登录」中输入用户名和口令。", icon=":material/lock:")
        st.page_link("pages/login.py", label="去登录", icon=":material/login:")
        st.stop()
    if not acc.can(action, unit_code):
        st.warning(f"当前账户（{acc.role_zh}）没有「{what}」的权限。如需开通，请联系管理员。", icon=":material/block:")
        st.stop()
    return acc


def logged(what: str, make, *, unit_code: str | None = None):
    """``make`` (a download's deferred data) that records an 「导出数据」 in the audit log when it runs.

    The account is taken now, while the page runs: Streamlit calls the data later,
    outside the page's session.
    """
    acc, db = current_account(), db_path()

    def run():
        data = make()
        try:
            audit.log(db, acc, "export", object=what, unit_code=unit_code,
                      detail=f"{len(data):,} 字节" if isinstance(data, (bytes, str)) else None)
        except Exception:  # a busy database must not cost the user the file
            pass
        return data
    return run
