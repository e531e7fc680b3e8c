"""Series to SVG charts for the statistics page, pure: no script, no style attribute (the CSP
allows neither inline), colours by class from the staff stylesheet.

Every text (titles, labels, series names) is escaped here, so a caller may hand in whatever a
question set or a database holds. A value of ``None`` is a suppressed count (``stats.export``):
it is drawn as a grey stub at the baseline and named "fewer than 5", never as its number. Each
chart carries ``<title>`` (its name: ``aria-labelledby``) and ``<desc>`` (``aria-describedby``),
and the page puts a table of the same numbers beside it for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from app.supervision.stats import MIN_COUNT

SUPPRESSED = f"fewer than {MIN_COUNT}"
WIDTH = 720
COLUMNS_HEIGHT = 280
_LEFT, _RIGHT, _TOP, _BOTTOM = 84, 12, 16, 70
_MAX_LABELS = 10
BAR_ROW = 30
_BAR_LABEL = 230


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[float | None, ...]
    #: Colour class suffix: ``chart-joins`` etc. in console.css.
    css: str


def _number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def nice_ceiling(value: float) -> float:
    """The axis' top: the smallest 1, 2 or 5 times a power of ten, at least ``value`` and 1."""
    if value <= 1:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def _open(chart_id: str, title: str, desc: str, height: int) -> Markup:
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {w} {h}" '
        'width="{w}" height="{h}" role="img" aria-labelledby="{i}-title" '
        'aria-describedby="{i}-desc">'
        '<title id="{i}-title">{t}</title><desc id="{i}-desc">{d}</desc>'
    ).format(w=WIDTH, h=height, i=chart_id, t=title, d=desc)


