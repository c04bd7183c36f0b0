"""``python -m trialplan.validate``: see :mod:`trialplan.validate`."""

from trialplan.validate import main

raise SystemExit(main())
