"""Two `adaptivellm serve --pace --store URL` processes on one trace store, in front of the fake pool, one of them
killed mid-stream: the scenario of `tests/test_store.py` and of `benchmarks/store.py`.

Every pool model answers HumanEval right, and the pool charges input tokens, which the router's recorded costs do not
count, so the fitted λ overspends the budget and pacing has to find the λ that meets it, from what the requests cost."""
import contextlib, os, signal, socket, subprocess, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from fakeopenai import FakeOpenAI, HUMANEVAL, pool_respond

from adaptivellm.core.pool import PAPER_POOL
from adaptivellm.check.labels import humaneval_prompt

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-two-gateways"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


def _pool_file(path, url, input_price):
    import json
    path.write_text(json.dumps([{"name": m.name, "price_per_mtok": m.price_per_mtok, "base_url": url, "model": "right",
                                 "api_key_env": "FAKE_POOL_KEY", "input_price_per_mtok": input_price} for m in PAPER_POOL]))
    return path


def _start_gateway(router, pool, store, port, pace=True):
    "A `serve --store [--pace]` process on `port`, once it answers"
    cmd = [sys.executable, "-c", "from adaptivellm.cli import main; raise SystemExit(main())", "serve", "--router", str(router), "--pool", str(pool),
           "--port", str(port), "--api-key-env", "GATEWAY_KEY", "--store", store, "--threads", "4", *(["--pace"] if pace else [])]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(ROOT), "GATEWAY_KEY": KEY}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    for _ in range(1200):
        if proc.poll() is not None: raise AssertionError(f"serve exited {proc.returncode}: {proc.stderr.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200: return proc
        except httpx.TransportError: time.sleep(0.1)
    raise AssertionError("serve did not start")


def two_gateways(router, store:str, tmp:Path, n:int=1000, budget:float=0.2, kill_at:float=0.4, clients:int=8, input_price:float=1.0, pace:bool=True):
    """Send `n` requests for `adaptivellm@budget`, alternately to two gateways on `store`; SIGKILL the first when request
    `kill_at * n` starts, and send the rest to the second. Returns the list of (request index, gateway, response JSON or
    None when the request failed), in the order the requests were sent."""
    prompts = [humaneval_prompt(t) for t in HUMANEVAL.values()]
    with FakeOpenAI(pool_respond) as fake, contextlib.ExitStack() as stack:
        pool = _pool_file(tmp/"pool.json", fake.url, input_price)
        ports = [_free_port(), _free_port()]
        procs = [_start_gateway(router, pool, store, p, pace) for p in ports]
        for p in procs: stack.callback(lambda p=p: (p.kill(), p.wait(30)))
        killed, lock = threading.Event(), threading.Lock()
        def ask(i):
            with lock:
                if i >= kill_at * n and not killed.is_set(): procs[0].send_signal(signal.SIGKILL); killed.set()
            g = 1 if killed.is_set() or i % 2 else 0
            body = {"model": f"adaptivellm@{budget}", "messages": [{"role": "user", "content": prompts[(i * 37) % len(prompts)]}]}
            try: r = httpx.post(f"http://127.0.0.1:{ports[g]}/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
            except httpx.TransportError: return i, g, None
            return i, g, r.json() if r.status_code == 200 else None
        with ThreadPoolExecutor(clients) as ex: return list(ex.map(ask, range(n)))
