"""Prints the Lumen/PyTorch table from the JSON lines written by Benchmarks/run.sh (medians per configuration).

Rows: `lumen` runs the same NCHW layout as PyTorch eager; `lumen-cl` stores weights and input
channels-last (NHWC), which oneDNN convolutions run faster on CPU; `lumen-packed` (inference) is the network as
every loaded model runs it: convolutions packed for oneDNN once, batch norms folded, activations in oneDNN's layout.
"""
import json, statistics, sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
groups = defaultdict(lambda: defaultdict(list))
for r in rows:
    groups[(r["mode"], r["channels"], r["size"])][r["tool"]].append(r)

versions = {r["tool"]: r.get("libtorch") or r.get("torch") for r in rows}
print(f"ResNet-18, batch 32, {rows[0]['threads']} threads; lumen on libtorch {versions.get('lumen')}, PyTorch {versions.get('pytorch')}")
print(f"{'step':<7}{'input':<11}{'tool':<13}{'img/s':>9}{'torch img/s':>12}{'ratio':>8}{'peak MB':>9}{'torch MB':>9}{'RSS ratio':>10}")
med = lambda rs, k: statistics.median(r[k] for r in rs)
for (mode, channels, size), tools in groups.items():
    t_ips, t_rss = med(tools["pytorch"], "images_per_s"), med(tools["pytorch"], "peak_rss_mb")
    for tool in ("lumen", "lumen-cl", "lumen-packed"):
        if tool not in tools:
            continue
        ips, rss = med(tools[tool], "images_per_s"), med(tools[tool], "peak_rss_mb")
        print(f"{mode:<7}{f'{channels}x{size}x{size}':<11}{tool:<13}{ips:>9.1f}{t_ips:>12.1f}{ips / t_ips:>7.2f}x{rss:>9.0f}{t_rss:>9.0f}{rss / t_rss:>9.2f}x")
print("targets: speed ratio >= 1.0x, peak RSS ratio <= 1.2x")
