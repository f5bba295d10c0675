"""Hostile programs in the execution sandbox, on both engines (`warm`: a fork of a confined worker; `spawn`: a fresh
worker per run): each must fail, time out or be contained, and leave the host unchanged: no process of a sandbox
user left, every user id free, the same warm workers alive and idle, no file left in the host's /tmp, the harness's
open descriptors as before, and a plain program still passing.

The attacks of `tests/hostile.py` (one test each, on both engines, with and without OS isolation) try to get a wrong
answer passed, read the host's files, outlive their run or reach the harness. Tests of the OS layer run only where it
is available (root on Linux); in CI it must be. Every run is bounded by a timeout of a few seconds."""
import os, shutil, socket, tempfile, threading, time
from pathlib import Path
import pytest
from adaptivellm.check.sandbox import IsolationUnavailable, SandboxLimits, close_workers, os_isolation, run_many, run_tests, sandbox_status
from hostile import ATTACKS, Attack, outcome


def _isolation() -> bool:
    try: return os_isolation()
    except IsolationUnavailable:
        if os.environ.get("CI"): raise  # CI runs as root: the OS layer must work there
        return False

ISOLATED = _isolation()
needs_os = pytest.mark.skipif(not ISOLATED, reason="OS isolation unavailable (needs root and namespaces)")
pytestmark = pytest.mark.filterwarnings("ignore:running untrusted programs without OS isolation")


@pytest.fixture(params=["warm", "spawn"])
def engine(request): return request.param


@pytest.fixture(scope="module", autouse=True)
def own_tmp():
    "The harness's temporary files (spawn runs' folders, warm workers' folders) in a folder of this module's own: other jobs share /tmp"
    saved, tempfile.tempdir = tempfile.tempdir, tempfile.mkdtemp(prefix="adaptivellm-sectest-")
    os.chmod(tempfile.tempdir, 0o755)
    yield Path(tempfile.tempdir)
    close_workers(); shutil.rmtree(tempfile.tempdir); tempfile.tempdir = saved


def _host() -> dict:
    "What a hostile run must not change on the host"
    s = sandbox_status()
    return dict(free_uids=s["free_uids"], processes=s["processes"], workers=s["workers"], busy=s["busy_workers"],
                tmp=sorted(n for n in os.listdir(tempfile.gettempdir()) if not n.startswith("pytest-of-")), fds=len(os.listdir("/proc/self/fd")))


@pytest.fixture(autouse=True)
def host_unchanged(request):
    "Before: one warm worker ready. After the hostile run: the host as it was, and a plain program still passes"
    engine = request.getfixturevalue("engine") if "engine" in request.fixturenames else "warm"
    close_workers(); run_tests("x = 1", "", timeout=5)  # one idle warm worker: sequential runs all go to it
    before = _host()
    yield
    after = _host()
    if request.node.get_closest_marker("new_workers"):  # the test starts workers of its own: back to one, then compare counts
        close_workers(); run_tests("x = 1", "", timeout=5); after = _host()
        for k in ("workers", "tmp"): before[k], after[k] = len(before[k]), len(after[k])  # each worker has a folder of its own
    fds = before.pop("fds"), after.pop("fds")  # other tests of this process may close descriptors meanwhile: none may be added
    assert after == before and fds[1] <= fds[0], f"the host changed: {before} -> {after}, open descriptors {fds[0]} -> {fds[1]}"
    assert run_tests("x = 1", "assert x == 1", timeout=5, engine=engine).status == "passed"


def _libc_prelude() -> str:
    return "import ctypes, struct, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"


def test_fork_bomb_python_is_refused(engine):
    r = run_tests("import os\nwhile True:\n    os.fork()", "", timeout=3, engine=engine)
    assert r.status == "failed" and "os.fork is not allowed" in r.output


@needs_os
def test_fork_bomb_through_libc_is_contained(engine):
    "ctypes passes under the audit hook; the process limit and the clean-up contain it, setsid included"
    bomb = _libc_prelude() + "while True:\n    if libc.fork() == 0: libc.setsid()\n"
    start = time.monotonic()
    r = run_tests(bomb, "", timeout=3, engine=engine)
    assert r.status in ("timeout", "failed") and time.monotonic() - start < 20


