"""PURE: hand-written SVG charts of one load scenario, at the scale of its behaviour.

- burst: cumulative sent, accepted and 429 against the model's cumulative accepted, in bins of at
  most 10 ms (1 ms for a burst sent in 0.15 s), with the bucket size marked: the accepted line rises
  with the sends until the bucket is empty, then bends to the refill rate;
- rate: sent, accepted and 429 per 100 ms bin (as requests per second) against the model, with the
  configured rate marked;
- quota: accepted, 'Limit Exceeded' and 'Too Many Requests' per key, against each key's quota.

The series come from the load part (load/verdict.py `chart_series`, the record's "chart"); a
record without them (an older run) gets the per-second chart. SVG (text) avoids a plotting
dependency; it renders in browsers, inline in the Allure description and as an attachment.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from itertools import accumulate
from typing import Any
from xml.sax.saxutils import escape

from reports.gate import ScenarioResult, SecondSample

WIDTH, HEIGHT = 720, 340
LEFT, RIGHT, TOP, BOTTOM = 64, 24, 48, 76
GREY, GREEN, RED, DARK_RED, BLUE, ORANGE = "#7f8c8d", "#1a7f37", "#cf222e", "#8b0000", "#2e86de", "#d35400"
SERIES = (  # per-second chart: (label, attribute, colour, dash)
    ("offered", "offered", GREY, ""),
    ("accepted", "accepted", GREEN, ""),
    ("429", "throttled", RED, ""),
    ("model (token bucket)", "model_accepted", BLUE, "6 4"),
)
Legend = Sequence[tuple[str, str, str]]  # (label, colour, dash)


NICE_STEPS = (1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10)  # each divides into 4 readable grid steps


def _nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 1.2, ... 8 x 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1)
    for step in NICE_STEPS:
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def _nice_step(value: float) -> float:
    """A round tick step at or above value (1, 2, 2.5, 5 x 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= value - 1e-12)


def _num(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2g}"


def _polyline(points: Sequence[tuple[float, float]], colour: str, dash: str, width: float = 2) -> str:
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<polyline fill="none" stroke="{colour}" stroke-width="{width}"{dash_attr} points="{coords}"/>'


class _Frame:
    """Title, caption, axes with units, grid, and the mapping from data to pixels."""

    def __init__(self, title: str, caption: str, x_max: float, y_max: float) -> None:
        self.x_max, self.y_max = x_max or 1.0, _nice_max(y_max)
        self.plot_w, self.plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        self.parts = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
            f'viewBox="0 0 {WIDTH} {HEIGHT}" style="max-width:100%;height:auto" '
            f'font-family="sans-serif" font-size="12" role="img" aria-label="{escape(title)}">'
            f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>'
            f'<text x="{LEFT}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>'
            f'<text x="{LEFT}" y="36" fill="#444">{escape(caption)}</text>'
        ]

    def x(self, value: float) -> float:
        return LEFT + value / self.x_max * self.plot_w

    def y(self, value: float) -> float:
        return TOP + self.plot_h - value / self.y_max * self.plot_h

    def axes(self, x_label: str, y_label: str, x_tick: Callable[[float], str]) -> None:
        for i in range(5):  # horizontal grid and y labels
            value = self.y_max * i / 4
            y = self.y(value)
            self.parts.append(
                f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_num(value)}</text>'
            )
        step = _nice_step(self.x_max / 6)
        for i in range(int(self.x_max / step + 1e-9) + 1):  # x labels at round values
            value = i * step
            self.parts.append(
                f'<text x="{self.x(value):.1f}" y="{TOP + self.plot_h + 16}" text-anchor="middle">'
                f"{escape(x_tick(value))}</text>"
            )
        base, mid = TOP + self.plot_h, TOP + self.plot_h / 2
        self.parts.append(
            f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" stroke="#999"/>'
            f'<text x="{LEFT + self.plot_w / 2:.0f}" y="{base + 34}" text-anchor="middle">'
            f"{escape(x_label)}</text>"
            f'<text x="16" y="{mid:.0f}" transform="rotate(-90 16 {mid:.0f})" text-anchor="middle">'
            f"{escape(y_label)}</text>"
        )

    def series(self, name: str, points: Sequence[tuple[float, float]], colour: str, dash: str = "") -> None:
        if points:
            width = 3 if name == "accepted" else 2
            pixels = [(self.x(a), self.y(b)) for a, b in points]
            self.parts.append(
                f'<g class="series" data-series="{escape(name)}">{_polyline(pixels, colour, dash, width)}</g>'
            )

    def level(self, name: str, value: float, label: str, colour: str = ORANGE) -> None:
        """A horizontal marker (bucket size, configured rate, quota) across the plot, labelled at left."""
        y = self.y(value)
        self.parts.append(
            f'<g class="marker" data-marker="{escape(name)}" data-value="{value:g}">'
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="{colour}" '
            f'stroke-width="1.5" stroke-dasharray="2 3"/>'
            f'<text x="{LEFT + 6}" y="{y - 5:.1f}" fill="{colour}" font-weight="bold">'
            f"{escape(label)}</text></g>"
        )

    def legend(self, entries: Legend) -> None:
        y = HEIGHT - 12
        for i, (label, colour, dash) in enumerate(entries):
            x = LEFT + i * 160
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            self.parts.append(
                f'<line x1="{x}" y1="{y - 4}" x2="{x + 22}" y2="{y - 4}" stroke="{colour}" '
                f'stroke-width="2"{dash_attr}/><text x="{x + 28}" y="{y}">{escape(label)}</text>'
            )

    def svg(self) -> str:
        return "".join(self.parts) + "</svg>"


