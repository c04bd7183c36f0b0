"""Designs and results cross process boundaries (process pools, Dask workers)."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor

import pytest

import trialplan as tp

CELLS = (("sham", "control"), ("active", "control"), ("sham", "MBI"), ("active", "MBI"))


def design():
    return tp.Factorial(
        factors={"rTMS": ("sham", "active"), "MBI": ("control", "MBI")},
        outcome=tp.Continuous(
            means=dict(zip(CELLS, (0.0, -3.0, -2.0, -8.0), strict=True)), sd=8.0, baseline_corr=0.3
        ),
        n_per_cell={c: n for c, n in zip(CELLS, (40, 40, 50, 50), strict=True)},
        dropout={c: d for c, d in zip(CELLS, (0.05, 0.05, 0.2, 0.2), strict=True)},
    )


def interaction_power(d):
    return d.power("rTMS:MBI")["rTMS:MBI"]


def test_design_and_result_round_trip_through_pickle():
    d = design()
    copy = pickle.loads(pickle.dumps(d))
    assert copy == d
    assert copy.n_per_cell[("active", "MBI")] == 50
    with pytest.raises(TypeError):
        copy.n_per_cell[("active", "MBI")] = 1  # still read-only after the round trip
    res = pickle.loads(pickle.dumps(d.power()))
    assert res["rTMS:MBI"] == d.power()["rTMS:MBI"]


def test_power_in_a_worker_process_equals_local():
    d = design()
    with ProcessPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(interaction_power, d).result()
    assert remote == interaction_power(d)
