"""A seed gives the same trials on every machine (issue 21, item 1).

Two kinds of test, over every simulator trialplan has (the sufficient-statistic
and patient-level engines of every outcome, with and without therapy groups,
the joint statistics of the multiplicity procedures, SMART, group-sequential
simulation, assurance Monte Carlo, randomization schedules and explore's
scenario seeds):

1. ``test_first_block_matches_its_pinned_fingerprint``: a SHA-256 of the
   simulator's first block under a fixed seed, computed from
   platform-independent operations only -- every array is quantized to 10
   significant digits of its own scale (BLAS and libm may differ in the last
   unit of the last place, never in the tenth digit) and hashed as
   little-endian int64.  The pinned fingerprints are trialplan's own output:
   they are a regression guard of the reproducibility contract (a change means
   every seeded result users recorded changes), not evidence that the draws
   are right; the simulators' correctness is tested against references in
   their own test files.  After an intended change of the draws, regenerate
   them with ``python tests/test_reproducibility.py`` and say why in the
   commit.

2. ``test_first_block_does_not_depend_on_the_decomposition``: the same block
   recomputed with every eigen- and singular-value decomposition returning
   another valid basis (each group of equal eigenvalues rotated by a random
   orthogonal matrix, signs flipped), and with ``psd_cholesky`` computed
   another way (symmetric square root from that rotated basis, then a QR
   step), gives the same numbers.  LAPACK builds differ exactly in this
   freedom, so a simulator that scaled its draws by an eigen basis would fail
   here -- ``test_the_perturbation_catches_an_eigen_basis`` shows that it does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pytest
import scipy.linalg
from scipy import stats

import trialplan as tp
from trialplan import _linalg
from trialplan.explore import scenario_seed
from trialplan.multiplicity import JointStatistics
from trialplan.simulate import block_length
from trialplan.simulate import clustered_repeated as clustered_repeated_module
from trialplan.simulate.sequential import simulate_sequential

SEED = 2026
DIGITS = 10
FACTORS = {"rTMS": ("sham", "active"), "MBI": ("control", "MBI")}
CELLS = [("sham", "control"), ("active", "control"), ("sham", "MBI"), ("active", "MBI")]
GROUPS = tp.Clustering(factor="MBI", icc=0.05, group_size=5)


# ------------------------------------------------------------------ fingerprints
def quantized(values: Any) -> np.ndarray:
    """Integers that stand for the values to ``DIGITS`` significant digits of their scale."""
    a = np.asarray(values, dtype=float).ravel()
    finite = a[np.isfinite(a)]
    scale = float(np.max(np.abs(finite), initial=0.0))
    if scale == 0.0:
        return np.zeros(a.size, dtype="<i8")
    # the 1e-6 keeps a scale of 0.9999999999999 and one of 1.0 in the same decade
    exponent = math.floor(math.log10(scale * (1 + 1e-6))) - DIGITS + 1
    out = np.rint(np.where(np.isfinite(a), a, 0.0) / 10.0**exponent) + 0.0
    return out.astype("<i8")


def fingerprint(arrays: list[Any]) -> str:
    digest = hashlib.sha256()
    for values in arrays:
        a = np.asarray(values, dtype=float)
        digest.update(repr(a.shape).encode())
        digest.update(np.isnan(a).astype("u1").tobytes())
        digest.update(np.sign(np.where(np.isinf(a), a, 0.0)).astype("<i1").tobytes())
        digest.update(quantized(a).tobytes())
    return digest.hexdigest()[:16]


def arrays_of(obj: Any) -> list[Any]:
    """The numbers of a block's output: dataclass fields, mappings, arrays and numbers."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: list[Any] = []
        for f in dataclasses.fields(obj):
            out += arrays_of(getattr(obj, f.name))
        return out
    if isinstance(obj, Mapping):
        out = []
        for key in sorted(obj, key=str):
            out += arrays_of(obj[key])
        return out
    if isinstance(obj, np.ndarray) and obj.dtype.kind in "biuf":
        return [obj]
    if isinstance(obj, int | float | np.number) and not isinstance(obj, bool):
        return [np.asarray(obj, dtype=float)]
    if isinstance(obj, tuple | list) and all(isinstance(v, int | float) for v in obj):
        return [np.asarray(obj, dtype=float)]
    return []


