# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared helpers for the QA suite; tests import the package from the build tree."""
import os
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("BEAMALIGN_SOURCE_DIR", Path(__file__).resolve().parents[1]))
