"Shared pytest helpers: where the replication data is, running the CLI, small data folders built per test."
import json, os, subprocess, sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("ADAPTIVELLM_DATA") or ROOT.parent/"shared"/"data"/"adaptivellm-replication")


def run_cli(*args, input=None, env=None, timeout=600, check=True):
    "Run `adaptivellm ARGS` in a fresh interpreter; the CompletedProcess"
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    cmd = [sys.executable, "-c", "from adaptivellm.cli import main; raise SystemExit(main())", *map(str, args)]
    res = subprocess.run(cmd, input=input, capture_output=True, text=True, env=full_env, timeout=timeout)
    if check and res.returncode != 0: raise AssertionError(f"{args} exited {res.returncode}:\n{res.stdout}\n{res.stderr}")
    return res


def pytest_sessionstart(session):
    "Under CI the replication data is required: its absence fails the run in one line instead of skipping the data tests"
    if os.environ.get("CI") and not (DATA/"Result").is_dir():
        pytest.exit(f"CI: the replication data is missing: no Result/ folder at {DATA} (set $ADAPTIVELLM_DATA or put ../shared beside the checkout)", returncode=1)


# The modules that train a router or start servers, longest first: run first, so that under `-n 2` the short tests
# fill the end of the run instead of one worker waiting on a long module alone (the order of the others is kept)
LONG_MODULES = ["test_router_cli", "test_new_model_cli", "test_plugin_cli", "test_store", "test_serve", "test_solve", "test_cascade_cli"]


def pytest_collection_modifyitems(items):
    "Every test that reads the replication data carries the `data` marker (`pytest -m 'not data'` leaves them out); long modules first"
    for item in items:
        if "data_dir" in getattr(item, "fixturenames", ()): item.add_marker(pytest.mark.data)
    rank = {m: i for i, m in enumerate(LONG_MODULES)}
    items.sort(key=lambda item: rank.get(item.module.__name__.rsplit(".", 1)[-1], len(rank)))


@pytest.fixture(scope="session")
def data_dir():
    if not (DATA/"Result").is_dir(): pytest.skip(f"replication data not found at {DATA}")
    return DATA


def write_jsonl(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def bare_data_folder(root:Path) -> Path:
    "A data folder holding only Result/, Thinking_Length/ and pool.json: 3 models priced 0.1, 0.5 and 2.0 on 2 benchmarks of 30 problems"
    pool = [{"name": "tiny", "price_per_mtok": 0.1}, {"name": "mid", "price_per_mtok": 0.5}, {"name": "big", "price_per_mtok": 2.0}]
    for s, m in enumerate(pool):
        for tag in ("Alpha", "Beta"):
            rows = make_result_rows(30, prefix=tag, seed=s)
            for i, r in enumerate(rows): r["prompt"] = f"{tag} task {i}: " + ("sort a list " if i % 2 else "parse a string ") * (1 + i % 5)
            write_jsonl(root/"Result"/f"{m['name']}-output-{tag}.jsonl", rows)
    for tag in ("Alpha", "Beta"):
        write_jsonl(root/"Thinking_Length"/f"R1-output-{tag}.jsonl",
                    [{"id": f"{tag}/{i}", "prompt": "p", "think_lengths": [500 * (i % 7 + 1) + j for j in range(10)]} for i in range(30)])
    (root/"pool.json").write_text(json.dumps(pool))
    return root


def make_result_rows(n_problems, prefix="Toy", seed=0, n_samples=5):
    "Result-format rows with deterministic outcomes"
    rows = []
    for i in range(n_problems):
        results = [(i * 7 + j * 3 + seed) % 4 != 0 for j in range(n_samples)]
        tokens = [100 + 10 * i + j + seed for j in range(n_samples)]
        rows.append({"id": f"{prefix}/{i}", "prompt": f"Write a function number {i}.", "responses": ["```python\npass\n```"] * n_samples,
                     "results": results, "output_token_counts": tokens, "pass_rate": sum(results) / n_samples})
    return rows


@pytest.fixture
def tiny_data(tmp_path):
    "A complete small data folder: 2 benchmarks x 3 models, a pool file, think lengths"
    root = tmp_path/"data"
    pool = [{"name": "tiny", "price_per_mtok": 0.1}, {"name": "mid", "price_per_mtok": 0.5}, {"name": "big", "price_per_mtok": 2.0}]
    for s, m in enumerate(pool):
        for tag in ("Alpha", "Beta"):
            write_jsonl(root/"Result"/f"{m['name']}-output-{tag}.jsonl", make_result_rows(6, prefix=tag, seed=s))
    for tag in ("Alpha", "Beta"):
        write_jsonl(root/"Thinking_Length"/f"R1-output-{tag}.jsonl",
                    [{"id": f"{tag}/{i}", "prompt": "p", "think_lengths": [1000 * (i + 1) + j for j in range(10)]} for i in range(6)])
    (root/"pool.json").write_text(json.dumps(pool, indent=1))
    return root


@pytest.fixture(scope="session")
def small_router(data_dir, tmp_path_factory):
    "A utility router over the paper's pool, quick to train (MiniLM, no fine-tuning, one grid point), saved to a folder"
    from adaptivellm.data.benchmark import load_benchmark
    from adaptivellm.live.router import AdaptiveLLM
    from adaptivellm.selection.cost_aware import FAST_FIT
    bench = load_benchmark(data_dir, verbose=False)
    router = AdaptiveLLM.fit(bench, bench.paper_split["train"][:60], encoder="minilm", finetune=False, selector="utility", selector_kwargs=FAST_FIT)
    return router.save(tmp_path_factory.mktemp("router")/"router")


def write_live_pool(path, url, plays, default="wrong", input_price=0.1):
    "A pool file of the paper's models served by the fake server at `url`: `plays` maps a name to the fake model it plays"
    from adaptivellm.core.pool import PAPER_POOL
    pool = [{"name": m.name, "price_per_mtok": m.price_per_mtok, "base_url": url, "model": plays.get(m.name, default),
             "api_key_env": "FAKE_POOL_KEY", "input_price_per_mtok": input_price} for m in PAPER_POOL]
    path.write_text(json.dumps(pool, indent=1))
    return path
