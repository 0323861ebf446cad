"""The app's pages: one list, read by app.py (the sidebar), ui.launch (the page addresses) and the tests.

No Streamlit here: the launcher reads it before the server starts.
"""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PAGE = "overview"  # the page at the app's own address ("/")

# section -> [(file, title, material icon, url path)]; a page appears once its file exists.
SECTIONS: dict[str, list[tuple[str, str, str, str]]] = {
    "进展监测": [
        ("pages/overview.py", "总览", "dashboard", "overview"),
        ("pages/briefing.py", "简报", "description", "briefing"),
        ("pages/trends.py", "进度趋势", "trending_up", "trends"),
        ("pages/region.py", "按盟市", "map", "region"),
        ("pages/sector.py", "按领域", "category", "sector"),
        ("pages/partner.py", "按国别", "public", "partner"),
        ("pages/explorer.py", "明细查询", "table_view", "explorer"),
    ],
    "数据报送": [
        ("pages/upload.py", "数据报送", "upload_file", "upload"),
        ("pages/reporting.py", "报送情况", "fact_check", "reporting"),
        ("pages/history.py", "版本历史", "history", "history"),
    ],
    "系统管理": [
        ("pages/admin.py", "系统管理", "admin_panel_settings", "admin"),
    ],
    "账户": [
        ("pages/login.py", "登录", "login", "login"),
    ],
}


def sections() -> dict[str, list[tuple[str, str, str, str]]]:
    """SECTIONS with only the pages whose file exists (as the sidebar shows them)."""
    return {s: [e for e in entries if (REPO / e[0]).exists()] for s, entries in SECTIONS.items()}


def url_paths() -> list[str]:
    """Every page's address below the app's own (``partner`` for ``http://host/partner``)."""
    return [e[3] for entries in SECTIONS.values() for e in entries]