def _empty(chart_id: str, title: str, desc: str) -> Markup:
    height = 60
    return (
        _open(chart_id, title, desc, height)
        + Markup(
            '<text class="chart-note" x="{}" y="34" text-anchor="middle">No data</text>'
        ).format(WIDTH // 2)
        + Markup("</svg>")
    )


def _legend(series: Sequence[Series], y: float, suppressed: str | None) -> Markup:
    parts = []
    x = float(_LEFT)
    entries = [(s.name, f"chart-{s.css}") for s in series]
    if suppressed is not None:
        entries.append((f"{suppressed} (not shown)", "chart-suppressed"))
    for name, css in entries:
        parts.append(
            Markup(
                '<rect class="{}" x="{:.1f}" y="{:.1f}" width="12" height="12"/>'
                '<text class="chart-label" x="{:.1f}" y="{:.1f}">{}</text>'
            ).format(css, x, y - 10, x + 16, y, name)
        )
        x += 16 + 7.5 * len(name) + 20
    return Markup("").join(parts)


def columns(
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    series: Sequence[Series],
    top: float | None = None,
    fmt: Callable[[float], str] = _number,
    suppressed: str = SUPPRESSED,
) -> Markup:
    """Grouped vertical columns, one group per label (e.g. a day), one column per series.

    ``top`` fixes the axis' top (100 for percentages); else it is the largest shown value
    rounded up by ``nice_ceiling`` (10 when none is shown). ``suppressed`` names a value not
    shown (a percentile: "fewer than 5 served"). Raises ``ValueError`` when a series' length
    differs from ``labels``'.
    """
    if any(len(s.values) != len(labels) for s in series):
        raise ValueError("every series needs one value per label")
    if not labels or not series:
        return _empty(chart_id, title, desc)
    shown = [v for s in series for v in s.values if v is not None]
    # Nothing shown: an axis to 2 x MIN_COUNT, so that the stubs sit below "5".
    axis_top = top if top is not None else nice_ceiling(max(shown, default=2.0 * MIN_COUNT))
    plot_w = WIDTH - _LEFT - _RIGHT
    plot_h = COLUMNS_HEIGHT - _TOP - _BOTTOM
    base = _TOP + plot_h
    group = plot_w / len(labels)
    bar = group * 0.8 / len(series)
    parts = [_open(chart_id, title, desc, COLUMNS_HEIGHT)]
    for tick in (0.0, axis_top / 2, axis_top):
        y = base - plot_h * tick / axis_top
        parts.append(
            Markup(
                '<line class="chart-grid" x1="{l}" x2="{r}" y1="{y:.1f}" y2="{y:.1f}"/>'
                '<text class="chart-label" x="{x}" y="{ty:.1f}" text-anchor="end">{t}</text>'
            ).format(l=_LEFT, r=WIDTH - _RIGHT, y=y, x=_LEFT - 6, ty=y + 4, t=fmt(tick))
        )
    step = math.ceil(len(labels) / _MAX_LABELS)
    for i, label in enumerate(labels):
        x0 = _LEFT + group * i + group * 0.1
        for j, s in enumerate(series):
            x = x0 + bar * j
            value = s.values[i]
            if value is None:
                parts.append(
                    Markup(
                        '<rect class="chart-suppressed" x="{:.1f}" y="{:.1f}" width="{:.1f}" '
                        'height="3"><title>{}, {}: {}</title></rect>'
                    ).format(x, base - 3, max(bar - 1, 1), label, s.name, suppressed)
                )
                continue
            h = plot_h * min(value, axis_top) / axis_top
            parts.append(
                Markup(
                    '<rect class="chart-{}" x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}">'
                    "<title>{}, {}: {}</title></rect>"
                ).format(s.css, x, base - h, max(bar - 1, 1), h, label, s.name, fmt(value))
            )
        if i % step == 0:
            cx = _LEFT + group * i + group / 2
            parts.append(
                Markup(
                    '<text class="chart-label" x="{x:.1f}" y="{y}" text-anchor="end" '
                    'transform="rotate(-40 {x:.1f} {y})">{t}</text>'
                ).format(x=cx, y=base + 14, t=label)
            )
    has_suppressed = any(v is None for s in series for v in s.values)
    parts.append(_legend(series, COLUMNS_HEIGHT - 8, suppressed if has_suppressed else None))
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


def bars(
    *,
    chart_id: str,
    title: str,
    desc: str,
    labels: Sequence[str],
    values: Sequence[int | None],
    css: str,
) -> Markup:
    """Horizontal bars, one per label (e.g. an outcome), with the count written after each bar
    (``fewer than 5`` for a suppressed one). Raises ``ValueError`` on unequal lengths."""
    if len(values) != len(labels):
        raise ValueError("one value per label")
    if not labels:
        return _empty(chart_id, title, desc)
    height = _TOP + BAR_ROW * len(labels) + 8
    axis_top = nice_ceiling(max((v for v in values if v is not None), default=0))
    plot_w = WIDTH - _BAR_LABEL - 110
    parts = [_open(chart_id, title, desc, height)]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = _TOP + BAR_ROW * i
        parts.append(
            Markup(
                '<text class="chart-label" x="{}" y="{:.1f}" text-anchor="end">{}</text>'
            ).format(_BAR_LABEL - 8, y + BAR_ROW / 2 + 4, label)
        )
        if value is None:
            w, css_class, text = 3.0, "chart-suppressed", SUPPRESSED
        else:
            w, css_class, text = max(plot_w * value / axis_top, 1.0), f"chart-{css}", str(value)
        parts.append(
            Markup(
                '<rect class="{}" x="{}" y="{:.1f}" width="{:.1f}" height="{:.1f}">'
                "<title>{}: {}</title></rect>"
                '<text class="chart-label" x="{:.1f}" y="{:.1f}">{}</text>'
            ).format(
                css_class,
                _BAR_LABEL,
                y + 5,
                w,
                BAR_ROW - 10,
                label,
                text,
                _BAR_LABEL + w + 6,
                y + BAR_ROW / 2 + 4,
                text,
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)
