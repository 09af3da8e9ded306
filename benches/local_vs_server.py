#!/usr/bin/env python3
"""The in-process engine against llama.cpp's server, end to end (BENCHMARKS.md, "End to end:
`forge run --model` against llama-server").

What it measures: the wall time of `forge run` on the representative workflow, the same
arguments and seed (so the same sampled prompts), zones capped at `--max-tokens` tokens,
greedy:

- `--model`: the in-process engine (forge-local) on the GGUF file (`forge run --model` keeps
  at most 16 requests in flight; every stream keeps its own cache);
- `--endpoint`: a **fresh** llama-server on 127.0.0.1 with one slot per stream (`-np`, so
  every stream keeps its prompt cache in its own slot: the server's best case), all streams in
  flight (`--max-in-flight`), the same threads.

It also reports each run's peak resident memory (the child's `ru_maxrss`), the generated
tokens (the sum of the visits' `tokens` in the run file: greedy texts of two engines differ in
a few places, so the work differs a little) and tokens per second. A first in-process run with
`--rss-streams` streams (16 by default) gives the peak RSS the issue asks for at that width.

Usage (from the repository root; the engine and model come from .ci/engines.sh):
    eval "$(bash .ci/engines.sh)"
    cargo build --release -p forge-cli
    python3 benches/local_vs_server.py --forge target/release/forge \
        --server "$FORGE_LLAMA_BIN/llama-server" --model "$FORGE_MODEL"
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_direct import Server  # noqa: E402


def forge_run(args, engine, streams):
    """Runs `forge run` with `engine` (its options) and `streams` streams; returns (seconds,
    generated tokens). Exits unless every stream finished."""
    out = tempfile.mktemp(suffix=".jsonl")
    cmd = [
        args.forge, "run", args.document, "--streams", str(streams), "--seed", str(args.seed),
        "--temperature", "0", "--max-zone-tokens", str(args.max_tokens), "--out", out,
        "--set", "prompt=Why is the sky blue?", "--set", "min=2", "--set", "max=5",
        "--list", "constitution=examples/principles.txt",
    ] + engine
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, stderr = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"forge run failed ({proc.returncode}):\n{stderr[-3000:]}")
    lines = open(out).read().splitlines()[1:]
    os.remove(out)
    records = [json.loads(line) for line in lines]
    failed = [r for r in records if r["status"] != "finished"]
    if failed or len(records) != streams:
        sys.exit(f"forge run: {len(failed)} failed of {len(records)} streams")
    tokens = sum(v["tokens"] for r in records for v in r["visits"])
    return elapsed, tokens


def timed(args, engine, streams):
    """`forge_run` in a child whose peak RSS is read with wait4 (rusage of that child only)."""
    pid = os.fork()
    if pid == 0:
        try:
            result = forge_run(args, engine, streams)
            with open(args.scratch, "w") as f:
                json.dump(result, f)
            os._exit(0)
        except SystemExit as e:
            print(e, file=sys.stderr)
            os._exit(1)
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        sys.exit("a forge run failed")
    elapsed, tokens = json.load(open(args.scratch))
    # ru_maxrss (KiB) of the forked child covers its own child, forge: the largest of the two.
    return elapsed, usage.ru_maxrss / 1024, tokens


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--forge", required=True, help="the forge binary (a release build with the"
                   " default features: the in-process engine)")
    p.add_argument("--server", required=True, help="llama-server")
    p.add_argument("--model", required=True, help="the GGUF file")
    p.add_argument("--document", default="examples/representative.toml")
    p.add_argument("--streams", type=int, default=32)
    p.add_argument("--rss-streams", type=int, default=16)
    p.add_argument("--slot-context", type=int, default=4096)
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reps", type=int, default=2)
    args = p.parse_args()
    args.slots = args.streams
    args.scratch = tempfile.mktemp(suffix=".json")

    local = ["--model", args.model]
    t, rss, tokens = timed(args, local, args.rss_streams)
    print(f"forge run --model, {args.rss_streams} streams: {t:.1f} s, peak RSS {rss:.0f} MiB, "
          f"{tokens} tokens", flush=True)
    totals = {"local": [0.0, 0], "server": [0.0, 0]}
    for rep in range(args.reps):
        t, rss, tokens = timed(args, local, args.streams)
        totals["local"][0] += t
        totals["local"][1] += tokens
        print(f"pass {rep + 1}: forge run --model, {args.streams} streams: {t:.1f} s, "
              f"peak RSS {rss:.0f} MiB, {tokens} tokens ({tokens / t:.0f}/s)", flush=True)
        with Server(args) as server:
            engine = ["--endpoint", f"http://127.0.0.1:{server.port}", "--dialect", "llama.cpp",
                      "--max-in-flight", str(args.slots)]
            t, rss, tokens = timed(args, engine, args.streams)
        totals["server"][0] += t
        totals["server"][1] += tokens
        print(f"pass {rep + 1}: forge run --endpoint (llama-server, {args.slots} slots): "
              f"{t:.1f} s, forge's peak RSS {rss:.0f} MiB, {tokens} tokens "
              f"({tokens / t:.0f}/s)", flush=True)
    if args.reps == 0:
        return
    (lt, ln), (st, sn) = totals["local"], totals["server"]
    print(f"over {args.reps} passes: in process {lt:.1f} s ({ln / lt:.0f} tokens/s), "
          f"llama-server {st:.1f} s ({sn / st:.0f} tokens/s); "
          f"time, server / in process: {st / lt:.2f}; tokens/s, in process / server: "
          f"{(ln / lt) / (sn / st):.2f}")
    os.remove(args.scratch)


if __name__ == "__main__":
    main()
