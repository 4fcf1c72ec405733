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
"""


def bar_chart(title: str, bars: Sequence[tuple[str, float, str]]) -> str:
    """Horizontal bars as inline SVG.

    Args:
        title: shown above the bars.
        bars: ``(label, fraction in [0, 1], caption)`` per bar; the caption is
            printed after the bar (e.g. ``"42.0% (n=120)"``).
    """
    if not bars:
        return ""
    row_h, label_w, bar_w = 22, 190, 520
    height = row_h * len(bars) + 30
    parts = [
        f'<svg role="img" aria-label="{escape(title)}" width="{label_w + bar_w + 160}" '
        f'height="{height}" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="0" y="14" font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, fraction, caption) in enumerate(bars):
        y = 24 + i * row_h
        width = max(1.0, bar_w * min(max(fraction, 0.0), 1.0))
        parts += [
            f'<text x="0" y="{y + 14}">{escape(label[:28])}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="14" fill="#eee"/>',
            f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="14" fill="#3b7dd8"/>',
            f'<text x="{label_w + bar_w + 8}" y="{y + 14}">{escape(caption)}</text>',
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
