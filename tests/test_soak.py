"""A short soak (a few simulated minutes on a fast clock, see bench/soak.py for the hour): memory,
GL objects and buffers stay flat after warm-up while presets switch every minute."""

from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
from soak import CAPPED_HISTORY, RSS_TARGET_MB, simulate  # noqa: E402

pytestmark = [pytest.mark.gl, pytest.mark.slow]


def test_a_compressed_show_keeps_memory_gl_objects_and_buffers_flat(ctx):
    report = simulate(minutes=14, step=0.5, size=(64, 36), taps_per_second=8.0, ctx=ctx)
    assert report.switches >= 13 and report.taps > 3000
    assert len(report.after_warmup(report.gl)) >= 3, "too short to judge after warm-up"
    assert report.gl_change == 0, f"GL objects alive per minute: {report.gl}"
    grown = {k: v for k, v in report.grown_buffers.items() if k not in CAPPED_HISTORY}
    assert not grown, f"buffers that kept growing: {grown}"
    assert report.rss_growth_mb <= RSS_TARGET_MB, f"RSS per minute (MB): {report.rss}"
    assert report.backlog == 0 and report.dropped == 0
