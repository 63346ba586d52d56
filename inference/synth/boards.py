"""Synthetic whole boards: a PCB top view with components, joints, defects and recipe.

`render_board(seed, config)` draws one board in *board coordinates* (the recipe's
frame), then warps it with its own camera homography (shift, rotation, scale, a
little perspective) and randomises the photometry. It returns the image, the
`Recipe` (ideal board coordinates), the 3x3 homography board -> image and the
ground truth per joint (box in image coordinates, label, defect type, severity)
plus a defect-id mask in image coordinates.

Metal (pads, solder, leads, pins) is modelled as a height map and shaded with one
lighting model per style, so fillets, domes and bridges share one look:

- ``color``: colour camera, diffuse light from the top-left plus specular highlights;
- ``gray``: grayscale AOI, coaxial plus ring light (flat metal bright, slopes dark);
- ``rgb``: tiered RGB ring light of colour AOI (flat red, medium green, steep blue).

`generate_board_dataset` writes ``boards/``, ``recipes/``, ``truth/`` and a manifest.
Same seed, same bytes.

This is the public entry module; the work is done in `board_config` (what a board
is), `board_layout` (placement), `board_artwork` (traces, bodies, silkscreen),
`board_metal` and `board_solder` (height map, joints, shading), `board_defects`,
`board_camera`, `board_render` (`render_board`) and `board_dataset` (the writer).
"""

from __future__ import annotations

from inference.synth.board_config import (
    BOARD_DEFECTS,
    BOARD_STYLES,
    SIZE_PRESETS,
    BoardConfig,
    BoardSample,
    JointTruth,
)
from inference.synth.board_dataset import board_seed, generate_board_dataset
from inference.synth.board_render import render_board

__all__ = [
    "BOARD_DEFECTS",
    "BOARD_STYLES",
    "SIZE_PRESETS",
    "BoardConfig",
    "BoardSample",
    "JointTruth",
    "board_seed",
    "generate_board_dataset",
    "render_board",
]