# ----------------------------------------------------------------------- designs
def continuous(baseline_corr: float = 0.0, clusters: Any = None) -> tp.Factorial:
    means = dict(zip(CELLS, (0.0, -3.0, -2.0, -8.0), strict=True))
    outcome = tp.Continuous(means=means, sd=8.0, baseline_corr=baseline_corr)
    return tp.Factorial(factors=FACTORS, outcome=outcome, n_per_cell=20, clusters=clusters)


def binary(clusters: Any = None) -> tp.Factorial:
    rates = dict(zip(CELLS, (0.2, 0.3, 0.3, 0.5), strict=True))
    return tp.Factorial(
        factors=FACTORS, outcome=tp.Binary(rates=rates), n_per_cell=30, clusters=clusters
    )


def survival(clusters: Any = None) -> tp.Factorial:
    hazards = dict(zip(CELLS, (0.1, 0.08, 0.08, 0.05), strict=True))
    outcome = tp.TimeToEvent(hazards=hazards, accrual=12.0, follow_up=12.0)
    return tp.Factorial(factors=FACTORS, outcome=outcome, n_per_cell=30, clusters=clusters)


def repeated(clusters: Any = None) -> tp.Factorial:
    # compound symmetry: the visit covariance has a repeated eigenvalue
    last = dict(zip(CELLS, (0.0, -3.0, -2.0, -8.0), strict=True))
    means = {c: (0.0, v / 2, v) for c, v in last.items()}
    outcome = tp.Repeated(means=means, times=(0.0, 1.0, 2.0), sd=6.0, correlation="cs", rho=0.5)
    return tp.Factorial(factors=FACTORS, outcome=outcome, n_per_cell=20, clusters=clusters)


def many_to_one() -> tp.Parallel:
    # equal arms: the three comparisons with control are equicorrelated (0.5), so
    # their correlation matrix has a repeated eigenvalue (0.5, 0.5, 2)
    arms = ("control", "A", "B", "C")
    means = dict(zip(arms, (0.0, 2.0, 3.0, 4.0), strict=True))
    return tp.Parallel(
        arms=arms, outcome=tp.Continuous(means=means, sd=8.0), n_per_arm=60, control="control"
    )


# -------------------------------------------------------------- first blocks
def runner_block(design: Any, engine: str) -> list[Any]:
    """Block 0 of ``design.power(method="simulation", seed=SEED, engine=engine)``."""
    sim = design.simulator()
    params = sim.prepare(design)
    rng = np.random.default_rng(np.random.SeedSequence(SEED, spawn_key=(0,)))
    size = block_length(sim, params, engine)
    return arrays_of(sim.draw(params, rng, size, engine=engine))


def joint_block() -> list[Any]:
    design = many_to_one()
    joint = JointStatistics.from_design(design, design.hypothesis_names)
    rng = np.random.default_rng(np.random.SeedSequence(SEED, spawn_key=(0,)))
    holm = design.power(
        multiplicity=tp.Holm(list(design.hypothesis_names)),
        method="simulation",
        n_sims=2000,
        seed=SEED,
    )
    powers = [*holm.to_frame()["power"], holm.any, holm.all]
    return [joint.simulate(2000, rng), np.array(powers)]


def smart_block() -> list[Any]:
    smart = tp.SMART(
        stage1=("rTMS", "rTMS+MBI"),
        stage2=("continue", "augment"),
        response_rate={"rTMS": 0.30, "rTMS+MBI": 0.40},
        responder_mean={"rTMS": -14.0, "rTMS+MBI": -15.0},
        nonresponder_mean={
            ("rTMS", "continue"): -4.0,
            ("rTMS", "augment"): -6.0,
            ("rTMS+MBI", "continue"): -6.0,
            ("rTMS+MBI", "augment"): -9.0,
        },
        sd=8.0,
        n_total=120,
        alpha=0.05,
    )
    res = smart.power(method="simulation", n_sims=2000, seed=SEED)
    return [res.to_frame()["power"].to_numpy()]


def sequential_block(design: Any, hypothesis: str, **options: Any) -> list[Any]:
    gsd = tp.GroupSequential(
        info_fractions=(0.5, 1.0), alpha=0.025, efficacy=tp.spending.obrien_fleming()
    )
    sim = simulate_sequential(
        design, hypothesis=hypothesis, sequential=gsd, n_sims=2000, seed=SEED, **options
    )
    return arrays_of(sim)