def test_allocating_8_gb_fails(engine):
    r = run_tests("x = bytearray(8 * 1024 ** 3)", "", timeout=10, engine=engine)
    assert r.status == "failed" and "MemoryError" in r.output


def test_sleeping_forever_times_out(engine):
    start = time.monotonic()
    r = run_tests("import time\ntime.sleep(10 ** 6)", "", timeout=1, engine=engine)
    assert r.status == "timeout" and not r.passed and time.monotonic() - start < 6


def test_cpu_limit_stops_a_busy_loop_that_ignores_the_wall_clock(engine):
    "RLIMIT_CPU is a second stop beside the wall clock"
    r = run_tests("while True: pass", "", timeout=2, engine=engine)
    assert r.status == "timeout"


def test_busy_loop_dies_in_its_cpu_budget_before_the_wall_timeout(engine):
    start = time.monotonic()
    r = run_tests("while True: pass", "", timeout=30, limits=SandboxLimits(cpu_seconds=1), engine=engine)
    assert r.status == "timeout" and "CPU-time limit" in r.output and time.monotonic() - start < 10


def test_writing_outside_the_directory_is_refused(tmp_path, engine):
    target = tmp_path / "escaped.txt"
    tmp_path.chmod(0o777)  # even a world-writable folder
    progs = [f"open({str(target)!r}, 'w').write('x')", f"import os\nos.rename('main.py', {str(target)!r})",
             f"import pathlib\npathlib.Path({str(target)!r}).write_text('x')", "open('../escaped.txt', 'w').write('x')"]
    for r in run_many([(p, "") for p in progs], timeout=5, workers=1, progress=False, engine=engine):
        assert r.status == "failed" and "sandbox:" in r.output
    assert not target.exists() and not (tmp_path.parent / "escaped.txt").exists()


@needs_os
def test_writing_outside_through_libc_lands_nowhere(tmp_path, engine):
    "Past the hook: the sandbox user cannot write the host's folders, and /tmp is a private tmpfs"
    tmp_path.chmod(0o777)
    targets = [tmp_path / "escaped.txt", Path("/tmp/adaptivellm-escaped.txt"), Path("/work/adaptivellm-escaped.txt")]
    prog = _libc_prelude() + "".join(f"libc.creat({str(t).encode()!r}, 0o644)\n" for t in targets)
    r = run_tests(prog, "", timeout=5, engine=engine)
    assert r.status == "passed"  # the calls returned (some failed with EACCES, some wrote to the private tmpfs)
    assert not any(t.exists() for t in targets)


def test_writing_inside_the_directory_works(engine):
    r = run_tests("open('out.txt', 'w').write('ok')\nimport tempfile\ntempfile.mkstemp()", "assert open('out.txt').read() == 'ok'", timeout=5, engine=engine)
    assert r.status == "passed"


def test_parent_secret_is_not_visible(monkeypatch, engine):
    monkeypatch.setenv("ADAPTIVELLM_SECRET_TOKEN", "hunter2-very-secret")
    prog = ("import os\nseen = [v for v in os.environ.values() if 'hunter2' in v]\n"
            "for pid in (os.getppid(), 1):\n"
            "    try: seen += ['parent'] if b'hunter2' in open(f'/proc/{pid}/environ', 'rb').read() else []\n"
            "    except OSError as e: print('refused', e)\n"
            "print(sorted(os.environ))\n")
    r = run_tests(prog, "assert not seen, seen", timeout=5, engine=engine)
    assert r.status == "passed" and "hunter2" not in r.output
    assert "ADAPTIVELLM_SECRET_TOKEN" not in r.output


