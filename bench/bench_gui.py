"""GUI latency benchmarks (issue 7): event-loop stalls, verdict to next joint, start-up.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_gui.py [--json out.json]
        [--only stalls,review,startup] [--verdicts 200] [--queue 10000]
        [--max-explanations 12] [--startup-runs 5] [--profile]

Everything runs on the real station, offscreen, in a temporary folder:

1. **Stalls**: a 5 ms `QTimer` on the GUI thread records the gap between consecutive
   timeouts, first with the logged-in station idle (baseline), then while the Inspect
   screen inspects a demo board (`resources/demo/boards`, its recipe found next to it)
   with the shipped model, explanations on, through the real `IngestController` and
   its inference `QThread`. A sampler thread records the GUI thread's Python stack
   whenever no tick came for 30 ms (a poor man's py-spy): where the stalls are.
2. **Review**: a station seeded with `--queue` possibly defective joints (50 boards,
   crops from a small pool, `tests/app/_seed.py`); the inspector logs in, opens the
   Review tab and presses `F` (false call) `--verdicts` times with `QTest.keyClick`.
   Each sample runs from the key press until the joint view's viewport has painted
   the next joint (its paint event handled, inside an event filter). Between samples
   the station settles (task pool idle, board image loaded): an inspector's pace.
3. **Start-up**: `python -c` subprocesses build the real station and shell on the
   review database (about 10,000 queued joints) and report when the login dialog is
   shown and answers a zero-timer (usable), and when the main window has painted
   after the login button (scrypt login included); whether torch was imported.

Speed is shown here, never by timed tests. Prints the load average with each part.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _gui_probes import (  # noqa: E402
    STALL_MS,
    PaintProbe,
    TickRecorder,
    fmt,
    loadavg,
    log_in,
    run_for,
    summary,
    top_functions,
    wait_until,
)
from _gui_startup import bench_startup  # noqa: E402
from PySide6.QtCore import (  # noqa: E402
    QEventLoop,
    QSettings,
    Qt,
    QTimer,
)
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.bootstrap import build_shell, build_station  # noqa: E402
from app.gc_guard import GuiThreadGarbageCollector  # noqa: E402
from app.gui_main import configure_application  # noqa: E402
from app.settings import DEFAULT_MODEL_DIR, Settings  # noqa: E402

log = logging.getLogger("bench_gui")

IDLE_SECONDS = 5.0
DEMO_BOARD = ROOT / "resources" / "demo" / "boards" / "board_0000.jpg"
INSPECT_TAB, REVIEW_TAB = 0, 1


# ------------------------------------------------------------------------ helpers


# ------------------------------------------------------------------------ 1 stalls


def bench_stalls(app: QApplication, tmp: Path, args: argparse.Namespace) -> dict:
    from dataclasses import replace

    from app.bootstrap import runner_config
    from app.controllers.ingest_controller import IngestController
    from db import open_database
    from tests.app._seed import INSPECTOR, seed_station

    root = tmp / "stalls"
    root.mkdir()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(root))
    settings = Settings(
        data_dir=root,
        db_url=str(root / "inspection.db"),
        model_dir=DEFAULT_MODEL_DIR,
        device="cpu",
    )
    db = open_database(settings.database, migrate=True)
    try:
        # Not a first start (no demo boards queued behind our back); a small queue.
        seed_station(db, root / "seed", boards=2, review_per_board=6)
    finally:
        db.close()
    station = build_station(settings)
    assert station.ingest is not None
    station.ingest.shutdown()
    station.ingest = IngestController(
        station.database,
        replace(
            runner_config(settings),
            device="cpu",
            max_explanations=args.max_explanations,
        ),
    )
    ingest = station.ingest
    shell = build_shell(station)
    window = shell.main_window
    recorder = TickRecorder()
    out: dict[str, Any] = {}
    try:
        shell.start()
        ingest.warm_up()  # as `soldernet gui` does: torch + model while login waits
        log_in(app, shell, *INSPECTOR)
        window.tabs.setCurrentIndex(INSPECT_TAB)
        t_warm = time.perf_counter()
        # Private peek (bench only): the worker holds its runner once warmed up.
        wait_until(app, lambda: ingest._worker._runner is not None, timeout=600)
        out["warm_up_seconds_after_login"] = time.perf_counter() - t_warm
        run_for(1.0)
        print(f"[stalls] idle baseline {IDLE_SECONDS:.0f} s, load {loadavg()}")
        recorder.start()
        run_for(IDLE_SECONDS)
        out["idle"] = summary(recorder.stop())
        out["idle"]["over_50"] = sum(g > STALL_MS for g in recorder.gaps)
        out["load_before"] = loadavg()
        print(f"[stalls] inspecting {DEMO_BOARD.name}, load {loadavg()}")
        profile = cProfile.Profile() if args.profile else None
        recorder.start()
        t0 = time.perf_counter()
        if profile:
            profile.enable()
        window.inspect_screen.add_paths([str(DEMO_BOARD)])
        results: list[Any] = []

        def on_progress(_job: str, stage: str, done: int, total: int) -> None:
            recorder.stage = f"{stage} {done}/{total}"

        ingest.job_progress.connect(on_progress)
        ingest.job_result.connect(lambda _j, board: results.append(board))
        ingest.job_failed.connect(lambda _j, err: results.append(err))
        wait_until(app, lambda: not ingest.busy, timeout=1800)
        run_for(1.0)  # the review refresh after `board_inspected`
        if profile:
            profile.disable()
        gaps = recorder.stop()
        out["inspect_seconds"] = time.perf_counter() - t0 - 1.0
        out["inspect"] = summary(gaps)
        out["inspect"]["over_50"] = sum(g > STALL_MS for g in gaps)
        out["inspect"]["over_50_gaps"] = sorted(
            (round(g, 1) for g in gaps if g > STALL_MS), reverse=True
        )[:20]
        out["stall_stacks"] = recorder.samples.most_common(8)
        out["big_gaps"] = recorder.big
        out["gc_collections"] = recorder.collections
        out["gc_tracked_objects_end"] = len(gc.get_objects())
        board = results[0] if results else None
        out["board"] = {
            k: getattr(board, k, None)
            for k in ("status", "n_joints", "n_review", "n_explained", "serial")
        }
        out["board_repr"] = repr(board)[:300]
        out["load_after"] = loadavg()
        if profile:
            out["profile"] = top_functions(profile, 15)
    finally:
        shell.shutdown()
        station.close()
    return out


# ------------------------------------------------------------------------ 2 review


def seed_queue(db: Any, folder: Path, n: int) -> int:
    from tests.app._seed import seed_station

    boards = 50
    per_board = -(-n // boards)
    seeded = seed_station(
        db,
        folder,
        boards=boards,
        review_per_board=per_board,
        rework_per_board=0,
        good_per_board=0,
    )
    return seeded.n_review


def bench_review(app: QApplication, tmp: Path, args: argparse.Namespace) -> dict:
    import app.controllers.review_controller as rc
    from db import open_database
    from tests.app._seed import INSPECTOR

    root = tmp / "review"
    root.mkdir()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(root))
    settings = Settings(
        data_dir=root,
        db_url=str(root / "inspection.db"),
        model_dir=root / "no-model",  # no inference thread: review only
    )
    t = time.perf_counter()
    db = open_database(settings.database, migrate=True)
    try:
        queued = seed_queue(db, root / "seed", args.queue)
    finally:
        db.close()
    print(f"[review] seeded {queued} queued joints in {time.perf_counter() - t:.1f} s")

    # Worker-side timing of each verdict save (the pool thread).
    record = rc._record
    worker_times: list[tuple[float, float]] = []

    def timed_record(*a: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return record(*a)
        finally:
            worker_times.append((t0, time.perf_counter()))

    rc._record = timed_record

    station = build_station(settings)
    shell = build_shell(station)
    window = shell.main_window
    screen = window.review_screen
    out: dict[str, Any] = {"queued": queued}
    drawn: dict[str, Any] = {"joint": None, "at": 0.0}
    draw_detail = screen._draw_detail

    def traced_draw_detail(detail: Any) -> None:
        draw_detail(detail)
        drawn["joint"] = detail.item.joint_id
        drawn["at"] = time.perf_counter()

    screen._draw_detail = traced_draw_detail
    # When the verdict's result reaches the GUI thread (connected per submit, so an
    # instance attribute is picked up).
    controller = station.review
    on_result = controller._on_verdict_result
    delivered: list[float] = []

    def traced_on_result(saved: object) -> None:
        delivered.append(time.perf_counter())
        on_result(saved)

    controller._on_verdict_result = traced_on_result
    viewport = screen.joint_view.view.viewport()
    probe = PaintProbe(viewport, screen.joint_view.view)
    viewport.installEventFilter(probe)
    try:
        shell.start()
        log_in(app, shell, *INSPECTOR)
        window.tabs.setCurrentIndex(REVIEW_TAB)
        screen.table.setFocus()
        wait_until(app, lambda: screen.current_item is not None, timeout=60)
        wait_until(app, lambda: screen.joint_view.has_overlay, timeout=60)
        runner = station.runner

        def settled() -> bool:
            item = screen.current_item
            return (
                runner.active_count == 0
                and item is not None
                and drawn["joint"] == item.joint_id
                and screen.board_view.loaded_path == item.board_image_path
            )

        wait_until(app, settled, timeout=60)
        print(f"[review] {args.verdicts} x 'F', load {loadavg()}")
        out["load_before"] = loadavg()
        key_to_paint: list[float] = []
        key_to_stamp: list[float] = []
        gui_cpu: list[float] = []
        key_to_saved: list[float] = []
        saved_to_paint: list[float] = []
        parts: dict[str, list[float]] = {
            "committed -> result on GUI thread": [],
            "result slot -> next joint drawn (Python)": [],
            "drawn -> paint starts": [],
            "joint view paint": [],
        }
        worker_ms: list[float] = []
        board_ms: list[float] = []
        misses = 0
        profile = cProfile.Profile() if args.profile else None
        loop = QEventLoop()
        for _ in range(args.verdicts):
            before = screen.current_item
            if before is None:
                break
            done = {"flag": False}

            def check(before_id: int = before.joint_id, d: dict = done) -> None:
                item = screen.current_item
                if (
                    item is not None
                    and item.joint_id != before_id
                    and drawn["joint"] == item.joint_id
                    and probe.painted_at >= drawn["at"]
                ):
                    d["flag"] = True
                    loop.quit()

            probe.on_paint = check
            n_saved = len(worker_times)
            if profile:
                profile.enable()
            c0 = time.thread_time()
            t0 = time.perf_counter()
            QTest.keyClick(screen.table, Qt.Key.Key_F)
            guard = QTimer()
            guard.setSingleShot(True)
            guard.timeout.connect(loop.quit)
            guard.start(10_000)
            if not done["flag"]:
                loop.exec()
            guard.stop()
            t1 = time.perf_counter()
            c1 = time.thread_time()
            if profile:
                profile.disable()
            if not done["flag"] or len(worker_times) <= n_saved:
                misses += 1
                wait_until(app, settled, timeout=60)
                continue
            w0, w1 = worker_times[n_saved]
            key_to_paint.append((t1 - t0) * 1000)
            key_to_stamp.append((probe.painted_at - t0) * 1000)
            gui_cpu.append((c1 - c0) * 1000)
            key_to_saved.append((w1 - t0) * 1000)
            saved_to_paint.append((t1 - w1) * 1000)
            d = delivered[-1]
            for name, ms in zip(
                parts,
                (
                    d - w1,
                    drawn["at"] - d,
                    probe.paint_started - drawn["at"],
                    probe.painted_at - probe.paint_started,
                ),
                strict=True,
            ):
                parts[name].append(ms * 1000)
            worker_ms.append((w1 - w0) * 1000)
            target = screen.current_item
            tb = time.perf_counter()
            wait_until(
                app,
                lambda item=target: (
                    screen.board_view.loaded_path == item.board_image_path
                ),
                timeout=60,
            )
            board_ms.append((time.perf_counter() - tb + (t1 - t0)) * 1000)
            wait_until(app, settled, timeout=60)
        out["key_to_joint_painted"] = summary(key_to_paint)
        out["key_to_joint_view_paint_event"] = summary(key_to_stamp)
        out["gui_thread_cpu"] = summary(gui_cpu)
        out["key_to_verdict_committed"] = summary(key_to_saved)
        out["verdict_write_on_pool"] = summary(worker_ms)
        out["committed_to_painted"] = summary(saved_to_paint)
        out["parts"] = {k: summary(v) for k, v in parts.items()}
        out["key_to_board_loaded"] = summary(board_ms)
        out["misses"] = misses
        out["left_in_queue"] = screen.model.total
        out["load_after"] = loadavg()
        if profile:
            out["profile"] = top_functions(profile, 25)
    finally:
        rc._record = record
        shell.shutdown()
        station.close()
    out["db"] = str(root / "inspection.db")
    return out


# ------------------------------------------------------------------------ 3 startup

# ------------------------------------------------------------------------ report


def report(results: dict) -> None:
    print()
    print("=" * 78)
    if "stalls" in results:
        s = results["stalls"]
        print("1. GUI event-loop gaps (5 ms timer), aim: none over 50 ms")
        print(f"   idle:       {fmt(s['idle'])}, >50 ms: {s['idle']['over_50']}")
        print(
            f"   inspecting: {fmt(s['inspect'])}, >50 ms: {s['inspect']['over_50']}"
            f"  ({s['inspect_seconds']:.1f} s, board {s['board']})"
        )
        if s["inspect"]["over_50_gaps"]:
            print(f"   largest gaps: {s['inspect']['over_50_gaps']}")
        print("   gaps > 50 ms (at s, ms, inference stage):")
        for at, ms, stage in s["big_gaps"]:
            print(f"     {at:8.2f} s {ms:7.1f} ms  {stage}")
        print(
            f"   GC on the GUI thread ({s['gc_tracked_objects_end']} tracked objects "
            "at the end), (at s, generation, ms, collected):"
        )
        for at, gen, ms, n, thread in s["gc_collections"]:
            print(f"     {at:8.2f} s gen {gen} {ms:7.1f} ms  {n} ({thread})")
        for stack, n in s["stall_stacks"]:
            print(f"   stalled in ({n} samples): {stack}")
        print(f"   load: {s['load_before']} -> {s['load_after']}")
    if "review" in results:
        r = results["review"]
        print(f"2. Verdict key 'F' to next joint painted, {r['queued']}-joint queue")
        print("   aim: p95 <= 30 ms")
        keys = ("p50", "p95", "max")
        print(f"   key -> repaint done:        {fmt(r['key_to_joint_painted'], keys)}")
        print(
            "     key -> joint view painted: "
            f"{fmt(r['key_to_joint_view_paint_event'], keys)}"
        )
        print(f"     GUI-thread CPU per verdict: {fmt(r['gui_thread_cpu'], keys)}")
        print(
            f"     key -> verdict committed: {fmt(r['key_to_verdict_committed'], keys)}"
        )
        print(
            f"     (write on the pool:       {fmt(r['verdict_write_on_pool'], keys)})"
        )
        print(f"     committed -> painted:     {fmt(r['committed_to_painted'], keys)}")
        for name, v in r["parts"].items():
            print(f"       {name}: {fmt(v, keys)}")
        print(f"   key -> board image shown:  {fmt(r['key_to_board_loaded'], keys)}")
        print(f"   misses {r['misses']}, load: {r['load_before']} -> {r['load_after']}")
    if "startup" in results:
        u = results["startup"]
        print("3. Start to usable window (median of runs, from process start)")
        print(
            f"   interpreter {u['python_started_median']:.2f} s, imports done "
            f"{u['imported_median']:.2f} s, station+shell built "
            f"{u['built_median']:.2f} s"
        )
        print(f"   login dialog usable: {u['login_usable_median']:.2f} s")
        print(
            f"   main window shown: {u['main_visible_median']:.2f} s "
            f"(login click -> window {u['click_to_main_median']:.2f} s, scrypt "
            f"included); first joint shown {u['first_joint_shown_median']:.2f} s"
        )
        print(
            f"   torch imported at start: {u['torch_imported_at_start']}, after "
            f"login: {u['torch_imported_after_login']} (torch import alone "
            f"{u['torch_import_s']:.2f} s)"
        )
        print(f"   load: {u['load_before']} -> {u['load_after']}")
    for part in ("stalls", "review"):
        prof = results.get(part, {}).get("profile")
        if prof:
            print(f"-- cProfile of the GUI thread ({part}) --")
            for line in prof:
                print("  ", line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="stalls,review,startup")
    parser.add_argument("--verdicts", type=int, default=200)
    parser.add_argument("--queue", type=int, default=10_000)
    parser.add_argument(
        "--max-explanations",
        type=int,
        default=12,
        help="explanations per inspected board (None in the station: all)",
    )
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    parts = [p for p in ("stalls", "review", "startup") if p in args.only.split(",")]
    print(
        f"bench_gui: {time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC, "
        f"{os.cpu_count()} CPUs, load {loadavg()}, "
        f"QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']}",
        flush=True,
    )
    started = time.perf_counter()
    if args.workdir is None:
        # Each part in a fresh process: a second station in one process sometimes
        # aborts inside PySide6 ("none_dealloc"), and no part warms up another.
        with tempfile.TemporaryDirectory(prefix="soldernet-bench-gui-") as tmp:
            results = run_parts(parts, argv or sys.argv[1:], Path(tmp))
    else:
        results = run_here(parts, args)
    results["wall_s"] = round(time.perf_counter() - started, 1)
    if args.workdir is None:
        report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))
    return 0


def run_parts(parts: list[str], argv: list[str], tmp: Path) -> dict[str, Any]:
    """Run the stalls part and the review (+ start-up) part in child processes."""
    results: dict[str, Any] = {"loadavg_start": loadavg()}
    groups = [["stalls"]] if "stalls" in parts else []
    rest = [p for p in parts if p != "stalls"]
    if rest:
        groups.append(rest)
    drop_next = False
    clean: list[str] = []
    for i, a in enumerate(argv):  # strip `--json PATH` and `--only X`
        if drop_next:
            drop_next = False
            continue
        if a in ("--json", "--only"):
            drop_next = i + 1 < len(argv)
            continue
        if a.startswith(("--json=", "--only=")):
            continue
        clean.append(a)
    for group in groups:
        out = tmp / f"{'-'.join(group)}.json"
        subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                *clean,
                "--only",
                ",".join(group),
                "--workdir",
                str(tmp),
                "--json",
                str(out),
            ],
            check=True,
        )
        results.update(json.loads(out.read_text()))
    results["loadavg_end"] = loadavg()
    return results


def run_here(parts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """Run `parts` in this process, in `args.workdir`."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    configure_application(app)
    collector = GuiThreadGarbageCollector(parent=app)  # as `soldernet gui` does
    collector.start()
    results: dict[str, Any] = {}
    tmp = args.workdir
    if "stalls" in parts:
        results["stalls"] = bench_stalls(app, tmp, args)
    if "review" in parts or "startup" in parts:
        review = bench_review(app, tmp, args)
        if "review" in parts:
            results["review"] = review
        if "startup" in parts:
            results["startup"] = bench_startup(review["db"], args)
    collector.stop()
    return results


if __name__ == "__main__":
    code = main()
    # PySide6 may abort while tearing Qt objects down at interpreter exit
    # ("bool_dealloc"): the figures are printed, so leave without the teardown.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
