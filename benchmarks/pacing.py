"""The pacing rules on other random streams than the page's (not a test).

`17_traffic` measures three pacing rules on one seed of random streams: the constant step (η = 0.02, the rule of
0.8.1), the settling step that never starts again (η = 0.04 shrinking as 100/(100 + n), `window=0`), and the default
(the same, started again when the recent spend is more than 10% off the budget). A single stream can fall more or
less than 0.01 below the hindsight λ by luck, so this script repeats the page's three measurements on several seeds
of streams: every benchmark as the traffic, seen and unseen, at both report budgets, 5 streams of 1,000 requests
each; the 10 repeated splits' test problems in a random order; and the changing mix (HumanEval, CodeContests,
LeetCode, HumanEval, 600 requests each). Prints one row per rule and seed.

`--more` adds a rule that is not in the package, to show what else was tried: a *dead band*, the constant step
taken only while the recent spend is more than 5% off the budget.

    python benchmarks/pacing.py [--seeds 0 1 2 3] [--more] [--json FILE]
"""
import argparse, json, warnings
import pandas as pd
from adaptivellm.data.benchmark import load_benchmark
from adaptivellm.embed.encoder import PromptEncoder
from adaptivellm.cascade.chains import route_features
from adaptivellm.cascade.replay import replay_table
from adaptivellm.difficulty.score import stratified_splits
from adaptivellm.selection.pacing import Pacer
from adaptivellm.study.reproduce import default_budgets
from adaptivellm.study.traffic import traffic_streams, traffic_table, mixed_traffic, changing_mix, rule_row

RULES = {"constant step (0.8.1)": dict(eta=0.02, settle=0, window=0), "settling, never started again": dict(window=0), "default": {}}
SEGMENTS = ["HumanEval", "CodeContests", "LeetCode", "HumanEval"]


class DeadBand(Pacer):
    "The constant step, taken only while the recent spend (the pacer's moving mean) is more than `band` off the budget"
    def observe(self, cost): return self._move(cost, self.eta if self._off_budget(cost) else 0.0)


MORE = {"dead band (5% of 200)": dict(rule=DeadBand, eta=0.02, band=0.05)}


def measure(streams, F, table, splits, budgets, seed, **settings) -> dict:
    "The page's row of one rule (`rule_row`), on the streams of one seed"
    return rule_row(traffic_table(streams, budgets, seed=seed, **settings), mixed_traffic(F, table, splits, budgets, seed=seed, **settings),
                    changing_mix(streams, SEGMENTS, budgets, seed=seed, **settings))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    ap.add_argument("--more", action="store_true", help="also the dead band, a rule not in the package")
    ap.add_argument("--json", help="also write the rows here")
    a = ap.parse_args(argv)
    bench = load_benchmark(verbose=False)
    prompts = list(bench.problems.prompt)
    X = PromptEncoder("minilm").encode(prompts)
    with warnings.catch_warnings(): warnings.simplefilter("ignore"); table = replay_table(bench)
    F = pd.DataFrame(route_features(X, prompts), index=bench.problems.index).loc[table["pass@1"].index]
    streams, budgets, splits = traffic_streams(F, table, bench.problems.benchmark), default_budgets(bench), stratified_splits(bench, 10, 0.3, 0)
    rules = RULES | (MORE if a.more else {})
    rows = [dict(rule=name, seed=s, **measure(streams, F, table, splits, budgets, s, **kw)) for name, kw in rules.items() for s in a.seeds]
    out = pd.DataFrame(rows)
    with pd.option_context("display.width", 250, "display.max_columns", 30): print(out.round(4).to_string(index=False))
    if a.json:
        with open(a.json, "w") as f: json.dump(rows, f, indent=1)


if __name__ == "__main__": main()
