"""``python -m gaekit`` runs the ``gaekit`` command."""

import sys

from gaekit.cli import main

sys.exit(main())