def assurance_block(prior: Any) -> list[Any]:
    res = continuous().assurance(
        hypothesis="rTMS:MBI", prior=prior, method="simulation", n_sims=4000, seed=SEED
    )
    return [res.value, res.mcse]


def randomization_block() -> list[Any]:
    sched = tp.randomization.permuted_blocks(
        continuous(), n=40, strata={"site": ("A", "B", "C")}, seed=SEED
    ).to_frame(blocks=True)
    codes = [sched[c].astype("category").cat.codes.to_numpy() for c in ("rTMS", "MBI")]
    alloc = tp.randomization.Minimization(continuous(), factors={"site": ("A", "B")}, seed=SEED)
    cells = [CELLS.index(alloc.assign({"site": "AB"[i % 2]})) for i in range(60)]
    return [*codes, sched["block_size"].to_numpy(), np.array(cells)]


def explore_block() -> list[Any]:
    return [np.array([scenario_seed(SEED, {"sd": sd, "n": 50}) % 2**31 for sd in (7.0, 8.0, 9.0)])]


BLOCKS: dict[str, Callable[[], list[Any]]] = {
    "continuous-exact": lambda: runner_block(continuous(), "exact"),
    "continuous-individual": lambda: runner_block(continuous(), "individual"),
    "ancova-exact": lambda: runner_block(continuous(0.5), "exact"),
    "ancova-individual": lambda: runner_block(continuous(0.5), "individual"),
    "binary-exact": lambda: runner_block(binary(), "exact"),
    "binary-individual": lambda: runner_block(binary(), "individual"),
    "survival-exact": lambda: runner_block(survival(), "exact"),
    "survival-individual": lambda: runner_block(survival(), "individual"),
    "repeated-individual": lambda: runner_block(repeated(), "individual"),
    "groups-continuous-exact": lambda: runner_block(continuous(clusters=GROUPS), "exact"),
    "groups-continuous-individual": lambda: runner_block(continuous(clusters=GROUPS), "individual"),
    "groups-ancova-exact": lambda: runner_block(continuous(0.5, clusters=GROUPS), "exact"),
    "groups-ancova-individual": lambda: runner_block(
        continuous(0.5, clusters=GROUPS), "individual"
    ),
    "groups-binary-exact": lambda: runner_block(binary(clusters=GROUPS), "exact"),
    "groups-binary-individual": lambda: runner_block(binary(clusters=GROUPS), "individual"),
    "groups-survival-exact": lambda: runner_block(survival(clusters=GROUPS), "exact"),
    "groups-survival-individual": lambda: runner_block(survival(clusters=GROUPS), "individual"),
    "groups-repeated-individual": lambda: runner_block(repeated(clusters=GROUPS), "individual"),
    "multiplicity-joint": joint_block,
    "smart": smart_block,
    "sequential-t": lambda: sequential_block(continuous(), "rTMS:MBI"),
    "sequential-z": lambda: sequential_block(continuous(), "rTMS:MBI", statistic="z"),
    "sequential-ancova": lambda: sequential_block(continuous(0.5), "rTMS:MBI"),
    "sequential-combination": lambda: sequential_block(continuous(), "combination"),
    "sequential-binary": lambda: sequential_block(binary(), "rTMS"),
    "sequential-survival": lambda: sequential_block(survival(), "rTMS"),
    "sequential-survival-events": lambda: sequential_block(survival(), "rTMS", timing="events"),
    "assurance-normal": lambda: assurance_block(stats.norm(-4.0, 2.0)),
    "assurance-t": lambda: assurance_block(stats.t(5, loc=-4.0, scale=2.0)),
    "randomization": randomization_block,
    "explore-seeds": explore_block,
}

