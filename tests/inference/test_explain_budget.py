"""The forward-pass budget of the CFI search (`max_forwards`)."""

from __future__ import annotations

import pytest
import torch

from inference.explain import ExplainConfig, ExplainError, explain_cfi
from inference.explain.cache import result_from_parts, result_to_record
from inference.explain.render import summary_text
from inference.explain.runner import config_from_overrides
from tests.inference._explain_toys import BoxModel, toy_image

torch.set_num_threads(1)

CFG = ExplainConfig(
    regions="grid", grid_cell=32, baseline="mean", target_layer=None, ig_steps=4
)


def test_default_budget_leaves_spec_searches_alone():
    # The disjunction needs the longest search of the spec's toys (125 forwards).
    r = explain_cfi(BoxModel("or"), toy_image(), CFG)
    assert ExplainConfig().max_forwards == 400
    assert r.flipped
    assert not r.budget_exhausted
    assert r.selected_region_ids == (9, 29)


@pytest.mark.parametrize("cap", [1, 40, 70])
def test_search_stops_at_budget(cap):
    model = BoxModel("or")
    r = explain_cfi(model, toy_image(), CFG.replace(max_forwards=cap))
    assert r.flipped is False
    assert r.budget_exhausted is True
    assert r.impact_type in {"confidence", "none"}
    assert r.mask.shape == r.heatmap.shape == (256, 256)
    finish = 1 + 2 * len(r.factors) + CFG.ig_steps
    # The reference and the 64 single-region drops always run (they rank).
    assert r.n_forward <= max(cap, 1 + 64) + finish
    assert "forward-pass budget" in summary_text(r)


def test_budget_none_and_flip_within_budget():
    cfg = CFG.replace(max_forwards=None)
    r = explain_cfi(BoxModel("single"), toy_image(), cfg)
    assert r.flipped
    assert not r.budget_exhausted
    assert "budget" not in summary_text(r)


def test_adaptive_fallback_is_capped():
    # max_area_frac keeps the prefix from reaching both boxes of the conjunction
    # first, so the adaptive pass runs; a budget bounds it.
    cfg = CFG.replace(max_area_frac=0.04, max_forwards=150)
    r = explain_cfi(BoxModel("and"), toy_image(), cfg)
    free = explain_cfi(BoxModel("and"), toy_image(), cfg.replace(max_forwards=None))
    assert r.n_forward <= 150 + 1 + 2 * len(r.factors) + cfg.ig_steps
    assert r.n_forward <= free.n_forward


def test_budget_round_trips_through_cache_record():
    r = explain_cfi(BoxModel("or"), toy_image(), CFG.replace(max_forwards=40))
    arrays = {
        "mask": r.mask,
        "factor_labels": r.factor_labels,
        "region_labels": r.region_labels,
        "heatmap": r.heatmap,
    }
    back = result_from_parts(result_to_record(r), arrays)
    assert back.budget_exhausted is True
    assert r.to_dict()["budget_exhausted"] is True


def test_budget_knob_parsing():
    assert config_from_overrides(["max_forwards=none"]).max_forwards is None
    assert config_from_overrides(["max_forwards=250"]).max_forwards == 250
    with pytest.raises(ExplainError):
        ExplainConfig(max_forwards=0)
