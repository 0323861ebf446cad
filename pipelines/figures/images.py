"""Static images of figures (PNG/SVG/PDF) through one warm kaleido renderer.

A fresh Chromium per image is what made an export take 15-27 s: here one
renderer (kaleido's sync server: one browser, kept running for the process)
serves every export, and a batch of figures goes through it in one go.
Calls from several threads (Streamlit sessions) take turns on a lock, since
the server answers one request at a time.

Images of demo data carry 「演示数据」 in the image itself (a label by the
source line and a light watermark), so a pasted image never passes for real
figures. No network: plotly.js comes from the installed plotly package and
MathJax is off.
"""
from __future__ import annotations

import atexit
import os
import shutil
import threading

import plotly.graph_objects as go

DEMO_LABEL = "演示数据（非真实报送）"
DEMO_WATERMARK = "演示数据"
DEMO_COLOR = "#cf222e"
DEFAULT_WIDTH = 1200
DEFAULT_HEIGHT = 520
MIME = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}

_lock = threading.Lock()
_started = False


def _browser() -> None:
    if not os.environ.get("BROWSER_PATH"):
        found = shutil.which("chromium") or shutil.which("chromium-browser")
        if found:
            os.environ["BROWSER_PATH"] = found


def warm_up() -> None:
    """Start the process's one renderer (idempotent); it stops when the process exits."""
    global _started
    import kaleido

    with _lock:
        if _started and kaleido._global_server.is_running():  # noqa: SLF001
            return
        _browser()
        kaleido.start_sync_server(n=1, timeout=120, mathjax=False, silence_warnings=True)
        _started = True
        atexit.register(lambda: kaleido.stop_sync_server(silence_warnings=True))


def mark_demo(fig: go.Figure, watermark: bool = True) -> go.Figure:
    """A copy of ``fig`` that says 「演示数据」 in the image: a red label at the bottom right (the
    source line's row) and, unless ``watermark`` is false, a light diagonal watermark across the plot."""
    out = go.Figure(fig)
    bottom = out.layout.margin.b if out.layout.margin and out.layout.margin.b is not None else 80
    out.add_annotation(text=f"<b>{DEMO_LABEL}</b>", xref="paper", yref="paper", x=1, y=0, xanchor="right",
                       yanchor="top", yshift=-(max(bottom, 105) - 28), showarrow=False,
                       font=dict(size=12, color=DEMO_COLOR))
    if not watermark:
        return out
    out.add_annotation(text=DEMO_WATERMARK, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       textangle=-20, font=dict(size=72, color="rgba(207, 34, 46, 0.10)"))
    return out


def _opts(fig: go.Figure, fmt: str, width: int, scale: float) -> dict:
    return dict(format=fmt, width=width, height=fig.layout.height or DEFAULT_HEIGHT,
                scale=scale if fmt == "png" else 1)


def render(fig: go.Figure, fmt: str = "png", scale: float = 2, width: int = DEFAULT_WIDTH,
           demo: bool = False) -> bytes:
    """One image of ``fig`` from the warm renderer."""
    return render_batch([fig], fmt, scale, width, demo)[0]


def render_batch(figs: list[go.Figure], fmt: str = "png", scale: float = 2, width: int = DEFAULT_WIDTH,
                 demo: bool = False) -> list[bytes]:
    """Images of several figures in one go, through the one warm renderer."""
    import kaleido

    warm_up()
    prepared = [mark_demo(f) if demo else f for f in figs]
    out = []
    with _lock:
        for f in prepared:
            out.append(kaleido.calc_fig_sync(f.to_dict(), opts=_opts(f, fmt, width, scale)))
    return out
