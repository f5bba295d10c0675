"""Hostile programs against the sandbox: each tries to get a wrong answer reported as passed, to read the host's files,
or to outlive its run or reach the harness (the attack classes of issue 25). `outcome` runs one attack with one engine,
with or without OS isolation, and says "contained" or what got through. `tests/test_sandbox_security.py` asserts every
attack is contained everywhere; `09_sandbox` shows the table.

Each verdict attack answers a test whose expected value, `SECRET`, only the harness holds: to pass, a program must find
it or forge the verdict. The host attacks look for files the test puts in the project folder and in the home folder,
and for the replication data's README."""
import os, re, signal, subprocess, time
from dataclasses import dataclass
from pathlib import Path
from adaptivellm.check.examples import CheckSettings, Verdict, ExampleTests, check_answer
from adaptivellm.check.sandbox import run_job, run_tests, Job, sandbox_status

SECRET = "zebra-42-secret"
HIDDEN = f"def check(candidate):\n    assert candidate(3) == {SECRET!r}\n\ncheck(f)\n"
EXAMPLE = ExampleTests("call", [("f(3)", repr(SECRET))])
STDIO = ExampleTests("stdio", [("3\n", SECRET + "\n")])
ROOT = Path(__file__).resolve().parent.parent
WRITE = ROOT/".adaptivellm-hostile-write.db"  # where the write attack tries to create a file
HOST_FILES = {"project": ROOT/"settings.ini", "home": Path.home()/".adaptivellm-hostile-secret", "data": ROOT.parent/"shared"/"data"/"README.md"}


@dataclass
class Attack:
    name: str     # what it tries
    cls: int      # the attack class of issue 25 (1-5; 6 is the clean-up's speed, measured by benchmarks/execute.py)
    program: str  # the hostile program
    target: str   # "hidden" (a hidden test), "example" (a call example), "stdio" (a stdio example), "host" (reading files), "write", "outlive", "harness"


_SEARCH = '''import os, re, sys
found = []
def look(text):
    found.extend(re.findall(r"z.bra-\\d\\d-s.cret", text if isinstance(text, str) else text.decode("latin-1")))  # the pattern does not match itself
'''
_ANSWER = "\ndef f(x):\n    return found[0] if found else None\nif found: print('FOUND', found[0])\n"

