"""The GAN's two networks around their bodies: the label joined to the input, packs of
samples judged together, and the logits of two discriminator branches added; and the
mixture of a generator's snapshots that samples can be drawn from."""

from __future__ import annotations

import copy

import torch
from torch import nn


class Generator(nn.Module):
    """(z, label) -> flat sample ``(batch, n_features)``."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, z, label=None):
        out = self.body(z if label is None else torch.cat([z, label], 1))
        return out.reshape(len(z), -1)


class Discriminator(nn.Module):
    """(flat sample, label) -> one logit (or critic value) per pack of rows, shape
    ``(batch // pack,)``.

    ``pack`` consecutive rows are judged together (PacGAN, Lin et al. 2018): their values
    (and labels) are concatenated for the MLP and stacked as channels for the conv net.
    ``body`` takes the flat pack joined with its labels (``lattice`` None) or the L×L
    configurations with the labels as constant extra channels (``lattice`` = (L, L)); an
    optional second, ``flat`` branch takes the flat pack and labels, and its logit is added.
    """

    def __init__(self, body: nn.Module, lattice=None, flat: nn.Module | None = None,
                 pack: int = 1):
        super().__init__()
        self.body = body
        self.lattice = lattice
        self.flat = flat
        self.pack = pack

    def forward(self, x, label=None):
        n = len(x) // self.pack
        x = x.reshape(n, -1)
        label = None if label is None else label.reshape(n, -1)
        joined = x if label is None else torch.cat([x, label], 1)
        if self.lattice is None:
            return self.body(joined).reshape(n)
        h = x.reshape(n, self.pack, *self.lattice)
        if label is not None:
            h = torch.cat([h, label[:, :, None, None].expand(-1, -1, *self.lattice)], 1)
        out = self.body(h).reshape(n)
        if self.flat is None:
            return out
        return out + self.flat(joined).reshape(n)


class GeneratorSnapshots(nn.Module):
    """Copies of a generator's weights at the end of its last ``k`` epochs (a ring buffer),
    and their equal mixture as a generator: row i of a batch comes from snapshot i mod m,
    with m the number taken so far (at most ``k``).

    Saved and loaded with the rest of a model's weights (keys ``snapshots.*`` and
    ``n_taken``).
    """

    def __init__(self, network: nn.Module, k: int):
        super().__init__()
        self.snapshots = nn.ModuleList(copy.deepcopy(network) for _ in range(k))
        self.requires_grad_(False)
        self.register_buffer("n_taken", torch.zeros((), dtype=torch.int64))

    @property
    def n_held(self) -> int:
        return min(int(self.n_taken), len(self.snapshots))

    @torch.no_grad()
    def take(self, network: nn.Module) -> None:
        """Copy ``network``'s weights over the oldest snapshot."""
        slot = self.snapshots[int(self.n_taken) % len(self.snapshots)]
        slot.load_state_dict(network.state_dict())
        self.n_taken += 1

    def forward(self, z, label=None):
        m = self.n_held
        if m == 0:
            raise RuntimeError("no generator snapshot has been taken yet")
        parts = [self.snapshots[j](z[j::m], None if label is None else label[j::m])
                 for j in range(min(m, len(z)))]
        out = parts[0].new_empty((len(z), parts[0].shape[1]))
        for j, part in enumerate(parts):
            out[j::m] = part
        return out
