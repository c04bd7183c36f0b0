"""Allocation schedules: stratified permuted blocks and Pocock-Simon minimization.

Two ways to decide who gets what:

* :func:`permuted_blocks` writes the whole list in advance.  Each stratum (a
  combination of levels of the stratification variables) gets its own list,
  made of blocks whose size is drawn at random from ``block_sizes``; each
  block holds every treatment in proportion to the allocation ratios, in a
  random order (Matts & Lachin 1988).  A factorial design is randomized over
  its cells, so both factors and their combination stay balanced; a parallel
  design over its arms; a SMART over its stage-1 arms (``stage=1``) or, for
  non-responders, over its stage-2 options within each stage-1 arm
  (``stage=2``).
* :class:`Minimization` assigns one participant at a time (Pocock & Simon
  1975): it adds the participant hypothetically to each treatment, measures
  the imbalance this would cause at the participant's own covariate levels,
  and favours the treatment with the least imbalance with probability ``p``.

Both are reproducible from a seed.  A schedule's CSV export opens with a
header that records the seed, the parameters and the trialplan version; the
default (blinded) export leaves out block sizes and block numbers, which
enrolling staff must not see (SPIRIT 2013 item 16a).  :func:`read_schedule`
and :func:`read_minimization_log` read the CSV files back exactly as they
were written, whatever the labels hold (every text field is quoted, and text
that a spreadsheet would run as a formula is escaped with a leading ``'``).

References
----------
.. [1] Matts JP, Lachin JM. Properties of permuted-block randomization in
   clinical trials. Control Clin Trials 1988;9(4):327-344.
.. [2] Rosenberger WF, Lachin JM. Randomization in Clinical Trials: Theory and
   Practice, 2nd ed. Wiley; 2016.
.. [3] Taves DR. Minimization: a new method of assigning patients to
   treatment and control groups. Clin Pharmacol Ther 1974;15(5):443-453.
.. [4] Pocock SJ, Simon R. Sequential treatment assignment with balancing for
   prognostic factors in the controlled clinical trial. Biometrics
   1975;31(1):103-115.
.. [5] Chan A-W et al. SPIRIT 2013 statement. Ann Intern Med
   2013;158(3):200-207.
.. [6] Kahan BC, Morris TP. Improper analysis of trials randomised using
   stratified blocks or minimisation. Stat Med 2012;31(4):328-340.
"""

from trialplan.randomization.blocks import permuted_blocks
from trialplan.randomization.files import read_minimization_log, read_schedule
from trialplan.randomization.minimization import Minimization
from trialplan.randomization.schedule import Schedule

__all__ = [
    "Minimization",
    "Schedule",
    "permuted_blocks",
    "read_minimization_log",
    "read_schedule",
]
