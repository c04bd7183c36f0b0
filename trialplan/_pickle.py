"""Make read-only mappings picklable, so designs and results cross process boundaries.

Designs, outcomes and results freeze their mapping fields as
``types.MappingProxyType``, which the standard library cannot pickle.  Process
pools and Dask workers need to pickle them, so trialplan registers a reducer
that rebuilds the proxy around a plain dict copy.  The registration is global
but only adds the ability to pickle a type that otherwise fails.
"""

from __future__ import annotations

import copyreg
from types import MappingProxyType


def _rebuild_mapping_proxy(items: dict) -> MappingProxyType:
    return MappingProxyType(items)


def _reduce_mapping_proxy(proxy: MappingProxyType) -> tuple[object, tuple[dict]]:
    # The proxy type itself cannot be looked up by name, so rebuild through a
    # module-level function that pickle can find.
    return _rebuild_mapping_proxy, (dict(proxy),)


copyreg.pickle(MappingProxyType, _reduce_mapping_proxy)
