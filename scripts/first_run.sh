#!/usr/bin/env bash
# The first run after an install, as the README installs: a clean clone of TREE in SCRATCH, a new
# virtual environment, `pip install -e .`, then the first `hdrkit still` on the bundled sample and
# the first `hdrkit proxy` of CLIP (e.g. a 1080p clip from scripts/make_clips.py), each timed
# (wall and CPU of the command and its children) and run twice; the outputs of the first and the
# second still must be the same bytes. Lists the kernel cache indexes a first run wrote (none:
# everything it needed was compiled at install). Last, the test extras' install, as CI does.
#
#   scripts/first_run.sh TREE SCRATCH [CLIP]         # HDRKIT_PRECOMPILE=0 in the environment: without
set -euo pipefail
tree=$(cd "${1:?usage: first_run.sh TREE SCRATCH [CLIP]}" && pwd)
mkdir -p "${2:?usage: first_run.sh TREE SCRATCH [CLIP]}" && cd "$2"
clip=${3:+$(realpath "$3")}
t() { /usr/bin/time -f "$1: %e s wall, %U s user + %S s sys" "${@:2}"; }
compiled_by() {  # kernel cache indexes written since the marker (a compilation rewrites its index)
    local n; n=$(find clone -name '*.nbi' -newer .marker | wc -l)
    echo "$1: wrote $n kernel cache index(es)"; touch .marker
}

git clone -q "$tree" clone
python3 -m venv v && . v/bin/activate
t "pip install -e ." sh -c 'pip install -v -e ./clone > pip-install.log 2>&1'
grep -h "hdrkit: " pip-install.log || true  # the build backend's account of its precompiling
mkdir -p out && touch .marker
sample=clone/samples/ultrahdr/libultrahdr_minnie_ultrahdr_sys.jpg
t "first hdrkit still" hdrkit still "$sample" -o out/still1.jpg
compiled_by "first hdrkit still"
t "second hdrkit still" hdrkit still "$sample" -o out/still2.jpg
cmp out/still1.jpg out/still2.jpg && echo "first and second still: same bytes"
if [ -n "$clip" ]; then
    t "first hdrkit proxy" hdrkit proxy "$clip" -o out/proxy1.mp4 --no-progress
    compiled_by "first hdrkit proxy"
    t "second hdrkit proxy" hdrkit proxy "$clip" -o out/proxy2.mp4 --no-progress
fi
t 'pip install -e ".[test]"' sh -c 'pip install -v -e "./clone[test]" > pip-install-test.log 2>&1'
grep -h "hdrkit: " pip-install-test.log || true
