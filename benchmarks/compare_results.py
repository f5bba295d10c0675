"""Compare two `adaptivellm reproduce` results.json files value by value (a benchmark tool, not a test): how many
numbers were compared, how many are identical, and every one that is not; `timings` are left out. Rows are
matched by their `method`, not by position.

    python benchmarks/compare_results.py BEFORE/results.json AFTER/results.json
"""
import json, sys


def leaves(o, path=()):
    "`(path, value)` of every leaf of nested dicts and lists; a list of rows with a `method` is keyed by it"
    if isinstance(o, list) and o and all(isinstance(r, dict) and "method" in r for r in o): o = {f"[{r['method']}]": r for r in o}
    if isinstance(o, dict):
        for k, v in o.items(): yield from leaves(v, path + (str(k),))
    elif isinstance(o, list):
        for i, v in enumerate(o): yield from leaves(v, path + (str(i),))
    else: yield "/".join(path), o


def is_number(v) -> bool: return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))  # None: NaN as written


def main(before:str, after:str) -> int:
    a, b = ({p: v for p, v in leaves(json.load(open(f))) if not p.startswith("timings")} for f in (before, after))
    both = [p for p in a if p in b]
    nums = [p for p in both if is_number(a[p]) and is_number(b[p])]
    same = [p for p in nums if a[p] == b[p]]
    print(f"numbers compared: {len(nums)}; identical: {len(same)}; other values compared: {len(both) - len(nums)}, "
          f"identical: {sum(a[p] == b[p] for p in both if p not in nums)}")
    for p in both:
        if a[p] != b[p]: print(f"  differs: {p}: {a[p]!r} -> {b[p]!r}")
    for p in a:
        if p not in b: print(f"  only before: {p} = {a[p]!r}")
    for p in b:
        if p not in a: print(f"  only after: {p} = {b[p]!r}")
    return 0 if len(same) == len(nums) else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
