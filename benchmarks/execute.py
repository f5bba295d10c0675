"""Sandbox throughput: HumanEval canonical solutions with their tests, programs per second with 1 and 2 workers,
with and without the OS isolation layer (namespaces, own user id; available as root on Linux).

    PYTHONPATH=$PWD python benchmarks/execute.py [--problems 80] [--repeats 2]
"""
import argparse, time
from adaptivellm.execution import os_isolation, run_many
from adaptivellm.labels import humaneval_problems, humaneval_tests


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=80, help="first N HumanEval problems")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per setting; the best is reported")
    a = ap.parse_args()
    jobs = [(p["prompt"] + p["canonical_solution"], humaneval_tests(p)) for p in list(humaneval_problems().values())[:a.problems]]
    modes = [True, False] if os_isolation() else [False]
    print(f"| OS isolation | workers | programs | best seconds | programs/s |\n|---|---|---|---|---|")
    for iso in modes:
        for workers in (1, 2):
            best = float("inf")
            for _ in range(a.repeats):
                start = time.monotonic()
                res = run_many(jobs, workers=workers, isolate=iso, progress=False)
                best = min(best, time.monotonic() - start)
                assert all(r.passed for r in res), [r.output for r in res if not r.passed][:1]
            print(f"| {iso} | {workers} | {len(jobs)} | {best:.2f} | {len(jobs) / best:.1f} |")


if __name__ == "__main__": main()
