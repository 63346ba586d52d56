"""Synthetic data: procedural solder-joint crops with defect masks (this package's
joint renderer) and whole boards with recipes (`inference.synth.boards`).

Joint renderer, numpy/OpenCV only, deterministic per seed::

    from inference.synth import JointSpec, render_joint
    s = render_joint(JointSpec("tht_round", DefectCode.BRIDGE, 0.7, "aoi_gray"), seed=3)
    s.image  # (205, 256, 3) uint8 RGB; s.mask (205, 256) uint8 0/1; s.label == 1

See docs/synthetic-joints.md.
"""

from .dataset import generate_joint_dataset
from .defects import BINARY_DEFECTS, DEFECTS_FOR, MIN_DEFECT_SEVERITY, defects_for
from .joints import JOINT_KINDS
from .render import JointSample, JointSpec, render_joint, sample_spec
from .styles import STYLES, out_shape

__all__ = [
    "BINARY_DEFECTS",
    "DEFECTS_FOR",
    "JOINT_KINDS",
    "MIN_DEFECT_SEVERITY",
    "STYLES",
    "JointSample",
    "JointSpec",
    "defects_for",
    "generate_joint_dataset",
    "out_shape",
    "render_joint",
    "sample_spec",
]
