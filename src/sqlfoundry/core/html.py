"""Pieces of the self-contained HTML reports: one style sheet, inline SVG bar charts, no CDN."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
.cards { display: flex; gap: 1rem; flex-wrap: wrap; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: .6rem 1rem; min-width: 8rem; }
.card b { display: block; font-size: 1.4rem; }
table { border-collapse: collapse; width: 100%; margin-top: .5rem; }
th, td { border: 1px solid #ddd; padding: .3rem .5rem; vertical-align: top; text-align: left; }
th { background: #f5f5f5; }
code, pre { font: 12px/1.4 ui-monospace, monospace; white-space: pre-wrap; word-break: break-word; }
.err { color: #a00; } .warn { color: #a60; } .muted { color: #777; }
.chart { overflow-x: auto; margin: .5rem 0 1rem; }
table.narrow { width: auto; } table.narrow td { text-align: right; }
"""


# Series colours of the grouped charts (EX, EM, ...): distinct for colour-blind readers too.
SERIES_COLORS = ("#3b7dd8", "#e08a2c", "#3aa17e", "#8e6bbf")
_CHAR_W = 7.6  # px per character of the 13px labels; generous, so no name is cut


def bar_chart(title: str, bars: Sequence[tuple[str, float, str]]) -> str:
    """Horizontal bars as inline SVG.

    Args:
        title: shown above the bars.
        bars: ``(label, fraction in [0, 1], caption)`` per bar; the caption is
            printed after the bar (e.g. ``"42.0% (n=120)"``). Labels are shown whole.
    """
    groups = [(label, [(fraction, caption)]) for label, fraction, caption in bars]
    return grouped_bar_chart(title, groups, series=())


def grouped_bar_chart(
    title: str,
    groups: Sequence[tuple[str, Sequence[tuple[float, str]]]],
    series: Sequence[str],
) -> str:
    """Groups of horizontal bars as inline SVG: one bar per series in each group.

    Args:
        title: shown above the chart.
        groups: ``(label, [(fraction in [0, 1], caption), ...])``, one value per series.
        series: the series names, shown as a legend (none for a single unnamed series).
    """
    if not groups:
        return ""
    per_group = max(len(values) for _, values in groups)
    bar_h, gap, bar_w = 14, 8, 480
    label_w = int(16 + _CHAR_W * max(len(label) for label, _ in groups))
    caption_w = int(16 + _CHAR_W * max(len(c) for _, values in groups for _, c in values))
    top = 24 + (20 if series else 0)
    group_h = per_group * (bar_h + 2) + gap
    height = top + group_h * len(groups) + 4
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" width="{label_w + bar_w + caption_w}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg" font-size="13">',
        f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>',
    ]
    x = 0
    for i, name in enumerate(series):
        color = SERIES_COLORS[i % len(SERIES_COLORS)]
        parts += [f'<rect x="{x}" y="26" width="12" height="12" fill="{color}"/>',
                  f'<text x="{x + 16}" y="37">{escape(name)}</text>']  # fmt: skip
        x += int(28 + _CHAR_W * len(name))
    for g, (label, values) in enumerate(groups):
        y = top + g * group_h
        parts.append(f'<text x="0" y="{y + bar_h - 2}"><title>{escape(label)}</title>'
                     f"{escape(label)}</text>")  # fmt: skip
        for k, (fraction, caption) in enumerate(values):
            row = y + k * (bar_h + 2)
            width = max(1.0, bar_w * min(max(fraction, 0.0), 1.0))
            color = SERIES_COLORS[k % len(SERIES_COLORS)]
            parts += [
                f'<rect x="{label_w}" y="{row}" width="{bar_w}" height="{bar_h}" fill="#eee"/>',
                f'<rect x="{label_w}" y="{row}" width="{width:.1f}" height="{bar_h}" fill="{color}"/>',
                f'<text x="{label_w + bar_w + 8}" y="{row + bar_h - 2}">{escape(caption)}</text>',
            ]
    parts.append("</svg>")
    return "".join(parts)


def page(title: str, body: str) -> str:
    """A whole HTML document around ``body``."""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )
