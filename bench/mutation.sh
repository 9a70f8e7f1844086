#!/usr/bin/env bash
# Mutation testing (issue 18) of the explorer engine, the context, the plugin loader and the core
# stores (SQLite and the helpers adapters share) with mutmut: each mutant is one small change to
# product code, and the core test suite must fail on it. Not run in CI (the twelve modules take
# hours on two cores); the method, the scores and the survivors that are equivalent are in
# docs/benchmarks.md, "Mutation testing". The helpers adapters share are also tested by the
# adapters' own tests against real services, which mutmut does not run: check their survivors by
# hand against those (docs/benchmarks.md says how).
#
# Usage: bench/mutation.sh [MODULE...]
#   MODULE: a path under packages/venomqa-core/src/venomqa (default: the twelve below), e.g.
#   `bench/mutation.sh context.py plugins/loading.py` for a run of a few minutes.
# Environment:
#   MUTATION_DIR    work folder (default: a new temporary folder); kept afterwards, so
#                   `cd $MUTATION_DIR/repo/packages/venomqa-core && ../../../venv/bin/mutmut show
#                   NAME` shows a mutant's diff
#   MUTATION_JOBS   mutants tested at once (default 1: the standard machine has two cores)
#   PYTHON          the interpreter for the virtual environment (default python3, >= 3.11)
#   MUTMUT_VERSION  default 3.8.1
#   MUTANTS         only these mutants (names or fnmatch patterns, space-separated), e.g. the
#                   survivors of an earlier run: `MUTANTS='venomqa.explorer._engine.x_Engine__fire__mutmut_*'`
#   TEST_TIMEOUT_S  a test running longer than this fails (pytest-timeout), default 60: a mutant
#                   that leaves a thread waiting forever is killed instead of hanging the run
#
# What it does, on a clean clone of the repository's HEAD (commit first: uncommitted changes are
# not tested): a virtual environment with mutmut, pytest and venomqa-core (editable); tests/ copied
# beside src/ (mutmut expects that layout); a [tool.mutmut] section appended to the core's
# pyproject.toml; `mutmut run`; then every mutant's status and the score per module,
# killed / (killed + survived), where a timeout counts as killed and a mutant no test reaches
# counts as survived.
#
# Tests that run `venomqa` in a subprocess cannot kill a mutant (the subprocess imports the
# unmutated code): only in-process tests count. One test is deselected because mutmut's
# trampolines add stack frames to every call: the check that the leftovers warning points at the
# line that called setup() (it kills the two `stacklevel` mutants when they are applied by hand).
# One reads docs/configuration.md, which the copied layout lacks (it checks the docs, not code);
# one sends itself SIGINT while `target.command` waits for the API, which under mutmut's runner
# does not reach the wait (it fails on unmutated code; both are about target/, not mutated here).
# One more is deselected because it is timing-dependent on a loaded machine and cannot kill a
# mutant anyway: a `venomqa` subprocess against an API that dies mid-run (test_faults.py); mutmut
# stops at the first failing test of its clean run.
set -euo pipefail

repo=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work=${MUTATION_DIR:-$(mktemp -d -t venomqa-mutation.XXXXXX)}
jobs=${MUTATION_JOBS:-1}
python=${PYTHON:-python3}
version=${MUTMUT_VERSION:-3.8.1}
test_timeout=${TEST_TIMEOUT_S:-60}
read -r -a only_mutants <<<"${MUTANTS:-}"
if [ "$#" -gt 0 ]; then
    modules=("$@")
else
    modules=(explorer/_engine.py context.py plugins/loading.py stores/sqlite.py
        stores/_sqlite_undo.py stores/_sqlite_hash.py stores/_sqlite_clone.py
        stores/_sqlite_schema.py stores/copies.py stores/kit.py stores/live_run.py
        stores/row_images.py)
fi

mkdir -p "$work"
echo "work folder: $work"
if [ -e "$work/repo" ]; then
    echo "error: $work/repo exists; set MUTATION_DIR to a new folder" >&2
    exit 2
fi
git clone --quiet "$repo" "$work/repo"
echo "commit: $(git -C "$work/repo" log -1 --format='%h %s')"
core="$work/repo/packages/venomqa-core"
for module in "${modules[@]}"; do
    if [ ! -f "$core/src/venomqa/$module" ]; then
        echo "error: no module $module under packages/venomqa-core/src/venomqa" >&2
        exit 2
    fi
done

"$python" -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --upgrade pip
"$work/venv/bin/pip" install --quiet "mutmut==$version" pytest pytest-timeout -e "$core"

cp -r "$work/repo/tests" "$core/tests"
{
    quoted=()
    for module in "${modules[@]}"; do quoted+=("\"src/venomqa/$module\""); done
    echo
    echo "[tool.mutmut]"
    echo 'source_paths = ["src/venomqa"]'
    echo "only_mutate = [$(IFS=,; echo "${quoted[*]}")]"
    # The core's own tests, minus those that need a browser, other distributions or the docs
    # tree (they cannot run from the copied folder, and none of them is in-process).
    echo 'pytest_add_cli_args_test_selection = ["tests/core", "-m", "not other_distributions",'
    echo '    "--ignore=tests/core/test_docs_examples.py", "--ignore=tests/core/test_ensure_chromium.py",'
    echo '    "--ignore=tests/core/test_plugin_guide.py", "--ignore=tests/core/test_template.py"]'
    echo "pytest_add_cli_args = [\"-p\", \"no:cacheprovider\", \"-p\", \"no:venomqa\", \"-x\", \"-q\", \"--timeout=$test_timeout\","
    echo '    "--deselect=tests/core/test_sqlite_store_leftovers.py::test_the_repair_warning_points_at_the_line_that_called_setup",'
    echo '    "--deselect=tests/core/test_faults.py::test_the_api_dying_mid_run_aborts_with_the_findings_and_the_stores_back",'
    echo '    "--deselect=tests/core/test_target_command_config.py::test_the_documented_example_loads",'
    echo '    "--deselect=tests/core/test_target_command_launch.py::test_ctrl_c_while_waiting_for_ready_stops_the_process"]'
} >>"$core/pyproject.toml"

cd "$core"
"$work/venv/bin/mutmut" run --max-children "$jobs" "${only_mutants[@]}" || echo "mutmut run exited with $?" >&2
"$work/venv/bin/mutmut" results --all true >"$work/results.txt"
grep -E ': (survived|no tests|timeout|suspicious|not checked)$' "$work/results.txt" || true

"$work/venv/bin/python" - "$work/results.txt" <<'PY'
"""Score per module from `mutmut results --all true`: killed / (killed + survived)."""

import collections
import re
import sys

line = re.compile(r"^\s*(venomqa\.[\w.]+?)\.x[_\u01c1].*: (.+)$")
counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
for text in open(sys.argv[1], encoding="utf-8"):
    found = line.match(text.rstrip("\n"))
    if found:
        counts[found.group(1)][found.group(2)] += 1
print(f"\n{'module':36} {'killed':>7} {'survived':>9} {'other':>6} {'score':>7}")
total: collections.Counter[str] = collections.Counter()
for module in sorted(counts) + ["all"]:
    c = counts[module] if module != "all" else total
    if module != "all":
        total.update(c)
    killed = c["killed"] + c["timeout"]
    survived = c["survived"] + c["no tests"]
    other = sum(c.values()) - killed - survived
    score = f"{100 * killed / (killed + survived):.1f}%" if killed + survived else "-"
    print(f"{module:36} {killed:7} {survived:9} {other:6} {score:>7}")
print("(other: not checked, suspicious, skipped or crashed; a timeout counts as killed)")
PY
