"""The PyTorch side of scripts/diff-torch.ts: reads its cases (JSON) from the file named by
argv[1], evaluates each one's expression on float32/int64 tensors built from the same bits, and
writes the outputs (and, where asked, the gradients of sum(out * weights) with respect to the
float inputs) to the file named by argv[2]. Bits travel as base64, so NaN, infinities and -0
survive the trip.
"""
import base64
import json
import math
import re
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F

try:  # roi_align / roi_pool beside ours, where Debian's python3-torchvision is installed
    import torchvision
except ImportError:
    torchvision = None

torch.set_num_threads(1)
warnings.filterwarnings("ignore")  # scatter_reduce's "in beta" and the like, on stderr once per run


def decode(spec):
    raw = base64.b64decode(spec["b64"])
    if spec["dtype"] == "int32":
        t = torch.from_numpy(np.frombuffer(raw, dtype=np.int32).copy()).to(torch.int64)
    else:
        t = torch.from_numpy(np.frombuffer(raw, dtype=np.float32).copy())
    return t.reshape(spec["shape"])


def encode(t):
    t = t.detach()
    if t.dtype == torch.bool:
        t = t.to(torch.float32)
    if t.is_floating_point():
        arr, dtype = t.to(torch.float32).contiguous().numpy(), "float32"
    else:
        arr, dtype = t.to(torch.int32).contiguous().numpy(), "int32"
    return {"shape": list(t.shape), "dtype": dtype, "b64": base64.b64encode(arr.tobytes()).decode()}


def flatten(result):
    if isinstance(result, torch.Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        out = []
        for r in result:
            out.extend(flatten(r))
        return out
    if isinstance(result, (bool, int, float)):
        return [torch.tensor(float(result))]
    raise TypeError("unexpected result " + type(result).__name__)


def weights(n):
    # The same small exact numbers as diff-torch.ts's `weights`.
    return torch.tensor([((i * 7 + 3) % 11 - 5) / 4 for i in range(n)], dtype=torch.float32)


def snake(options):
    # This library's camelCase options as PyTorch's keyword arguments (lists as tuples: betas, etas).
    rename = {"t_max": "T_max", "t0": "T_0", "t_mult": "T_mult"}
    out = {}
    for k, v in options.items():
        k = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), k)
        out[rename.get(k, k)] = tuple(v) if isinstance(v, list) else v
    return out


def optim_run(name, param, grads, options):
    # The optimizer `name` over one parameter, one step per gradient.
    p = param.detach().clone().requires_grad_(True)
    opt = getattr(torch.optim, name)([p], **snake(options))
    for g in grads:
        p.grad = g.detach().clone()
        opt.step()
    return p.detach()


def sched_run(name, lr, options, n):
    # The lr of SGD (momentum 0.9) under the scheduler `name`, read before each of n steps.
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, momentum=0.9)
    sched = getattr(torch.optim.lr_scheduler, name)(opt, **snake(options))
    lrs = []
    for _ in range(n):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return torch.tensor(lrs, dtype=torch.float64).float()


def box_coder(weights):
    from torchvision.models.detection._utils import BoxCoder
    return BoxCoder(tuple(weights))


def bn_run(x, weight, bias, momentum):
    # Training-mode batch norm with running statistics that start at 0 and 1: y, then the
    # updated running mean and variance.
    C = x.shape[1]
    mean, var = torch.zeros(C), torch.ones(C)
    y = F.batch_norm(x, mean, var, weight, bias, training=True, momentum=momentum)
    return y, mean, var


def bn_steps(kind, batches, weight, bias, options):
    # A BatchNorm1d/2d module trained on each batch in turn (running statistics updated), then in
    # evaluation on the last: its output, the running mean and variance, and the batch count.
    C = weight.shape[0]
    bn = getattr(torch.nn, kind)(C, **snake(options))
    with torch.no_grad():
        bn.weight.copy_(weight)
        bn.bias.copy_(bias)
    for x in batches:
        bn(x)
    bn.eval()
    y = bn(batches[-1])
    return y, bn.running_mean, bn.running_var, bn.num_batches_tracked.float()


