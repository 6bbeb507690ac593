"""Heavy interop (`make interop-torch`): checkpoints move between Lumen and torchvision both ways,
and the same weights give the same outputs. Needs torch, torchvision and safetensors (the bench venv)."""
import os, subprocess, tempfile

import pytest
import torch
import torchvision
from safetensors.torch import load_file, save_file

LUMEN = os.environ.get("LUMEN_BIN", "lumen")
ARCHS = [("resnet18", "resnet18"), ("resnet50", "resnet50"), ("vgg16_bn", "vgg16-bn")]


def lumen(*args):
    return subprocess.run([LUMEN, *args], check=True, capture_output=True, text=True).stdout


@pytest.mark.parametrize("tv_name,lumen_name", ARCHS)
def test_torchvision_checkpoint_loads_strict_and_agrees(tv_name, lumen_name, tmp_path):
    torch.manual_seed(0)
    model = getattr(torchvision.models, tv_name)(num_classes=5).eval()
    save_file(model.state_dict(), tmp_path / "tv.safetensors")
    x = torch.randn(2, 3, 64, 64)
    save_file({"input": x}, tmp_path / "x.safetensors")
    out = lumen("zoo", "check", lumen_name, str(tmp_path / "tv.safetensors"), "--in-channels", "3", "--num-classes", "5",
                "--input", str(tmp_path / "x.safetensors"), "--output", str(tmp_path / "y.safetensors"))
    assert "all keys matched" in out
    with torch.no_grad():
        expected = model(x)
    got = load_file(tmp_path / "y.safetensors")["output"]
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("tv_name,lumen_name", ARCHS)
def test_lumen_checkpoint_loads_into_torchvision(tv_name, lumen_name, tmp_path):
    lumen("zoo", "init", lumen_name, "--in-channels", "3", "--num-classes", "7", "--out", str(tmp_path / "l.safetensors"))
    state = load_file(tmp_path / "l.safetensors")
    model = getattr(torchvision.models, tv_name)(num_classes=7)
    model.load_state_dict(state, strict=True)
    tracked = [k for k in state if k.endswith("num_batches_tracked")]
    assert tracked and all(state[k].dtype == torch.int64 for k in tracked)
    model.eval()
    x = torch.randn(1, 3, 64, 64)
    save_file({"input": x}, tmp_path / "x.safetensors")
    lumen("zoo", "check", lumen_name, str(tmp_path / "l.safetensors"), "--in-channels", "3", "--num-classes", "7",
          "--input", str(tmp_path / "x.safetensors"), "--output", str(tmp_path / "y.safetensors"))
    with torch.no_grad():
        expected = model(x)
    torch.testing.assert_close(load_file(tmp_path / "y.safetensors")["output"], expected, rtol=1e-4, atol=1e-4)