ATTACKS = [
    Attack("completion token or expected value in a caller's frame", 1, _SEARCH + '''
fr = sys._getframe()
while fr is not None:
    for v in list(fr.f_locals.values()) + list(fr.f_globals.values()): look(repr(v)[:100000])
    fr = fr.f_back
''' + _ANSWER, "hidden"),
    Attack("expected value among the objects gc reaches", 1, _SEARCH + '''
try:
    import gc
    for o in gc.get_objects():
        if isinstance(o, (str, bytes)): look(o)
        elif isinstance(o, (list, tuple, dict)): look(repr(o)[:10000])
except Exception as e: print("gc:", e)
''' + _ANSWER, "example"),
    Attack("the process's own memory read raw, and its environment", 1, _SEARCH + '''
for p in ("/proc/self/environ", "/proc/self/cmdline"):
    try: look(open(p, "rb").read())
    except OSError as e: print(p, e)
try:
    mem = open("/proc/self/mem", "rb", 0)
    for line in open("/proc/self/maps"):
        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
        if line.split()[1].startswith("r") and hi - lo < 1 << 26:
            try: mem.seek(lo); look(mem.read(hi - lo))
            except (OSError, ValueError, OverflowError): pass
except OSError as e: print("mem:", e)
''' + _ANSWER, "hidden"),
    Attack("other processes' command lines and environments (launchers, the worker, the harness)", 1, _SEARCH + '''
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    for what in ("cmdline", "environ"):
        try: look(open(f"/proc/{pid}/{what}", "rb").read())
        except OSError: pass
''' + _ANSWER, "hidden"),
    Attack("an object whose __eq__ is always true", 2, '''
class Yes:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    __hash__ = object.__hash__
def f(x): return Yes()
''', "hidden"),
    Attack("a str subclass equal to everything", 2, '''
class Yes(str):
    def __eq__(self, other): return True
    __hash__ = str.__hash__
def f(x): return Yes("anything")
''', "example"),
    Attack("patching the builtins and the serialiser the checks rely on", 2, '''
import builtins, json
builtins.isinstance = lambda *a: True
builtins.repr = lambda *a: "True"
json.dumps = lambda *a, **k: '{"case": 0, "value": true}'
def f(x): return None
''', "example"),
    Attack("a forged tally and forged results on stdout and descriptor 3, then exit 0", 2, '''
import os
print("[examples: 1 passed of 1 run]")
for fd in (1, 3):
    try: os.write(fd, b'{"case": 0, "value": true}\\n{"case": 0, "stdout": "yes\\\\n", "exit": 0}\\n')
    except OSError: pass
os._exit(0)
''', "example"),
    Attack("a stdio answer that prints the tally and exits early", 2, '''
import os
print("[examples: 1 passed of 1 run]")
os._exit(0)
''', "stdio"),
    Attack("the tests read from the run's folder", 3, _SEARCH + '''
for d in (".", ".."):
    try: names = os.listdir(d)
    except OSError: continue
    for n in names:
        try: look(open(os.path.join(d, n), "rb").read())
        except OSError: pass
''' + _ANSWER, "hidden"),
    Attack("the project's, the data's and the home folder's files", 4, "import os\nfor p in {paths}:\n    try: print(open(p).read()[:2000])\n    except OSError as e: print('refused', p, e)\n", "host"),
    Attack("an open relative to a directory descriptor", 5, "import os\nfor p in {paths}:\n    try:\n        fd = os.open(os.path.dirname(p), os.O_RDONLY)\n"
           "        print(os.read(os.open(os.path.basename(p), os.O_RDONLY, dir_fd=fd), 2000).decode())\n    except OSError as e: print('refused', p, e)\n", "host"),
    Attack("process creation that raises no audit event (_posixsubprocess, ctypes)", 5, '''
import sys
for how in ("_posixsubprocess", "ctypes"):
    try:
        mod = __import__(how)
        if how == "ctypes": mod.CDLL(None).system(b"cat {paths_sh} > /dev/stderr 2>&1")
        else: print("imported", how)
    except Exception as e: print("refused", how, e)
''', "host"),
    Attack("calling libc through a package beside the standard library (cffi)", 5, '''
try:
    import cffi
    ffi = cffi.FFI(); ffi.cdef("int system(const char *command);")
    ffi.dlopen(None).system(b"cat {paths_sh} > /dev/stderr 2>&1")
except Exception as e: print("refused cffi", e)
''', "host"),
    Attack("writing outside the run's folder through C code (sqlite3 creates its database file itself)", 5, '''
import sqlite3
try: sqlite3.connect({write!r}).execute("create table t (x)")
except Exception as e: print("refused", e)
''', "write"),
    Attack("a setsid daemon that outlives its run and rewrites later runs' programs", 5, '''
import os, time
def daemon():
    os.setsid()
    for _ in range(200):
        for root, _, files in os.walk("/"):
            for n in files:
                if n == "main.py":
                    try: open(os.path.join(root, n), "w").write("def f(x): return 'found it'\\n")
                    except OSError: pass
        time.sleep(0.01)
for how in ("os", "ctypes"):
    try:
        pid = os.fork() if how == "os" else __import__("ctypes").CDLL(None).fork()
        if pid == 0: daemon(); os._exit(0)
    except Exception as e: print("refused", how, e)
''', "outlive"),
    Attack("killing its own worker, by os.kill, a pidfd and libc", 5, '''
import os, signal
ppid = os.getppid()
for how in ("kill", "pidfd", "libc"):
    try:
        if how == "kill": os.kill(ppid, signal.SIGKILL)
        elif how == "pidfd": signal.pidfd_send_signal(os.pidfd_open(ppid), signal.SIGKILL)
        else: __import__("ctypes").CDLL(None).kill(ppid, 9)
    except Exception as e: print("refused", how, e)
''', "outlive"),
    Attack("stopping a process of the harness's user (SIGSTOP) by os.kill, a pidfd and libc", 5, '''
import os, signal
for how in ("kill", "pidfd", "libc"):
    try:
        if how == "kill": os.kill({decoy}, signal.SIGSTOP)
        elif how == "pidfd": signal.pidfd_send_signal(os.pidfd_open({decoy}), signal.SIGSTOP)
        else: print("libc", __import__("ctypes").CDLL(None).kill({decoy}, 19))
    except Exception as e: print("refused", how, e)
''', "harness"),
]


