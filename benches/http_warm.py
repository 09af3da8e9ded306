#!/usr/bin/env python3
"""Does forge's shared-prefix warm-up pay for itself? (BENCHMARKS.md, "The shared-prefix
warm-up").

When streams start together and their first prompts share a prefix of at least `--warm-prefix`
bytes, `forge run` sends that prefix once (one token generated, discarded) before fanning out,
so that the server computes it once and the other slots reuse it. This script times
`forge run --dialect llama.cpp` with the warm-up (the default) against the same run with
`--warm-prefix 0`, alternating, each pass against a **fresh** llama-server (a server keeps
prompts from an earlier pass, which would hide the difference).

The workload is a generated document whose one sequence opens with a long preamble (about
`--preamble-lines` × 12 tokens) that every stream shares, then a line drawn per stream from
`examples/principles.txt`, then one generated zone of `--max-tokens` tokens: the shape of a
system prompt shared by a whole run. `--document` times another document instead (its own
`--set`/`--list` values, e.g. the representative workflow, whose shared first prefix is short).

Usage (from the repository root; the engine and model come from .ci/engines.sh):
    eval "$(bash .ci/engines.sh)"
    cargo build --release -p forge-cli --no-default-features
    python3 benches/http_warm.py --forge target/release/forge \
        --server "$FORGE_LLAMA_BIN/llama-server" --model "$FORGE_MODEL"
"""

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_direct import Server, run_forge  # noqa: E402  (a fresh llama-server; a timed run)


def preamble_document(lines):
    principles = [l.strip() for l in open("examples/principles.txt") if l.strip()]
    rules = "\n".join(f"Rule {i + 1}: {principles[i % len(principles)]}" for i in range(lines))
    return f'''[config]
zone_patterns = ["[Prompt]", "[Answer]", "[EOS]"]
required_patterns = ["[Prompt]", "[Answer]"]
valid_tags = ["Answer"]
default_max_token_length = 64
sequences = ["ask"]
control_pattern = "[Jump]"
escape_patterns = ["[Escape]", "[EndEscape]"]

[[ask]]
text = """[Prompt] You follow these rules.
{rules}
Now say in one sentence how this rule applies to a cook: {{case}}
[Answer]"""
tags = [[], ["Answer"]]

[ask.case]
name = "case"
arguments = {{ num_samples = 1 }}
'''


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--forge", required=True, help="the forge binary (a release build)")
    p.add_argument("--server", required=True, help="llama-server")
    p.add_argument("--model", required=True, help="the GGUF file")
    p.add_argument("--document", help="time this document instead of the generated one")
    p.add_argument("--set", action="append", default=[], help="with --document")
    p.add_argument("--list", action="append", default=[], help="with --document")
    p.add_argument("--preamble-lines", type=int, default=85)
    p.add_argument("--slots", type=int, default=16)
    p.add_argument("--slot-context", type=int, default=4096)
    p.add_argument("--streams", type=int, default=16)
    p.add_argument("--max-tokens", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reps", type=int, default=3)
    args = p.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        if args.document:
            document = args.document
            extra = [a for s in args.set for a in ("--set", s)]
            extra += [a for s in args.list for a in ("--list", s)]
        else:
            document = os.path.join(tmp, "preamble.toml")
            with open(document, "w") as f:
                f.write(preamble_document(args.preamble_lines))
            extra = ["--list", "case=examples/principles.txt"]
        times = {True: [], False: []}
        for rep in range(args.reps):
            # Alternate which goes first, so a drift in the machine's speed hits both alike.
            for warm in ([True, False] if rep % 2 == 0 else [False, True]):
                with Server(args) as server:
                    options = extra + ([] if warm else ["--warm-prefix", "0"])
                    times[warm].append(run_forge(args, server.port, document, options))
            print(f"pass {rep + 1}: with warm-up {times[True][-1]:.2f} s, "
                  f"without {times[False][-1]:.2f} s", flush=True)
    w = statistics.median(times[True])
    n = statistics.median(times[False])
    print(f"medians over {args.reps} passes: with warm-up {w:.2f} s, without {n:.2f} s, "
          f"without/with {n / w:.3f}")


if __name__ == "__main__":
    main()
