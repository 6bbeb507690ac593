"""make bench (monitoring): `lumen monitor tables` against Evidently's legacy DataDriftPreset, same CSVs, same run.

Generates monitoring tables of an imaging model (6 intensity statistics, 2 class probabilities, the predicted
label, scanner manufacturer, site, view; some columns shifted in the current table) at 500×500 rows
(K–S / chi-squared / Z path) and 5,000×5,000 and 50,000×50,000 rows (normed Wasserstein / Jensen–Shannon path).
Each tool runs end to end in its own process (CSV parsing, imports and process start included), ROUNDS times
alternating, keeping the median; Evidently's compute time alone (Report.run + as_dict, without imports and CSV
reading) is measured inside its process and shown too. Peak RSS per run comes from wait4() on that process.
Then checks that both give the same test, statistic and verdict per column and the same dataset drift verdict.
Usage: python monitor_bench.py LUMEN_BIN [--rounds 3] [--sizes 500,5000,50000]
(run by a Python that has evidently>=0.7,<0.8 and pandas<3)
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

# The Evidently side, run as `python monitor_bench.py --evidently-worker REF CUR OUT NUMERIC CATEGORICAL`
# in a fresh process so that its imports, CSV reading and peak RSS are its own.
if len(sys.argv) > 1 and sys.argv[1] == "--evidently-worker":
    t0 = time.perf_counter()
    import pandas as pd
    from evidently.legacy.report import Report
    from evidently.legacy.metric_preset import DataDriftPreset
    from evidently.legacy.pipeline.column_mapping import ColumnMapping
    t1 = time.perf_counter()
    _, _, ref_path, cur_path, out_path, numeric, categorical = sys.argv
    ref, cur = pd.read_csv(ref_path), pd.read_csv(cur_path)
    t2 = time.perf_counter()
    cm = ColumnMapping(target=None, prediction=None, datetime=None, id=None,
                       numerical_features=[c for c in numeric.split(",") if c],
                       categorical_features=[c for c in categorical.split(",") if c])
    report = Report(metrics=[DataDriftPreset()])
    report.run(reference_data=ref, current_data=cur, column_mapping=cm)
    d = report.as_dict()
    t3 = time.perf_counter()
    columns = {name: {"stattest_name": c["stattest_name"], "drift_score": float(c["drift_score"]),
                      "drift_detected": bool(c["drift_detected"]), "stattest_threshold": c.get("stattest_threshold")}
               for name, c in d["metrics"][1]["result"]["drift_by_columns"].items()}
    with open(out_path, "w") as f:
        json.dump({"import_s": t1 - t0, "read_s": t2 - t1, "compute_s": t3 - t2, "columns": columns,
                   "dataset_drift": bool(d["metrics"][0]["result"]["dataset_drift"]),
                   "share_of_drifted_columns": d["metrics"][0]["result"]["share_of_drifted_columns"]}, f)
    sys.exit(0)

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp

p = argparse.ArgumentParser()
p.add_argument("lumen")
p.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", 3)))
p.add_argument("--sizes", default="500,5000,50000", help="rows of each table (reference = current)")
p.add_argument("--seed", type=int, default=7)
args = p.parse_args()
lumen = os.path.abspath(args.lumen)

NUMERIC = ["mean_intensity", "std_intensity", "p05_intensity", "p95_intensity", "entropy", "snr",
           "prob_benign", "prob_malignant", "pred_label"]  # pred_label: 0/1/2, ≤ 5 distinct → tested as categories
CATEGORICAL = ["manufacturer", "site", "view"]              # view: 2 values → Z-test at ≤ 1,000 rows

# Evidently's display names → Lumen's test names.
TESTS = {"K-S p_value": "ks", "chi-square p_value": "chi2", "Z-test p_value": "z",
         "Wasserstein distance (normed)": "wasserstein", "Jensen-Shannon distance": "jensen-shannon"}
P_VALUE_TESTS = {"ks", "chi2", "z"}


def table(rng, n, shifted):
    """One monitoring table of n images; `shifted` moves the current window (new scanner mix, brighter, noisier)."""
    manufacturers = ["GE", "Siemens", "Philips", "Canon"]
    mix = [0.25, 0.45, 0.2, 0.1] if shifted else [0.4, 0.3, 0.2, 0.1]
    manufacturer = rng.choice(manufacturers, n, p=mix)
    site = rng.choice([f"site_{i:02d}" for i in range(1, 13)], n)  # same mix in both windows
    view = rng.choice(["AP", "PA"], n, p=[0.35, 0.65] if shifted else [0.3, 0.7])
    gain = np.where(manufacturer == "Siemens", 1.06, 1.0)
    mean = rng.normal(0.48 + (0.04 if shifted else 0.0), 0.08, n) * gain
    std = rng.gamma(9.0, 0.02 * (1.25 if shifted else 1.0), n)
    p05 = np.clip(mean - 1.6 * std + rng.normal(0, 0.01, n), 0, 1)
    p95 = np.clip(mean + 1.6 * std + rng.normal(0, 0.01, n), 0, 1)
    entropy = rng.normal(6.9, 0.35, n) + 0.2 * std           # barely moves
    snr = rng.lognormal(np.log(18.0), 0.3, n) * (0.95 if shifted else 1.0)
    logits = rng.normal([0.0, -0.6 + (0.15 if shifted else 0.0), -1.4], 1.0, (n, 3))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    label = probs.argmax(1)
    # Logged at 4 decimals, as a monitoring pipeline would (ties included).
    return pd.DataFrame({
        "mean_intensity": mean.round(4), "std_intensity": std.round(4), "p05_intensity": p05.round(4),
        "p95_intensity": p95.round(4), "entropy": entropy.round(4), "snr": snr.round(4),
        "prob_benign": probs[:, 1].round(4), "prob_malignant": probs[:, 2].round(4), "pred_label": label,
        "manufacturer": manufacturer, "site": site, "view": view})


def run_measured(cmd, stdout_path):
    """Runs cmd in a fresh process; returns (wall seconds, peak RSS MB of that process and its reaped children)."""
    with open(stdout_path, "w") as out:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {err[-2000:]}")
    return wall, usage.ru_maxrss / 1024  # ru_maxrss is in kB on Linux


def rel_close(a, b, rel, abs_tol=0.0):
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_tol)


def near_threshold(score, threshold):
    return abs(score - threshold) <= 0.01 * threshold


def compare(lumen_out, ev_out, ref, cur):
    """Returns (list of mismatch descriptions, list of tolerated notes)."""
    mismatches, notes = [], []
    lf = {f["feature"]: f for f in lumen_out["features"]}
    ec = ev_out["columns"]
    if set(lf) != set(ec):
        mismatches.append(f"columns differ: lumen only {sorted(set(lf) - set(ec))}, evidently only {sorted(set(ec) - set(lf))}")
    for name in sorted(set(lf) & set(ec)):
        l, e = lf[name], ec[name]
        etest = TESTS.get(e["stattest_name"], e["stattest_name"])
        if l["test"] != etest:
            mismatches.append(f"{name}: test lumen {l['test']} vs evidently {etest} ({e['stattest_name']})")
            continue
        score = e["drift_score"]
        lumen_score = l["pValue"] if etest in P_VALUE_TESTS else l["statistic"]
        if etest == "ks":
            # Evidently's K-S p-value is SciPy's default ks_2samp (exact distribution for samples this small),
            # Lumen's the asymptotic Kolmogorov one (kstwobign.sf(sqrt(nm/(n+m))·D)): they differ by a few
            # percent of p. So the statistic D is compared exactly (to SciPy's ks_2samp on the same values),
            # and the p-value within 5 % relative (or 1e-3 absolute).
            d = ks_2samp(ref[name].to_numpy(float), cur[name].to_numpy(float)).statistic
            if not rel_close(l["statistic"], d, 1e-6, 1e-12):
                mismatches.append(f"{name}: K-S D lumen {l['statistic']:.9g} vs scipy {d:.9g}")
            if not rel_close(lumen_score, score, 0.05, 1e-3):
                mismatches.append(f"{name}: K-S p lumen {lumen_score:.6g} vs evidently {score:.6g} (beyond 5 %)")
            elif not rel_close(lumen_score, score, 1e-6, 1e-12):
                notes.append(f"{name}: K-S p {lumen_score:.4g} (asymptotic) vs {score:.4g} (exact), D equal")
        else:
            # Tiny p-values: Evidently's Z-test p is 2·(1 − Φ(|z|)), which loses all precision below ~1e-15
            # (it reads 0 beyond |z| ≈ 8.3) where Lumen's erfc does not; both are far below 0.05 there.
            abs_tol = 1e-12 if etest in P_VALUE_TESTS else 0.0
            if not rel_close(lumen_score, score, 1e-6, abs_tol):
                mismatches.append(f"{name}: {etest} lumen {lumen_score:.9g} vs evidently {score:.9g}")
        if l["drifted"] != e["drift_detected"]:
            if near_threshold(score, l["threshold"]):
                notes.append(f"{name}: verdicts differ within 1 % of the threshold ({score:.4g} vs {l['threshold']})")
            else:
                mismatches.append(f"{name}: drifted lumen {l['drifted']} vs evidently {e['drift_detected']} "
                                  f"(score {score:.6g}, threshold {l['threshold']})")
    n = len(lumen_out["features"])
    lumen_dataset = n > 0 and sum(f["drifted"] for f in lumen_out["features"]) >= lumen_out["driftShare"] * n
    if lumen_dataset != ev_out["dataset_drift"]:
        mismatches.append(f"dataset drift lumen {lumen_dataset} vs evidently {ev_out['dataset_drift']}")
    return mismatches, notes


sizes = [int(s) for s in args.sizes.split(",")]
rng = np.random.default_rng(args.seed)
os.makedirs("bench-results", exist_ok=True)
results_path = os.path.join("bench-results", "monitor.jsonl")
rows, total_mismatches = [], 0
with tempfile.TemporaryDirectory(prefix="lumen-monitor-bench-") as tmp, open(results_path, "w") as results:
    for n in sizes:
        ref, cur = table(rng, n, False), table(rng, n, True)
        ref_path, cur_path = os.path.join(tmp, f"ref-{n}.csv"), os.path.join(tmp, f"cur-{n}.csv")
        ref.to_csv(ref_path, index=False)
        cur.to_csv(cur_path, index=False)
        lumen_json, ev_json = os.path.join(tmp, "lumen.json"), os.path.join(tmp, "evidently.json")
        lumen_cmd = [lumen, "monitor", "tables", ref_path, cur_path, "--json"]
        ev_cmd = [sys.executable, os.path.abspath(__file__), "--evidently-worker", ref_path, cur_path, ev_json,
                  ",".join(NUMERIC), ",".join(CATEGORICAL)]
        lumen_s, lumen_rss, ev_s, ev_rss, ev_compute, ev_import, ev_read = [], [], [], [], [], [], []
        for _ in range(args.rounds):
            w, r = run_measured(lumen_cmd, lumen_json)
            lumen_s.append(w); lumen_rss.append(r)
            w, r = run_measured(ev_cmd, os.devnull)
            ev_s.append(w); ev_rss.append(r)
            with open(ev_json) as f:
                ev_out = json.load(f)
            ev_compute.append(ev_out["compute_s"]); ev_import.append(ev_out["import_s"]); ev_read.append(ev_out["read_s"])
        with open(lumen_json) as f:
            lumen_out = json.load(f)
        mismatches, notes = compare(lumen_out, ev_out, ref, cur)
        total_mismatches += len(mismatches)
        for m in mismatches:
            print(f"bench: MISMATCH {n}x{n}: {m}", file=sys.stderr)
        for m in notes:
            print(f"bench: note {n}x{n}: {m}", file=sys.stderr)
        med = statistics.median
        row = {"bench": "monitor-tables", "reference_rows": n, "current_rows": n, "columns": ref.shape[1],
               "rounds": args.rounds, "lumen_s": med(lumen_s), "evidently_s": med(ev_s),
               "evidently_compute_s": med(ev_compute), "evidently_import_s": med(ev_import),
               "evidently_read_s": med(ev_read),
               "ratio_end_to_end": med(ev_s) / med(lumen_s), "ratio_compute": med(ev_compute) / med(lumen_s),
               "lumen_rss_mb": med(lumen_rss), "evidently_rss_mb": med(ev_rss),
               "tests": sorted({f["test"] for f in lumen_out["features"]}),
               "drifted_lumen": sorted(f["feature"] for f in lumen_out["features"] if f["drifted"]),
               "drifted_evidently": sorted(c for c, v in ev_out["columns"].items() if v["drift_detected"]),
               "dataset_drift": ev_out["dataset_drift"], "mismatches": mismatches, "notes": notes}
        results.write(json.dumps(row) + "\n")
        rows.append(row)
        print(f"bench: done {n}x{n}", file=sys.stderr)

print(f"\nlumen monitor tables vs Evidently {__import__('evidently').__version__} DataDriftPreset "
      f"({len(NUMERIC) + len(CATEGORICAL)} columns, median of {args.rounds}, each run in its own process)")
head = (f"{'rows (ref×cur)':>15} {'lumen s':>8} {'evid. s':>8} {'evid. compute s':>15} "
        f"{'ratio e2e':>9} {'ratio compute':>13} {'lumen MB':>8} {'evid. MB':>8}  agreement")
print(head)
print("-" * len(head))
for r in rows:
    agree = "ok" if not r["mismatches"] else f"{len(r['mismatches'])} mismatch(es)"
    if r["notes"]:
        agree += f" ({len(r['notes'])} tolerated)"
    print(f"{r['reference_rows']:>7}×{r['current_rows']:<7} {r['lumen_s']:>8.3f} {r['evidently_s']:>8.3f} "
          f"{r['evidently_compute_s']:>15.3f} {r['ratio_end_to_end']:>8.1f}× {r['ratio_compute']:>12.1f}× "
          f"{r['lumen_rss_mb']:>8.0f} {r['evidently_rss_mb']:>8.0f}  {agree}")
print("ratio = Evidently / Lumen (end to end; Evidently's Report.run + as_dict alone over Lumen end to end)")
print(f"mismatches: {total_mismatches}")
print(f"results: {results_path}")
