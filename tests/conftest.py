"""Shared test settings. Tests are fast by default; long ones carry @pytest.mark.slow."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")
