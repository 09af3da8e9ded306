#!/usr/bin/env bash
# What `forge::include_udpl!` of a generated 1,000-sequence UDPL file adds to `cargo build`, and
# a check that editing the TOML rebuilds the crate that includes it.
#
#   bash benches/compile_time.sh
#
# It creates a small binary crate in a temporary folder (outside the repository; removed on
# exit) that depends on this workspace's `forge` by path, with `prompts.toml` in the exact format
# of benches/data/parse_100_sequences.toml (N sequences × 2 blocks). Two versions of its
# src/main.rs differ only by the macro:
#
#   without: fn main() that prints a string from forge (forge is linked in both versions)
#   with:    the same plus `forge::include_udpl!(mod prompts = "prompts.toml");`, builds the
#            typed program (setter, handles of the first and last sequence) and prints the
#            number of sequences and the first block's template
#
# Dependencies are built once first (not measured). Then, for each version, the crate alone is
# rebuilt RUNS times after `touch src/main.rs` (dev profile, incremental on: the edit-compile
# loop) and RUNS times with CARGO_INCREMENTAL=0 (a from-scratch compile of the crate), and the
# median wall time of `cargo build` is reported. The difference between the versions is what
# the macro adds: expanding it (parsing and linting N sequences in the proc macro) plus compiling
# the code it generates.
#
# Finally it edits a text in prompts.toml, runs `cargo build`, and fails (exit 1) unless the
# crate is recompiled ("Compiling tmpcrate") and the binary prints the new text.
#
# Environment:
#   N=1000             sequences in the generated file
#   RUNS=5             timed builds per figure
#   MACRO_OPT=<0-3>    add `[profile.dev.build-override] opt-level = MACRO_OPT` to the temporary
#                      crate (compiles the proc macro and its parser optimized); unset: default
#   CARGO_TARGET_DIR   build folder; default: inside the temporary folder (a cold build of the
#                      dependencies, about 1-2 minutes on 2 cores, not measured). Point it at a
#                      kept folder to reuse the dependencies between runs.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-1000}
RUNS=${RUNS:-5}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/forge-compile-time.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$tmp/target}
export CARGO_TERM_COLOR=never
crate=$tmp/tmpcrate
mkdir -p "$crate/src"

# ------------------------------------------------------------------ the generated UDPL file
gen() {
    local n=$1 i names=""
    for ((i = 0; i < n; i++)); do
        names+="${names:+, }\"$(printf 'seq_%04d' "$i")\""
    done
    printf '[config]\n'
    printf 'zone_patterns = ["[Prompt]", "[Answer]", "[EOS]"]\n'
    printf 'required_patterns = ["[Prompt]", "[Answer]"]\n'
    printf 'valid_tags = ["Training", "Final"]\n'
    printf 'default_max_token_length = 1000\n'
    printf 'sequences = [%s]\n' "$names"
    printf 'control_pattern = "[Jump]"\n'
    printf 'escape_patterns = ["[Escape]", "[EndEscape]"]\n'
    printf 'tools = []\n'
    for ((i = 0; i < n; i++)); do
        local s
        s=$(printf 'seq_%04d' "$i")
        printf '\n[[%s]]\ntext = """[Prompt] Sequence %s, first block. Consider: {item}\n[Answer]"""\n' "$s" "$s"
        printf 'tags = [["Training"], []]\n\n[%s.item]\nname = "items"\narguments = { num_samples = 3 }\n\n' "$s"
        printf '[[%s]]\ntext = """[Prompt] Sequence %s, second block. State your answer. [Answer]"""\n' "$s" "$s"
        printf 'tags = [[], ["Final"]]\n'
    done
}

# The generator must produce the shared 100-sequence file byte for byte.
if ! cmp -s <(gen 100) "$root/benches/data/parse_100_sequences.toml"; then
    echo "error: the generator does not reproduce benches/data/parse_100_sequences.toml" >&2
    exit 1
fi
gen "$N" > "$crate/prompts.toml"
last=$(printf 'Seq%04d' $((N - 1)))

# ------------------------------------------------------------------------------ the crate
{
    printf '[package]\nname = "tmpcrate"\nversion = "0.1.0"\nedition = "2024"\npublish = false\n\n'
    printf '[dependencies]\nforge = { path = "%s" }\n\n' "$root"
    printf '# Not part of any enclosing workspace.\n[workspace]\n'
    if [[ -n ${MACRO_OPT:-} ]]; then
        printf '\n[profile.dev.build-override]\nopt-level = %s\n' "$MACRO_OPT"
    fi
} > "$crate/Cargo.toml"

