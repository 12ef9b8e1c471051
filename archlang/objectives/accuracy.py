"""Trained accuracy: validation accuracy (maximised) after a short training run on
scikit-learn's handwritten digits (``data``): ``epochs`` epochs of Adam (learning rate ``lr``,
mini-batches of ``batch``), on CPU, deterministic for ``seed`` (weights, batch order).  Usable
on any space whose input the digits fit ([B, 1, 8, 8], [B, 64], …; see ``data.fit``), on
``threads`` torch threads.  Needs torch.
"""

from __future__ import annotations

from archlang.objectives.base import SKLEARN, TORCH, Objective


class Accuracy(Objective):
    name = "accuracy"
    direction = "maximize"
    requires = (TORCH, SKLEARN)

    def __init__(self, epochs: int = 8, batch: int = 64, lr: float = 3e-3, seed: int = 0, threads: int | None = 1) -> None:
        self.epochs, self.batch, self.lr, self.seed, self.threads = epochs, batch, lr, seed, threads

    def __call__(self, model) -> float:
        import torch

        from archlang.backends.torch import build_module
        from archlang.objectives.data import fitted, threads

        x_train, y_train, x_val, y_val = fitted(model)
        module = build_module(model, seed=self.seed)
        with torch.random.fork_rng(devices=[]), threads(self.threads):
            torch.manual_seed(self.seed)
            self.train(module, x_train, y_train)
            return evaluate(module, x_val, y_val)

    def train(self, module, x, y) -> None:
        import torch

        optimizer = torch.optim.Adam(module.parameters(), lr=self.lr)
        generator = torch.Generator().manual_seed(self.seed)
        module.train()
        for _ in range(self.epochs):
            order = torch.randperm(len(x), generator=generator)
            for start in range(0, len(x), self.batch):
                picked = order[start:start + self.batch]
                if len(picked) < 2:  # batch norm needs two samples
                    continue
                optimizer.zero_grad()
                loss = torch.nn.functional.cross_entropy(module(x[picked])[:, :10], y[picked])
                loss.backward()
                optimizer.step()


def evaluate(module, x, y, batch: int = 512) -> float:
    import torch

    module.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(x), batch):
            logits = module(x[start:start + batch])[:, :10]
            correct += int((logits.argmax(dim=1) == y[start:start + batch]).sum())
    return correct / len(x)
