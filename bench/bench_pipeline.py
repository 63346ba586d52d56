"""Benchmark: one large board through the whole pipeline into a SQLite file.

    .venv/bin/python bench/bench_pipeline.py [--model DIR] [--size 4000x3000]
        [--joints 300] [--threads 2] [--explain 3] [--fast] [--backend onnx]
        [--compare REV] [--rounds N] [--json out.json]

Renders a synthetic board (`inference.synth.boards.render_board`) of ``--size``
with about ``--joints`` joints, writes it as JPEG q90 with its recipe, and runs
`app.inspection_runner.InspectionRunner` on it (the code path of `soldernet
inspect` and of the GUI worker) into a fresh SQLite file, after loading the model,
preparing the explainer's fast paths (`Explainer.prepare`, as the station's warm-up
does) and one untimed warm-up board. Reports, per stage, wall seconds *and* process
CPU seconds (all threads; on a loaded machine the wall times inflate, the CPU
seconds much less) and the peak resident memory reached by the end of the stage:

- load (decode + SHA-256 + recipe), detect (fiducial registration), crop,
  classify (all joints, batches of 64), persist (crops of the joints a person sees
  + DB rows);
- the first explanation after the board is persisted (the time until the first
  joint of the review queue is reviewable with its explanation) and seconds per
  explanation (spec knobs, or ``--fast``);
- peak resident memory of the process (``resource.getrusage``).

Every run is a fresh child process (so each has its own peak RSS). ``--compare
REV`` runs the same measurement on the code of git revision ``REV`` as well
(``git archive`` into a temporary folder; the working tree and the repository are
not touched), alternating ``before`` / ``after`` for ``--rounds`` rounds, and prints
both side by side (medians over the rounds).

Without ``--model`` a randomly initialised MobileNetV3-Small with 256 px input is
used: the timings depend on the architecture, not on the weights; with random
weights every joint lands in one region.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

#: Stages in the order the runner reports them, with how each ends.
STAGES = ("load", "detect", "crop", "classify", "persist")


def _board(folder: Path, size: str, joints: int, seed: int) -> tuple[Path, Path, int]:
    import cv2

    from inference.synth.boards import BoardConfig, render_board

    w, h = (int(v) for v in size.lower().split("x"))
    n_components = max(4, joints // 3)
    board = None
    for _ in range(6):  # adjust the component count towards the joint target
        board = render_board(
            seed, BoardConfig(width=w, height=h, n_components=n_components)
        )
        n = len(board.recipe.joints)
        if abs(n - joints) <= joints * 0.1:
            break
        n_components = max(4, round(n_components * joints / max(1, n)))
    assert board is not None
    image = folder / "board.jpg"
    img = board.image
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    cv2.imwrite(str(image), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
    recipe = board.recipe.save(folder / "board.json")
    return image, Path(recipe), len(board.recipe.joints)


def _render_in_child(folder: Path, size: str, joints: int, seed: int) -> Any:
    sys.path.insert(0, str(ROOT))
    return _board(folder, size, joints, seed)


def _model(folder: Path | None, tmp: Path) -> Path:
    if folder is not None:
        return folder
    import torch

    from inference.architectures import build_model
    from inference.model_card import ModelCard, save_model

    torch.manual_seed(0)
    out = tmp / "model"
    save_model(
        build_model("mobilenet_v3_small"),
        out,
        ModelCard(architecture="mobilenet_v3_small", input_size=256, version="bench"),
    )
    return out


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _stage_table(
    marks: list[tuple[str, int, int, float, float, float]],
    start: tuple[float, float],
) -> dict[str, dict[str, float]]:
    """Wall/CPU seconds and peak RSS per stage from the progress marks.

    A stage ends at its last mark (``done == total``); it starts where the
    previous stage ended (``load`` at the call of ``inspect``). The first
    explanation runs from the end of ``persist`` to the first ``explain`` mark.
    """
    end: dict[str, tuple[float, float, float]] = {}
    first_explain: tuple[float, float, float] | None = None
    for stage, _done, _total, w, c, rss in marks:
        if stage == "explain":
            if first_explain is None:
                first_explain = (w, c, rss)
            end["explain"] = (w, c, rss)
        else:
            end[stage] = (w, c, rss)
    table: dict[str, dict[str, float]] = {}
    prev_w, prev_c = start
    for stage in STAGES:
        if stage not in end:
            continue
        w, c, rss = end[stage]
        table[stage] = {"wall_s": w - prev_w, "cpu_s": c - prev_c, "peak_rss_mb": rss}
        prev_w, prev_c = w, c
    if first_explain is not None and "persist" in end:
        w, c, rss = first_explain
        pw, pc, _ = end["persist"]
        table["first_explanation"] = {
            "wall_s": w - pw,
            "cpu_s": c - pc,
            "peak_rss_mb": rss,
        }
        w, c, rss = end["explain"]
        table["explain_all"] = {"wall_s": w - pw, "cpu_s": c - pc, "peak_rss_mb": rss}
    det = [table[s] for s in ("detect", "crop", "classify") if s in table]
    table["detect_crop_classify"] = {
        "wall_s": sum(d["wall_s"] for d in det),
        "cpu_s": sum(d["cpu_s"] for d in det),
        "peak_rss_mb": max((d["peak_rss_mb"] for d in det), default=0.0),
    }
    return table


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    """One measured run (in a fresh process): model load, warm-up, timed board."""
    os.environ["OMP_NUM_THREADS"] = str(spec["threads"])
    sys.path.insert(0, spec["tree"])
    import cv2
    import torch

    torch.set_num_threads(spec["threads"])
    cv2.setNumThreads(spec["threads"])

    from app.inspection_runner import InspectionRunner
    from db import open_database

    tmp = Path(spec["tmp"])
    db_path = tmp / f"bench-{spec['label']}-{os.getpid()}.db"
    marks: list[tuple[str, int, int, float, float, float]] = []

    def on_progress(stage: str, done: int, total: int) -> None:
        if done >= total or stage == "explain":
            marks.append((stage, done, total, *_clock(), _rss_mb()))

    with open_database(db_path) as db:
        w0, c0 = _clock()
        runner = InspectionRunner.from_model_folder(
            db,
            Path(spec["model"]),
            artefact_dir=tmp / f"art-{spec['label']}-{os.getpid()}",
            fast_explain=spec["fast"],
            max_explanations=spec["explain"],
            backend=spec["backend"],
        )
        if runner.explainer is not None and hasattr(runner.explainer, "prepare"):
            runner.explainer.prepare()  # the station's warm-up does this
        model_w, model_c = (a - b for a, b in zip(_clock(), (w0, c0), strict=True))
        rss_model = _rss_mb()
        image, recipe = Path(spec["image"]), Path(spec["recipe"])
        runner.inspect(image, recipe=recipe, explain=False, serial="warmup")
        rss_warm = _rss_mb()
        start = _clock()
        result = runner.inspect(
            image, recipe=recipe, force=True, serial="timed", on_progress=on_progress
        )
    if result.status != "done":
        return {"label": spec["label"], "error": result.error}
    import inference

    return {
        "label": spec["label"],
        "code": str(Path(inference.__file__).parent.parent),
        "joints": result.n_joints,
        "regions": result.regions,
        "explanations": result.n_explained,
        "load_model_s": model_w,
        "load_model_cpu_s": model_c,
        "rss_after_model_load_mb": rss_model,
        "rss_after_warmup_mb": rss_warm,
        "peak_rss_mb": _rss_mb(),
        "runner_timings": dict(result.timings),
        "stages": _stage_table(marks, start),
    }


def _archive(rev: str, dest: Path) -> Path:
    """The packages of revision ``rev`` extracted under ``dest`` (read-only git)."""
    data = subprocess.run(
        [
            "git",
            "-C",
            str(ROOT),
            "archive",
            "--format=tar",
            rev,
            "app",
            "db",
            "inference",
        ],
        check=True,
        capture_output=True,
    ).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def _run_child(spec: dict[str, Any]) -> dict[str, Any]:
    env = dict(os.environ, OMP_NUM_THREADS=str(spec["threads"]))
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=spec["tree"],
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    return {"label": spec["label"], "error": proc.stderr[-2000:]}


ROWS = (
    ("load", "load (decode + SHA-256 + recipe)"),
    ("detect", "detect"),
    ("crop", "crop"),
    ("classify", "classify"),
    ("detect_crop_classify", "detect + crop + classify"),
    ("persist", "persist"),
    ("first_explanation", "first explanation after persist"),
    ("explain_all", "all explanations after persist"),
)


def _median(runs: list[dict[str, Any]], stage: str, key: str) -> float | None:
    vals = [r["stages"][stage][key] for r in runs if stage in r.get("stages", {})]
    return statistics.median(vals) if vals else None


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for stage, _ in ROWS:
        wall = _median(runs, stage, "wall_s")
        if wall is not None:
            out[stage] = {"wall_s": wall, "cpu_s": _median(runs, stage, "cpu_s")}
    out["peak_rss_mb"] = statistics.median(r["peak_rss_mb"] for r in runs)
    out["rss_after_model_load_mb"] = statistics.median(
        r["rss_after_model_load_mb"] for r in runs
    )
    return out


def _print_table(summaries: dict[str, dict[str, Any]], rounds: int) -> None:
    labels = list(summaries)
    head = " | ".join(f"{lb} wall s | {lb} CPU s" for lb in labels)
    print(f"| stage (median of {rounds}) | {head} |")
    print("|---|" + "---:|" * (2 * len(labels)))
    for stage, name in ROWS:
        cells = []
        for lb in labels:
            row = summaries[lb].get(stage)
            cells += (
                [f"{row['wall_s']:.2f}", f"{row['cpu_s']:.2f}"] if row else ["-", "-"]
            )
        print(f"| {name} | " + " | ".join(cells) + " |")
    for key, name in (
        ("rss_after_model_load_mb", "RSS after model load + prepare"),
        ("peak_rss_mb", "peak RSS"),
    ):
        cells = []
        for lb in labels:
            cells += [f"{summaries[lb][key] / 1024:.2f} GB", ""]
        print(f"| {name} | " + " | ".join(cells) + " |")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--size", default="4000x3000")
    ap.add_argument("--joints", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--explain", type=int, default=3, help="explanations to time")
    ap.add_argument("--fast", action="store_true", help="cheaper explainer knobs")
    ap.add_argument("--seed", type=int, default=4242)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--backend",
        choices=["torch", "onnx"],
        default="onnx",
        help="classifier backend (the station uses onnx on CPU)",
    )
    ap.add_argument(
        "--compare",
        metavar="REV",
        default=None,
        help="also run git revision REV's code ('before') beside the working tree",
    )
    ap.add_argument("--rounds", type=int, default=1, help="runs per variant")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child is not None:
        print(json.dumps(_child(json.loads(args.child))))
        return 0

    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(1) as pool:
            image, recipe, n_recipe = pool.apply(
                _render_in_child, (tmp, args.size, args.joints, args.seed)
            )
        render_s = time.perf_counter() - t0
        sys.path.insert(0, str(ROOT))
        model = _model(args.model, tmp).resolve()
        trees = {"after": ROOT}
        if args.compare:
            trees = {"before": _archive(args.compare, tmp / "before"), **trees}
        runs: dict[str, list[dict[str, Any]]] = {lb: [] for lb in trees}
        for _ in range(max(1, args.rounds)):
            for label, tree in trees.items():
                spec = {
                    "label": label,
                    "tree": str(tree),
                    "tmp": str(tmp),
                    "model": str(model),
                    "image": str(image),
                    "recipe": str(recipe),
                    "threads": args.threads,
                    "fast": args.fast,
                    "explain": args.explain,
                    "backend": args.backend,
                }
                run = _run_child(spec)
                if "error" in run:
                    print(f"{label}: board failed: {run['error']}", file=sys.stderr)
                    return 1
                runs[label].append(run)
    load = os.getloadavg()
    summaries = {lb: _summary(rs) for lb, rs in runs.items()}
    first = next(iter(runs.values()))[0]
    print(
        f"{first['joints']} joints on a {args.size} board ({n_recipe} in the recipe), "
        f"{args.threads} threads, {args.backend} classifier, "
        f"{'fast' if args.fast else 'spec-default'} explainer, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
        + (f", before = {args.compare}" if args.compare else "")
    )
    _print_table(summaries, max(1, args.rounds))
    out = {
        "size": args.size,
        "recipe_joints": n_recipe,
        "threads": args.threads,
        "backend": args.backend,
        "explainer": "fast" if args.fast else "spec defaults",
        "model": str(args.model) if args.model else "random mobilenet_v3_small@256",
        "compare": args.compare,
        "load_average": load,
        "render_board_s": render_s,
        "summary": summaries,
        "runs": runs,
    }
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
