"""The installed trialplan's version, for modules that record it (no import of the package)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("trialplan")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
