"""The gateway's own overhead per request (not a test): time in `adaptivellm serve` minus time in the upstream models.

Starts the fake pool of the tests (`tests/fakeopenai.py`, instant answers) in one process and `adaptivellm serve`
in another, then sends chat requests from this one (asyncio + httpx). Overhead per request = the client's
wall time minus the upstream seconds the gateway reports in its `attempts` trace. Two workloads:

- pass-through: a pool model's name, forwarded unchanged (1 client: p50/p95; 32 clients: requests/s);
- `adaptivellm`: routing (MiniLM encoder, no embedding cache) plus the example check of the answer in the
  sandbox; every model answers HumanEval's reference solution, so each request makes one call and one check.

Trains a small router (MiniLM, no fine-tuning, 60 problems; `--runtime static` for the fast encoder path)
unless --router names a saved one. The figures
depend on the machine's load, printed beside them: other jobs on the same cores slow every figure.

With `--store sqlite` (a new SQLite file), `--store postgresql` (a PostgreSQL server started here with `pgserver`) or
`--store URL`, the gateway writes every request's trace to that store (`serve --store`) before it answers: the
overhead then includes the store's transaction.

    python benchmarks/serve.py [--router DIR | --runtime torch|static] [--workers N] [--store sqlite|postgresql|URL] [--n 300] [--n32 1000] [--json FILE]
"""
import argparse, asyncio, json, os, socket, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import httpx, numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"tests"))
from fakeopenai import HUMANEVAL  # noqa: E402
from adaptivellm.core.pool import PAPER_POOL
from adaptivellm.data.benchmark import load_benchmark  # noqa: E402
from adaptivellm.check.labels import humaneval_prompt  # noqa: E402
from adaptivellm.live.router import AdaptiveLLM  # noqa: E402
from adaptivellm.selection.cost_aware import FAST_FIT  # noqa: E402

PASS_MODEL = PAPER_POOL[0].name


def _router(path, runtime):
    if path: return path
    bench = load_benchmark(verbose=False)
    r = AdaptiveLLM.fit(bench, bench.paper_split["train"][:60], encoder="minilm", finetune=False, selector="utility", selector_kwargs=FAST_FIT, runtime=runtime)
    return r.save(Path(tempfile.mkdtemp())/"router")


def _start(cmd, env=None):
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def _gateway(router, pool, port, workers, store=None):
    proc = _start([sys.executable, "-c", "from adaptivellm.cli import main; raise SystemExit(main())", "serve",
                   "--router", str(router), "--pool", str(pool), "--port", str(port), "--workers", str(workers), *(["--store", store] if store else [])])
    for _ in range(1200):
        if proc.poll() is not None: raise SystemExit(f"serve exited: {proc.stderr.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models").status_code == 200: return proc
        except httpx.TransportError: time.sleep(0.1)
    raise SystemExit("serve did not start")


def _store(kind):
    "(the --store argument of serve, the pgserver to stop or None) for this script's --store"
    if kind in (None, "sqlite"): return (str(Path(tempfile.mkdtemp())/"traces.db") if kind else None), None
    if kind != "postgresql": return kind, None
    import pgserver
    srv = pgserver.get_server(Path(tempfile.mkdtemp()), cleanup_mode="stop")
    return srv.get_uri(), srv


async def _one(client, model, prompt):
    "(overhead ms, wall s) of one request; None when it failed (counted, not timed)"
    t = time.perf_counter()
    try: r = await client.post("/chat/completions", json={"model": model, "messages": [{"role": "user", "content": prompt}]})
    except httpx.TransportError: return None
    wall = time.perf_counter() - t
    if r.status_code != 200: return None
    return (wall - sum(a["seconds"] for a in r.json()["attempts"])) * 1000, wall


async def _run(url, model, prompts, clients):
    "Overheads (ms) of every request, and requests/s, with `clients` requests in flight"
    queue = list(prompts)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=httpx.Limits(max_connections=clients)) as c:
        await _one(c, model, prompts[0])  # warm-up
        out = []
        async def worker():
            while queue: out.append(await _one(c, model, queue.pop()))
        t = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        ok = [o for o, _ in filter(None, out)]
        return ok, len(ok) / (time.perf_counter() - t), len(out) - len(ok)


def _report(name, clients, overheads, rps, failed):
    p50, p95 = statistics.median(overheads), float(np.percentile(overheads, 95))
    print(f"{name:<13} {clients:>2} client(s): overhead p50 {p50:6.2f} ms, p95 {p95:6.2f} ms; {rps:6.0f} requests/s "
          f"({len(overheads)} answered, {failed} failed)")
    return dict(workload=name, clients=clients, p50_ms=p50, p95_ms=p95, requests_per_s=rps, n=len(overheads), failed=failed)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--router"); ap.add_argument("--n", type=int, default=300); ap.add_argument("--n32", type=int, default=1000)
    ap.add_argument("--runtime", default="torch", choices=["torch", "static"], help="the encoder runtime of the router trained here (without --router)")
    ap.add_argument("--workers", type=int, default=1, help="gateway processes (serve --workers)")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--store", help="trace store: sqlite (a new file), postgresql (a server started here) or a URL")
    a = ap.parse_args()
    router, (store, pg) = _router(a.router, a.runtime), _store(a.store)
    fake = _start([sys.executable, str(ROOT/"tests"/"fakeopenai.py")])
    url_up = fake.stdout.readline().strip()
    pool = Path(tempfile.mkdtemp())/"pool.json"
    pool.write_text(json.dumps([{"name": m.name, "price_per_mtok": m.price_per_mtok, "base_url": url_up,
                                 "model": "instant" if m.name == PASS_MODEL else "right"} for m in PAPER_POOL]))
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    gw = _gateway(router, pool, port, a.workers, store)
    url, load0 = f"http://127.0.0.1:{port}/v1", os.getloadavg()
    he = [humaneval_prompt(p) for p in HUMANEVAL.values()]
    try:
        rows = [_report("pass-through", 1, *asyncio.run(_run(url, PASS_MODEL, [f"hello {i}" for i in range(a.n)], 1))),
                _report("pass-through", 32, *asyncio.run(_run(url, PASS_MODEL, [f"hello {i}" for i in range(a.n32)], 32))),
                _report("adaptivellm", 1, *asyncio.run(_run(url, "adaptivellm", he[:min(a.n, 164)], 1))),
                _report("adaptivellm", 32, *asyncio.run(_run(url, "adaptivellm", (he * 4)[:min(a.n32, 4 * 164)], 32)))]
    finally:
        gw.terminate(); fake.terminate()
        if pg: pg.cleanup()
    load1 = os.getloadavg()
    print(f"gateway: {a.workers} process(es); router encoder runtime: {a.runtime if not a.router else 'as saved'}; trace store: {a.store or 'none'}")
    print(f"load average (1, 5, 15 min) before {tuple(round(x, 2) for x in load0)}, after {tuple(round(x, 2) for x in load1)}; {os.cpu_count()} CPUs")
    if a.json: Path(a.json).write_text(json.dumps(dict(rows=rows, store=a.store, load_before=load0, load_after=load1, cpus=os.cpu_count()), indent=1))


if __name__ == "__main__":
    main()
