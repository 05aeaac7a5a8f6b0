"""Shared test settings. Tests are fast by default; long ones carry @pytest.mark.slow."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import torch  # noqa: E402

# The tests train small networks, whose operations are too small to gain from intra-op
# threads; with two threads on a loaded 2-core machine they ran 4x slower (OpenMP workers
# spinning against other processes). Numba's Ising kernels keep their own thread pool.
torch.set_num_threads(1)
