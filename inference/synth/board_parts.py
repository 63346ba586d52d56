"""Package footprints for synthetic boards, in millimetres in the component's frame.

The component's frame has its origin at the body centre; x is the main axis (the
axis through the two terminals of a chip part). Every joint is a `PadSpec`: the pad,
the thing the solder wets (terminal, lead foot or pin) and the outward direction.
Dimensions follow the usual IPC-7351 land patterns, rounded.
"""

from __future__ import annotations

from dataclasses import dataclass

Rect = tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass(frozen=True)
class PadSpec:
    """One joint of a package (component frame, mm)."""

    pin: str
    kind: str  # "chip" | "gull" | "tht"
    pad: Rect
    target: Rect  # chip: terminal; gull: lead foot; tht: pin square (x0, y0, x1, y1)
    lead: Rect | None = None  # gull: whole lead from the body edge to the toe
    out: tuple[int, int] = (1, 0)  # outward direction
    round_pad: bool = False
    hole_r: float = 0.0


@dataclass(frozen=True)
class Package:
    """A footprint: body rectangle, joints, refdes prefix and mounting."""

    name: str
    family: str  # chip_r | chip_c | sot | soic | qfp | dip | header | radial
    body: Rect | None
    pads: tuple[PadSpec, ...]
    prefix: str
    mount: str  # "smd" | "tht"
    height: float = 0.5  # body height (mm), for tombstones

    @property
    def extent(self) -> Rect:
        """Bounding rectangle of body and pads."""
        rects = [p.pad for p in self.pads] + ([self.body] if self.body else [])
        rects += [p.lead for p in self.pads if p.lead]
        return (
            min(r[0] for r in rects),
            min(r[1] for r in rects),
            max(r[2] for r in rects),
            max(r[3] for r in rects),
        )


def _chip(
    name: str,
    family: str,
    length: float,
    width: float,
    term: float,
    pad_l: float,
    pad_w: float,
    pad_c: float,
    height: float,
) -> Package:
    pads = []
    for pin, sign in (("1", -1), ("2", 1)):
        cx = sign * pad_c
        pad = (cx - pad_l / 2, -pad_w / 2, cx + pad_l / 2, pad_w / 2)
        end = sign * length / 2
        t = (
            min(end, end - sign * term),
            -width / 2,
            max(end, end - sign * term),
            width / 2,
        )
        pads.append(PadSpec(pin, "chip", pad, t, out=(sign, 0)))
    body = (-length / 2, -width / 2, length / 2, width / 2)
    prefix = "R" if family == "chip_r" else "C"
    return Package(name, family, body, tuple(pads), prefix, "smd", height)


def _gull_row(
    pins: list[str],
    side: int,
    pitch: float,
    lead_w: float,
    edge: float,
    toe: float,
    pad_in: float,
    pad_out: float,
    pad_w: float,
    axis: str,
) -> list[PadSpec]:
    """Leads along one body side; `side` = +1/-1, `axis` = side normal ('y' or 'x')."""
    n = len(pins)
    out = []
    for i, pin in enumerate(pins):
        t = (i - (n - 1) / 2) * pitch
        foot0 = edge + 0.45 * (toe - edge)
        a0, a1 = sorted((side * edge, side * toe))
        f0, f1 = sorted((side * foot0, side * toe))
        p0, p1 = sorted((side * pad_in, side * pad_out))
        if axis == "y":
            lead = (t - lead_w / 2, a0, t + lead_w / 2, a1)
            foot = (t - lead_w / 2, f0, t + lead_w / 2, f1)
            pad = (t - pad_w / 2, p0, t + pad_w / 2, p1)
            direction = (0, side)
        else:
            lead = (a0, t - lead_w / 2, a1, t + lead_w / 2)
            foot = (f0, t - lead_w / 2, f1, t + lead_w / 2)
            pad = (p0, t - pad_w / 2, p1, t + pad_w / 2)
            direction = (side, 0)
        out.append(PadSpec(pin, "gull", pad, foot, lead, direction))
    return out


def _soic(
    name: str,
    n: int,
    body_len: float,
    pitch: float = 1.27,
    body_w: float = 3.9,
    span: float = 6.0,
    lead_w: float = 0.42,
    pad_w: float = 0.6,
) -> Package:
    half = n // 2
    edge, toe = body_w / 2, span / 2
    kw = {
        "pitch": pitch,
        "lead_w": lead_w,
        "edge": edge,
        "toe": toe,
        "pad_in": edge + 0.3,
        "pad_out": toe + 0.4,
        "pad_w": pad_w,
        "axis": "y",
    }
    bottom = _gull_row([str(i + 1) for i in range(half)], 1, **kw)
    top = _gull_row([str(n - i) for i in range(half)], -1, **kw)
    body = (-body_len / 2, -body_w / 2, body_len / 2, body_w / 2)
    return Package(name, "soic", body, tuple(bottom + top), "U", "smd", 1.5)


