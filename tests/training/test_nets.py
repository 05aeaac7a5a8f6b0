"""Shared network builders: shapes and the torus symmetry of circular convolutions."""

import pytest
import torch
from torch import nn

from physgen.models.nets import conv_decoder, conv_encoder, mlp


def test_mlp_shapes_and_layers():
    net = mlp(5, 3, hidden=(8, 4), output_activation=nn.Tanh(), dropout=0.1)
    assert net(torch.zeros(7, 5)).shape == (7, 3)
    assert sum(isinstance(m, nn.Linear) for m in net) == 3
    assert isinstance(net[-1], nn.Tanh)
    assert len(mlp(5, 3, hidden=())) == 1


def test_conv_blocks_shapes():
    torch.manual_seed(0)
    encoder = conv_encoder(8, out_features=3, channels=(4, 6))
    decoder = conv_decoder(3, 8, channels=(6, 4), output_activation=nn.Tanh())
    x = torch.randn(2, 1, 8, 8)
    assert encoder(x).shape == (2, 3)
    assert decoder(encoder(x)).shape == (2, 1, 8, 8)
    with pytest.raises(ValueError, match="divisible"):
        conv_encoder(6, 2, channels=(4, 4))


def test_circular_padding_commutes_with_translations():
    torch.manual_seed(0)
    encoder = conv_encoder(8, out_features=1, channels=(4,))
    conv = encoder[0]
    assert conv.padding_mode == "circular"
    x = torch.randn(1, 1, 8, 8)
    shifted = torch.roll(x, shifts=(2, 4), dims=(2, 3))   # even shifts survive stride 2
    assert torch.allclose(torch.roll(conv(x), shifts=(1, 2), dims=(2, 3)), conv(shifted),
                          atol=1e-6)
