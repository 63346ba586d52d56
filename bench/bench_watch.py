"""Watch mode: boards per minute, one station against two sharing PostgreSQL.

Renders N synthetic boards with recipes into a folder, then runs, side by side in one
run on the same boards:

* one `soldernet inspect --watch DIR --once` process on SQLite;
* one such process on PostgreSQL;
* two such processes at once on PostgreSQL (they claim boards from the same folder);

each against a fresh database, and prints wall time, boards per minute, how the boards
were split between the stations and whether any board was inspected twice.

    .venv/bin/python bench/bench_watch.py --boards 12 [--pg URL] [--explain]

Without ``--pg`` a throw-away server is started with ``scripts/pg_test_server.sh`` on
port 54381 (root installs Debian's postgresql when missing) and stopped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SOLDERNET = [sys.executable, "-m", "app"]


def _soldernet(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [*SOLDERNET, *argv],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _count(url: str) -> dict[str, int]:
    from db import open_database

    with open_database(url) as db, db.engine.connect() as conn:
        from sqlalchemy import text

        done = conn.execute(
            text("SELECT count(*) FROM inspections WHERE status = 'done'")
        ).scalar_one()
        boards = conn.execute(
            text("SELECT count(DISTINCT board_id) FROM inspections")
        ).scalar_one()
        joints = conn.execute(text("SELECT count(*) FROM joints")).scalar_one()
    return {"done": int(done), "boards": int(boards), "joints": int(joints)}


def _stations(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url if "://" in url else f"sqlite:///{url}")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT station_id, count(*) FROM board_claims GROUP BY station_id")
        ).all()
    engine.dispose()
    return {str(s): int(n) for s, n in rows}


def _run(
    workers: int, url: str, folder: Path, threads: int, explain: bool, home: Path
) -> dict:
    env = dict(os.environ, PYTHONWARNINGS="ignore", SOLDERNET_HOME=str(home))
    argv = ["inspect", "--watch", str(folder), "--once", "--db", url, "--settle", "0"]
    argv += ["--threads", str(threads), "--no-progress"]
    if not explain:
        argv.append("--no-explain")
    t0 = time.perf_counter()
    procs = [
        _soldernet(*argv, "--station", f"station-{i + 1}", env=env)
        for i in range(workers)
    ]
    exits = []
    for i, p in enumerate(procs):
        _out, err = p.communicate()
        exits.append(p.returncode)
        if p.returncode != 0:
            print(f"station-{i + 1} exited {p.returncode}: {err[-1500:]}", flush=True)
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        **_count(url),
        "per_station": _stations(url),
        "exit_codes": exits,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--boards", type=int, default=12)
    ap.add_argument("--size", default="demo", help="board size preset or WxH")
    ap.add_argument("--pg", help="PostgreSQL URL (default: start a throw-away one)")
    ap.add_argument("--explain", action="store_true", help="explanations on")
    ap.add_argument("--json", help="write the figures as JSON")
    ap.add_argument(
        "--runs",
        default="sqlite1,pg1,pg2",
        help="which runs, comma-separated: sqlite1, pg1, pg2",
    )
    args = ap.parse_args()
    load = os.getloadavg()
    started_pg = False
    url = args.pg
    if url is None:
        env = dict(os.environ, SOLDERNET_PG_PORT="54381")
        env["SOLDERNET_PG_DIR"] = "/tmp/soldernet-pg-bench"
        url = subprocess.run(
            ["bash", "scripts/pg_test_server.sh", "start"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        started_pg = True
    results = {}
    try:
        with tempfile.TemporaryDirectory(prefix="soldernet-watch-") as tmp:
            root = Path(tmp)
            subprocess.run(
                [*SOLDERNET, "synth", "boards", "--out", str(root / "set"), "--n",
                 str(args.boards), "--seed", "77", "--size", args.size],
                cwd=ROOT, check=True, capture_output=True,
            )  # fmt: skip
            boards = root / "set" / "boards"
            wanted = set(args.runs.split(","))
            for key, name, workers, db, threads in (
                ("sqlite1", "sqlite, 1 station (2 threads)", 1, "sqlite", 2),
                ("pg1", "postgres, 1 station (2 threads)", 1, "pg", 2),
                ("pg2", "postgres, 2 stations (1 thread each)", 2, "pg", 1),
            ):
                if key not in wanted:
                    continue
                if db == "pg":
                    _reset_postgres(url)
                    target = url
                else:
                    target = str(root / f"{workers}.db")
                # Fresh claims and inspections for each run; the boards stay.
                home = root / "home"
                results[name] = _run(
                    workers, target, boards, threads, args.explain, home
                )
                shutil.rmtree(home, ignore_errors=True)
    finally:
        if started_pg:
            env = dict(os.environ, SOLDERNET_PG_DIR="/tmp/soldernet-pg-bench")
            subprocess.run(["bash", "scripts/pg_test_server.sh", "stop"], cwd=ROOT,
                           env=env, check=False, capture_output=True)  # fmt: skip
    print(f"{args.boards} synthetic boards ({args.size}), explanations "
          f"{'on' if args.explain else 'off'}; load average before: "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
    print(f"{'run':40s} {'s':>7s} {'boards/min':>10s}  done  split")
    for name, r in results.items():
        bpm = 60 * r["done"] / r["seconds"]
        twice = " (a board inspected twice!)" if r["done"] != r["boards"] else ""
        print(f"{name:40s} {r['seconds']:7.1f} {bpm:10.1f}  {r['done']:4d}  "
              f"{r['per_station']}{twice}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), "utf-8")


if __name__ == "__main__":
    main()