# Regression guard of the reproducibility contract (see the module docstring):
# trialplan's own fingerprints, regenerated by running this file as a script.
PINNED = {
    "continuous-exact": "46c59e8a1dea2ab8",
    "continuous-individual": "18f00803b4637988",
    "ancova-exact": "177229356f4a53f0",
    "ancova-individual": "65fb6a78e33b51bf",
    "binary-exact": "86f7251034803428",
    "binary-individual": "426ad599e3bccda7",
    "survival-exact": "086c44f9978c6e0d",
    "survival-individual": "abf23e2677ca5dc0",
    "repeated-individual": "5a10405cdaf348ed",
    "groups-continuous-exact": "e4564b47cb68bfd2",
    "groups-continuous-individual": "55770b78d74f6c42",
    "groups-ancova-exact": "a704dbde39fefef0",
    "groups-ancova-individual": "1b40dd4952274991",
    "groups-binary-exact": "fb844bcc11589c6b",
    "groups-binary-individual": "d88a79d30d101c44",
    "groups-survival-exact": "85c727c7b13b6c73",
    "groups-survival-individual": "85c727c7b13b6c73",
    "groups-repeated-individual": "f1deceac4ed6ff53",
    "multiplicity-joint": "e9cedd4a39d17347",
    "smart": "f22819f1a367bd21",  # SMART trials drawn by the block runner since main (item 3)
    "sequential-t": "bbabebb739607d32",
    "sequential-z": "0392a50c29df0e6a",
    "sequential-ancova": "303f4b60188222b1",
    "sequential-combination": "50392d87121bee9d",
    "sequential-binary": "265066ff050b1eb7",
    "sequential-survival": "1f0358344d2a50c6",
    "sequential-survival-events": "84aa54cfcb1b74b3",
    "assurance-normal": "29dcc6026f1374e1",
    "assurance-t": "340173face31bbbb",
    "randomization": "3265a3df02b4d971",
    "explore-seeds": "40d93e4a9f19cf2c",
}


_PLAIN: dict[str, list[Any]] = {}


def plain_block(name: str) -> list[Any]:
    """The block computed without perturbation, once per session (both tests use it)."""
    if name not in _PLAIN:
        _PLAIN[name] = BLOCKS[name]()
    return _PLAIN[name]


@pytest.mark.parametrize("name", list(BLOCKS))
def test_first_block_matches_its_pinned_fingerprint(name: str) -> None:
    assert fingerprint(plain_block(name)) == PINNED[name]


# ------------------------------------------------------------- perturbation
def _rotation(rng: np.random.Generator, k: int) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((k, k)))
    return q * np.sign(np.diag(r))


def _groups(values: np.ndarray) -> Iterator[np.ndarray]:
    """Index groups of equal values (to 1e-9 of the largest)."""
    order = np.argsort(values)
    tol = 1e-9 * max(float(np.max(np.abs(values), initial=0.0)), 1e-300)
    start = 0
    for i in range(1, order.size + 1):
        if i == order.size or values[order[i]] - values[order[i - 1]] > tol:
            yield order[start:i]
            start = i


