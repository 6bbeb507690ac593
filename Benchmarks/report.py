"""Prints the Lumen/PyTorch table from the JSON lines written by Benchmarks/run.sh (medians per configuration)."""
import json, statistics, sys
from collections import defaultdict

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
groups = defaultdict(lambda: defaultdict(list))
for r in rows:
    groups[(r["mode"], r["channels"], r["size"])][r["tool"]].append(r)

versions = {r["tool"]: r.get("libtorch") or r.get("torch") for r in rows}
print(f"ResNet-18, batch 32, {rows[0]['threads']} threads; lumen on libtorch {versions.get('lumen')}, PyTorch {versions.get('pytorch')}")
print(f"{'step':<8}{'input':<12}{'lumen img/s':>12}{'torch img/s':>12}{'ratio':>8}{'lumen MB':>10}{'torch MB':>10}{'RSS ratio':>10}")
for (mode, channels, size), tools in groups.items():
    l_ips = statistics.median(r["images_per_s"] for r in tools["lumen"])
    t_ips = statistics.median(r["images_per_s"] for r in tools["pytorch"])
    l_rss = statistics.median(r["peak_rss_mb"] for r in tools["lumen"])
    t_rss = statistics.median(r["peak_rss_mb"] for r in tools["pytorch"])
    print(f"{mode:<8}{f'{channels}x{size}x{size}':<12}{l_ips:>12.1f}{t_ips:>12.1f}{l_ips / t_ips:>7.2f}x{l_rss:>10.0f}{t_rss:>10.0f}{l_rss / t_rss:>9.2f}x")
print("targets: speed ratio >= 1.0x, RSS ratio <= 1.2x")
