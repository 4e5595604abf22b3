#!/usr/bin/env bash
# Writes the seed corpora of the fuzz targets (fuzz/corpus/<target>/) from the bundled stores,
# fixtures and packages. Safe to run repeatedly.
set -euo pipefail
fuzz="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$fuzz")"
corpus="$fuzz/corpus"
mkdir -p "$corpus"/{zarr_store,h5ad_structure,package_manifest,prompt_template,tenx_mtx,capi_csr}
# zarr_store: [store, file index, the file's bytes] for every file of both bundled stores,
# files in the order the target lists them (sorted paths).
s=0
for store in pbmc68k_heldout.zarr pbmc68k_heldout.v3.zarr; do
  i=0
  while IFS= read -r f; do
    { printf "\\x$(printf %02x $s)\\x$(printf %02x $((i % 256)))"; cat "$f"; } > "$corpus/zarr_store/s${s}_$i"
    i=$((i + 1))
  done < <(cd "$root/examples/data/$store" && find "$PWD" -type f | LC_ALL=C sort)
  s=$((s + 1))
done
# h5ad_structure: each fixture without edits.
for i in 0 1 2; do printf "\\x0$i" > "$corpus/h5ad_structure/fixture_$i"; done
cp "$root/tests/data/tiny-random/manifest.json" "$corpus/package_manifest/tiny_random"
cp "$root/onnx/models/pbmc-small/manifest.json" "$corpus/package_manifest/pbmc_small"
printf 'What cell type is this? {input}\nspecies=human\n' > "$corpus/prompt_template/input"
printf 'Pick one of {choices} for this {species} cell: {input}\nchoices=B cell,T cell\nspecies=mouse\n' > "$corpus/prompt_template/choices"
printf 'Generate a {cell_type} cell from {tissue}.\ncell_type=NK\ntissue=blood\n' > "$corpus/prompt_template/fields"
cp "$root/tests/data/fixtures/tenx_v2/matrix.mtx" "$corpus/tenx_mtx/v2"
printf '\x03\x00\x00\x04\x02\x05\x01\x07\x03\x09\x02\x0b' > "$corpus/capi_csr/small"
printf '\x05\x40\x01\x08\x08\x08\x08\x08\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f' > "$corpus/capi_csr/scored"
echo "seeded $(find "$corpus" -type f | wc -l) inputs in $corpus"
