"""Matrix square roots whose result does not depend on the LAPACK build.

Seeded simulation scales standard normal draws by a factor ``F`` with
``F F' = cov``.  An eigen- or singular-value basis is not unique when an
eigenvalue repeats (compound symmetry, equicorrelated statistics), so two
LAPACK builds can return different bases and the same seed then gives
different trials on different machines.  The lower-triangular Cholesky
factor with a non-negative diagonal is unique for a positive definite matrix,
and the pivot-free outer-product form below extends it to positive
semi-definite ones (a zero pivot gives a zero column), so the factor is a
function of the matrix alone.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["psd_cholesky"]


def psd_cholesky(cov: np.ndarray, *, tol: float = 1e-12) -> np.ndarray:
    """Lower-triangular ``L`` with ``L @ L.T == cov`` for a symmetric PSD ``cov``.

    Written out rather than calling ``numpy.linalg.cholesky`` because that
    refuses singular matrices (a compound-symmetry covariance at its largest
    allowed ICC, a correlation of +1), and an eigen-decomposition is not
    unique there.  The loop is over the matrix dimension (a handful of visits
    or hypotheses), so its cost is negligible beside the draws it scales.

    Parameters
    ----------
    cov : numpy.ndarray
        Symmetric positive semi-definite matrix, shape ``(k, k)``.
    tol : float, default 1e-12
        A pivot below ``tol`` times the largest diagonal entry counts as zero;
        a pivot below minus that is an error (the matrix is not PSD).

    Returns
    -------
    numpy.ndarray
        The unique lower-triangular factor with a non-negative diagonal whose
        columns vanish at zero pivots.

    Raises
    ------
    ValueError
        If ``cov`` is not square and symmetric, or not positive semi-definite.

    Examples
    --------
    >>> cov = 0.5 * np.eye(3) + 0.5          # compound symmetry, a repeated eigenvalue
    >>> factor = psd_cholesky(cov)
    >>> bool(np.allclose(factor @ factor.T, cov)), bool(np.allclose(np.triu(factor, 1), 0))
    (True, True)
    >>> psd_cholesky(np.ones((2, 2))).round(12).tolist()   # singular: a zero column
    [[1.0, 0.0], [1.0, 0.0]]
    """
    a = np.array(cov, dtype=float)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ValueError(f"cov must be a square matrix; got shape {a.shape}")
    if not np.all(np.isfinite(a)) or not np.allclose(a, a.T, rtol=1e-10, atol=1e-12):
        raise ValueError("cov must be a finite symmetric matrix")
    k = a.shape[0]
    scale = float(np.max(np.abs(np.diag(a)), initial=0.0))
    floor = tol * scale
    factor = np.zeros_like(a)
    for j in range(k):
        pivot = a[j, j] - factor[j, :j] @ factor[j, :j]
        if pivot < -floor:
            raise ValueError(f"cov is not positive semi-definite (pivot {pivot:.3g} at row {j})")
        if pivot <= floor:
            continue  # a zero pivot: this direction carries no variance
        root = math.sqrt(pivot)
        factor[j, j] = root
        below = a[j + 1 :, j] - factor[j + 1 :, :j] @ factor[j, :j]
        factor[j + 1 :, j] = below / root
    return factor
