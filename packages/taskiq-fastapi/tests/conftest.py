"""Put this directory on sys.path so tests import the apps by ``module:variable``."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
