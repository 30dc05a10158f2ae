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

F = torch.nn.functional
work, threads = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(threads)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenet5_common import lenet5, mnist_labels, mnist_pixels  # noqa: E402


def images(name, n):
    # normalised in float64, then rounded: as ours (bench/lenet5-same-start.ts, in JavaScript)
    return torch.from_numpy(((mnist_pixels(name, n).astype(np.float64) - 0.1307) / 0.3081).astype(np.float32))


xtr, ytr = images("train-images-idx3-ubyte", 60000), mnist_labels("train-labels-idx1-ubyte", 60000)
xte, yte = images("t10k-images-idx3-ubyte", 10000), mnist_labels("t10k-labels-idx1-ubyte", 10000)
model = lenet5()
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
