"""`adaptivellm serve` in a subprocess on 127.0.0.1, in front of the fake pool (tests/fakeopenai.py).

The official `openai` client talks to it unchanged; 100 concurrent requests each get exactly their own
answer; errors come back in OpenAI's shape (400, 401, 413, 502); a wrong cheap answer fails the statement's examples
and escalates to the right one; `--workers 2` runs two gateway processes on one port."""
import contextlib, os, socket, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor

import httpx, numpy as np, openai, pytest
from conftest import ROOT, write_live_pool
from fakeopenai import FakeOpenAI, HUMANEVAL, answer, pool_respond, tokens

from adaptivellm.core.pool import PAPER_POOL
from adaptivellm.check.labels import humaneval_prompt
from adaptivellm.live.router import AdaptiveLLM

KEY = "sk-gateway-test"
TOP = "Qwen2.5-Coder-32B-Instruct"
PLAYS = {TOP: "right", "Yi-Coder-1.5B-Chat": "echo", "CodeLlama-7b-Instruct-hf": "broken"}  # the others answer wrongly
PRICE = {m.name: m.price_per_mtok for m in PAPER_POOL}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


@contextlib.contextmanager
def _serve(router, pool_dir, *extra):
    "(base URL, fake pool server) of `adaptivellm serve ROUTER ... EXTRA` running in a subprocess, with a key"
    pool = write_live_pool(pool_dir/"pool.json", "http://127.0.0.1:1/v1", {})
    with FakeOpenAI(pool_respond) as fake:
        write_live_pool(pool, fake.url, PLAYS)
        port = _free_port()
        cmd = [sys.executable, "-c", "from adaptivellm.cli import main; raise SystemExit(main())", "serve", "--router", str(router),
               "--pool", str(pool), "--port", str(port), "--api-key-env", "GATEWAY_KEY", "--timeout", "5", "--max-body", "100000", *extra]
        proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONPATH": str(ROOT), "GATEWAY_KEY": KEY},
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        url = f"http://127.0.0.1:{port}/v1"
        try:
            for _ in range(1200):
                if proc.poll() is not None: raise AssertionError(f"serve exited {proc.returncode}: {proc.stderr.read()}")
                try:
                    if httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200: break
                except httpx.TransportError: time.sleep(0.1)
            yield url, fake
        finally:
            proc.terminate(); proc.wait(30)


@pytest.fixture(scope="module")
def gateway(small_router, tmp_path_factory):
    "(base URL, fake pool server) of a running `adaptivellm serve` with a key"
    with _serve(small_router, tmp_path_factory.mktemp("pool")) as running: yield running


def _client(url, **kw):
    return openai.OpenAI(base_url=url, api_key=KEY, max_retries=0, timeout=60, **kw)


def test_the_openai_client_talks_to_serve_unchanged(gateway):
    url, fake = gateway
    c = _client(url)
    assert [m.id for m in c.models.list()] == ["adaptivellm", *PRICE]
    p = humaneval_prompt(HUMANEVAL["HumanEval/0"])
    r = c.chat.completions.create(model=TOP, messages=[{"role": "user", "content": p}], temperature=0)
    assert r.choices[0].message.content == answer("right", p) and r.model == TOP
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (tokens(p), tokens(answer("right", p)))
    extra = r.model_extra
    assert extra["attempts"][0]["verdict"] == "unchecked"
    assert extra["adaptivellm"]["usd"] == pytest.approx((tokens(p) * 0.1 + tokens(answer("right", p)) * PRICE[TOP]) / 1e6)
    chunks = list(c.chat.completions.create(model=TOP, messages=[{"role": "user", "content": p}], stream=True))
    assert "".join(ch.choices[0].delta.content or "" for ch in chunks) == answer("right", p)
    assert chunks[-1].choices[0].finish_reason == "stop"
    r = c.chat.completions.create(model="adaptivellm", messages=[{"role": "user", "content": p}])
    assert r.choices[0].message.content and r.model in PRICE


def test_100_concurrent_requests_get_exactly_their_own_answer(gateway):
    url, fake = gateway
    prompts = [f"request number {i}" for i in range(100)]
    before = fake.models["echo"]
    def ask(p):
        return _client(url).chat.completions.create(model="Yi-Coder-1.5B-Chat", messages=[{"role": "user", "content": p}])
    with ThreadPoolExecutor(100) as ex: got = list(ex.map(ask, prompts))
    assert [len(r.choices) for r in got] == [1] * 100
    assert [r.choices[0].message.content for r in got] == [answer("echo", p) for p in prompts]
    assert len({r.id for r in got}) == 100 and fake.models["echo"] - before == 100  # one upstream call each


def test_errors_in_openai_shape(gateway):
    url, fake = gateway
    msgs = [{"role": "user", "content": "hello"}]
    post = lambda body, key=KEY, **kw: httpx.post(f"{url}/chat/completions", headers={"Authorization": f"Bearer {key}"} if key else {},
                                                  timeout=60, **({"json": body} if body is not None else {}), **kw)
    for status, r in [(400, post({"model": "gpt-17", "messages": msgs})), (400, post({"model": "adaptivellm@soon", "messages": msgs})),
                      (400, post({"model": TOP, "messages": "hello"})), (400, post(None, content=b"{oops")),
                      (401, post({"model": TOP, "messages": msgs}, key=None)), (401, post({"model": TOP, "messages": msgs}, key="sk-wrong")),
                      (413, post(None, content=b" " * 100_001)), (502, post({"model": "CodeLlama-7b-Instruct-hf", "messages": msgs}))]:
        assert r.status_code == status, (status, r.text)
        assert set(r.json()["error"]) >= {"message", "type", "code"}
    assert "HTTP 500: " in r.json()["error"]["message"] and "the model is down" in r.json()["error"]["message"]
    with pytest.raises(openai.AuthenticationError): openai.OpenAI(base_url=url, api_key="sk-wrong", max_retries=0).models.list()