def _empty(title: str, why: str) -> str:
    frame = _Frame(title, why, 1, 1)
    return frame.svg()


def per_second_svg(samples: Sequence[SecondSample], title: str) -> str:
    """Offered, accepted and 429 per second against the model's accepted count (older records)."""
    if not samples:
        return _empty(title, "no per-second data")
    t0, t1 = samples[0].t, max(samples[-1].t, samples[0].t + 1)
    peak = max(max(s.offered, s.accepted, s.throttled, s.model_accepted or 0) for s in samples)
    frame = _Frame(title, "per second (this record has no finer series)", t1 - t0, peak)
    decimals = 1 if t1 - t0 < 5 else 0
    frame.axes("time (s)", "requests per second", lambda v: f"{v:.{decimals}f}")
    for label, attr, colour, dash in SERIES:
        points = [(s.t - t0, float(getattr(s, attr))) for s in samples if getattr(s, attr) is not None]
        frame.series(label, points, colour, dash)
    frame.legend([(label, colour, dash) for label, _, colour, dash in SERIES])
    return frame.svg()


def _ints(chart: Mapping[str, Any], name: str) -> list[int]:
    values = chart.get(name)
    return [int(v) for v in values if isinstance(v, int | float)] if isinstance(values, list) else []


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# The four series of a burst or rate chart: name -> (colour, dash), and their legend.
BIN_COLOURS = {"sent": (GREY, ""), "accepted": (GREEN, ""), "429": (RED, ""), "model": (BLUE, "6 4")}
BIN_LEGEND = [("sent", GREY, ""), ("accepted", GREEN, ""), ("429", RED, ""), ("model accepted", BLUE, "6 4")]


def _bins(chart: Mapping[str, Any]) -> dict[str, list[int]]:
    """Per bin: sent, accepted, 429 (throttled or over quota) and the model's accepted count."""
    throttled = [
        a + b for a, b in zip(_ints(chart, "throttled"), _ints(chart, "quota_rejected"), strict=False)
    ]
    return {
        "sent": _ints(chart, "sent"),
        "accepted": _ints(chart, "accepted"),
        "429": throttled,
        "model": _ints(chart, "model_accepted"),
    }


