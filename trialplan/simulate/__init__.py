"""Simulation engine: exact sufficient-statistic and patient-level simulators.

``design.power(method="simulation", n_sims=..., seed=...)`` runs
:func:`~trialplan.simulate.runner.simulate_power` on the simulator the design
names (``design.simulator()``).  Outcome types plug in through the registry in
:mod:`trialplan.simulate.protocol`; a new outcome's simulator module registers
itself and is imported below.  Nothing here imports a design.
"""

from trialplan.simulate import binary as _binary  # noqa: F401  (registers)
from trialplan.simulate import continuous as _continuous  # noqa: F401  (registers)
from trialplan.simulate import repeated as _repeated  # noqa: F401  (registers)
from trialplan.simulate import survival as _survival  # noqa: F401  (registers)
from trialplan.simulate.protocol import (
    BaseSimulator,
    CellDraws,
    OutcomeSimulator,
    PooledVariance,
    register_simulator,
    simulator_for,
)
from trialplan.simulate.runner import DEFAULT_MEMORY_BUDGET, block_length, simulate_power

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "BaseSimulator",
    "CellDraws",
    "OutcomeSimulator",
    "PooledVariance",
    "block_length",
    "register_simulator",
    "simulate_power",
    "simulator_for",
]
