"""PyTorch's own schedulers as the oracle of the momentum tests (one copy for every test file)."""

import numpy as np
import torch


def torch_schedule(n, kind, **kwargs):
    """PyTorch's (lr, momentum) at steps 0..n-1, from its scheduler on a momentum SGD."""
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.1, momentum=0.9)
    make = torch.optim.lr_scheduler.OneCycleLR if kind == "one_cycle" else torch.optim.lr_scheduler.CyclicLR
    scheduler = make(optimizer, **kwargs)
    lrs, momentums = [], []
    for _ in range(n):
        lrs.append(optimizer.param_groups[0]["lr"])
        momentums.append(optimizer.param_groups[0]["momentum"])
        optimizer.step()
        scheduler.step()
    return np.asarray(lrs), np.asarray(momentums)