def _qfp(
    name: str, per_side: int, body: float, pitch: float, span: float, lead_w: float
) -> Package:
    edge, toe = body / 2, span / 2
    kw = {
        "pitch": pitch,
        "lead_w": lead_w,
        "edge": edge,
        "toe": toe,
        "pad_in": edge + 0.3,
        "pad_out": toe + 0.35,
        "pad_w": pitch * 0.6,
    }
    n = per_side
    pads = _gull_row([str(i + 1) for i in range(n)], 1, axis="x", **kw)
    pads = [  # left column, pins 1..n top to bottom
        PadSpec(p.pin, p.kind, *_flip_x(p)) for p in pads
    ]
    pads += _gull_row([str(n + i + 1) for i in range(n)], 1, axis="y", **kw)
    pads += _gull_row([str(3 * n - i) for i in range(n)], 1, axis="x", **kw)
    pads += _gull_row([str(4 * n - i) for i in range(n)], -1, axis="y", **kw)
    rect = (-body / 2, -body / 2, body / 2, body / 2)
    return Package(name, "qfp", rect, tuple(pads), "U", "smd", 1.4)


def _flip_x(p: PadSpec) -> tuple:
    def fx(r: Rect) -> Rect:
        return (-r[2], r[1], -r[0], r[3])

    assert p.lead is not None
    return (fx(p.pad), fx(p.target), fx(p.lead), (-p.out[0], p.out[1]))


def _sot23() -> Package:
    kw = {
        "pitch": 1.9,
        "lead_w": 0.4,
        "edge": 0.65,
        "toe": 1.2,
        "pad_in": 0.75,
        "pad_out": 1.55,
        "pad_w": 0.65,
        "axis": "y",
    }
    pads = _gull_row(["1", "2"], 1, **kw)
    pads += _gull_row(["3"], -1, **kw)
    return Package(
        "SOT-23", "sot", (-1.45, -0.65, 1.45, 0.65), tuple(pads), "Q", "smd", 1.0
    )


def _tht_row(
    pins: list[str],
    y: float,
    pitch: float,
    pad_d: float,
    pin_d: float,
    square_first: bool,
    out: tuple[int, int],
) -> list[PadSpec]:
    n = len(pins)
    res = []
    for i, pin in enumerate(pins):
        x = (i - (n - 1) / 2) * pitch
        r = pad_d / 2
        pr = pin_d / 2
        res.append(
            PadSpec(
                pin,
                "tht",
                (x - r, y - r, x + r, y + r),
                (x - pr, y - pr, x + pr, y + pr),
                out=out,
                round_pad=not (square_first and i == 0),
                hole_r=pr + 0.2,
            )
        )
    return res


def _dip(n: int) -> Package:
    half = n // 2
    pads = _tht_row(
        [str(i + 1) for i in range(half)], 3.81, 2.54, 1.6, 0.55, True, (0, 1)
    )
    pads += _tht_row(
        [str(n - i) for i in range(half)], -3.81, 2.54, 1.6, 0.55, False, (0, -1)
    )
    body = (-half * 1.27 - 0.2, -3.2, half * 1.27 + 0.2, 3.2)
    return Package(f"DIP-{n}", "dip", body, tuple(pads), "U", "tht")


def _header(n: int) -> Package:
    pads = _tht_row([str(i + 1) for i in range(n)], 0.0, 2.54, 1.7, 0.64, True, (0, 1))
    body = (-n * 1.27, -1.27, n * 1.27, 1.27)
    return Package(f"HDR-1x{n}", "header", body, tuple(pads), "J", "tht")


def _radial(pitch: float, dia: float) -> Package:
    pads = _tht_row(["1", "2"], 0.0, pitch, 1.6, 0.6, True, (1, 0))
    r = dia / 2
    return Package(f"CP-D{dia:g}", "radial", (-r, -r, r, r), tuple(pads), "C", "tht")


PACKAGES: dict[str, Package] = {
    p.name: p
    for p in [
        _chip("0402", "chip_r", 1.0, 0.5, 0.25, 0.55, 0.6, 0.5, 0.35),
        _chip("0603", "chip_r", 1.6, 0.8, 0.35, 0.8, 0.95, 0.8, 0.45),
        _chip("0805", "chip_c", 2.0, 1.25, 0.45, 1.0, 1.4, 1.0, 0.6),
        _chip("1206", "chip_c", 3.2, 1.6, 0.5, 1.2, 1.8, 1.6, 0.6),
        _sot23(),
        _soic("SOIC-8", 8, 4.9),
        _soic("SOIC-14", 14, 8.65),
        _soic(
            "TSSOP-16",
            16,
            5.0,
            pitch=0.65,
            body_w=4.4,
            span=6.4,
            lead_w=0.25,
            pad_w=0.38,
        ),
        _qfp("QFP-32", 8, 7.0, 0.8, 9.0, 0.37),
        _qfp("QFP-44", 11, 10.0, 0.8, 12.0, 0.37),
        _dip(8),
        _header(4),
        _header(6),
        _radial(2.5, 5.0),
        _radial(3.5, 8.0),
    ]
}

# How often each package is placed (relative weights).
PACKAGE_WEIGHTS: dict[str, float] = {
    "0402": 0.16,
    "0603": 0.22,
    "0805": 0.14,
    "1206": 0.08,
    "SOT-23": 0.1,
    "SOIC-8": 0.06,
    "SOIC-14": 0.03,
    "TSSOP-16": 0.03,
    "QFP-32": 0.025,
    "QFP-44": 0.015,
    "DIP-8": 0.03,
    "HDR-1x4": 0.03,
    "HDR-1x6": 0.02,
    "CP-D5": 0.04,
    "CP-D8": 0.02,
}
