"""The live loop makes the replay's decisions: `solve_one` against a fake pool that serves the recorded answers calls the
same models, reaches the same verdicts, accepts the same answer and pays the same as `Cascade.trace` on the shipped
verdicts, problem by problem, for several chains and both `no_tests` policies."""
import random

import pytest
from fakeopenai import FakeOpenAI, chat

from adaptivellm.cascade.replay import NO_TESTS_POLICIES, Cascade, replay_data
from adaptivellm.check.examples import Verdict
from adaptivellm.check.gate import read_verdicts
from adaptivellm.data.benchmark import load_benchmark, recorded_samples
from adaptivellm.core.pool import ModelSpec
from adaptivellm.live.solve import LivePool, solve_one

CHAINS = [("Yi-Coder-1.5B-Chat", "deepseek-coder-33b-instruct"),
          ("Qwen2.5-Coder-1.5B-Instruct", "starcoder2-15b-instruct-v0.1", "Codestral-22B-v0.1"),
          ("CodeLlama-7b-Instruct-hf", "deepseek-coder-v2-lite-instruct", "deepseek-coder-33b-instruct")]
PER_FORMAT = 10  # problems drawn per task format (seeded), plus every problem without example tests among the first 100


@pytest.fixture(scope="module")
def recorded(data_dir):
    bench = load_benchmark(data_dir, verbose=False)
    verdicts = read_verdicts()
    samples = recorded_samples(bench, with_text=True)
    rng, ids = random.Random(0), []
    for fmt in ("HumanEval", "CodeContests", "LeetCode"):
        pool = list(bench.problems.index[bench.problems.benchmark == fmt])
        ids += rng.sample(pool, PER_FORMAT)
    no_tests = verdicts[verdicts.verdict == "no-tests"].index.unique("problem_id")
    ids += [p for p in list(bench.problems.index[:100]) if p in no_tests and p not in ids]
    return bench, replay_data(bench, verdicts=verdicts), samples, ids


def _server(bench, samples, ids, sample=0):
    "A fake pool endpoint answering each (model, prompt) with that model's recorded answer (`sample`) and its token counts"
    answers = {}
    for (pid, model, s), r in samples.iterrows():
        if s == sample and pid in ids: answers[model, bench.problems.prompt[pid]] = r
    def respond(req, n):
        r = answers[req["model"], req["messages"][-1]["content"]]
        return chat(req["model"], r.response, int(r.input_tokens), int(r.output_tokens))
    return FakeOpenAI(respond)


@pytest.mark.parametrize("no_tests", NO_TESTS_POLICIES)
def test_live_loop_makes_the_replays_decisions(recorded, no_tests):
    bench, d, samples, ids = recorded
    assert any(d.verdict[d.ids.index(p), :, 0].max() == Verdict.NO_TESTS.code for p in ids)  # both policies matter here
    with _server(bench, samples, ids) as srv:
        live = LivePool([ModelSpec(s.name, s.price_per_mtok, base_url=srv.url) for s in bench.pool], max_retries=0)
        checked = 0
        for chain in CHAINS:
            for pid in ids:
                want = Cascade(chain, no_tests).trace(d, pid, 0)
                sol = solve_one(bench.problems.prompt[pid], chain, live, no_tests=no_tests)
                where = f"{pid} through {'>'.join(chain)} ({no_tests})"
                assert [a.model for a in sol.attempts] == list(want.model), where
                assert [a.verdict for a in sol.attempts] == list(want.verdict), where
                accepted = want.model[want.accepted].iloc[0]
                assert sol.model == accepted, where
                assert sol.answer == samples.response[pid, accepted, 0], where
                assert sum(a.usd for a in sol.attempts) * 1000 == pytest.approx(want.usd_per_1k.sum()), where
                checked += 1
    assert checked == len(CHAINS) * len(ids)