class _Listener:
    "A TCP listener on 127.0.0.1 that counts connections, for a bounded time"
    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0)); self.sock.settimeout(0.2)
        self.port, self.accepted, self.stop = self.sock.getsockname()[1], 0, False
        self.thread = threading.Thread(target=self._serve, daemon=True); self.thread.start()
    def _serve(self):
        deadline = time.monotonic() + 60
        while not self.stop and time.monotonic() < deadline:
            try: conn, _ = self.sock.accept(); self.accepted += 1; conn.close()
            except (socket.timeout, OSError): pass
    def close(self):
        self.stop = True; self.thread.join(5); self.sock.close()


def test_socket_to_loopback_is_blocked(engine):
    srv = _Listener()
    try:
        r = run_tests(f"import socket\nsocket.create_connection(('127.0.0.1', {srv.port}), timeout=2)", "", timeout=5, engine=engine)
        assert r.status == "failed" and "socket.connect is not allowed" in r.output
        if ISOLATED:  # past the hook, through libc: the network namespace has no usable loopback to the host
            addr = f"struct.pack('=H', 2) + struct.pack('!H', {srv.port}) + bytes([127, 0, 0, 1]) + bytes(8)"
            prog = _libc_prelude() + f"fd = libc.socket(2, 1, 0)\nrc = libc.connect(fd, {addr}, 16)\n"
            r = run_tests(prog, "assert rc == 0, ('connect failed', ctypes.get_errno())", timeout=5, engine=engine)
            assert r.status == "failed" and "connect failed" in r.output
        time.sleep(0.5)
        assert srv.accepted == 0
    finally: srv.close()


def test_killing_the_parent_is_refused(engine):
    "The guard refuses; past it, the parent (the harness, or the warm worker: root, PID 1 of its namespace) cannot be signalled"
    r = run_tests("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", "", timeout=5, engine=engine)
    assert r.status == "failed" and "os.kill of another process" in r.output
    if ISOLATED:
        r = run_tests(_libc_prelude() + "rc = [libc.kill(os.getppid(), 9), libc.kill(1, 9)]", "assert rc == [0, 0], rc", timeout=5, engine=engine)
        assert r.status == "failed" and "[-1, -1]" in r.output, r.output
        r = run_tests(_libc_prelude() + "libc.kill(-1, 9)", "", timeout=5, engine=engine)  # every process it may signal: none but its own
        assert r.status == "passed", r.output


@needs_os
def test_ptracing_the_parent_is_refused(engine):
    "PTRACE_ATTACH and PTRACE_SEIZE on the parent (and, warm, on PID 1) fail: another user id, no capabilities"
    prog = _libc_prelude() + "rc = [libc.ptrace(request, pid, 0, 0) for request in (16, 0x4206) for pid in (os.getppid(), 1)]"
    r = run_tests(prog, "print('ptrace', rc)\nassert rc == [-1] * 4, rc", timeout=5, engine=engine)
    assert r.status == "passed", r.output


@needs_os
def test_setuid_to_root_is_refused(engine):
    prog = _libc_prelude() + "import os\nuid = os.getuid()\nrc = [libc.setuid(0), libc.setgid(0)]\ntry: os.setuid(0); gained = True\nexcept PermissionError: gained = False\n"
    r = run_tests(prog, "assert uid != 0 and rc == [-1, -1] and not gained and os.geteuid() != 0, (uid, rc, gained)", timeout=5, engine=engine)
    assert r.status == "passed", r.output


def _search(folders:list) -> str:
    "Source of a program that reads every file under `folders` (but its own working folder and the interpreter's, which may live there) into `found`"
    return (f"import os, sys\nfound = []\nfor d in {folders!r}:\n    for root, _, files in os.walk(d):\n"
            "        if root.startswith((os.getcwd(), sys.prefix, sys.base_prefix)): continue\n"
            "        for f in files:\n            try: found.append(open(os.path.join(root, f), 'rb').read().decode('latin-1'))\n            except OSError: pass\n")


