"""The PyTorch side of the loader benchmark: ImageFolder + torchvision transforms + DataLoader (2 workers)."""
import json, sys, time

import torch
from torchvision import datasets, transforms

torch.set_num_threads(1)
tf = transforms.Compose([
    transforms.Grayscale(1), transforms.RandomHorizontalFlip(), transforms.RandomRotation(10),
    transforms.ToTensor(), transforms.Normalize([0.5], [0.5]),
])
ds = datasets.ImageFolder(sys.argv[1], transform=tf)
loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, num_workers=2)
start = time.perf_counter()
n = 0
for x, y in loader:
    n += x.shape[0]
seconds = time.perf_counter() - start
print(json.dumps({"tool": "pytorch", "images": n, "seconds": seconds, "images_per_s": n / seconds}))
