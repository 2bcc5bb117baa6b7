"""`python -m conformance`."""

import sys

from conformance.cli import entry

sys.exit(entry())
