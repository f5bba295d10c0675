"""`solve` and `adaptivellm solve` live against the fake pool on 127.0.0.1 (tests/fakeopenai.py).

Every cheap model answers wrongly and the pool's last resort (Qwen2.5-Coder-32B, the most expensive, last
listed) answers with HumanEval's reference solution, so with a huge cost weight (the cheapest first) each
problem must escalate once. The caller's tests are HumanEval's check functions. Tokens and costs are
recomputed from the fake server's rule (one token per four characters) and the pool's prices."""
import json, os, signal, subprocess, sys, time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, write_live_pool
from fakeopenai import FakeOpenAI, HUMANEVAL, KNOWN, answer, pool_respond, tokens

from adaptivellm.core.pool import PAPER_POOL
from adaptivellm.check.labels import humaneval_prompt, humaneval_tests
from adaptivellm.live.router import AdaptiveLLM
from adaptivellm.live.solve import LivePool, solve

TOP = "Qwen2.5-Coder-32B-Instruct"  # the safety net: most expensive, last listed
PRICE = {m.name: m.price_per_mtok for m in PAPER_POOL}
TASKS = [HUMANEVAL[f"HumanEval/{i}"] for i in (0, 2, 4, 7, 12, 15, 23, 28, 29, 30, 34, 35)]
PROMPTS = [humaneval_prompt(p) for p in TASKS]
TESTS = [humaneval_tests(p) for p in TASKS]


@pytest.fixture(scope="module")
def router(small_router):
    return AdaptiveLLM.load(small_router)


@pytest.fixture
def fake():
    with FakeOpenAI(pool_respond) as srv: yield srv


def live(fake, tmp_path, plays, **kw):
    return LivePool(write_live_pool(tmp_path/"pool.json", fake.url, {TOP: "right", **plays}), **kw)


def test_wrong_cheap_answer_escalates_and_costs_add_up(router, fake, tmp_path):
    sols = solve(PROMPTS[:4], router, live(fake, tmp_path, {}), lam=1e6, tests=TESTS[:4], progress=False)
    for p, s in zip(PROMPTS, sols):
        assert [a.verdict for a in s.attempts] == ["fail", "pass"] and s.passed is True
        assert s.model == TOP and s.attempts[0].model != TOP
        assert s.answer == answer("right", p) and s.program in s.answer and not s.program.startswith("```")
        outs = [tokens(answer("right" if a.model == TOP else "wrong", p)) for a in s.attempts]
        assert [(a.input_tokens, a.output_tokens) for a in s.attempts] == [(tokens(p), o) for o in outs]
        assert s.tokens == (2 * tokens(p), sum(outs))
        expect = sum((tokens(p) * 0.1 + o * PRICE[a.model]) / 1e6 for o, a in zip(outs, s.attempts))
        assert s.usd == pytest.approx(expect, rel=1e-12)
    assert fake.auth == {"Bearer EMPTY"}  # FAKE_POOL_KEY unset: the placeholder


def test_the_router_folder_routes_as_the_loaded_router(router, small_router, fake, tmp_path):
    pool = live(fake, tmp_path, {})
    by_folder, by_object = (solve(PROMPTS[4:6], r, pool, lam=1e6, tests=TESTS[4:6], progress=False) for r in (small_router, router))
    assert [[a.model for a in s.attempts] for s in by_folder] == [[a.model for a in s.attempts] for s in by_object]
    assert all(s.passed for s in by_folder)


