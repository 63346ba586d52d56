"""Benchmark: synthetic boards per second on one core.

    .venv/bin/python bench/bench_synth_boards.py [--n 5] [--size 4000x3000]

Renders boards of the given size (default 4000x3000, about 300 joints) with OpenCV
held to one thread, and reports boards/s for rendering alone and for rendering plus
JPEG encoding (what `soldernet synth boards` does per board, less the small files).
Wall-clock rates suffer on a loaded machine; `boards_per_cpu_s` (process CPU time)
does not.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import cv2

from inference.synth.boards import BoardConfig, render_board


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; prints one JSON line."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=5)
    p.add_argument("--size", default="4000x3000")
    p.add_argument("--components", type=int, default=80)
    p.add_argument("--style", default="color")
    args = p.parse_args(argv)
    cv2.setNumThreads(1)
    w, h = (int(v) for v in args.size.split("x"))
    cfg = BoardConfig(width=w, height=h, n_components=args.components, style=args.style)
    render_board(0, cfg)  # warm-up
    render_s, encode_s, joints, cpu_s = [], [], [], []
    for i in range(args.n):
        c0 = time.process_time()
        t0 = time.perf_counter()
        board = render_board(1000 + i, cfg)
        t1 = time.perf_counter()
        ok, _buf = cv2.imencode(".jpg", board.image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        t2 = time.perf_counter()
        assert ok
        cpu_s.append(time.process_time() - c0)
        render_s.append(t1 - t0)
        encode_s.append(t2 - t1)
        joints.append(len(board.joints))
    render = statistics.median(render_s)
    total = statistics.median(r + e for r, e in zip(render_s, encode_s, strict=True))
    result = {
        "size": [w, h],
        "joints_median": statistics.median(joints),
        "render_s": round(render, 3),
        "render_plus_jpeg_s": round(total, 3),
        "boards_per_s": round(1.0 / render, 3),
        "boards_per_s_with_jpeg": round(1.0 / total, 3),
        "cpu_s_with_jpeg": round(statistics.median(cpu_s), 3),
        "boards_per_cpu_s": round(1.0 / statistics.median(cpu_s), 3),
        "threads": 1,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
