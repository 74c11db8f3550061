#!/usr/bin/env bash
# Makes TorchSharp's native libLibTorchSharp.so load on systems whose libstdc++ predates GCC 13
# (Debian 12 ships GLIBCXX_3.4.30; the library asks for GLIBCXX_3.4.32 for a single symbol).
#
#   fix-torchsharp-glibcxx.sh NATIVE_DIR
#
# NATIVE_DIR is the NuGet cache folder holding libLibTorchSharp.so; patching it there, at the
# source of every build's copy, means each later build copies the fixed file. The fix:
#   1. build libglibcxx_shim.so, which defines std::ios_base_library_init@GLIBCXX_3.4.32, beside it;
#   2. mark the GLIBCXX_3.4.32 requirement weak so the loader accepts a libstdc++ without it;
#   3. add the shim as DT_NEEDED so the symbol resolves (RUNPATH already holds $ORIGIN).
# Idempotent, serialised with a lock, and a no-op where the system libstdc++ is new enough.
set -euo pipefail

native_dir=${1:?usage: fix-torchsharp-glibcxx.sh NATIVE_DIR}
lib="$native_dir/libLibTorchSharp.so"
shim_name=libglibcxx_shim.so
here=$(cd "$(dirname "$0")" && pwd)

[ "$(uname -s)" = Linux ] || exit 0
[ -f "$lib" ] || exit 0

system_libstdcxx=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
if [ -n "$system_libstdcxx" ] && grep -q GLIBCXX_3.4.32 "$system_libstdcxx"; then
    exit 0   # libstdc++ is new enough: nothing to fix.
fi

exec 9>"$native_dir/.glibcxx-fix.lock"
flock 9

if [ -f "$native_dir/$shim_name" ] && readelf -d "$lib" | grep -q "\[$shim_name\]"; then
    exit 0   # already patched
fi

need_tools=()
command -v gcc >/dev/null || need_tools+=(gcc libc6-dev)
command -v patchelf >/dev/null || need_tools+=(patchelf)
command -v readelf >/dev/null || need_tools+=(binutils)
if [ ${#need_tools[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "fix-torchsharp-glibcxx: installing ${need_tools[*]} with apt-get" >&2
        (apt-get install -y -qq "${need_tools[@]}" >/dev/null 2>&1) || \
            (apt-get update -qq && apt-get install -y -qq "${need_tools[@]}" >/dev/null)
    else
        echo "fix-torchsharp-glibcxx: needs ${need_tools[*]}; install them (sudo apt-get install ${need_tools[*]}) and rebuild" >&2
        exit 1
    fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -shared -fPIC -Wl,--version-script="$here/shim.map" -Wl,-soname,$shim_name \
    -o "$work/$shim_name" "$here/shim.c"
gcc -O2 -o "$work/weaken-verneed" "$here/weaken-verneed.c"

cp "$lib" "$work/lib.so"
"$work/weaken-verneed" "$work/lib.so" GLIBCXX_3.4.32
patchelf --add-needed "$shim_name" "$work/lib.so"

# Shim first, then the library, each by rename: a reader never sees a half-written file.
cp "$work/$shim_name" "$native_dir/.$shim_name.tmp" && mv "$native_dir/.$shim_name.tmp" "$native_dir/$shim_name"
cp "$work/lib.so" "$native_dir/.libLibTorchSharp.so.tmp" && chmod --reference="$lib" "$native_dir/.libLibTorchSharp.so.tmp"
mv "$native_dir/.libLibTorchSharp.so.tmp" "$lib"
echo "fix-torchsharp-glibcxx: patched $lib for libstdc++ without GLIBCXX_3.4.32" >&2
