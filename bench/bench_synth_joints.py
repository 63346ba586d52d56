"""Joint renderer speed: crops per second at 256x256 on one core.

    .venv/bin/python bench/bench_synth_joints.py [--n 200] [--size 256]

Renders `sample_spec` specs (mixed styles, half defective) one after another in this
process with OpenCV and BLAS pinned to one thread, and prints crops/s overall and per
style and per good/defective (a defective crop renders its scene twice: the mask is
the difference to the good scene).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import defaultdict  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inference.synth import JointSpec, render_joint, sample_spec  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    rng = np.random.default_rng(args.seed)
    specs = []
    for _ in range(args.n):
        s = sample_spec(rng)
        specs.append(JointSpec(s.kind, s.defect, s.severity, s.style, args.size))
    render_joint(specs[0], 0)  # warm-up (imports, caches)
    times: dict[str, list[float]] = defaultdict(list)
    t_all = time.perf_counter()
    for i, spec in enumerate(specs):
        t0 = time.perf_counter()
        render_joint(spec, i)
        dt = time.perf_counter() - t0
        times[spec.style].append(dt)
        times["defective" if spec.defect is not None else "good"].append(dt)
    total = time.perf_counter() - t_all
    print(
        f"{args.n} crops at {args.size}px (one core): {args.n / total:.1f} crops/s "
        f"({1000 * total / args.n:.1f} ms/crop)"
    )
    for k in sorted(times):
        v = np.array(times[k])
        print(
            f"  {k:10s} n={len(v):4d}  {1 / v.mean():6.1f} crops/s  "
            f"median {1000 * np.median(v):.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
