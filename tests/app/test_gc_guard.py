"""`GuiThreadGarbageCollector`: cyclic garbage is collected by the GUI-thread timer."""

from __future__ import annotations

import gc
import weakref

from app.gc_guard import GuiThreadGarbageCollector


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_collects_cycles_on_its_own_thread_only(qtbot) -> None:
    collector = GuiThreadGarbageCollector(interval_ms=10)
    collector.start()
    try:
        assert not gc.isenabled()
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        probe = weakref.ref(a)
        del a, b
        # Live allocations past generation 0's threshold (frees count down again).
        keep = [_Node() for _ in range(gc.get_threshold()[0] + 10)]
        assert probe() is not None  # nobody collected automatically
        qtbot.waitUntil(lambda: probe() is None, timeout=5_000)
        assert collector.collections >= 1
        assert len(keep) > gc.get_threshold()[0]
    finally:
        collector.stop()
    assert gc.isenabled()
