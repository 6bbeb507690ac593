"""The PyTorch side of the training benchmark: ImageFolder + torchvision transforms + DataLoader (2 workers),
ResNet-18 (1 input channel, 2 classes), SGD, one epoch; prints images/s of the epoch loop."""
import json, sys, time

import torch
import torchvision
from torchvision import datasets, transforms

torch.manual_seed(0)
tf = transforms.Compose([transforms.Grayscale(1), transforms.RandomHorizontalFlip(), transforms.ToTensor()])
ds = datasets.ImageFolder(sys.argv[1], transform=tf)
loader = torch.utils.data.DataLoader(ds, batch_size=32, shuffle=True, num_workers=2)
model = torchvision.models.resnet18(num_classes=2)
model.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
opt = torch.optim.SGD(model.parameters(), lr=0.01)
loss_fn = torch.nn.CrossEntropyLoss()
model.train()
start = time.perf_counter()
n = 0
for x, y in loader:
    opt.zero_grad(set_to_none=True)
    loss_fn(model(x), y).backward()
    opt.step()
    n += x.shape[0]
seconds = time.perf_counter() - start
print(json.dumps({"tool": "pytorch", "images": n, "seconds": seconds, "images_per_s": n / seconds}))