def rnn_call(kind, x, states, weights, options):
    # A recurrent layer (or cell) on `weights` (in named_parameters' order) through torch._VF, as
    # the modules call it (functional_call cannot swap an RNN's weights in 1.13: it keeps a list of
    # them); the outputs as the library's F.lstm / gru / rnn and the cells give them.
    o = snake(options)
    H, bias = o["hidden_size"], o.get("bias", True)
    if kind.endswith("Cell"):
        batched = x.dim() == 2
        xb = x if batched else x.unsqueeze(0)
        st = [t if batched else t.unsqueeze(0) for t in states] or [xb.new_zeros(xb.shape[0], H)] * (2 if kind == "LSTMCell" else 1)
        w = list(weights) + ([] if bias else [None, None])
        if kind == "LSTMCell":
            out = torch._VF.lstm_cell(xb, tuple(st), *w)
        elif kind == "GRUCell":
            out = torch._VF.gru_cell(xb, st[0], *w)
        else:
            out = (torch._VF.rnn_tanh_cell if o.get("nonlinearity", "tanh") == "tanh" else torch._VF.rnn_relu_cell)(xb, st[0], *w)
        return out if batched else (tuple(t.squeeze(0) for t in out) if isinstance(out, tuple) else out.squeeze(0))
    L, D, bf = o.get("num_layers", 1), 2 if o.get("bidirectional", False) else 1, o.get("batch_first", False)
    batched = x.dim() == 3
    xb = x if batched else x.unsqueeze(0 if bf else 1)
    N = xb.shape[0 if bf else 1]
    st = [t if batched else t.unsqueeze(1) for t in states] or [xb.new_zeros(L * D, N, H)] * (2 if kind == "LSTM" else 1)
    args = (list(weights), bias, L, 0.0, False, D == 2, bf)
    if kind == "LSTM":
        y, h, c = torch._VF.lstm(xb, tuple(st), *args)
    elif kind == "GRU":
        y, h = torch._VF.gru(xb, st[0], *args)
        c = None
    else:
        f = torch._VF.rnn_tanh if o.get("nonlinearity", "tanh") == "tanh" else torch._VF.rnn_relu
        y, h = f(xb, st[0], *args)
        c = None
    if not batched:
        y, h, c = y.squeeze(0 if bf else 1), h.squeeze(1), None if c is None else c.squeeze(1)
    return (y, h, c) if kind == "LSTM" else (y, h)


def run(case):
    if case.get("skip"):
        return {"error": "skipped"}
    if torchvision is None and "torchvision" in case["torch"]:
        return {"skipped": "no torchvision"}
    xs = [decode(s) for s in case["inputs"]]
    for x, s in zip(xs, case["inputs"]):
        if case["grad"] and s["grad"]:
            x.requires_grad_(True)
    scope = {"torch": torch, "F": F, "math": math, "p": case["params"], "optim_run": optim_run, "sched_run": sched_run, "torchvision": torchvision, "bn_run": bn_run, "bn_steps": bn_steps, "rnn_call": rnn_call, "box_coder": box_coder}
    for i, x in enumerate(xs):
        scope["x%d" % i] = x
    try:
        outs = flatten(eval(case["torch"], scope))
    except Exception as e:  # the op refused: the driver compares that with ours
        return {"error": type(e).__name__ + ": " + str(e).splitlines()[0][:300]}
    result = {"outs": [encode(o) for o in outs]}
    if case["grad"]:
        loss = None
        for o in outs:
            if o.is_floating_point() and o.requires_grad:
                term = (o * weights(o.numel()).reshape(o.shape)).sum()
                loss = term if loss is None else loss + term
        grads = []
        if loss is not None:
            try:
                loss.backward()
            except Exception as e:
                return {**result, "gradError": type(e).__name__ + ": " + str(e).splitlines()[0][:300]}
        for x, s in zip(xs, case["inputs"]):
            if not s["grad"]:
                grads.append(None)
            elif x.grad is None:
                grads.append(encode(torch.zeros_like(x)))
            else:
                grads.append(encode(x.grad))
        result["grads"] = grads
    return result


def main():
    specials = {"__Infinity__": math.inf, "__-Infinity__": -math.inf, "__NaN__": math.nan}

    def number(v):
        if isinstance(v, str) and v in specials:
            return specials[v]
        if isinstance(v, list):
            return [number(u) for u in v]
        if isinstance(v, dict):
            return {k: number(u) for k, u in v.items()}
        return v

    with open(sys.argv[1]) as f:
        cases = number(json.load(f))
    results = [run(c) for c in cases]
    with open(sys.argv[2], "w") as f:
        json.dump({"torch": torch.__version__, "results": results}, f)


main()
