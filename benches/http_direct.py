#!/usr/bin/env python3
"""forge against a minimal direct client, on fresh llama.cpp servers (BENCHMARKS.md, "forge run
against a direct client").

What it measures: the wall time of `forge run --dialect llama.cpp` on the representative
workflow, and the wall time of a minimal client that sends the *same* requests (the same JSON
bodies: prompts, stop lists, token limits, sampling values, seeds) with the same concurrency to
the same server. The ratio direct ÷ forge is forge's throughput relative to a client that does
nothing but send; 1.0 means forge costs nothing on top of the server.

How:
1. A recording pass (not timed): a fresh server behind a loopback recording proxy; `forge run`
   goes through the proxy, which keeps every `/completion` body in the order sent. A request's
   prompt extends the prompt of the same stream's previous request (the transcript so far), which
   is how the bodies are put back into streams.
2. Timed passes, alternating, each against a **fresh** server (llama-server keeps prompts
   across slots, so a second pass on the same server would start warm): `forge run` straight to
   the server; the direct client replaying the recorded streams with the same number of requests
   in flight (each stream's requests in order, one at a time, as a workflow makes them).
   forge's shared-prefix warm-up request (`--warm-prefix`) is one of the recorded bodies, so
   the direct client sends it too; benches/http_warm.py measures what it is worth.

The direct client is Python's standard library (http.client, one keep-alive connection per
worker thread); its own CPU per request is far below the server's time per request here.

Usage (from the repository root; the engine and model come from .ci/engines.sh):
    eval "$(bash .ci/engines.sh)"
    cargo build --release -p forge-cli --no-default-features
    python3 benches/http_direct.py --forge target/release/forge \
        --server "$FORGE_LLAMA_BIN/llama-server" --model "$FORGE_MODEL"
"""

import argparse
import http.client
import http.server
import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """A fresh llama-server on 127.0.0.1, stopped on exit."""

    def __init__(self, args):
        self.port = free_port()
        self.log = tempfile.TemporaryFile()
        cmd = [
            args.server, "-m", args.model, "--host", "127.0.0.1", "--port", str(self.port),
            "-np", str(args.slots), "-c", str(args.slots * args.slot_context),
            "-t", str(args.threads),
        ]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2)
                return
            except Exception:
                time.sleep(0.5)
        self.stop()
        self.log.seek(0)
        sys.exit("llama-server did not become healthy:\n" + self.log.read().decode()[-3000:])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def record(args, upstream_port):
    """Runs forge through a recording proxy; returns the `/completion` bodies in order."""
    bodies = []
    lock = threading.Lock()

    class Proxy(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def forward(self, body):
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=600)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            conn.request(self.command, self.path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("transfer-encoding", "content-length", "connection"):
                    self.send_header(k, v)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        def do_GET(self):
            self.forward(None)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            if self.path == "/completion":
                with lock:
                    bodies.append(json.loads(body))
            self.forward(body)

        def log_message(self, *a):
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    run_forge(args, proxy.server_address[1])
    proxy.shutdown()
    return bodies


def streams_of(bodies):
    """Puts the bodies back into streams: each body extends the prompt of its stream's last."""
    streams = []
    for body in bodies:
        prompt = body["prompt"]
        best = None
        for s in streams:
            last = s[-1]["prompt"]
            if prompt.startswith(last) and (best is None or len(last) > len(best[-1]["prompt"])):
                best = s
        if best is None:
            streams.append([body])
        else:
            best.append(body)
    return streams


def run_forge(args, port, document=None, options=None):
    """Times `forge run` on `document` (default `--document`, with its `--set`/`--list`) plus
    `options`; exits unless every stream finished."""
    if document is None:
        document = args.document
        options = [a for s in args.set for a in ("--set", s)]
        options += [a for s in args.list for a in ("--list", s)]
    out = tempfile.mktemp(suffix=".jsonl")
    cmd = [
        args.forge, "run", document, "--endpoint", f"http://127.0.0.1:{port}",
        "--dialect", "llama.cpp", "--streams", str(args.streams), "--seed", str(args.seed),
        "--temperature", "0", "--max-zone-tokens", str(args.max_tokens),
        "--max-in-flight", str(args.slots), "--out", out,
    ] + options
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"forge run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    lines = open(out).read().splitlines()[1:]
    os.remove(out)
    failed = [l for l in lines if json.loads(l)["status"] != "finished"]
    if failed or len(lines) != args.streams:
        sys.exit(f"forge run: {len(failed)} failed of {len(lines)} streams")
    return elapsed


def run_direct(streams, port, workers):
    """Replays the streams with `workers` requests in flight; each stream's requests in order."""
    ready = queue.Queue()
    for i, s in enumerate(streams):
        ready.put((i, 0))
    remaining = [sum(len(s) for s in streams)]
    lock = threading.Lock()
    errors = []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while True:
            item = ready.get()
            if item is None:
                return
            i, k = item
            body = json.dumps(streams[i][k]).encode()
            conn.request("POST", "/completion", body=body,
                         headers={"content-type": "application/json"})
            r = conn.getresponse()
            answer = json.loads(r.read())
            if r.status != 200 or "content" not in answer:
                errors.append(answer)
            with lock:
                remaining[0] -= 1
                last = remaining[0] == 0
            if k + 1 < len(streams[i]):
                ready.put((i, k + 1))
            if last:
                for _ in range(workers):
                    ready.put(None)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        sys.exit(f"the direct client got errors: {errors[:2]}")
    return elapsed


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--forge", required=True, help="the forge binary (a release build)")
    p.add_argument("--server", required=True, help="llama-server")
    p.add_argument("--model", required=True, help="the GGUF file")
    p.add_argument("--document", default="examples/representative.toml")
    p.add_argument("--set", action="append",
                   default=["prompt=Why is the sky blue?", "min=2", "max=5"])
    p.add_argument("--list", action="append",
                   default=["constitution=examples/principles.txt"])
    p.add_argument("--slots", type=int, default=16)
    p.add_argument("--slot-context", type=int, default=4096)
    p.add_argument("--streams", type=int, default=32)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reps", type=int, default=2)
    args = p.parse_args()

    with Server(args) as server:
        bodies = record(args, server.port)
    streams = streams_of(bodies)
    print(f"recorded {len(bodies)} requests in {len(streams)} streams", flush=True)
    rows = []
    for rep in range(args.reps):
        with Server(args) as server:
            f = run_forge(args, server.port)
        with Server(args) as server:
            d = run_direct(streams, server.port, args.slots)
        rows.append((f, d))
        print(f"pass {rep + 1}: forge {f:.2f} s, direct {d:.2f} s, direct/forge {d / f:.3f}",
              flush=True)
    total_f = sum(r[0] for r in rows)
    total_d = sum(r[1] for r in rows)
    print(f"over {args.reps} passes: forge {total_f:.2f} s, direct {total_d:.2f} s, "
          f"direct/forge {total_d / total_f:.3f}")


if __name__ == "__main__":
    main()
