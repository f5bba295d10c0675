"""Hostile programs in the execution sandbox: each must fail or time out, leave the machine healthy,
write nothing outside its temporary directory and see none of the parent's secrets.

Tests of the OS layer (namespaces, own user id) run only where `os_isolation()` is available (root on Linux);
the in-process guard is tested everywhere. Every run is bounded by a timeout of a few seconds."""
import os, socket, threading, time
from pathlib import Path
import pytest
from adaptivellm.execution import SandboxLimits, os_isolation, run_many, run_tests, sandbox_status

ISOLATED = os_isolation()
needs_os = pytest.mark.skipif(not ISOLATED, reason="OS isolation unavailable (needs root and namespaces)")


@pytest.fixture(autouse=True)
def healthy_afterwards():
    "After each hostile run: no sandbox process is left, all slots are free, and a plain program still passes"
    yield
    assert sandbox_status() == {"free_slots": 64, "processes": []}
    assert run_tests("x = 1", "assert x == 1", timeout=5).status == "passed"


def _libc_prelude() -> str:
    return "import ctypes, struct, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"


def test_fork_bomb_python_is_refused():
    r = run_tests("import os\nwhile True:\n    os.fork()", "", timeout=3)
    assert r.status == "failed" and "os.fork is not allowed" in r.output


@needs_os
def test_fork_bomb_through_libc_is_contained():
    "ctypes passes under the audit hook; the process limit and the per-user cleanup contain it, setsid included"
    bomb = _libc_prelude() + "while True:\n    if libc.fork() == 0: libc.setsid()\n"
    start = time.monotonic()
    r = run_tests(bomb, "", timeout=3)
    assert r.status in ("timeout", "failed") and time.monotonic() - start < 20


def test_allocating_8_gb_fails():
    r = run_tests("x = bytearray(8 * 1024 ** 3)", "", timeout=10)
    assert r.status == "failed" and "MemoryError" in r.output


def test_sleeping_forever_times_out():
    start = time.monotonic()
    r = run_tests("import time\ntime.sleep(10 ** 6)", "", timeout=1)
    assert r.status == "timeout" and not r.passed and time.monotonic() - start < 6


def test_cpu_limit_stops_a_busy_loop_that_ignores_the_wall_clock():
    "RLIMIT_CPU (timeout + 1 s) is a second stop behind the wall clock"
    r = run_tests("while True: pass", "", timeout=2)
    assert r.status == "timeout"


def test_writing_outside_the_directory_is_refused(tmp_path):
    target = tmp_path / "escaped.txt"
    tmp_path.chmod(0o777)  # even a world-writable folder
    progs = [f"open({str(target)!r}, 'w').write('x')", f"import os\nos.rename('main.py', {str(target)!r})",
             f"import pathlib\npathlib.Path({str(target)!r}).write_text('x')", "open('../escaped.txt', 'w').write('x')"]
    for r in run_many([(p, "") for p in progs], timeout=5, progress=False):
        assert r.status == "failed" and "sandbox:" in r.output
    assert not target.exists() and not (tmp_path.parent / "escaped.txt").exists()


@needs_os
def test_writing_outside_through_libc_lands_nowhere(tmp_path):
    "Past the hook: the sandbox user cannot write the host's folders, and /tmp is a private tmpfs"
    tmp_path.chmod(0o777)
    targets = [tmp_path / "escaped.txt", Path("/tmp/adaptivellm-escaped.txt"), Path("/work/adaptivellm-escaped.txt")]
    prog = _libc_prelude() + "".join(f"libc.creat({str(t).encode()!r}, 0o644)\n" for t in targets)
    r = run_tests(prog, "", timeout=5)
    assert r.status == "passed"  # the calls returned (some failed with EACCES, some wrote to the private tmpfs)
    assert not any(t.exists() for t in targets)


