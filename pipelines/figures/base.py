"""What every figure shares: one template, the status colours, titles, subtitles and the source line.

Every figure says what it shows when it stands alone (a screenshot pasted
into a briefing): a Chinese title saying what and where, a subtitle with the
scope and as-of date, units on the axes, and a source line (data/settings.yaml
``source_note``). Status colours are the same everywhere.
"""
from __future__ import annotations

from datetime import date

import plotly.graph_objects as go
import plotly.io as pio

from .. import geo as _geo
from ..vocab import (
    STATUS_AHEAD, STATUS_BEHIND, STATUS_DONE, STATUS_NO_TARGET, STATUS_NONE, STATUS_PARTIAL, STATUS_SLIGHT,
    STATUS_SUBSET,
    date_zh, source_note,
)

FONT = "Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, PingFang SC, SimHei, sans-serif"

STATUS_COLORS = {
    STATUS_DONE: "#1a7f37",    # green
    STATUS_AHEAD: "#2f81f7",   # blue
    STATUS_SLIGHT: "#d4a72c",  # amber
    STATUS_BEHIND: "#cf222e",  # red
    STATUS_PARTIAL: "#8c959f",  # units missing: figures, no verdict
    STATUS_NO_TARGET: "#8c959f",
    STATUS_SUBSET: "#8c959f",
    STATUS_NONE: "#d0d7de",
}
TIME_COLOR = "#57606a"
SEQUENCE = ["#2f81f7", "#1a7f37", "#d4a72c", "#8250df", "#cf222e", "#1b7c83", "#bf3989", "#953800",
            "#57606a", "#0969da", "#4ac26b", "#e16f24"]
pio.templates["kjhz"] = go.layout.Template(layout=dict(
    font=dict(family=FONT, size=13, color="#1f2328"),
    colorway=SEQUENCE,
    paper_bgcolor="white", plot_bgcolor="white",
    margin=dict(l=70, r=30, t=90, b=80),
    xaxis=dict(gridcolor="#eaeef2", zerolinecolor="#d0d7de", automargin=True),
    yaxis=dict(gridcolor="#eaeef2", zerolinecolor="#d0d7de", automargin=True),
    legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0, title_text=""),
    hoverlabel=dict(font_family=FONT),
))
TEMPLATE = "kjhz"


def subtitle(scope: str, as_of: date | None, extra: str | None = None) -> str:
    parts = [scope]
    if as_of is not None:
        parts.append(f"截至{date_zh(as_of)}")
    if extra:
        parts.append(extra)
    return " · ".join(parts)


# The narrowest place a chart gets from a 1024-pixel screen up (ui/assets/page.css: columns
# holding a chart go one under the other below 400 px); titles (18 px), subtitles (13 px) and
# footers (11 px) are broken into lines that fit it.
MIN_CHART_PX = 400


def _chars(width_px: int, font_px: int) -> float:
    """Wide (CJK) characters per line of text in a chart ``width_px`` wide (20 px of margins)."""
    return (width_px - 20) / font_px
TITLE_LINE_PX, SUBTITLE_LINE_PX = 22, 17
FOOTER_LINE_PX = 15  # one line of the 11-px footer


def _units(text: str) -> float:
    """Drawn width in wide characters: CJK and full-width 1, the rest about half."""
    import re as _re

    plain = _re.sub(r"<[^>]+>", "", text)
    return sum(1.0 if ord(ch) > 0x2E7F else 0.55 for ch in plain)


