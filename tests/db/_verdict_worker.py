"""Subprocess used by test_durability: records verdicts into a database file.

python tests/db/_verdict_worker.py kill DB USER PIN FIRST_JOINT OTHER_JOINTS...
    records a verdict on FIRST_JOINT, prints "ok", then keeps writing verdicts on
    the other joints (so a SIGKILL lands in the middle of writes).
python tests/db/_verdict_worker.py race DB USER PIN SECONDS JOINTS...
    prints "ready", waits for a line on stdin, then records verdicts on JOINTS
    for SECONDS, printing "v <joint id>" after each returned call and "done" at the
    end. Errors are printed, never swallowed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from db import open_database


def main(argv: list[str]) -> int:
    mode, db_path, name, pin = argv[:4]
    with open_database(db_path) as db:
        user = db.users.authenticate(name, pin)
        if mode == "kill":
            first, *others = (int(x) for x in argv[4:])
            db.review.record_verdict(
                first, user=user, verdict="false_call", note="killed"
            )
            print("ok", flush=True)
            for joint_id in others:
                db.review.record_verdict(joint_id, user=user, verdict="skipped")
            time.sleep(60)
            return 0
        seconds = float(argv[4])
        joints = [int(x) for x in argv[5:]]
        print("ready", flush=True)
        sys.stdin.readline()
        deadline = time.monotonic() + seconds
        for joint_id in joints:
            if time.monotonic() > deadline:
                break
            db.review.record_verdict(
                joint_id, user=user, verdict="confirmed_defect", defect_code="bridge"
            )
            print(f"v {joint_id}", flush=True)
        print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
