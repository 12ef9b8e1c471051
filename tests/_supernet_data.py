"""A ``--data FILE.py:FUNCTION`` for tests/test_supernet_cli.py: random 3×32×32 images in ten
classes; the training batches shuffled by the loader's own generator, the validation
batches by torch's global one (a resumed run must restore both).  With ``ARCHLANG_TEST_PAUSE=FILE`` in the
environment the third pass over the training batches (archlang's check of the first batch,
epoch 1, epoch 2) creates FILE and sleeps, so that a test can kill the run in the middle of
epoch 2 at a known place."""

import os
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset


class Pausing:
    """A loader that pauses (for a kill) in its third pass, at its second batch."""

    def __init__(self, loader: DataLoader) -> None:
        self.loader = loader
        self.generator = loader.generator  # the trainer saves and restores it
        self.passes = 0

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        self.passes += 1
        for i, batch in enumerate(self.loader):
            pause = os.environ.get("ARCHLANG_TEST_PAUSE")
            if pause and self.passes == 3 and i == 1:
                Path(pause).write_text("in epoch 2")
                time.sleep(600)
            yield batch


def loaders(batch_size: int = 8):
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(64, 3, 32, 32, generator=g), torch.randint(0, 10, (64,), generator=g)
    train = DataLoader(TensorDataset(x[:48], y[:48]), batch_size=batch_size, shuffle=True,
                       generator=torch.Generator().manual_seed(2))
    valid = DataLoader(TensorDataset(x[48:], y[48:]), batch_size=batch_size, shuffle=True)  # torch's global generator
    return Pausing(train), valid


def small_images(batch_size: int = 8):
    """Batches of 16×16 images: not what NAS-Bench-201 takes."""
    images = [(torch.zeros(batch_size, 3, 16, 16), torch.zeros(batch_size, dtype=torch.long))]
    return images, images