def test_a_wrong_cheap_answer_escalates_through_serve(gateway, small_router):
    url, fake = gateway
    router = AdaptiveLLM.load(small_router)
    tasks = [HUMANEVAL[f"HumanEval/{i}"] for i in range(40)]
    escalating = [(t, c) for t, c in zip(tasks, router.chains([humaneval_prompt(t) for t in tasks]))
                  if c[0] not in (TOP, "Yi-Coder-1.5B-Chat", "CodeLlama-7b-Instruct-hf")][:3]
    assert escalating, "the router sends every problem to the last resort: no escalation to test"
    for t, chain in escalating:
        p = humaneval_prompt(t)
        r = _client(url).chat.completions.create(model="adaptivellm", messages=[{"role": "user", "content": p}])
        trace = r.model_extra["attempts"]
        assert [(a["model"], a["verdict"]) for a in trace] == [(chain[0], "fail"), (TOP, "pass")]
        assert r.choices[0].message.content == answer("right", p) and r.model_extra["adaptivellm"]["passed"] is True
        assert r.usage.completion_tokens == tokens(answer("wrong", p)) + tokens(answer("right", p))
        assert r.model_extra["adaptivellm"]["usd"] == pytest.approx(sum(a["usd"] for a in trace))


def test_serve_with_two_processes(small_router, tmp_path):
    "`--workers 2`: two gateway processes on one port answer concurrent requests, each exactly its own, and check answers"
    with _serve(small_router, tmp_path, "--workers", "2") as (url, fake):
        prompts = [f"request number {i}" for i in range(40)]
        ask = lambda p: _client(url).chat.completions.create(model="Yi-Coder-1.5B-Chat", messages=[{"role": "user", "content": p}])
        with ThreadPoolExecutor(20) as ex: got = list(ex.map(ask, prompts))
        assert [r.choices[0].message.content for r in got] == [answer("echo", p) for p in prompts]
        p = humaneval_prompt(HUMANEVAL["HumanEval/0"])
        r = _client(url).chat.completions.create(model="adaptivellm", messages=[{"role": "user", "content": p}])
        assert r.model_extra["attempts"][-1]["verdict"] in ("pass", "fail") and r.choices[0].message.content


def test_serve_paces_a_budget_by_what_its_requests_cost(small_router, tmp_path):
    "`--pace`: the gateway starts a budget at the router's fitted λ and raises it while requests cost more than the budget"
    budget, fitted = 0.05, AdaptiveLLM.load(small_router).selector.lam_for_budget(0.05)
    with _serve(small_router, tmp_path, "--pace") as (url, fake):
        asks = [humaneval_prompt(HUMANEVAL[f"HumanEval/{i}"]) for i in range(30)]
        got = [_client(url).chat.completions.create(model=f"adaptivellm@{budget}", messages=[{"role": "user", "content": p}]).model_extra["adaptivellm"]
               for p in asks]
    lams, spent = [g["lam"] for g in got], [1000 * g["usd"] for g in got]
    assert lams[0] == pytest.approx(max(fitted, 1e-3))
    for lam, nxt, cost in zip(lams, lams[1:], spent):  # each request moves λ by its own cost: up when dearer than the budget
        assert (nxt > lam) == (cost > budget) or nxt in (1e-3, 1e3)
    assert np.mean(spent) > budget and lams[-1] > lams[0]


def test_metrics_count_what_the_responses_say(gateway):
    "GET /metrics, parsed by prometheus_client's own parser, moves by exactly the calls, escalations and USD the responses report"
    from prometheus_client.parser import text_string_to_metric_families
    url, fake = gateway
    def totals():
        r = httpx.get(f"{url.removesuffix('/v1')}/metrics", headers={"Authorization": f"Bearer {KEY}"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        fams = {f.name: f for f in text_string_to_metric_families(r.text)}
        return {n: sum(s.value for s in fams[n].samples if s.name == n + "_total") if n in fams else 0.0
                for n in ("adaptivellm_requests", "adaptivellm_calls", "adaptivellm_escalations", "adaptivellm_spend_usd")}
    before = totals()
    got = [_client(url).chat.completions.create(model=m, messages=[{"role": "user", "content": humaneval_prompt(HUMANEVAL[f"HumanEval/{i}"])}]).model_extra
           for i, m in enumerate(["adaptivellm", "adaptivellm@0.3", "Yi-Coder-1.5B-Chat"] * 3)]
    after = totals()
    assert after["adaptivellm_requests"] - before["adaptivellm_requests"] == 9
    assert after["adaptivellm_calls"] - before["adaptivellm_calls"] == sum(len(g["attempts"]) for g in got)
    assert after["adaptivellm_escalations"] - before["adaptivellm_escalations"] == sum(len(g["attempts"]) - 1 for g in got)
    assert after["adaptivellm_spend_usd"] - before["adaptivellm_spend_usd"] == pytest.approx(sum(a["usd"] for g in got for a in g["attempts"]), rel=1e-9)
    assert httpx.get(f"{url.removesuffix('/v1')}/metrics").status_code == 401  # the key, as for every route