def test_another_runs_files_are_gone_after_it(engine):
    "Run A leaves a secret in its folder, its TMPDIR and /tmp; run B (next, on the same worker) finds none of it"
    a = run_tests("import os, tempfile\nopen('secret.txt', 'w').write('hunter2')\nfd, p = tempfile.mkstemp(); os.write(fd, b'hunter2')\n"
                  "print(os.getcwd(), p)", "", timeout=5, engine=engine)
    assert a.status == "passed"
    where, tmp = a.output.split()
    b = run_tests(_search(["/tmp", "/var/tmp", "/dev/shm"]) + f"for p in [{where + '/secret.txt'!r}, {tmp!r}]:\n"
                  "    try: found.append(open(p).read())\n    except OSError: pass\n",
                  "assert not any('hunter2' in x for x in found), found", timeout=5, engine=engine)
    assert b.status == "passed", b.output
    assert not Path(where).exists()


@needs_os
@pytest.mark.new_workers
def test_another_runs_files_are_out_of_reach_while_it_runs(engine):
    "Two runs at once: the second cannot see the first's folder, /tmp or /proc entries"
    writer = "import time\nopen('secret.txt', 'w').write('hunter2')\ntime.sleep(1.5)"
    reader = ("import time\ntime.sleep(0.5)\n" + _search(["/tmp", "/var/tmp"]) + "for pid in os.listdir('/proc'):\n"
              "    try: found.append(open(f'/proc/{pid}/cwd/secret.txt').read())\n    except OSError: pass\n")
    res = run_many([(writer, ""), (reader, "assert not any('hunter2' in x for x in found), found")], timeout=5, workers=2, progress=False, engine=engine)
    assert [r.status for r in res] == ["passed", "passed"], res[1].output


@needs_os
def test_a_daemon_does_not_survive_into_the_next_run(engine):
    "Run A forks a daemon (through libc, in a new session) and ends; the daemon is dead at once, and run B finds no process but its own"
    daemon = _libc_prelude() + "import time\nif libc.fork() == 0:\n    libc.setsid()\n    while True: time.sleep(0.05)\ntime.sleep(0.3)\n"
    a = run_tests(daemon, "", timeout=5, engine=engine)
    assert a.status == "passed", a.output
    assert sandbox_status()["processes"] == []
    if engine == "warm":  # same worker, same PID namespace: its /proc lists PID 1 (the worker) and the run itself
        b = run_tests("import os", "procs = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\nassert procs == [1, os.getpid()], procs", timeout=5)
        assert b.status == "passed", b.output


def test_changing_the_workers_modules_does_not_reach_the_next_program(engine):
    "Run A replaces modules and builtins; run B, next on the same worker, finds them intact"
    a = run_tests("import sys, json, math, builtins\njson.dumps = lambda *a, **k: 'hacked'\nmath.pi = 3\nsys.modules['heapq'] = None\n"
                  "builtins.len = lambda x: 0\nsys.path.insert(0, '/tmp/evil')", "", timeout=5, engine=engine)
    assert a.status == "passed"
    b = run_tests("import sys, json, math, heapq", "assert json.dumps([1]) == '[1]' and math.pi > 3.14 and len([1]) == 1 and '/tmp/evil' not in sys.path",
                  timeout=5, engine=engine)
    assert b.status == "passed", b.output


def test_exhausting_file_descriptors_stops_at_the_limit(engine):
    prog = "import os\nfds = []\ntry:\n    while True: fds.append(os.open(os.devnull, os.O_RDONLY))\nexcept OSError as e: print('stopped', len(fds), e)\n"
    r = run_tests(prog, "assert len(fds) < 256", timeout=5, engine=engine)
    assert r.status == "passed" and "Too many open files" in r.output, r.output


def test_exhausting_disk_is_contained(engine):
    "1 MB files written until something stops it (a full tmpfs, the timeout): nothing of it is left on the host's disk"
    free = shutil.disk_usage("/").free
    prog = "i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * (1 << 20)); i += 1\n"
    r = run_tests(prog, "", timeout=3, engine=engine)
    assert r.status in ("failed", "timeout")
    assert shutil.disk_usage("/").free > free - (200 << 20)


