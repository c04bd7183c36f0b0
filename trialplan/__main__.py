"""``python -m trialplan``: the same as the ``trialplan`` command."""

import sys

from trialplan.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    sys.exit(main())
