"""The trace store (`14a_store`) on a real PostgreSQL server that the suite starts itself (`pgserver`: PostgreSQL 16
from PyPI, no system service, a Unix socket, no network); two gateway processes sharing one PostgreSQL store while one
of them is killed mid-stream, then `adaptivellm report` and `adapt` on it; two processes pacing one budget in one
SQLite file."""
import hashlib, math, os, subprocess, sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import ROOT, run_cli
from gateways import KEY, two_gateways

from adaptivellm.check.examples import Verdict
from adaptivellm.live.solve import Attempt, Solution
from adaptivellm.live.store import TraceStore, request_trace
from adaptivellm.selection.pacing import Pacer

CALLER = hashlib.sha256(f"Bearer {KEY}".encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def postgres_server(tmp_path_factory):
    "A PostgreSQL server of the module's own, stopped after it"
    if not os.environ.get("CI"): pytest.importorskip("pgserver")   # CI installs the dev extras: there it must run
    import pgserver
    srv = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield srv
    srv.cleanup()


@pytest.fixture
def postgres(postgres_server, request):
    "The URL of a new, empty database on that server, one per test"
    name = "t_" + hashlib.sha256(request.node.name.encode()).hexdigest()[:12]
    postgres_server.psql(f"CREATE DATABASE {name};")
    return postgres_server.get_uri(name)


def _trace(i, budget=0.2, lam=0.5):
    sol = Solution("ok", "ok", "big", True, [Attempt("small", Verdict.FAIL, 10, 5, 1e-4, 0.1), Attempt("big", Verdict.PASS, 10, 5, 2e-4, 0.2)], lam=lam, chain=["small", "big"])
    return request_trace(f"r{i}", f"adaptivellm@{budget}", "def f():\n    pass\n", sol, "c", budget)


def test_postgres_store_keeps_traces_atomically_and_paces_from_many_threads(postgres):
    store = TraceStore(postgres).pace(lambda b: 0.5)
    with ThreadPoolExecutor(8) as ex: lams = list(ex.map(lambda i: store.record(_trace(i)), range(200)))
    p = store.pacers()
    assert (len(store.requests()), len(store.attempts())) == (200, 400)
    assert p.requests.tolist() == [200] and p.spent[0] == pytest.approx(200 * 0.3)   # every request moved λ once, none lost
    one = Pacer(0.2, 0.5)
    for _ in range(200): one.observe(0.3)
    assert p.lam[0] == pytest.approx(one.lam, rel=1e-9) and max(lams) == pytest.approx(p.lam[0])
    with pytest.raises(ValueError, match="recorded already"): store.record(_trace(0))
    bad = _trace(999); bad["attempts"][1]["model"] = None   # the second call's row breaks a constraint: nothing of it stays
    with pytest.raises(Exception): store.record(bad)
    assert len(store.requests()) == 200 and store.pacers().requests[0] == 200
    again = TraceStore(postgres).pace(lambda b: 0.5)   # a restart, or a second gateway: the same λ
    assert again.lam(0.2, "c") == pytest.approx(p.lam[0]) and again.lam(0.3, "c") == 0.5
    assert "***" in TraceStore.where.fget(type("S", (), {"url": "postgresql://u:pw@h/db"})())


def _check_two_gateways(results, store, n):
    "Every answered request has its trace; the one shared pacer counted each trace's spend exactly once; both gateways answered"
    answered = [r for _, _, r in results if r is not None]
    rows, pacer = store.requests(), store.pacers()
    assert {r["id"] for r in answered} <= set(rows.id)                    # answered => traced
    assert len(answered) <= len(rows) <= n and rows.id.is_unique           # a trace without an answer: killed after the commit
    assert pacer[["budget", "caller"]].values.tolist() == [[0.2, CALLER]]  # one pacer, shared, keyed by the key's hash
    assert pacer.requests[0] == len(rows) and pacer.spent[0] == pytest.approx(1000 * rows.usd.sum(), rel=1e-9)
    assert {g for _, g, r in results if r is not None} == {0, 1} and len(answered) >= 0.9 * n
    by_id = rows.set_index("id")
    for r in answered[:50]:
        assert by_id.loc[r["id"], "usd"] == pytest.approx(r["adaptivellm"]["usd"]) and by_id.loc[r["id"], "lam"] == pytest.approx(r["adaptivellm"]["lam"])
    tail = rows.usd.iloc[len(rows) // 4:].mean() * 1000
    print(f"{len(answered)} of {n} answered, {len(rows)} traces; spend over the last 75%: {tail:.3f} USD per 1,000 ({tail / 0.2:.2f} of the budget)")



def test_a_postgres_store_of_0_8_1_gains_the_recent_spend_and_keeps_its_pacers(postgres):
    import psycopg
    with psycopg.connect(postgres) as db:   # the pacers table as 0.8.1 made it
        db.execute("CREATE TABLE pacers (budget DOUBLE PRECISION NOT NULL, caller TEXT NOT NULL, lam DOUBLE PRECISION NOT NULL, "
                   "requests INTEGER NOT NULL, spent DOUBLE PRECISION NOT NULL, PRIMARY KEY (budget, caller))")
        db.execute("INSERT INTO pacers VALUES (0.2, 'c', 0.7, 40, 12.0)")
    store = TraceStore(postgres).pace(lambda b: 0.5)
    assert store.lam(0.2, "c") == 0.7
    store.record(_trace(0))
    assert store.pacers().requests.tolist() == [41] and store.lam(0.2, "c") == pytest.approx(0.7 * math.exp(0.04 * 0.5))

def test_two_gateways_on_one_postgres_store_one_killed_mid_stream_then_report(small_router, postgres, tmp_path):
    "Then `adaptivellm report --store` summarises the store and draws the figure, and `adapt` refuses a router without chains"
    _check_two_gateways(two_gateways(small_router, postgres, tmp_path, n=100), TraceStore(postgres), 100)   # 1,000: benchmarks/store.py
    traced = len(TraceStore(postgres).requests())
    res = run_cli("report", "--store", postgres, "--figure", tmp_path/"spend.png", "--bins", "3")
    summary = res.stdout.split("## summary")[1].split("##")[0]
    assert next(l for l in summary.splitlines() if l.startswith("0.2")).split()[1] == str(traced) and "## models" in res.stdout and "## spend" in res.stdout
    assert (tmp_path/"spend.png").stat().st_size > 1000
    bad = run_cli("report", "--store", tmp_path/"none.db", check=False)
    assert bad.returncode == 1 and "no request recorded" in bad.stderr
    bad = run_cli("adapt", "--store", postgres, "--router", small_router, "--out", tmp_path/"r2", check=False)
    assert bad.returncode == 1 and "--cascade" in bad.stderr and not (tmp_path/"r2").exists()


_WRITER = """
import sys
from adaptivellm.check.examples import Verdict
from adaptivellm.live.solve import Attempt, Solution
from adaptivellm.live.store import TraceStore, request_trace
store, tag = TraceStore(sys.argv[1]).pace(lambda b: 0.5), sys.argv[2]
sol = Solution("ok", "ok", "big", True, [Attempt("big", Verdict.PASS, 10, 5, 3e-4, 0.1)], lam=0.5, chain=["big"])
for i in range(300): store.record(request_trace(f"{tag}-{i}", "adaptivellm@0.2", "def f():\\n    pass\\n", sol, "c", 0.2))
"""


def test_two_processes_pace_one_budget_in_one_sqlite_file(tmp_path):
    "Two processes recording paced requests into one SQLite file at once: each request moved the one λ exactly once"
    db = str(tmp_path/"traces.db")
    TraceStore(db)   # the tables, before the race
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, db, tag], env={**os.environ, "PYTHONPATH": str(ROOT)}) for tag in "ab"]
    assert [p.wait(120) for p in procs] == [0, 0]
    store = TraceStore(db)
    p = store.pacers()
    assert len(store.requests()) == 600 and p.requests.tolist() == [600] and p.spent[0] == pytest.approx(600 * 0.3)
    one = Pacer(0.2, 0.5)
    for _ in range(600): one.observe(0.3)
    assert p.lam[0] == pytest.approx(one.lam, rel=1e-9)   # 600 steps of the same cost, as in one process: none lost