cat > "$tmp/without.rs" <<'EOF'
fn main() {
    println!("{:?}", forge::udpl::pascal_case("seq_0000"));
}
EOF
cat > "$tmp/with.rs" <<EOF
forge::include_udpl!(mod prompts = "prompts.toml");

fn main() {
    println!("{:?}", forge::udpl::pascal_case("seq_0000"));
    let items = forge::resources::ListSampler::new(["a", "b", "c"]).expect("items");
    let mut program = prompts::builder().items(items).build().expect("build");
    program.run(prompts::Seq0000).expect("run");
    program.run(prompts::$last).expect("run");
    let doc = prompts::document();
    let block = &doc.sequences[0].blocks[0];
    println!("{} sequences; {}", doc.sequences.len(), block.zones[1].template(block));
}
EOF

cd "$crate"
now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# One timed `cargo build` of the crate alone after touching main.rs; prints milliseconds.
timed_build() {
    touch src/main.rs
    local t0 t1
    t0=$(now)
    cargo build -q 2> "$tmp/build.log" || { cat "$tmp/build.log" >&2; exit 1; }
    t1=$(now)
    ms "$t0" "$t1"
}

echo "forge compile-time check: include_udpl! of $N sequences ($(wc -c < prompts.toml) bytes)"
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -1); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rustc: $(rustc -V); target dir: $CARGO_TARGET_DIR; MACRO_OPT=${MACRO_OPT:-unset}"

cp "$tmp/with.rs" src/main.rs
t0=$(now)
cargo build -q 2> "$tmp/build.log" || { cat "$tmp/build.log" >&2; exit 1; }
CARGO_INCREMENTAL=0 cargo build -q 2> "$tmp/build.log" || { cat "$tmp/build.log" >&2; exit 1; }
echo "first builds (dependencies + crate, not part of the comparison): $(ms "$t0" "$(now)") ms"

declare -A result
for version in without with; do
    cp "$tmp/$version.rs" src/main.rs
    # Warm-up, untimed, in both modes: forge's own crates are path dependencies, built
    # incrementally or not like the crate itself, so each mode has its own copy of them.
    cargo build -q 2> "$tmp/build.log" || { cat "$tmp/build.log" >&2; exit 1; }
    CARGO_INCREMENTAL=0 cargo build -q 2> "$tmp/build.log" || { cat "$tmp/build.log" >&2; exit 1; }
    inc=()
    full=()
    for ((r = 0; r < RUNS; r++)); do inc+=("$(timed_build)"); done
    for ((r = 0; r < RUNS; r++)); do full+=("$(CARGO_INCREMENTAL=0 timed_build)"); done
    result[$version.inc]=$(printf '%s\n' "${inc[@]}" | median)
    result[$version.full]=$(printf '%s\n' "${full[@]}" | median)
    echo "$version include_udpl!: incremental rebuild ${inc[*]} ms (median ${result[$version.inc]}); non-incremental ${full[*]} ms (median ${result[$version.full]})"
done
echo "include_udpl! of $N sequences adds: $((result[with.inc] - result[without.inc])) ms to an incremental rebuild, $((result[with.full] - result[without.full])) ms to a non-incremental one (cargo build, dev profile, medians of $RUNS)"

# ------------------------------------------------------------- editing the TOML rebuilds
cp "$tmp/with.rs" src/main.rs
cargo build -q 2> "$tmp/build.log" || { cat "$tmp/build.log" >&2; exit 1; }
before=$(cargo run -q 2> /dev/null)
sed -i 's/Sequence seq_0000, first block\./Sequence seq_0000, EDITED first block./' prompts.toml
t0=$(now)
cargo build 2> "$tmp/build.log" || { cat "$tmp/build.log" >&2; exit 1; }
t1=$(now)
after=$(cargo run -q 2> /dev/null)
if ! grep -q "Compiling tmpcrate" "$tmp/build.log"; then
    echo "FAIL: editing prompts.toml did not recompile the crate:" >&2
    cat "$tmp/build.log" >&2
    exit 1
fi
if [[ $before == "$after" ]] || [[ $after != *"EDITED first block"* ]]; then
    echo "FAIL: the rebuilt binary does not show the edit: before '$before', after '$after'" >&2
    exit 1
fi
echo "editing prompts.toml: recompiled tmpcrate in $(ms "$t0" "$t1") ms and the binary shows the edit (ok)"
