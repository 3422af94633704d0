"""PURE: hand-written SVG chart of one load scenario, per second: offered, accepted, 429 and the model.

SVG (text) avoids a plotting dependency; it renders in browsers and inside the Allure report.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from reports.gate import SecondSample

WIDTH, HEIGHT = 720, 300
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 36, 58
SERIES = (  # (label, attribute, colour, dash)
    ("offered", "offered", "#7f8c8d", ""),
    ("accepted", "accepted", "#27ae60", ""),
    ("429", "throttled", "#c0392b", ""),
    ("model (token bucket)", "model_accepted", "#2e86de", "6 4"),
)


def _nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def _polyline(points: Sequence[tuple[float, float]], colour: str, dash: str) -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dash_attr} points="{coords}"/>'


def per_second_svg(samples: Sequence[SecondSample], title: str) -> str:
    """Offered, accepted and 429 per second against the model's accepted count; one SVG document."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>'
        f'<text x="{LEFT}" y="20" font-size="13" font-weight="bold">{escape(title)}</text>'
    )
    if not samples:
        return head + f'<text x="{LEFT}" y="{HEIGHT // 2}">no per-second data</text></svg>'
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    t0, t1 = samples[0].t, max(samples[-1].t, samples[0].t + 1)
    peak = max(max(s.offered, s.accepted, s.throttled, s.model_accepted or 0) for s in samples)
    y_max = _nice_max(peak)

    def x_of(t: float) -> float:
        return LEFT + (t - t0) / (t1 - t0) * plot_w

    def y_of(v: float) -> float:
        return TOP + plot_h - v / y_max * plot_h

    parts = [head]
    for i in range(5):  # horizontal grid and y labels
        value = y_max * i / 4
        y = y_of(value)
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:g}</text>')
    decimals = 1 if t1 - t0 < 5 else 0  # short scenarios: tenths, so labels do not repeat
    for i in range(6):  # x labels in seconds
        t = t0 + (t1 - t0) * i / 5
        parts.append(
            f'<text x="{x_of(t):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">'
            f"{t - t0:.{decimals}f}s</text>"
        )
    parts.append(
        f'<text x="14" y="{TOP + plot_h / 2:.0f}" transform="rotate(-90 14 {TOP + plot_h / 2:.0f})" '
        'text-anchor="middle">requests per second</text>'
    )
    for label, attr, colour, dash in SERIES:
        values = [(s.t, getattr(s, attr)) for s in samples]
        points = [(x_of(t), y_of(float(v))) for t, v in values if v is not None]
        if points:
            parts.append(
                f'<g class="series" data-series="{escape(label)}">{_polyline(points, colour, dash)}</g>'
            )
    legend_y = HEIGHT - 14
    for i, (label, _, colour, dash) in enumerate(SERIES):
        x = LEFT + i * 150
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x}" y1="{legend_y - 4}" x2="{x + 22}" y2="{legend_y - 4}" stroke="{colour}" '
            f'stroke-width="2"{dash_attr}/><text x="{x + 28}" y="{legend_y}">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