@contextlib.contextmanager
def other_bases(seed: int = 99) -> Iterator[None]:
    """Every eigh/svd returns another valid basis; psd_cholesky is computed another way."""
    rng = np.random.default_rng(seed)
    real_np_eigh, real_np_svd = np.linalg.eigh, np.linalg.svd
    real_sp_eigh, real_sp_svd = scipy.linalg.eigh, scipy.linalg.svd

    def turn(vectors: np.ndarray, values: np.ndarray) -> np.ndarray:
        vectors = np.array(vectors, dtype=float, copy=True)
        for group in _groups(np.asarray(values, dtype=float)):
            vectors[..., group] = vectors[..., group] @ _rotation(rng, group.size)
        return vectors

    def np_eigh(a: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_np_eigh(a, *args, **kwargs)
        if np.ndim(a) != 2:
            return result
        return type(result)(result[0], turn(result[1], result[0]))

    def sp_eigh(a: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_sp_eigh(a, *args, **kwargs)
        if kwargs.get("eigvals_only") or not isinstance(result, tuple) or np.ndim(a) != 2:
            return result
        return result[0], turn(result[1], result[0])

    def svd_turned(real: Callable[..., Any], a: Any, *args: Any, **kwargs: Any) -> Any:
        result = real(a, *args, **kwargs)
        if not isinstance(result, tuple) or np.ndim(a) != 2:
            return result
        u, s, vh = (np.array(x, dtype=float, copy=True) for x in result)
        for group in _groups(s):
            q = _rotation(rng, group.size)
            u[:, group] = u[:, group] @ q
            vh[group, :] = q.T @ vh[group, :]
        return type(result)(u, s, vh) if hasattr(result, "_fields") else (u, s, vh)

    def cholesky_other_way(cov: np.ndarray, *, tol: float = 1e-12) -> np.ndarray:
        # the unique factor, from the symmetric square root of a rotated eigen basis
        w, v = np_eigh(np.asarray(cov, dtype=float))
        root = (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T
        _, r = np.linalg.qr(root)
        return (r * np.sign(np.diag(r))[:, None]).T

    patches = [
        (np.linalg, "eigh", np_eigh),
        (np.linalg, "svd", lambda a, *x, **k: svd_turned(real_np_svd, a, *x, **k)),
        (scipy.linalg, "eigh", sp_eigh),
        (scipy.linalg, "svd", lambda a, *x, **k: svd_turned(real_sp_svd, a, *x, **k)),
    ] + [
        # every module that imported the factor, wherever the simulators live
        (module, "psd_cholesky", cholesky_other_way)
        for name, module in sorted(sys.modules.items())
        if name.startswith("trialplan") and hasattr(module, "psd_cholesky")
    ]
    with pytest.MonkeyPatch.context() as mp:
        for module, name, value in patches:
            mp.setattr(module, name, value)
        yield


def assert_same_block(first: list[Any], second: list[Any]) -> None:
    assert len(first) == len(second)
    for a, b in zip(first, second, strict=True):
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        scale = float(np.max(np.abs(a[np.isfinite(a)]), initial=1.0))
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-11 * scale)


# Cox and GEE fits of a whole block take 5-10 s under the patched decompositions; the
# draws themselves (exponential times, gamma frailties) involve no matrix factor, and
# their pinned fingerprints are checked in the default run.
SLOW_FITS = {"survival-individual", "groups-survival-individual"}


@pytest.mark.parametrize(
    "name",
    [pytest.param(n, marks=pytest.mark.slow) if n in SLOW_FITS else n for n in BLOCKS],
)
def test_first_block_does_not_depend_on_the_decomposition(name: str) -> None:
    plain = plain_block(name)
    with other_bases():
        turned = BLOCKS[name]()
    assert_same_block(plain, turned)


def test_the_perturbation_catches_an_eigen_basis(monkeypatch: pytest.MonkeyPatch) -> None:
    # a simulator scaling its draws by V sqrt(D) (the eigh basis, as before the fix)
    def eigen_factor(cov: np.ndarray, **_: Any) -> np.ndarray:
        w, v = np.linalg.eigh(cov)
        return v * np.sqrt(np.clip(w, 0.0, None))

    monkeypatch.setattr(clustered_repeated_module, "psd_cholesky", eigen_factor)
    plain = BLOCKS["groups-repeated-individual"]()
    with other_bases():
        monkeypatch.setattr(clustered_repeated_module, "psd_cholesky", eigen_factor)
        turned = BLOCKS["groups-repeated-individual"]()
    with pytest.raises(AssertionError):
        assert_same_block(plain, turned)


def test_the_emulated_first_block_is_the_runners() -> None:
    # block 0 as emulated here is the one design.power(method="simulation") uses: the
    # rejection rate of rTMS over the emulated block equals the runner's power
    design = continuous()
    sim = design.simulator()
    params = sim.prepare(design)
    size = block_length(sim, params, "exact")
    rng = np.random.default_rng(np.random.SeedSequence(SEED, spawn_key=(0,)))
    draws = sim.draw(params, rng, size, engine="exact")
    c = np.asarray(design.hypothesis("rTMS").contrasts[0], dtype=float)
    t = (draws.estimates @ c) / np.sqrt(draws.contrast_variance(c[None])[:, 0])
    rate = np.mean(np.abs(t) > stats.t.isf(0.025, draws.df))
    res = design.power("rTMS", method="simulation", n_sims=size, seed=SEED, engine="exact")
    assert res["rTMS"] == rate


def test_psd_cholesky_is_the_unique_factor() -> None:
    cov = 0.5 * np.eye(3) + 0.5
    with other_bases():
        other = _linalg.psd_cholesky(cov)
    np.testing.assert_allclose(_linalg.psd_cholesky(cov), other, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(other @ other.T, cov, rtol=1e-12)


if __name__ == "__main__":  # print the fingerprints to pin (after an intended change)
    for key, block in BLOCKS.items():
        print(f"    {key!r}: {fingerprint(block())!r},")
