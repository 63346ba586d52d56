"""Benchmark: the drift monitor's false-alarm rate and its detection of a camera change.

    .venv/bin/python bench/bench_drift.py [--boards 5] [--reference 8] [--draws 4]
        [--unchanged 40] [--changed 8]
        [--changes defocus,gain,camera,style:gray,style:rgb]
        [--model resources/models/default] [--threads 1] [--json out.json]

Renders synthetic boards (1000x750 px, ~25 joints each, the engine's ``color``
style with its per-board photometric randomisation) and inspects them with the
shipped model through `InspectionRunner` into a fresh SQLite file, the path of
`soldernet inspect`: ``--unchanged`` windows of ``--boards`` boards rendered the same
way with new seeds, then, per change in ``--changes`` (tests/app/_drift_synth.py),
``--changed`` windows after that camera change. A board whose fiducials do not
register is replaced by the next seed, so every window holds ``--boards`` boards.
Windows are "every N boards" (`DriftService.report(windows="boards")`).

The reference is ``--reference`` consecutive unchanged windows, set with
`DriftService.set_reference`; it is drawn ``--draws`` times (disjoint stretches of
the unchanged windows), and each draw judges every other window. Prints, per chart
and for any chart, for the default rules, the default rules plus the run-of-8 rule,
and the textbook limits (no over-dispersion, no reference-error term):

- false-alarm rate = alarming unchanged windows / unchanged windows judged;
- detection rate = alarming changed windows / changed windows judged, per change;

with 95 % Wilson intervals in the JSON. No operator verdicts are simulated, so the
false-call and disagreement charts have no points here (their limits are the same
p-chart maths as the review band's).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import shlex
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "2")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from app.inspection_runner import InspectionRunner  # noqa: E402
from db import Role, open_database  # noqa: E402
from inference.drift import CHARTS, DriftRules  # noqa: E402
from tests.app._drift_synth import render_batch  # noqa: E402

IMAGE_CHARTS = ("mean_logit", "psi", "review_band")


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of k successes in n trials."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns the exit code."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--boards", type=int, default=5, help="boards per window")
    ap.add_argument("--reference", type=int, default=8, help="windows per reference")
    ap.add_argument("--draws", type=int, default=4, help="reference windows tried")
    ap.add_argument("--unchanged", type=int, default=40, help="unchanged windows")
    ap.add_argument("--changed", type=int, default=8, help="windows per change")
    ap.add_argument("--changes", default="defocus,gain,camera,style:gray,style:rgb")
    ap.add_argument("--model", default=str(ROOT / "resources" / "models" / "default"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", dest="json_path")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    torch.set_num_threads(args.threads)
    changes = [c for c in args.changes.split(",") if c]
    command = "python bench/bench_drift.py " + shlex.join(
        sys.argv[1:] if argv is None else argv
    )

    t0 = time.perf_counter()
    plan = ["none"] * args.unchanged + [c for c in changes for _ in range(args.changed)]
    failed: list[str] = []
    times: list[float] = []
    reports: dict[str, list[object]] = {
        "default": [],
        "default+run8": [],
        "textbook": [],
    }
    ref_sets: list[set[int]] = []
    with tempfile.TemporaryDirectory(prefix="bench-drift-") as tmp_name:
        tmp = Path(tmp_name)
        with open_database(tmp / "drift.db") as db:
            runner = InspectionRunner.from_model_folder(
                db, args.model, artefact_dir=tmp / "art", explain=False
            )
            seed = 50_000
            for i, kind in enumerate(plan):
                done = 0
                while done < args.boards:  # a board that fails is replaced
                    path = render_batch(tmp / "imgs", [seed], change=kind, tag=f"w{i}")[
                        0
                    ]
                    seed += 1
                    result = runner.inspect(path, explain=False)
                    if result.status != "done":  # e.g. a fiducial not found
                        failed.append(path.name)
                        continue
                    times.append(result.seconds)
                    done += 1
                print(f"window {i + 1}/{len(plan)} ({kind}) done", file=sys.stderr)
            admin = db.users.create_user("bench", Role.ADMIN, "424242", actor=None)
            version = db.drift.default_model_version()
            assert version is not None
            probe = db.drift.report(
                version,
                windows="boards",
                boards_per_window=args.boards,
                count=len(plan),
            )
            assert len(probe.windows) == len(plan)
            step = max(args.reference, (args.unchanged - args.reference) // args.draws)
            for r in range(args.draws):
                first = r * step
                members = list(range(first, first + args.reference))
                a = probe.windows[members[0]].start
                b = probe.windows[members[-1]].end
                assert a is not None
                assert b is not None
                db.drift.set_reference(
                    version, a, b + timedelta(microseconds=1), actor=admin, note="bench"
                )
                ref_sets.append(set(members))
                for rule, rules in (
                    ("default", DriftRules()),
                    ("default+run8", DriftRules(run_length=8)),
                    (
                        "textbook",
                        DriftRules(overdispersion=False, reference_error=False),
                    ),
                ):
                    reports[rule].append(
                        db.drift.report(
                            version,
                            windows="boards",
                            boards_per_window=args.boards,
                            count=len(plan),
                            rules=rules,
                        )
                    )
    elapsed = time.perf_counter() - t0

    first_model = reports["default"][0].model  # type: ignore[attr-defined]
    out: dict[str, object] = {
        "command": command,
        "boards_per_window": args.boards,
        "joints_per_window": round(
            sum(w.stats.n_joints for w in probe.windows) / len(plan), 1
        ),
        "reference_windows": args.reference,
        "reference_draws": args.draws,
        "first_reference": {
            "joints": first_model.stats.n_joints,
            "review_band": first_model.rates["review_band"],
            "logit_mean": first_model.logit_mean,
            "logit_sd": first_model.logit_sd,
            "overdispersion": first_model.phi,
        },
        "seconds": round(elapsed, 1),
        "seconds_per_board": round(sum(times) / max(1, len(times)), 3),
        "boards_failed": len(failed),
    }
    print(f"command: {command}")
    if failed:
        print(f"{len(failed)} boards not registered (replaced by new seeds)")
    print(
        f"{len(plan)} windows of {args.boards} boards "
        f"(~{out['joints_per_window']} joints each) in {elapsed:.0f} s; "
        f"{args.draws} reference draws of {args.reference} windows; first reference: "
        f"{first_model.stats.n_joints} joints, review band "
        f"{first_model.rates['review_band']:.3f}, mean logit "
        f"{first_model.logit_mean:.2f} sd {first_model.logit_sd:.2f}, phi "
        + ", ".join(f"{k} {v:.2f}" for k, v in first_model.phi.items())
    )
    kinds = list(dict.fromkeys(plan))
    for rule, runs in reports.items():
        table: dict[str, dict[str, object]] = {}
        for kind in kinds:
            row: dict[str, object] = {}
            hits = dict.fromkeys((*IMAGE_CHARTS, "any"), 0)
            total = 0
            band: list[float] = []
            logit: list[float] = []
            for report, refs in zip(runs, ref_sets, strict=True):
                windows = report.windows  # type: ignore[attr-defined]
                for i, k in enumerate(plan):
                    if k != kind or i in refs:
                        continue
                    w = windows[i]
                    total += 1
                    hits["any"] += bool(w.alarms)
                    for chart in IMAGE_CHARTS:
                        hits[chart] += w.points[chart].alarm
                    band.append(w.points["review_band"].value)
                    logit.append(w.points["mean_logit"].value)
            row["windows"] = total
            for chart, k in hits.items():
                lo, hi = wilson(k, total)
                row[chart] = {"alarms": k, "rate": k / total, "ci95": [lo, hi]}
            row["review_band_mean"] = sum(band) / len(band)
            row["mean_logit_mean"] = sum(logit) / len(logit)
            table[kind] = row
        out[rule] = table
        print(f"\nrule: {rule} (alarming windows / windows judged, all draws)")
        print(
            f"{'windows':<12} {'n':>4} {'band':>6} {'logit':>6}  "
            + "  ".join(f"{c:>16}" for c in (*IMAGE_CHARTS, "any"))
        )
        for kind, row in table.items():
            label = "unchanged" if kind == "none" else kind
            cells = []
            for chart in (*IMAGE_CHARTS, "any"):
                cell = row[chart]
                assert isinstance(cell, dict)
                cells.append(
                    f"{cell['alarms']:>4}/{row['windows']:<4} {cell['rate']:>6.1%}"
                )
            print(
                f"{label:<12} {row['windows']:>4} {row['review_band_mean']:>6.3f} "
                f"{row['mean_logit_mean']:>6.2f}  "
                + "  ".join(f"{c:>16}" for c in cells)
            )
    missing = [c for c in CHARTS if c not in IMAGE_CHARTS]
    print(f"\ncharts without points here (no verdicts simulated): {missing}")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(out, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
