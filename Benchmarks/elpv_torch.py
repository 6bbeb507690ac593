"""The PyTorch reference of the ELPV demo (make bench-elpv): the same cells in the same 75/25 split (read
from Lumen's dataset manifest), the same resolution (96x96, one channel, per-image min-max), augmentation
(horizontal and vertical flips, rotation of up to 10 degrees half of the time), ResNet-18, AdamW (lr 1e-3,
weight decay 1e-4), cosine schedule stepped per batch, batch 32, and the checkpoint of the lowest training
loss, evaluated on the test cells. Prints one JSON line: accuracy, ROC-AUC, seconds."""
import copy, json, os, sys, time

import numpy as np
import torch
import torchvision
from PIL import Image
from sklearn.metrics import accuracy_score, roc_auc_score
from torchvision import transforms

manifest, root, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.manual_seed(0)
entries = json.load(open(manifest))["entries"]


def minmax(x):
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else x - lo


train_tf = transforms.Compose([
    transforms.Grayscale(1), transforms.Resize((96, 96)), transforms.RandomHorizontalFlip(), transforms.RandomVerticalFlip(),
    transforms.RandomApply([transforms.RandomRotation(10)], p=0.5), transforms.ToTensor(), transforms.Lambda(minmax)])
eval_tf = transforms.Compose([transforms.Grayscale(1), transforms.Resize((96, 96)), transforms.ToTensor(), transforms.Lambda(minmax)])


class Cells(torch.utils.data.Dataset):
    def __init__(self, split, tf):
        self.items = [(os.path.join(root, e["path"]), int(float(e["label"]) >= 0.5)) for e in entries if e.get("split") == split]
        self.tf = tf

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        return self.tf(Image.open(path)), label


train, test = Cells("train", train_tf), Cells("test", eval_tf)
loader = torch.utils.data.DataLoader(train, batch_size=32, shuffle=True, num_workers=2, persistent_workers=True)
test_loader = torch.utils.data.DataLoader(test, batch_size=32, num_workers=2)
model = torchvision.models.resnet18(num_classes=2)
model.conv1 = torch.nn.Conv2d(1, 64, 7, 2, 3, bias=False)
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=len(loader) * epochs)
loss_fn = torch.nn.CrossEntropyLoss()
start = time.perf_counter()
best, best_state = float("inf"), None
for epoch in range(epochs):
    model.train()
    total, n = 0.0, 0
    for x, y in loader:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        sched.step()
        total += loss.item() * x.shape[0]
        n += x.shape[0]
    print(f"pytorch: epoch {epoch + 1}/{epochs} train_loss {total / n:.4f}", file=sys.stderr, flush=True)
    if total / n < best:
        best, best_state = total / n, copy.deepcopy(model.state_dict())
model.load_state_dict(best_state)
model.eval()
probs, labels = [], []
with torch.no_grad():
    for x, y in test_loader:
        probs += torch.softmax(model(x), 1)[:, 1].tolist()
        labels += y.tolist()
seconds = time.perf_counter() - start
probs, labels = np.array(probs), np.array(labels)
print(json.dumps({"tool": "pytorch", "train": len(train), "test": len(test), "accuracy": accuracy_score(labels, probs >= 0.5),
                  "roc_auc": roc_auc_score(labels, probs), "seconds": seconds, "torch": torch.__version__}))
