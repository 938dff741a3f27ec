"""Server-rendered SVG charts: the geometry is computed here, the markup is a template.
No script draws anything, so the dashboard reads the same without JavaScript."""

import math
from dataclasses import dataclass, field
from decimal import Decimal

# Distinguishable on light and dark backgrounds, and for the common colour blindnesses
# (Okabe-Ito); models past the eighth share the last colour, labelled "other".
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#999999"]
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 12, 28


@dataclass
class Segment:
    model: str
    value: float
    y: float
    height: float
    color: str


@dataclass
class Bar:
    label: str
    x: float
    width: float
    total: float
    segments: list[Segment] = field(default_factory=list)
    show_label: bool = False


@dataclass
class Chart:
    bars: list[Bar]
    ticks: list[tuple[float, float]]  # (y, value)
    legend: list[tuple[str, str]]  # (model, color)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    empty: bool = False


def nice_ceiling(value: float) -> float:
    """The axis top: 1, 2, 2.5 or 5 times a power of ten, at least `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def colors(models: list[str]) -> dict[str, str]:
    return {m: PALETTE[min(i, len(PALETTE) - 1)] for i, m in enumerate(models)}


def stacked(labels: list[str], values: list[dict[str, float | Decimal]],
            models: list[str]) -> Chart:
    """One bar per label, its segments stacked in `models` order (largest model first)."""
    palette = colors(models)
    totals = [float(sum(v.values())) for v in values]
    top_value = nice_ceiling(max(totals, default=0))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    bars = []
    every = max(1, math.ceil(len(labels) / 8))  # about eight date labels fit
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        bar = Bar(label=label, x=LEFT + i * slot + slot * 0.15, width=slot * 0.7,
                  total=totals[i], show_label=(len(labels) - 1 - i) % every == 0)
        y = TOP + plot_h
        for model in models:
            amount = float(value.get(model, 0))
            if amount <= 0:
                continue
            height = plot_h * amount / top_value
            y -= height
            bar.segments.append(Segment(model, amount, round(y, 2), round(height, 2),
                                        palette[model]))
        bars.append(bar)
    ticks = [(round(TOP + plot_h * (1 - k / 4), 2), top_value * k / 4) for k in range(5)]
    return Chart(bars=bars, ticks=ticks, legend=list(palette.items()),
                 empty=not any(totals))
