"""The PyTorch side of `make bench`: the same ResNet-18 step as lumen-bench, one JSON line out.

Usage: python pytorch_bench.py MODE SIZE CHANNELS [BATCH] [ITERS] [WARMUP] [THREADS]
"""
import json, resource, sys, time

import torch
import torch.nn.functional as F
import torchvision

mode, size, channels = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
batch = int(sys.argv[4]) if len(sys.argv) > 4 else 32
iters = int(sys.argv[5]) if len(sys.argv) > 5 else 10
warmup = int(sys.argv[6]) if len(sys.argv) > 6 else 2
threads = int(sys.argv[7]) if len(sys.argv) > 7 else torch.get_num_threads()
torch.set_num_threads(threads)
torch.manual_seed(0)

model = torchvision.models.resnet18(num_classes=2)
if channels != 3:
    model.conv1 = torch.nn.Conv2d(channels, 64, 7, 2, 3, bias=False)
x = torch.randn(batch, channels, size, size)
y = torch.randint(0, 2, (batch,))
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def step():
    if mode == "train":
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    else:
        with torch.no_grad():
            model(x)


model.train(mode == "train")
for _ in range(warmup):
    step()
start = time.perf_counter()
for _ in range(iters):
    step()
seconds = time.perf_counter() - start
print(json.dumps({
    "tool": "pytorch", "mode": mode, "size": size, "channels": channels, "batch": batch, "threads": threads,
    "images_per_s": batch * iters / seconds,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "torch": torch.__version__,
}, sort_keys=True))