def test_writing_inside_the_directory_works():
    r = run_tests("open('out.txt', 'w').write('ok')\nimport tempfile\ntempfile.mkstemp()", "assert open('out.txt').read() == 'ok'", timeout=5)
    assert r.status == "passed"


def test_parent_secret_is_not_visible(monkeypatch):
    monkeypatch.setenv("ADAPTIVELLM_SECRET_TOKEN", "hunter2-very-secret")
    prog = ("import os\nseen = [v for v in os.environ.values() if 'hunter2' in v]\n"
            "for pid in (os.getppid(), 1):\n"
            "    try: seen += ['parent'] if b'hunter2' in open(f'/proc/{pid}/environ', 'rb').read() else []\n"
            "    except OSError as e: print('refused', e)\n"
            "print(sorted(os.environ))\n")
    r = run_tests(prog, "assert not seen, seen", timeout=5)
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


def test_socket_to_loopback_is_blocked():
    srv = _Listener()
    try:
        r = run_tests(f"import socket\nsocket.create_connection(('127.0.0.1', {srv.port}), timeout=2)", "", timeout=5)
        assert r.status == "failed" and "socket.connect is not allowed" in r.output
        if ISOLATED:  # past the hook, through libc: the network namespace has no usable loopback to the host
            addr = f"struct.pack('=H', 2) + struct.pack('!H', {srv.port}) + bytes([127, 0, 0, 1]) + bytes(8)"
            prog = _libc_prelude() + f"fd = libc.socket(2, 1, 0)\nrc = libc.connect(fd, {addr}, 16)\n"
            r = run_tests(prog, "assert rc == 0, ('connect failed', ctypes.get_errno())", timeout=5)
            assert r.status == "failed" and "connect failed" in r.output
        time.sleep(0.5)
        assert srv.accepted == 0
    finally: srv.close()


def test_killing_the_parent_is_refused():
    r = run_tests("import os, signal\nos.kill(os.getppid(), signal.SIGKILL)", "", timeout=5)
    assert r.status == "failed" and "os.kill of another process" in r.output
    if ISOLATED:
        r = run_tests(_libc_prelude() + "rc = libc.kill(os.getppid(), 9)\nrc_all = libc.kill(-1, 9)", "assert rc == 0", timeout=5)
        assert r.status == "failed"
    assert os.getpid() > 0  # we are alive: the harness carries on


def test_many_hostile_programs_in_parallel_leave_the_harness_working():
    progs = ["import time\ntime.sleep(100)", "x = bytearray(8 * 1024 ** 3)", "import os\nos.fork()", "raise SystemExit(0)", "x = 1"]
    res = run_many([(p, "") for p in progs], timeout=2, workers=2, progress=False)
    assert [r.status for r in res] == ["timeout", "failed", "failed", "failed", "passed"]


def test_file_size_limit_stops_huge_output():
    r = run_tests("import sys\nwhile True: sys.stdout.write('x' * 65536)", "", timeout=10, limits=SandboxLimits(file_mb=1, max_output=300))
    assert r.status == "failed" and len(r.output) < 400


@pytest.mark.parametrize("prog, tests, blocked", [
    ("import os\nopen(f'/proc/{os.getppid()}/environ', 'rb').read()", "", "another process's /proc entry"),
    ("import os, signal\nos.kill(os.getppid(), signal.SIGTERM)", "", "os.kill of another process"),
    ("import socket\nsocket.socket().connect(('127.0.0.1', 9))", "", "socket.connect is not allowed"),
    ("import subprocess\nsubprocess.run(['true'])", "", "is not allowed"),
    ("import shutil\nshutil.rmtree('/nonexistent-adaptivellm-dir')", "", "outside the working directory"),
])
def test_the_guard_alone_refuses(prog, tests, blocked):
    "Without the OS layer (as for a user who is not root) the in-process guard still refuses each of these"
    r = run_tests(prog, tests, timeout=5, isolate=False)
    assert r.status == "failed" and blocked in r.output, r.output
