"""A small valid file of `LRFinder.save()`, shared by the bad-input and fuzz tests."""

RUN = {
    "steps": [0, 1, 2, 3],
    "lrs": [1e-3, 1e-2, 1e-1, 1.0],
    "losses": [1.0, 0.9, 0.8, 0.9],
    "raw_losses": [1.0, 0.8, 0.6, 1.1],
    "stop_reason": "num_steps",
    "val_steps": [0, 2],
    "val_lrs": [1e-3, 1e-1],
    "val_losses": [1.1, 0.7],
}
VALID = {
    "config": {
        "start_lr": 1e-3,
        "end_lr": 1.0,
        "num_steps": 4,
        "mode": "exponential",
        "beta": 0.98,
        "stop_factor": 4.0,
        "restore": True,
        "verbose": 0,
        "num_runs": 1,
        "seed": None,
    },
    **RUN,
    "best_lr": 0.1,
    "best_loss": 0.8,
    "diverged": False,
    "val_every": 2,
    "runs": [RUN],
}
