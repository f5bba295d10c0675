"""Two gateways on one trace store, 1,000 paced requests against the fake pool, one gateway killed mid-stream (not a test).

The scenario of `tests/test_store.py` at full size (`tests/gateways.py`): two `adaptivellm serve --pace --store URL`
processes on one PostgreSQL server that this script starts (`pgserver`), or on one SQLite file (`--sqlite`); requests
for `adaptivellm@0.2` go to both in turn, and the first is SIGKILLed when request 400 starts. Every pool model answers
right and the pool charges input tokens, which the router's recorded costs do not count, so the fitted λ overspends.
Prints what was answered and traced, the one shared pacer, and the spend per 1,000 requests over the whole stream and
over its last 75%, paced; and, as the baseline, the same stream (300 requests) with the fitted λ throughout.

    python benchmarks/store.py [--n 1000] [--static-n 300] [--sqlite] [--json FILE]
"""
import argparse, json, sys, tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/"tests")); sys.path.insert(0, str(ROOT/"benchmarks"))
from gateways import two_gateways  # noqa: E402
from serve import _router  # noqa: E402
from adaptivellm.live.store import TraceStore  # noqa: E402


def _run(router, n, sqlite, pace, budget):
    "(summary dict) of one two-gateway stream on a fresh store"
    tmp = Path(tempfile.mkdtemp())
    if sqlite: url, srv = str(tmp/"traces.db"), None
    else:
        import pgserver
        srv = pgserver.get_server(tmp/"pg", cleanup_mode="stop"); url = srv.get_uri()
    try:
        results = two_gateways(router, url, tmp, n=n, budget=budget, pace=pace)
        store = TraceStore(url)
        rows, pacers = store.requests(), store.pacers()
    finally:
        if srv: srv.cleanup()
    answered = [r for _, _, r in results if r is not None]
    usd = rows.usd.to_numpy() * 1000
    out = dict(store="sqlite" if sqlite else "postgresql", paced=pace, requests=n, answered=len(answered), traces=len(rows),
               answered_without_trace=len({r["id"] for r in answered} - set(rows.id)), budget=budget,
               spend=float(usd.mean()), spend_last_75=float(usd[len(usd) // 4:].mean()))
    if pace: out.update(pacer_requests=int(pacers.requests.sum()), pacer_spent_minus_traces=float(pacers.spent.sum() - usd.sum()), pacers=len(pacers))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000); ap.add_argument("--static-n", type=int, default=300)
    ap.add_argument("--sqlite", action="store_true"); ap.add_argument("--budget", type=float, default=0.2); ap.add_argument("--json")
    a = ap.parse_args()
    router = _router(None, "torch")
    rows = [_run(router, a.n, a.sqlite, True, a.budget), _run(router, a.static_n, a.sqlite, False, a.budget)]
    for r in rows:
        print(f"{r['store']}, {'paced' if r['paced'] else 'fitted λ (static)'}: {r['answered']} of {r['requests']} answered, {r['traces']} traces, "
              f"{r['answered_without_trace']} answered without a trace; spend {r['spend']:.3f} USD per 1,000 ({r['spend'] / r['budget']:.2f} of the budget), "
              f"last 75%: {r['spend_last_75']:.3f} ({r['spend_last_75'] / r['budget']:.2f})"
              + (f"; pacer: {r['pacers']} row(s), {r['pacer_requests']} requests, spent minus the traces' sum {r['pacer_spent_minus_traces']:.2e}" if r["paced"] else ""))
    if a.json: Path(a.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
