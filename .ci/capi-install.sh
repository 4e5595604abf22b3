#!/usr/bin/env bash
# cargo-c: `cargo cinstall` installs the C library (shared and static), the header and a
# pkg-config file into a temporary prefix; the C example is then compiled with nothing but
# `pkg-config --cflags --libs instructcell` and run on the bundled model and store. Installs
# cargo-c when missing (a debug build without debug info: about 5 minutes; Debian's cargo-c is
# too old for this lock file).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export ORT_DYLIB_PATH="${ORT_DYLIB_PATH:-$(ls "$root"/target/venv-data/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* | head -n 1)}"
version=0.10.24
if ! cargo cinstall --version 2>/dev/null | grep -q "$version"; then
  echo "capi-install: installing cargo-c $version"
  CARGO_PROFILE_DEV_DEBUG=0 cargo install cargo-c --version "$version" --locked --debug --quiet
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/instructcell-capi.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
start=$(date +%s)
# The C API with `.h5ad` support; no command-line tool. --debug: a quick build (the C example
# only checks the library's behaviour).
cargo cinstall --debug --no-default-features --features capi,h5ad \
  --prefix "$prefix" --libdir "$prefix/lib" --includedir "$prefix/include"
echo "capi-install: cargo cinstall in $(($(date +%s) - start)) s; installed:"
(cd "$prefix" && find . -type f -o -type l | sort | sed 's/^/  /')
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pkg-config --print-errors --exists instructcell
echo "capi-install: pkg-config instructcell $(pkg-config --modversion instructcell):" \
  "$(pkg-config --cflags --libs instructcell); static: $(pkg-config --static --libs instructcell)"
# shellcheck disable=SC2046
cc -std=c11 -Wall -Wextra -Werror examples/c/annotate.c $(pkg-config --cflags --libs instructcell) \
  -lm -Wl,-rpath,"$prefix/lib" -o "$work/annotate"
"$work/annotate" onnx/models/pbmc-small examples/data/pbmc68k_heldout.zarr > "$work/out.txt"
tail -n 5 "$work/out.txt"
# And statically, from the installed archive: its link line is `pkg-config --static`, with
# hdf5's own pkg-config entry for the HDF5 library the `h5ad` feature links (Debian keeps it
# outside the default library path).
# shellcheck disable=SC2046
cc -std=c11 examples/c/annotate.c $(pkg-config --cflags instructcell) "$prefix/lib/libinstructcell.a" \
  $(pkg-config --static --libs instructcell hdf5 | sed 's/-linstructcell//') -lm \
  -o "$work/annotate-static"
"$work/annotate-static" onnx/models/pbmc-small examples/data/pbmc68k_heldout.zarr > "$work/out-static.txt"
cmp "$work/out.txt" "$work/out-static.txt"
echo "capi-install: passed (shared and static builds give the same output)"
