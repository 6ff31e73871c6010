"""``python -m calculators``: the command-line interface (see calculators/cli.py)."""

import sys

from calculators.cli import main

sys.exit(main())
