"""Toy models and images of algorithms.md §1.9 (no conv layers, exact arithmetic)."""

from __future__ import annotations

import torch
from torch import nn

BOX_A = (slice(96, 128), slice(160, 192))  # grid id 29
BOX_B = (slice(32, 64), slice(32, 64))  # grid id 9


def toy_image(with_a: bool = True, with_b: bool = True) -> torch.Tensor:
    x = torch.full((1, 3, 256, 256), 0.2)
    if with_a:
        x[:, :, BOX_A[0], BOX_A[1]] = 0.9
    if with_b:
        x[:, :, BOX_B[0], BOX_B[1]] = 0.9
    return x


def box_mask(box: tuple[slice, slice]) -> torch.Tensor:
    m = torch.zeros(256, 256, dtype=torch.bool)
    m[box] = True
    return m


class BoxModel(nn.Module):
    """logit = a·agg(m_A, m_B) − c with m_b the channel-0 mean inside box b."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += x.shape[0]
        m_a = x[:, 0, BOX_A[0], BOX_A[1]].mean(dim=(1, 2))
        m_b = x[:, 0, BOX_B[0], BOX_B[1]].mean(dim=(1, 2))
        if self.kind == "single":
            out = 20 * m_a - 10
        elif self.kind == "and":
            out = 10 * (m_a + m_b) - 10
        else:
            out = 10 * torch.maximum(m_a, m_b) - 5
        return out.unsqueeze(1)


class TinyCNN(nn.Module):
    """Two conv layers, global average pool, one logit; `features` and `target_layer`
    like the real classifier wrappers."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.conv1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.head = nn.Linear(16, 1)
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
        self.target_layer = self.conv2
        self.raise_after_features = False

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv2(torch.relu(self.conv1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.features(x)
        if self.raise_after_features:
            raise RuntimeError("boom")
        return self.head(a.mean(dim=(2, 3)))


def blob_image(size: int = 64, seed: int = 0) -> torch.Tensor:
    """A smooth image with a bright blob (deterministic)."""
    gen = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    c = size * 0.6
    blob = torch.exp(-((yy - c) ** 2 + (xx - size * 0.3) ** 2) / (2 * (size / 8) ** 2))
    x = 0.3 + 0.6 * blob[None, None].repeat(1, 3, 1, 1)
    x[:, 1] *= 0.8
    x = x + 0.02 * torch.rand(1, 3, size, size, generator=gen)
    return x.clamp(0, 1)


def centred_cnn(x: torch.Tensor, logit: float = 0.3, seed: int = 0) -> TinyCNN:
    """A TinyCNN whose bias is shifted so that its logit on `x` is `logit`."""
    model = TinyCNN(seed).eval()
    with torch.no_grad():
        model.head.bias -= model(x)[0, 0] - logit
    return model