def burst_svg(chart: Mapping[str, Any], title: str) -> str:
    """Cumulative sent, accepted, 429 and the model's accepted over time, with the bucket size."""
    bins, bin_s = _bins(chart), _number(chart.get("bin_s")) or 0.01
    if not bins["sent"]:
        return _empty(title, "no request was judged")
    cumulative = {name: list(accumulate(values)) for name, values in bins.items()}
    burst, rate = _number(chart.get("burst")), _number(chart.get("rate"))
    ms = bin_s * 1000
    accepted, model = cumulative["accepted"][-1], cumulative["model"][-1] if cumulative["model"] else 0
    caption = (
        f"accepted {accepted} of {cumulative['sent'][-1]} (model {model})"
        + (f", bucket size {burst:g}" if burst is not None else "")
        + (f", refill {rate:g}/s" if rate is not None else "")
        + f"; {ms:g} ms bins"
    )
    frame = _Frame(title, caption, len(bins["sent"]) * ms, max(cumulative["sent"][-1], burst or 0))
    frame.axes(
        "time since the first request (ms)",
        "requests (cumulative)",
        lambda v: f"{v:.0f}" if ms >= 1 else f"{v:.1f}",
    )
    if burst is not None:
        frame.level("bucket", burst, f"bucket size {burst:g}")
        empty = next((i for i, v in enumerate(cumulative["model"]) if v >= burst), None)
        if empty is not None:  # where the model's bucket runs dry: the accepted line must bend here
            x = frame.x((empty + 1) * ms)
            right = x > LEFT + frame.plot_w * 0.6  # the label on the side with room
            anchor = f'x="{x - 4:.1f}" text-anchor="end"' if right else f'x="{x + 4:.1f}"'
            frame.parts.append(
                f'<g class="marker" data-marker="bucket-empty" data-value="{(empty + 1) * ms:g}">'
                f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{TOP + frame.plot_h}" stroke="{ORANGE}" '
                f'stroke-dasharray="2 3"/><text {anchor} y="{TOP + 12}" fill="{ORANGE}">'
                f"bucket empty (model) at {(empty + 1) * ms:.0f} ms</text></g>"
            )
    for name, values in cumulative.items():
        colour, dash = BIN_COLOURS[name]
        frame.series(
            name, [(0.0, 0.0)] + [((i + 1) * ms, float(v)) for i, v in enumerate(values)], colour, dash
        )
    frame.legend(BIN_LEGEND)
    return frame.svg()