@pytest.mark.new_workers
def test_many_hostile_programs_in_parallel_leave_the_harness_working(engine):
    progs = ["import time\ntime.sleep(100)", "x = bytearray(8 * 1024 ** 3)", "import os\nos.fork()", "raise SystemExit(0)", "x = 1"]
    res = run_many([(p, "") for p in progs], timeout=2, workers=2, progress=False, engine=engine)
    assert [r.status for r in res] == ["timeout", "failed", "failed", "failed", "passed"]


def test_file_size_limit_stops_huge_output(engine):
    r = run_tests("import sys\nwhile True: sys.stdout.write('x' * 65536)", "", timeout=10, limits=SandboxLimits(file_mb=1, max_output=300), engine=engine)
    assert r.status == "failed" and len(r.output) < 400


@pytest.mark.parametrize("prog, tests, blocked", [
    ("import os\nopen(f'/proc/{os.getppid()}/environ', 'rb').read()", "", "another process's /proc entry"),
    ("import os, signal\nos.kill(os.getppid(), signal.SIGTERM)", "", "os.kill of another process"),
    ("import socket\nsocket.socket().connect(('127.0.0.1', 9))", "", "socket.connect is not allowed"),
    ("import subprocess\nsubprocess.run(['true'])", "", "is not allowed"),
    ("import shutil\nshutil.rmtree('/nonexistent-adaptivellm-dir')", "", "outside the working directory"),
])
@pytest.mark.new_workers
def test_the_guard_alone_refuses(prog, tests, blocked, engine):
    "Without the OS layer (as for a user who is not root) the in-process guard still refuses each of these"
    r = run_tests(prog, tests, timeout=5, isolate=False, engine=engine)
    assert r.status == "failed" and blocked in r.output, r.output


@pytest.mark.new_workers
def test_a_killed_worker_is_replaced():
    "A warm worker killed from outside (as if damaged): its run fails as an error, the next run gets a fresh worker"
    import adaptivellm.check.sandbox as ex
    [pid] = sandbox_status()["workers"]
    def kill_soon(): time.sleep(0.5); os.killpg(pid, 9)
    threading.Thread(target=kill_soon).start()
    r = run_tests("import time\ntime.sleep(5)", "", timeout=10)
    assert r.status == "error" and "sandbox worker failed" in r.output, r
    assert run_tests("x = 1", "assert x == 1", timeout=5).status == "passed"
    [new] = sandbox_status()["workers"]
    assert new != pid and ex._LIVE and all(w.proc.pid != pid for w in ex._LIVE)


@pytest.mark.parametrize("attack", ATTACKS, ids=[f"class{a.cls}-{a.name[:40]}" for a in ATTACKS])
@pytest.mark.new_workers
def test_a_hostile_program_is_contained(attack):
    "On both engines, with and without OS isolation: the verdict stays right (a wrong answer fails, the expected value never reaches the program), the host's files stay unread and unwritten, nothing outlives the run"
    got = {(e, iso): outcome(attack, e, iso) for e in ("warm", "spawn") for iso in ((True, False) if ISOLATED else (False,))}
    assert set(got.values()) == {"contained"}, got


@pytest.mark.parametrize("i", [0, 1, 9])
def test_the_search_attacks_find_what_is_there(i):
    "The attacks are real: planted in the program's own memory or folder, the value they look for is found and the wrong answer passes"
    a = ATTACKS[i]
    plant = "open('notes.txt', 'w').write('zebra-42-' + 'secret')\n" if a.cls == 3 else "planted = 'zebra-42-' + 'secret'\n"
    assert outcome(Attack(a.name, a.cls, plant + a.program, a.target), "warm", ISOLATED).startswith("FORGED")


@pytest.mark.new_workers
def test_without_isolation_the_guard_refuses_reading_the_host():
    "The strict guard (no OS layer): reading outside the run folder and the interpreter's folders is refused"
    r = run_tests("print(open('/etc/hostname').read())", "", timeout=5, isolate=False)
    assert r.status == "failed" and "reading outside the working directory" in r.output, r.output
