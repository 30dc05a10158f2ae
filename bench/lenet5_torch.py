"""The same LeNet-5 epoch in PyTorch (CPU) as `npm run train:lenet5 -- --epochs 1 --shift 0`:
modern LeNet-5 for 28x28, batch 64, Adam with OneCycleLR (max lr 3e-3, pct_start 0.25),
normalised MNIST (60k) in a seeded random order, then the test accuracy (10k). Run with
Debian's /usr/bin/python3 from the repository root: /usr/bin/python3 bench/lenet5_torch.py [threads] [epochs]"""
import os
import sys
import time

import torch

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 1
torch.set_num_threads(threads)
torch.manual_seed(0)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenet5_common import lenet5, mnist_labels, mnist_pixels  # noqa: E402


def images(name):
    return (torch.from_numpy(mnist_pixels(name)) - 0.1307) / 0.3081


xtr, ytr = images("train-images-idx3-ubyte"), mnist_labels("train-labels-idx1-ubyte")
xte, yte = images("t10k-images-idx3-ubyte"), mnist_labels("t10k-labels-idx1-ubyte")
model = lenet5()
B = 64
steps = (len(xtr) + B - 1) // B
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * steps, pct_start=0.25)
for epoch in range(epochs):
    t = time.perf_counter()
    perm = torch.randperm(len(xtr))
    for s in range(steps):
        idx_ = perm[s * B:(s + 1) * B]
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xtr[idx_]), ytr[idx_])
        loss.backward()
        opt.step()
        sched.step()
        loss.item()
    sec = time.perf_counter() - t
    print(f"PyTorch {torch.__version__} CPU, {threads} threads: epoch {epoch + 1} {sec:.1f} s ({len(xtr) / sec:.0f} images/s)")
with torch.no_grad():
    model.eval()
    acc = (model(xte).argmax(1) == yte).float().mean().item()
print(f"PyTorch test accuracy {100 * acc:.2f}%")