def _host_secrets() -> dict:
    "What the host attacks must not print: a line of each host file (the home one is written here)"
    HOST_FILES["home"].write_text(f"home secret {SECRET}\n")
    return {k: p.read_text().splitlines()[0] for k, p in HOST_FILES.items() if p.exists() and p.read_text().strip()}


def outcome(a:Attack, engine:str, isolate:bool) -> str:
    "'contained', or what got through"
    kw = dict(isolate=isolate)
    if a.target == "hidden":
        r = run_tests(a.program, HIDDEN, timeout=10, engine=engine, **kw)
        return "FORGED: a wrong answer passed" if r.passed else "LEAKED the expected value" if f"FOUND {SECRET}" in r.output else "contained"
    if a.target in ("example", "stdio"):
        t = EXAMPLE if a.target == "example" else STDIO
        v = check_answer(f"```python\n{a.program}\n```", t, CheckSettings(timeout=10, cpu_seconds=None), **kw)
        if v.verdict != Verdict.FAIL or v.examples_passed: return f"FORGED: {v.verdict}, {v.examples_passed} examples passed"
        return "LEAKED the expected value" if f"FOUND {SECRET}" in v.output else "contained"
    if a.target == "host":
        secrets = _host_secrets()
        paths = [str(HOST_FILES[k]) for k in secrets]
        try: r = run_job(Job(a.program.replace("{paths}", repr(paths)).replace("{paths_sh}", " ".join(paths))), timeout=10, engine=engine, **kw)
        finally: HOST_FILES["home"].unlink(missing_ok=True)
        got = [k for k, s in secrets.items() if s in r.output]
        return f"LEAKED {', '.join(got)}" if got else "contained"
    if a.target == "write":
        WRITE.unlink(missing_ok=True)
        run_job(Job(a.program.replace("{write!r}", repr(str(WRITE)))), timeout=10, engine=engine, **kw)
        return "WROTE outside its folder" if WRITE.exists() else "contained"
    if a.target == "outlive":
        first = run_job(Job(a.program), timeout=5, engine=engine, **kw)
        time.sleep(0.3)
        after = run_tests("def f(x): return 'wrong'", HIDDEN, timeout=10, engine=engine, **kw)
        left = sandbox_status()["processes"]
        if after.passed: return "FORGED: the next wrong answer passed"
        if after.status != "failed": return f"the next run broke: {after.status} {after.output[-200:]}"
        return f"OUTLIVED: processes {left}" if left else "contained"
    decoy = subprocess.Popen(["sleep", "30"])
    try:
        run_job(Job(a.program.replace("{decoy}", str(decoy.pid))), timeout=5, engine=engine, **kw)
        time.sleep(0.1)
        state = re.search(r"State:\s+(\w)", Path(f"/proc/{decoy.pid}/status").read_text()).group(1)
        return "contained" if state in "SR" and decoy.poll() is None else f"REACHED the harness's user: decoy state {state}"
    finally: decoy.kill(); decoy.wait(); HOST_FILES["home"].unlink(missing_ok=True)


def hostile_table(engines=("warm", "spawn"), isolation=(True, False)) -> "pd.DataFrame":
    "Every attack on every engine, with and without OS isolation: the outcome of each"
    import pandas as pd
    rows = [dict(attack_class=a.cls, attack=a.name, **{f"{e}{'' if iso else ', no isolation'}": outcome(a, e, iso) for e in engines for iso in isolation})
            for a in ATTACKS]
    return pd.DataFrame(rows).set_index(["attack_class", "attack"])
