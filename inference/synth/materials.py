"""Material ids and randomised palettes (board colours, pad finishes, bodies).

A palette maps each material id to an albedo (linear RGB in [0, 1]), a diffuse weight,
a specular strength, a shininess exponent and a metal flag (metal specular takes the
albedo colour, e.g. ENIG gold). Palettes are drawn per sample from the style stream.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np


class Mat(enum.IntEnum):
    """Material ids stored in `Scene.mat`."""

    BOARD = 0  # solder mask over laminate
    SILK = 1  # silkscreen ink
    PAD = 2  # pad copper with its finish (HASL, ENIG, OSP copper)
    SOLDER = 3
    BODY = 4  # component body (ceramic, epoxy)
    TERM = 5  # chip termination (tinned end cap)
    PIN = 6  # lead / pin metal
    HOLE = 7  # open plated hole, cavity, void
    FR4 = 8  # bare laminate (damage, burn)
    FIBRE = 9  # foreign object
    MARK = 10  # marking ink on a body
    TRACE = 11  # copper trace under solder mask


N_MAT = len(Mat)

MASK_COLOURS: dict[str, tuple[float, float, float]] = {
    "green": (0.06, 0.30, 0.12),
    "blue": (0.05, 0.12, 0.42),
    "black": (0.035, 0.035, 0.04),
    "red": (0.55, 0.07, 0.05),
    "white": (0.78, 0.78, 0.75),
}
FINISHES: dict[str, tuple[float, float, float]] = {
    "hasl": (0.80, 0.80, 0.82),
    "enig": (0.88, 0.70, 0.32),
    "osp": (0.80, 0.48, 0.28),
}


@dataclass(frozen=True)
class Palette:
    """Per-material optical properties, arrays indexed by material id."""

    albedo: np.ndarray  # (N_MAT, 3)
    diffuse: np.ndarray  # (N_MAT,)
    ks: np.ndarray  # (N_MAT,)
    shin: np.ndarray  # (N_MAT,)
    metal: np.ndarray  # (N_MAT,) 0/1
    names: dict  # board colour, finish, body names (for meta)


def _jit(rng: np.random.Generator, rgb, amount: float) -> np.ndarray:
    c = np.asarray(rgb, np.float32) * (1 + rng.uniform(-amount, amount, 3))
    return np.clip(c, 0, 1).astype(np.float32)


def draw_palette(rng: np.random.Generator, style: str) -> Palette:
    """Random palette for one sample of `style` ("color" or "aoi_gray")."""
    mask_names = list(MASK_COLOURS)
    p_mask = [0.62, 0.14, 0.1, 0.08, 0.06] if style == "color" else [1, 0, 0, 0, 0]
    mask_name = mask_names[int(rng.choice(len(mask_names), p=p_mask))]
    finish = ["hasl", "enig", "osp"][int(rng.choice(3, p=[0.5, 0.3, 0.2]))]
    body_kind = ["black", "tan", "brown", "grey"][int(rng.integers(4))]
    body = {
        "black": (0.05, 0.05, 0.05),
        "tan": (0.62, 0.50, 0.34),
        "brown": (0.40, 0.28, 0.18),
        "grey": (0.42, 0.42, 0.40),
    }[body_kind]
    fibre = [(0.85, 0.85, 0.8), (0.1, 0.1, 0.35), (0.6, 0.2, 0.15)][
        int(rng.integers(3))
    ]
    alb = np.zeros((N_MAT, 3), np.float32)
    alb[Mat.BOARD] = _jit(rng, MASK_COLOURS[mask_name], 0.25)
    alb[Mat.SILK] = _jit(
        rng, (0.9, 0.9, 0.85) if rng.random() < 0.8 else (0.9, 0.8, 0.2), 0.05
    )
    alb[Mat.PAD] = _jit(rng, FINISHES[finish], 0.08)
    alb[Mat.SOLDER] = _jit(rng, (0.86, 0.87, 0.89), 0.04)
    alb[Mat.BODY] = _jit(rng, body, 0.15)
    alb[Mat.TERM] = _jit(rng, (0.82, 0.82, 0.80), 0.05)
    alb[Mat.PIN] = _jit(rng, (0.78, 0.77, 0.72), 0.06)
    alb[Mat.HOLE] = (0.02, 0.02, 0.02)
    alb[Mat.FR4] = _jit(rng, (0.62, 0.52, 0.30), 0.15)
    alb[Mat.FIBRE] = _jit(rng, fibre, 0.1)
    alb[Mat.MARK] = _jit(rng, (0.85, 0.85, 0.82), 0.05)
    alb[Mat.TRACE] = np.clip(alb[Mat.BOARD] * 1.35 + 0.02, 0, 1)
    #                 BOARD SILK PAD  SOLD BODY TERM PIN  HOLE FR4  FIB  MARK TRACE
    diffuse = np.array([0.9, 0.9, 0.3, 0.1, 0.9, 0.3, 0.25, 0.3, 0.9, 0.9, 0.9, 0.9])
    ks = np.array([0.12, 0.03, 0.9, 1.0, 0.06, 0.85, 0.9, 0.0, 0.03, 0.1, 0.03, 0.12])
    shin = np.array([80, 4, 30, 60, 12, 30, 30, 1, 4, 10, 4, 80], np.float32)
    metal = np.array([0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0], np.float32)
    if style == "aoi_gray":  # dark board under coaxial light (handian-tht: ~25/255)
        alb[Mat.BOARD] *= rng.uniform(0.17, 0.32)
        alb[Mat.TRACE] = alb[Mat.BOARD] * rng.uniform(1.05, 1.3)
        alb[Mat.FR4] *= rng.uniform(0.4, 0.9)
        ks[Mat.BOARD] = ks[Mat.TRACE] = rng.uniform(0.01, 0.04)
    return Palette(
        albedo=alb,
        diffuse=diffuse.astype(np.float32),
        ks=ks.astype(np.float32),
        shin=shin,
        metal=metal,
        names={"board": mask_name, "finish": finish, "body": body_kind},
    )
