#!/usr/bin/env bash
# Runs a command with gperftools' tcmalloc as the process's malloc (LD_PRELOAD), installing Debian's
# libtcmalloc-minimal4 with apt-get once when root and it is missing. libtorch's CPU tensors come from malloc, and
# glibc's allocator spent ~10 % of a training step's CPU time in _int_malloc, _int_free and malloc_consolidate
# (perf); with tcmalloc the default pretrain trains ~13-27 % more tokens/s and GRPO iterates 12 % faster, to the
# same weights (bench/README.md). The Makefile runs every stage and tool through this script.
# MINILLM_ALLOCATOR=glibc runs the command unchanged (for comparisons); so does a machine where the library cannot
# be installed (a warning says so). Idempotent; the install is serialised with a lock.
set -euo pipefail

lib=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
if [ "${MINILLM_ALLOCATOR:-tcmalloc}" = glibc ] || [ "$(uname -s)" != Linux ] || [ "$(uname -m)" != x86_64 ]; then
    exec "$@"
fi

if [ ! -f "$lib" ]; then
    exec 9>/tmp/.with-tcmalloc.lock
    flock 9
    if [ ! -f "$lib" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "with-tcmalloc: installing libtcmalloc-minimal4 with apt-get" >&2
        export DEBIAN_FRONTEND=noninteractive
        (apt-get install -y -qq --no-install-recommends libtcmalloc-minimal4 >/dev/null 2>&1) || \
            (apt-get update -qq && apt-get install -y -qq --no-install-recommends libtcmalloc-minimal4 >/dev/null 2>&1) || true
    fi
    exec 9>&-
fi

if [ -f "$lib" ]; then
    exec env LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" "$@"
fi
echo "with-tcmalloc: $lib is missing (sudo apt-get install libtcmalloc-minimal4); running with glibc's malloc, ~15 % slower" >&2
exec "$@"
