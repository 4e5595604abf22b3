"""A multinomial logistic regression on log-normalised expression, used to judge generated cells."""

from __future__ import annotations

import numpy as np
import torch


class CellTypeClassifier:
    """L2-regularised softmax regression on standardised ``log1p`` expression (full-batch L-BFGS)."""

    def __init__(self, l2: float = 1e-2, seed: int = 0):
        self.l2 = l2
        self.seed = seed

    def fit(self, x: np.ndarray, labels: np.ndarray) -> CellTypeClassifier:
        """Fit on expression ``x`` ``[cells, genes]`` and string ``labels``."""
        self.classes = sorted(set(labels.tolist()))
        y = torch.tensor([self.classes.index(label) for label in labels])
        self.mean = x.mean(axis=0)
        self.std = x.std(axis=0) + 1e-3
        xt = torch.from_numpy((x - self.mean) / self.std).float()
        torch.manual_seed(self.seed)
        self.w = torch.zeros(x.shape[1], len(self.classes), requires_grad=True)
        self.b = torch.zeros(len(self.classes), requires_grad=True)
        opt = torch.optim.LBFGS([self.w, self.b], max_iter=200, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(xt @ self.w + self.b, y) + self.l2 * (self.w**2).sum()
            loss.backward()
            return loss

        opt.step(closure)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predicted labels for expression ``x``."""
        xt = torch.from_numpy((x - self.mean) / self.std).float()
        with torch.no_grad():
            idx = (xt @ self.w + self.b).argmax(-1).numpy()
        return np.array(self.classes)[idx]
