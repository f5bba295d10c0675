"""Sandbox throughput: HumanEval canonical solutions with their tests, programs per second, in one run:

- floor `python3 -I`: a bare fresh interpreter per program, no sandbox at all;
- floor `fork`: a child forked from a warm parent per program, no sandbox at all;
- the spawn engine (a fresh confined worker per program) and the warm engine (a fork of a confined worker per program),
  with the OS isolation layer where available (root on Linux), 1 and 2 workers;
- the same two engines with 2 workers again, run by the interpreter of a virtual environment under /tmp (made for the
  run: `venv` plus a .pth file onto this environment's packages), as on CI runners that keep their venv there;
- with `--ray local`: the warm engine behind a local Ray instance with 1 and 2 Ray workers (its start not timed).

Every setting runs the same programs; each is timed `--repeats` times and the best is reported; the ratios at the end
come from the same run. Figures depend on the machine's load, printed beside them.

    PYTHONPATH=$PWD python benchmarks/execute.py [--problems 80] [--repeats 3] [--ray local]
"""
import argparse, json, os, queue, site, subprocess, sys, tempfile, time, venv
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from adaptivellm.check.sandbox import close_workers, os_isolation, run_many, start_workers
from adaptivellm.check.labels import humaneval_problems, humaneval_tests

_FORK_PARENT = r'''
import json, os, sys, collections, math, typing, re, heapq, itertools, functools
for line in sys.stdin:
    src = json.loads(line)
    pid = os.fork()
    if pid == 0:
        fd = os.open(os.devnull, os.O_WRONLY); os.dup2(fd, 1); os.dup2(fd, 2)
        try: exec(compile(src, "main.py", "exec"), {"__name__": "__main__"}); os._exit(0)
        except BaseException: os._exit(1)
    print(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
'''


def _bare(scripts, workers):
    "Floor: `python3 -I file.py` per program"
    with tempfile.TemporaryDirectory() as d:
        paths = []
        for i, s in enumerate(scripts):
            paths.append(os.path.join(d, f"p{i}.py")); open(paths[-1], "w").write(s)
        run = lambda p: subprocess.run([sys.executable, "-I", p], capture_output=True).returncode
        with ThreadPoolExecutor(workers) as ex: return list(ex.map(run, paths))


