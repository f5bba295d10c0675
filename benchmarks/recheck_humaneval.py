"""Re-execute the recorded HumanEval responses of all 8 models (164 x 8 x 5 = 6,560 programs) and print the
agreement with the recorded labels per model and the disagreements grouped by cause, as markdown.

    PYTHONPATH=$PWD python benchmarks/recheck_humaneval.py [--data DIR] [--workers 2] [--timeout 10] [--csv rows.csv]
"""
import argparse, os, sys, time
from pathlib import Path
import pandas as pd
from adaptivellm.check.sandbox import os_isolation
from adaptivellm.check.labels import agreement_table, benchmark_tests, disagreement_causes, recheck


def _markdown(df: pd.DataFrame, index=True) -> str:
    "A markdown table of `df` (no tabulate dependency)"
    df = df.reset_index() if index else df
    rows = [list(map(str, df.columns))] + [[f"{v:.2f}" if isinstance(v, float) else str(v) for v in r] for r in df.itertuples(index=False)]
    return "\n".join("| " + " | ".join(r) + " |" for r in rows[:1] + [["---"] * len(rows[0])] + rows[1:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=os.environ.get("ADAPTIVELLM_DATA", "../shared/data/adaptivellm-replication"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--csv", help="also write one row per response here")
    a = ap.parse_args()
    files = sorted((Path(a.data) / "Result").glob("*-output-HumanEval.jsonl"))
    if not files: sys.exit(f"no Result/*-output-HumanEval.jsonl under {a.data}")
    tests, start = benchmark_tests("humaneval"), time.monotonic()
    print(f"OS isolation: {os_isolation()}", file=sys.stderr)
    df = pd.concat([recheck(f, tests, timeout=a.timeout, workers=a.workers) for f in files], ignore_index=True)
    secs = time.monotonic() - start
    if a.csv: df.to_csv(a.csv, index=False)
    print(f"{len(df)} programs in {secs:.0f} s ({len(df) / secs:.1f} programs/s, {a.workers} workers, timeout {a.timeout} s)\n")
    print(_markdown(agreement_table(df)), "\n")
    print(_markdown(disagreement_causes(df), index=False))


if __name__ == "__main__": main()