def fit_lines(text: str, chars: float) -> str:
    """Break ``text`` into lines of at most ``chars`` wide characters, at its separators
    (「 · 」, a full-width space, 「；」, 「，」) and existing <br>; a part longer than a line stays whole."""
    import re as _re

    out = []
    for line in str(text).split("<br>"):
        if _units(line) <= chars:
            out.append(line)
            continue
        parts = _re.split(r"( · |　|；|，)", line)
        cur = ""
        for k in range(0, len(parts), 2):
            piece = parts[k] + (parts[k + 1] if k + 1 < len(parts) and parts[k + 1] in "；，" else "")
            sep = parts[k - 1] if k and parts[k - 1] not in "；，" else ""
            if cur and _units(cur + sep + piece) > chars:
                out.append(cur.rstrip())
                cur = piece
            else:
                cur = cur + sep + piece if cur else piece
        out.append(cur.rstrip())
    lines = []
    for line in out:  # a part still too long (a title without separators): even pieces
        n = int(_units(line) // chars) + 1 if _units(line) > chars else 1
        if n == 1 or "<" in line:
            lines.append(line)
            continue
        step = -(-len(line) // n)
        lines += [line[k:k + step] for k in range(0, len(line), step)]
    return "<br>".join(x for x in lines if x != "")


def footer_text(note: str | None = None, source: str | None = None, width_px: int = MIN_CHART_PX) -> str:
    """The footer finish() draws: the source line and the note, in lines that fit the chart."""
    src = source or source_note()
    return fit_lines(src if not note else f"{src}　{note}", _chars(width_px, 11))


def finish(fig: go.Figure, title: str, sub: str, *, source: str | None = None, note: str | None = None,
           height: int | None = None, width_px: int = MIN_CHART_PX) -> go.Figure:
    """Apply the template, title, subtitle and source line to a figure.

    Long titles, subtitles and source lines are broken into lines that fit a chart ``width_px``
    wide, the narrowest it is drawn (plotly never wraps text: a long subtitle would lose its as-of
    date at the chart's edge); the top margin, and a legend placed under the subtitle, move down
    by the extra lines.
    """
    src = source or source_note()
    foot = footer_text(note, source, width_px)
    title_shown, sub_shown = fit_lines(title, _chars(width_px, 18)), fit_lines(sub, _chars(width_px, 13))
    extra = TITLE_LINE_PX * title_shown.count("<br>") + SUBTITLE_LINE_PX * sub_shown.count("<br>")
    fig.update_layout(
        template=TEMPLATE,
        title=dict(text=title_shown, subtitle=dict(text=sub_shown, font=dict(size=13, color="#57606a")),
                   x=0.01, xanchor="left", y=0.97, yanchor="top", font=dict(size=18)),
        height=height,
    )
    if extra:
        top = fig.layout.margin.t if fig.layout.margin.t is not None else 90
        fig.update_layout(margin_t=top + extra)
        old_h = fig.layout.height
        new_h = old_h + extra if old_h else None
        legend = fig.layout.legend
        if legend.yref == "container" and legend.y is not None and old_h:
            fig.update_layout(legend_y=1 - ((1 - legend.y) * old_h + extra) / new_h)
        if new_h:
            fig.update_layout(height=new_h)
    # the source line sits below the x-axis title: margin and offset leave room for both
    base = max(fig.layout.margin.b or 0, 105)
    fig.update_layout(margin=dict(b=base + FOOTER_LINE_PX * foot.count("<br>")))
    fig.add_annotation(text=foot, xref="paper", yref="paper", x=0, y=0, xanchor="left", yanchor="top",
                       yshift=-(base - 28), showarrow=False, font=dict(size=11, color="#57606a"), align="left")
    fig.update_layout(meta={"title": title, "subtitle": sub, "source": src})
    return fig


def empty_figure(title: str, sub: str, message: str, height: int = 320) -> go.Figure:
    """A chart that says why it is empty instead of drawing nothing."""
    fig = go.Figure()
    fig.add_annotation(text=message, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False,
                       font=dict(size=15, color="#57606a"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return finish(fig, title, sub, height=height)


def export_image(fig: go.Figure, fmt: str = "png", scale: float = 2, width: int = 1200, demo: bool = False) -> bytes:
    """A static image (png/svg/pdf) of a figure for briefing documents, from the process's one warm
    kaleido renderer (figures/images.py); ``demo`` puts 「演示数据」 into the image.

    Needs a Chromium (Debian's ``chromium``; ``BROWSER_PATH``) and a CJK font
    (``fonts-noto-cjk``), both installed by scripts/setup.sh.
    """
    from .images import render

    return render(fig, fmt, scale=scale, width=width, demo=demo)


def fixed_margins(fig: go.Figure, left_labels=(), *, right: int | None = None, font_px: int = 13) -> go.Figure:
    """Margins set in the figure instead of plotly's automatic ones, which make plotly.js lay a
    chart out a second time in the browser on every load (0.04-0.15 s a chart): on the left, room
    for the longest of ``left_labels`` (the y tick labels, ``font_px`` high); ``right`` in pixels."""
    fig.update_xaxes(automargin=False)
    fig.update_yaxes(automargin=False)
    margin = {}
    if len(left_labels):
        margin["l"] = int(font_px * max(_units(str(s)) for s in left_labels)) + 20
    if right is not None:
        margin["r"] = right
    fig.update_layout(margin=margin)
    return fig


def _legend_under_subtitle(height: int) -> dict:
    """A horizontal legend on its own line under the title and subtitle (never over them)."""
    return dict(orientation="h", yref="container", y=1 - 92 / height, yanchor="top", xanchor="left", x=0.01)



NO_DATA_COLOR = STATUS_COLORS[STATUS_NONE]


def _map_note(extra: str | None = None) -> str:
    """The boundary caption on its own lines under the source line (wrapped to fit half a screen)."""
    note = "<br>" + _geo.boundary_caption()
    return note if not extra else f"{extra}{note}"


def _fit_footer(fig: go.Figure, gap: int) -> go.Figure:
    """Start finish()'s footer ``gap`` px below the plot area and make the bottom margin exactly as
    tall as its lines (finish() leaves room for one line only), so none is cut off."""
    meta = fig.layout.meta if isinstance(fig.layout.meta, dict) else {}
    for ann in fig.layout.annotations:
        if isinstance(ann.text, str) and ann.text.startswith(meta.get("source", "\0")):
            ann.yshift = -gap
            lines = 1 + ann.text.count("<br>")
            fig.update_layout(margin_b=gap + FOOTER_LINE_PX * lines + 12)
    return fig


def _map_footer(fig: go.Figure, gap: int = 6) -> go.Figure:
    """The footer right under a map: maps have no x-axis title to clear."""
    return _fit_footer(fig, gap)


def _footer_height(note: str, width_px: int = MIN_CHART_PX) -> int:
    """The bottom margin _map_footer will give the footer finish() draws with this note (for a map's zoom)."""
    return 6 + FOOTER_LINE_PX * (1 + footer_text(note, width_px=width_px).count("<br>")) + 12

def _wrap(text: str, width: int, max_lines: int = 3) -> str:
    """Break a short Chinese label into even lines of at most ``width`` characters."""
    import math as _math

    n = min(max_lines, max(1, _math.ceil(len(text) / width)))
    step = _math.ceil(len(text) / n)
    return "<br>".join(text[k:k + step] for k in range(0, len(text), step))


def nice_scale(lo: float, hi: float, ticks: int = 5) -> tuple[float, float]:
    """(top, step): a colour scale from ``lo`` whose top tick is at or above ``hi`` (a reader reads
    the top label as the end of the scale: 21 must not sit above a scale labelled up to 20)."""
    import math as _math

    span = hi - lo
    if span <= 0:
        return lo + 1, 1
    raw = span / ticks
    mag = 10 ** _math.floor(_math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    return lo + _math.ceil(span / step - 1e-9) * step, step