def _forked(scripts, workers):
    "Floor: a child forked per program from `workers` warm parents (started before the clock)"
    parents = [subprocess.Popen([sys.executable, "-c", _FORK_PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(workers)]
    idle = queue.Queue()
    for p in parents: idle.put(p)
    def run(s):
        p = idle.get()
        try: p.stdin.write(json.dumps(s) + "\n"); p.stdin.flush(); return int(p.stdout.readline())
        finally: idle.put(p)
    try:
        start = time.monotonic()
        with ThreadPoolExecutor(workers) as ex: codes = list(ex.map(run, scripts))
        return codes, time.monotonic() - start
    finally:
        for p in parents: p.stdin.close(); p.wait()


def _best(fn, repeats):
    "Best wall time of `fn()` over `repeats` runs; `fn` returns (ok, seconds or None to time it here)"
    best = float("inf")
    for _ in range(repeats):
        start = time.monotonic(); ok, took = fn()
        assert ok, "a canonical solution failed"
        best = min(best, took if took is not None else time.monotonic() - start)
    return best


def _tmp_venv_rates(a) -> dict:
    "programs/s of both engines with 2 workers, measured by this script under the interpreter of a virtual environment in /tmp"
    with tempfile.TemporaryDirectory(prefix="adaptivellm-bench-venv-", dir="/tmp") as d:
        venv.create(d, with_pip=False)
        pth = next(Path(d, "lib").glob("python3*/site-packages")) / "_bench.pth"
        pth.write_text("\n".join([*site.getsitepackages(), str(Path(__file__).resolve().parent.parent)]) + "\n")
        out = subprocess.run([f"{d}/bin/python", __file__, "--problems", str(a.problems), "--repeats", str(a.repeats), "--engines-only"],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout.splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--problems", type=int, default=80, help="first N HumanEval problems")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per setting; the best is reported")
    ap.add_argument("--ray", help="also run the warm engine on this Ray cluster ('local': start one here with 1, then 2 CPUs)")
    ap.add_argument("--engines-only", action="store_true", help="(used for the /tmp venv) time both engines with 2 workers, print JSON")
    a = ap.parse_args()
    probs = list(humaneval_problems().values())[:a.problems]
    jobs = [(p["prompt"] + p["canonical_solution"], humaneval_tests(p)) for p in probs]
    scripts = [f"{p}\n\n{t}\n" for p, t in jobs]
    iso, load0, rows = os_isolation(), os.getloadavg(), {}
    def sandbox(engine, workers, **kw):
        if engine == "warm" and not kw: start_workers(workers)  # started before the clock: their start is paid once per process
        return lambda: (all(r.passed for r in run_many(jobs, workers=workers, progress=False, engine=engine, **kw)), None)
    if a.engines_only:
        print(json.dumps({e: len(jobs) / _best(sandbox(e, 2), a.repeats) for e in ("spawn", "warm")})); close_workers(); return
    settings = [("floor: python3 -I per program", 1, lambda: (True, None) if all(c == 0 for c in _bare(scripts, 1)) else (False, None)),
                ("floor: python3 -I per program", 2, lambda: (True, None) if all(c == 0 for c in _bare(scripts, 2)) else (False, None)),
                ("floor: fork of a warm parent", 1, lambda: (lambda c, s: (all(x == 0 for x in c), s))(*_forked(scripts, 1))),
                ("floor: fork of a warm parent", 2, lambda: (lambda c, s: (all(x == 0 for x in c), s))(*_forked(scripts, 2))),
                ("spawn engine", 1, sandbox("spawn", 1)), ("spawn engine", 2, sandbox("spawn", 2)),
                ("warm engine", 1, sandbox("warm", 1)), ("warm engine", 2, sandbox("warm", 2))]
    if a.ray: settings += [(f"warm engine on Ray ({a.ray})", w, sandbox("warm", w, ray=a.ray)) for w in (1, 2)]
    print(f"{len(jobs)} programs (HumanEval canonical solutions with their tests); OS isolation: {iso}; best of {a.repeats}\n")
    print("| setting | workers | best seconds | programs/s |\n|---|---|---|---|")
    for name, workers, fn in settings:
        if name.startswith("warm engine on Ray"): run_many(jobs[:8], workers=workers, progress=False, ray=a.ray)  # starts Ray and its actors
        s = _best(fn, a.repeats); rows[name, workers] = len(jobs) / s
        print(f"| {name} | {workers} | {s:.2f} | {len(jobs) / s:.1f} |", flush=True)
    close_workers()
    tmp = _tmp_venv_rates(a)
    for e in ("spawn", "warm"): print(f"| {e} engine, venv under /tmp ({sys.prefix} here) | 2 | {len(jobs) / tmp[e]:.2f} | {tmp[e]:.1f} |")
    w, sp = rows["warm engine", 2], rows["spawn engine", 2]
    print(f"\nwarm engine, 2 workers: {w:.1f} programs/s = {w / sp:.1f}x the spawn engine, {w / rows['floor: python3 -I per program', 2]:.1f}x a bare "
          f"python3 -I, {w / rows['floor: fork of a warm parent', 2]:.2f}x a bare fork (all with 2 workers, OS isolation {iso})")
    print(f"venv under /tmp: warm engine, 2 workers: {tmp['warm']:.1f} programs/s = {tmp['warm'] / tmp['spawn']:.1f}x the spawn engine there, "
          f"{tmp['warm'] / w:.2f}x the warm engine here")
    load1 = os.getloadavg()
    print(f"load average (1, 5, 15 min) before {tuple(round(x, 2) for x in load0)}, after {tuple(round(x, 2) for x in load1)}; {os.cpu_count()} CPUs")


if __name__ == "__main__": main()