def test_a_failing_model_is_skipped(router, fake, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_POOL_KEY", "sk-pool")
    cheap = {m.name: "broken" for m in PAPER_POOL if m.name != TOP}
    pool = live(fake, tmp_path, cheap, max_retries=1, max_failures=2, rest=60)
    sols = solve(PROMPTS[:4], router, pool, lam=1e6, tests=TESTS[:4], concurrency=1, progress=False)
    verdicts = [[(a.verdict, (a.error or "").split(":")[0]) for a in s.attempts] for s in sols]
    assert verdicts == [[("unchecked", "HTTP 500"), ("pass", "")]] * 2 + [[("unchecked", "skipped"), ("pass", "")]] * 2
    assert "HTTP 500" in sols[0].attempts[0].error and sols[2].attempts[0].usd == 0
    assert fake.models["broken"] == 2 * 2  # two calls of two tries each, then it rests
    assert all(s.passed for s in sols) and fake.auth == {"Bearer sk-pool"}


def test_rate_limit_is_retried_and_a_hanging_model_times_out(router, fake, tmp_path):
    cheap = [m.name for m in PAPER_POOL if m.name != TOP]
    sols = solve(PROMPTS[:2], router, live(fake, tmp_path, dict.fromkeys(cheap, "limited")), lam=1e6, tests=TESTS[:2], progress=False)
    assert [[a.verdict for a in s.attempts] for s in sols] == [["pass"]] * 2  # the 429 retried inside one attempt
    assert fake.models["limited"] == 4
    t0 = time.perf_counter()
    sols = solve(PROMPTS[2:4], router, live(fake, tmp_path, dict.fromkeys(cheap, "hang"), timeout=0.5, max_retries=0),
                 lam=1e6, tests=TESTS[2:4], progress=False)
    assert time.perf_counter() - t0 < 4
    assert [[(a.verdict, a.error) for a in s.attempts] for s in sols] == [[("unchecked", "request timed out"), ("pass", None)]] * 2


def test_solve_one_prompt_from_the_command_line(small_router, fake, tmp_path):
    pool = write_live_pool(tmp_path/"pool.json", fake.url, {TOP: "right"})
    (tmp_path/"t.py").write_text(TESTS[0])
    res = run_cli("solve", "--router", small_router, "--pool", pool, "--lam", "1e6", "--tests", tmp_path/"t.py", PROMPTS[0], timeout=120)
    row = json.loads(res.stdout)
    assert row["passed"] is True and row["model"] == TOP and [a["verdict"] for a in row["attempts"]] == ["fail", "pass"]


def test_a_batch_killed_halfway_then_rerun_has_each_id_once(small_router, fake, tmp_path):
    pool = write_live_pool(tmp_path/"pool.json", fake.url, {TOP: "right"})
    lines = "".join(json.dumps({"id": t["task_id"], "prompt": p}) + "\n" for t, p in zip(TASKS, PROMPTS))
    (tmp_path/"tests.jsonl").write_text("".join(json.dumps({"id": t["task_id"], "tests": x}) + "\n" for t, x in zip(TASKS, TESTS)))
    out, args = tmp_path/"out"/"solved.jsonl", ["solve", "--router", small_router, "--pool", pool, "--lam", "1e6",
                                                "--tests", tmp_path/"tests.jsonl", "--out", tmp_path/"out"/"solved.jsonl", "--concurrency", "2", "-"]
    fake.delay = 0.4  # 12 problems x 2 calls, 2 at a time: about 5 s of calls
    cmd = [sys.executable, "-c", "from adaptivellm.cli import main; raise SystemExit(main())", *map(str, args)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    proc.stdin.write(lines); proc.stdin.close()
    deadline = time.time() + 120
    while time.time() < deadline and (not out.exists() or out.read_text().count("\n") < 3): time.sleep(0.05)
    proc.send_signal(signal.SIGKILL); proc.wait(10)
    first = out.read_text().count("\n")
    assert 3 <= first < len(TASKS), f"killed after {first} lines"
    fake.delay = 0.0
    run_cli(*args, input=lines, timeout=120)
    ids = [json.loads(l)["id"] for l in out.read_text().splitlines()]
    assert sorted(ids) == sorted(t["task_id"] for t in TASKS)  # each exactly once
    assert all(json.loads(l)["passed"] for l in out.read_text().splitlines())


def test_a_bad_line_is_named_and_nothing_is_called(small_router, fake, tmp_path):
    pool = write_live_pool(tmp_path/"pool.json", fake.url, {TOP: "right"})
    bad = json.dumps({"id": "a", "prompt": PROMPTS[0]}) + "\n" + json.dumps({"id": "b"}) + "\n"
    res = run_cli("solve", "--router", small_router, "--pool", pool, "--out", tmp_path/"o.jsonl", "-", input=bad, check=False)
    assert res.returncode == 1 and "<stdin>, line 2, field 'prompt'" in res.stderr
    assert not (tmp_path/"o.jsonl").exists() and sum(fake.models.values()) == 0