def rate_svg(chart: Mapping[str, Any], title: str) -> str:
    """Sent, accepted, 429 and the model's accepted per bin (as requests per second), with the limit."""
    bins, bin_s = _bins(chart), _number(chart.get("bin_s")) or 0.1
    if not bins["sent"]:
        return _empty(title, "no request was judged")
    per_s = {name: [v / bin_s for v in values] for name, values in bins.items()}
    sent = bins["sent"]
    rate = _number(chart.get("rate"))
    group = str(chart.get("group") or "")
    caption = (
        (f"{group}: " if group else "")
        + f"accepted {sum(bins['accepted'])} of {sum(sent)}"
        + f" (model {sum(bins['model'])})"
        + (f", limit {rate:g}/s" if rate is not None else "")
        + f"; {bin_s * 1000:g} ms bins"
    )
    peak = max(max(max(v) for v in per_s.values() if v), rate or 0)
    # The bucket's burst fills the first bins at many times the rate: the scale is the steady state
    # (the sending rate, the limit), and a peak above it is clipped and written out.
    steady = sorted(per_s["sent"])[len(sent) // 2]
    top = min(peak, _nice_max(max(rate or 0, steady) * 1.6))
    frame = _Frame(title, caption, len(sent) * bin_s, top)
    frame.axes(
        "time since the first request (s)", f"requests per second ({bin_s * 1000:g} ms bins)", _seconds
    )
    if rate is not None:
        frame.level("rate", rate, f"limit {rate:g}/s")
    for name, values in per_s.items():
        colour, dash = BIN_COLOURS[name]
        points = [((i + 0.5) * bin_s, min(v, frame.y_max)) for i, v in enumerate(values)]
        frame.series(name, points, colour, dash)
    if peak > frame.y_max:
        where = max(range(len(sent)), key=lambda i: per_s["sent"][i])
        frame.parts.append(
            f'<text class="clipped" x="{frame.x((where + 0.5) * bin_s) + 6:.1f}" y="{TOP + 12}" fill="#444">'
            f"off scale: {peak:.0f}/s at {where * bin_s:.1f} s (the bucket's burst)</text>"
        )
    frame.legend(BIN_LEGEND)
    return frame.svg()


def _seconds(value: float) -> str:
    return f"{value:.1f}"


def quota_svg(chart: Mapping[str, Any], title: str) -> str:
    """Per key: accepted, 'Limit Exceeded' and 'Too Many Requests' stacked, against the key's quota."""
    groups = [g for g in chart.get("groups") or () if isinstance(g, Mapping)]
    if not groups:
        return _empty(title, "no key was judged")

    def n(g: Mapping[str, Any], name: str) -> float:
        return _number(g.get(name)) or 0.0

    tallest = max(
        max(
            n(g, "sent"), n(g, "accepted") + n(g, "limit_exceeded") + n(g, "too_many_requests"), n(g, "quota")
        )
        for g in groups
    )
    first = groups[0]
    caption = (
        f"{first.get('name')}: accepted {n(first, 'accepted'):g}"
        + (f" of quota {n(first, 'quota'):g}" if first.get("quota") is not None else "")
        + f", 'Limit Exceeded' {n(first, 'limit_exceeded'):g}"
    )
    frame = _Frame(title, caption, len(groups), tallest)
    frame.axes("usage-plan key", "requests", lambda v: "")
    slot = frame.plot_w / len(groups)
    for i, g in enumerate(groups):
        x = LEFT + slot * i + slot * 0.3
        bar_w = slot * 0.4
        bottom = 0.0
        for name, colour in (("accepted", GREEN), ("limit_exceeded", RED), ("too_many_requests", DARK_RED)):
            value = n(g, name)
            if value:
                top_y, bottom_y = frame.y(bottom + value), frame.y(bottom)
                frame.parts.append(
                    f'<rect data-series="{name}" data-key="{escape(str(g.get("name")))}" '
                    f'data-value="{value:g}" x="{x:.1f}" y="{top_y:.1f}" width="{bar_w:.1f}" '
                    f'height="{bottom_y - top_y:.1f}" fill="{colour}"/>'
                )
                bottom += value
        quota = _number(g.get("quota"))
        if quota is not None:
            y = frame.y(quota)
            frame.parts.append(
                f'<g class="marker" data-marker="quota" data-value="{quota:g}">'
                f'<line x1="{x - 10:.1f}" y1="{y:.1f}" x2="{x + bar_w + 10:.1f}" y2="{y:.1f}" '
                f'stroke="{ORANGE}" stroke-width="2" stroke-dasharray="4 3"/>'
                f'<text x="{x + bar_w + 14:.1f}" y="{y + 4:.1f}" '
                f'fill="{ORANGE}">quota {quota:g}</text></g>'
            )
        model = _number(g.get("model_accepted"))
        if model is not None:
            y = frame.y(model)
            frame.parts.append(
                f'<line data-series="model" x1="{x:.1f}" y1="{y:.1f}" x2="{x + bar_w:.1f}" y2="{y:.1f}" '
                f'stroke="{BLUE}" stroke-width="2" stroke-dasharray="6 4"/>'
            )
        frame.parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{TOP + frame.plot_h + 16}" text-anchor="middle">'
            f"{escape(str(g.get('name')))}: {n(g, 'accepted'):g} accepted</text>"
        )
    frame.legend(
        [
            ("accepted", GREEN, ""),
            ("'Limit Exceeded'", RED, ""),
            ("'Too Many Requests'", DARK_RED, ""),
            ("quota", ORANGE, "4 3"),
        ]
    )
    return frame.svg()


def scenario_svg(s: ScenarioResult) -> str:
    """The chart that shows this scenario's behaviour (the per-second chart for an older record)."""
    kind = str(s.chart.get("kind") or "")
    if kind == "burst":
        return burst_svg(s.chart, f"{s.key}: cumulative accepted vs token-bucket model")
    if kind == "rate":
        return rate_svg(s.chart, f"{s.key}: requests per second vs token-bucket model")
    if kind == "quota":
        return quota_svg(s.chart, f"{s.key}: accepted per key vs quota")
    return per_second_svg(s.per_second, f"{s.key}: offered, accepted and 429 per second vs model")


CHART_NAME = {
    "burst": "burst chart (cumulative accepted vs model, bucket size)",
    "rate": "rate chart (100 ms bins vs model, limit)",
    "quota": "quota chart (accepted per key vs quota)",
}


def chart_name(s: ScenarioResult) -> str:
    return CHART_NAME.get(
        str(s.chart.get("kind") or ""), "per-second chart (offered, accepted, 429 vs model)"
    )
