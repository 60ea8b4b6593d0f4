#!/usr/bin/env python3
"""A scripted OpenAI-compatible server for qbench's serve tests: exact delays, token counts and
faults, so metrics and failure handling can be checked against known values.

Prints "PORT <n>" on stdout once listening (use --port 0 for a free port). Routes:
  GET  /v1/models        one model (--model), with max_model_len (--max-model-len)
  POST /v1/completions   streamed (stream: true) or not; echo + logprobs for prompt scoring
  POST /tokenize         byte-level ids of the prompt (one id per UTF-8 byte)
  POST /detokenize       the text of such ids
  GET  /stats            {"completions": requests received on /v1/completions}

--mode selects the behaviour of /v1/completions:
  normal      --ttft-ms before the first chunk, then --itl-ms between chunks of
              --tokens-per-chunk tokens, max_tokens tokens (or --tokens), usage chunk, [DONE]
  drop        closes the connection after 2 chunks (no terminating chunk)
  http500     answers 500 with an OpenAI error body
  burst429    answers 429 to the first --fail-first requests, then as normal
  malformed   sends one chunk, then an event whose data is not JSON
  badlines    sends a line that is not an SSE field
  slowfirst   the first request waits --slow-ms before its first chunk, the rest as normal
  nodone      sends the chunks without finish_reason, usage or [DONE], then ends cleanly
  fewlogprobs non-streamed echo answers with the generated token's log-prob only (echo ignored)
Prompt scoring (non-streamed, echo: true): the log-prob of prompt token t at position i > 0 is
-(1 + (t % 7) / 10); position 0 gets null, as vLLM does; top_logprobs list the true token and
token 0 at -0.5 when the true token is another (named "token_id:N" with return_tokens_as_token_ids);
with --top N > 2, also tokens 1, 2, ... (not the true one) at -7.0, up to N entries per position
(the listed probabilities then still sum to less than 1).
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
COUNT = {"completions": 0}


def token_logprob(t):
    return -(1.0 + (t % 7) / 10.0)


def top_entries(t, name):
    """The listed top log-probs of a prompt position whose true token is t."""
    entries = [(name(t), token_logprob(t))] + ([(name(0), -0.5)] if t != 0 else [])
    x = 1
    while ARGS.top > 2 and len(entries) < ARGS.top:
        if x != t:
            entries.append((name(x), -7.0))
        x += 1
    return dict(entries)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, data: bytes):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def event(self, obj):
        self.chunk(b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n")

    def do_GET(self):
        if self.path == "/v1/models":
            self.send_json(200, {"object": "list", "data": [
                {"id": ARGS.model, "object": "model", "max_model_len": ARGS.max_model_len}]})
        elif self.path == "/stats":
            with LOCK:
                self.send_json(200, dict(COUNT))
        else:
            self.send_json(404, {"error": {"message": "no route " + self.path}})

    def body(self):
        n = int(self.headers.get("Content-Length", "0"))
        return json.loads(self.rfile.read(n) or b"{}")

    def do_POST(self):
        req = self.body()
        if self.path == "/tokenize":
            ids = list(req.get("prompt", "").encode())
            self.send_json(200, {"count": len(ids), "max_model_len": ARGS.max_model_len, "tokens": ids})
            return
        if self.path == "/detokenize":
            self.send_json(200, {"prompt": bytes(req.get("tokens", [])).decode("utf-8", errors="replace")})
            return
        if self.path != "/v1/completions":
            self.send_json(404, {"error": {"message": "no route " + self.path}})
            return
        with LOCK:
            COUNT["completions"] += 1
            nth = COUNT["completions"]
        if req.get("model") not in (None, ARGS.model):
            self.send_json(404, {"error": {"message": "The model `%s` does not exist." % req.get("model")}})
            return
        mode = ARGS.mode
        if mode == "http500":
            self.send_json(500, {"error": {"message": "scripted internal error"}})
            return
        if mode == "burst429" and nth <= ARGS.fail_first:
            self.send_json(429, {"error": {"message": "scripted rate limit"}})
            return
        if not req.get("stream"):
            self.complete(req)
            return
        n = ARGS.tokens if ARGS.tokens > 0 else int(req.get("max_tokens", 16))
        prompt = req.get("prompt")
        prompt_tokens = len(prompt) if isinstance(prompt, list) else len(prompt.encode())
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        ttft = ARGS.slow_ms if (mode == "slowfirst" and nth == 1) else ARGS.ttft_ms
        time.sleep(ttft / 1000.0)
        sent = 0
        chunks = 0
        while sent < n:
            k = min(ARGS.tokens_per_chunk, n - sent)
            sent += k
            chunks += 1
            last = sent == n
            choice = {"index": 0, "text": "x" * k, "logprobs": None,
                      "finish_reason": ("length" if last and mode != "nodone" else None)}
            self.event({"id": "cmpl-1", "object": "text_completion", "model": ARGS.model, "choices": [choice]})
            if mode == "drop" and chunks == 2:
                self.wfile.flush()
                self.connection.shutdown(2)
                self.close_connection = True
                return
            if mode == "malformed" and chunks == 1:
                self.event(b"{this is not json")
            if mode == "badlines" and chunks == 1:
                self.chunk(b"this line is not an event field\n\n")
            if not last:
                time.sleep(ARGS.itl_ms / 1000.0)
        if mode != "nodone":
            self.event({"id": "cmpl-1", "object": "text_completion", "model": ARGS.model, "choices": [],
                        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": n,
                                  "total_tokens": prompt_tokens + n}})
            self.event(b"[DONE]")
        self.chunk(b"")

    def complete(self, req):
        prompt = req.get("prompt")
        if not isinstance(prompt, list):
            prompt = list(prompt.encode())
        k = int(req.get("logprobs") or 0)
        name = (lambda t: "token_id:%d" % t) if req.get("return_tokens_as_token_ids") else str
        out = []
        if req.get("echo"):
            lps = [None] + [token_logprob(t) for t in prompt[1:]]
            if ARGS.mode == "fewlogprobs":  # as a server that ignores echo: the prompt is not scored
                lps = []
            out = prompt[: len(lps)]
            # the true token, and a better one at id 0 when the true token is not 0
            top = [None] + [top_entries(t, name) for t in prompt[1:len(lps)]]
        gen = [7] * int(req.get("max_tokens", 1))
        tokens = [name(t) for t in out + gen]
        token_lps = (lps if req.get("echo") else []) + [token_logprob(t) for t in gen]
        tops = (top if req.get("echo") else []) + [{name(t): token_logprob(t)} for t in gen]
        choice = {"index": 0, "text": "x" * len(gen), "finish_reason": "length",
                  "logprobs": {"tokens": tokens, "token_logprobs": token_lps, "top_logprobs": tops if k else None,
                               "text_offset": list(range(len(tokens)))}}
        self.send_json(200, {"id": "cmpl-2", "object": "text_completion", "model": ARGS.model, "choices": [choice],
                             "usage": {"prompt_tokens": len(prompt), "completion_tokens": len(gen),
                                       "total_tokens": len(prompt) + len(gen)}})


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--model", default="fake")
    p.add_argument("--max-model-len", type=int, default=512)
    p.add_argument("--mode", default="normal")
    p.add_argument("--ttft-ms", type=float, default=20.0)
    p.add_argument("--itl-ms", type=float, default=5.0)
    p.add_argument("--tokens-per-chunk", type=int, default=1)
    p.add_argument("--tokens", type=int, default=0)
    p.add_argument("--fail-first", type=int, default=3)
    p.add_argument("--slow-ms", type=float, default=300.0)
    p.add_argument("--top", type=int, default=2)
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
