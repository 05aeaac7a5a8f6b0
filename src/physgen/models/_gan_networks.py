"""The GAN's two networks around their bodies: the label joined to the input, packs of
samples judged together, and the logits of two discriminator branches added."""

from __future__ import annotations

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
