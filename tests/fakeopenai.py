"""The one fake OpenAI-compatible chat server of the test suite, of the notebooks' live examples (`00b_client`,
`01_difficulty`, `09b_labels`, `13_solve`, `14_serve` put this folder on `sys.path`) and of `benchmarks/serve.py`, on 127.0.0.1.

`FakeOpenAI(respond)` answers `POST /v1/chat/completions` with whatever `respond(request, n)` returns, where
`request` is the parsed JSON body and `n` counts the requests seen so far for the same model and last message: a
`dict` is a 200 body, a `(status, body)` or `(status, body, headers)` tuple anything else. It records
what tests check: `calls` (per last message), `models` (per model name), `auth` (Authorization headers)
and `seeds`. Use it as a context manager, or `start()` it and `stop()` it (a notebook's server outlives
a cell). `chat`, `thinking` and `error` build the replies; `pool_respond` plays several pool models at once
(see `POOL_MODELS`)."""
import json, socket, threading, time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from adaptivellm.check.labels import humaneval_problems, humaneval_prompt


def chat(model, content, prompt_tokens=1, completion_tokens=1, **message):
    "A chat.completion body answering `content`"
    return {"id": "cmpl-fake", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, **message}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def thinking(model, think, answer, style="r1", **kw):
    "A chat.completion body reasoning `think` before `answer`, in a reasoning model's `style` (see `THINK_STYLES`)"
    if style == "sep": return chat(model, answer, reasoning_content=think, **kw)
    if style == "tags": return chat(model, f"<think>{think}</think>\n{answer}", **kw)
    if style == "r1": return chat(model, f"{think}</think>\n{answer}", **kw)
    raise ValueError(f"unknown style {style!r}: one of {THINK_STYLES}")

THINK_STYLES = ("sep",   # a server's reasoning parser split it off: `message.reasoning_content`
                "tags",  # in the content, inside <think>...</think>
                "r1")    # in the content, closed by </think> only: DeepSeek-R1's chat template opened the block in the prompt


def error(status, message, headers=None):
    "An OpenAI-style error reply"
    return status, {"error": {"message": message, "type": "server_error" if status >= 500 else "invalid_request_error"}}, headers or {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

    def setup(self):
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # headers and body: no 40 ms Nagle wait

    def do_POST(self):
        srv = self.server
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        last = req["messages"][-1]["content"]
        with srv.lock:
            srv.calls[last] += 1; srv.models[req["model"]] += 1; srv.pairs[req["model"], last] += 1
            n = srv.pairs[req["model"], last]
            srv.auth.add(self.headers.get("Authorization")); srv.seeds.append(req.get("seed"))
        if srv.delay: time.sleep(srv.delay)
        if self.path != "/v1/chat/completions": return self._send(*error(404, f"no route {self.path}"))
        r = srv.respond(req, n)
        self._send(*(r if isinstance(r, tuple) else (200, r)))

    def _send(self, status, body, headers=None):
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json"); self.send_header("Content-Length", str(len(data)))
            for k, v in (headers or {}).items(): self.send_header(k, v)
            self.end_headers(); self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError): pass  # the client timed out and left

    def log_message(self, *args): pass


class FakeOpenAI(ThreadingHTTPServer):
    "A fake OpenAI-compatible endpoint; use as a context manager (serves in a thread while inside)"
    daemon_threads = True
    request_queue_size = 256  # listen backlog: the default 5 drops the SYNs of many clients connecting at once (1 s retries)

    def __init__(self, respond):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.respond, self.lock, self.delay = respond, threading.Lock(), 0.0
        self.calls, self.models, self.pairs, self.auth, self.seeds = Counter(), Counter(), Counter(), set(), []
        self.url = f"http://127.0.0.1:{self.server_address[1]}/v1"

    def start(self):
        "Serve in a daemon thread; returns the server"
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        "Stop serving and close the socket"
        self.shutdown(); self.server_close(); self._thread.join(5)

    def __enter__(self): return self.start()
    def __exit__(self, *exc): self.stop()


# Several pool models in one server. Known problems are HumanEval tasks: "right" answers them with the
# reference solution, "wrong" with a function that returns None, "broken" always fails with 500,
# "limited" answers right after one 429 (Retry-After 0.01 s), "hang" outlasts any test's client timeout,
# "instant" answers anything at once with a fixed program, "echo" repeats the prompt inside a code block.
# Usage is one token per four characters of the prompt and of the answer (`tokens`).
HUMANEVAL = humaneval_problems()
KNOWN = {humaneval_prompt(p): p for p in HUMANEVAL.values()}
POOL_MODELS = ("right", "wrong", "broken", "limited", "hang", "instant", "echo")
HANG_SECONDS = 5.0


def tokens(text):
    "The token count the fake server reports for `text`"
    return len(text) // 4


def right_answer(prompt):
    p = KNOWN[prompt]
    return f"Here it is.\n```python\n{p['prompt']}{p['canonical_solution']}```"


def wrong_answer(prompt):
    return f"```python\n{KNOWN[prompt]['prompt']}    return None\n```"


def answer(model, prompt):
    "What `model` answers to `prompt`, when it answers"
    if model == "instant": return "```python\ndef f():\n    return 1\n```"
    if model == "echo": return f"```python\n# {prompt}\n```"
    return wrong_answer(prompt) if model == "wrong" else right_answer(prompt)


def pool_respond(req, n):
    model, prompt = req["model"], req["messages"][-1]["content"]
    if model == "broken": return error(500, "the model is down")
    if model == "limited" and n == 1: return error(429, "slow down", {"Retry-After": "0.01"})
    if model == "hang": time.sleep(HANG_SECONDS)
    text = answer(model, prompt)
    return chat(model, text, tokens(prompt), tokens(text))


if __name__ == "__main__":  # serve the fake pool until killed, printing its URL (used by benchmarks/serve.py)
    with FakeOpenAI(pool_respond) as srv:
        print(srv.url, flush=True)
        threading.Event().wait()
