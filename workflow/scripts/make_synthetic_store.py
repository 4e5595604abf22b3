"""A synthetic AnnData store for scale measurements: N cells x G genes of integer counts as CSR,
sharded zarr v3, written block by block (memory: one block, not the matrix).

The model package's genes (genes.txt) are among the G var names, at random positions; the
other names are SYN00001, ... Each cell has about --model-density of the model's genes and
--density of the others non-zero (defaults 0.3 and 0.045: ~5 % overall for 30k genes, ~1,500
genes per cell, close to 10x data), counts geometric (mean 2 and 1.4).

Layout: X/indptr (int64) in shards of --cells-per-chunk rows (the tool's shard unit is the least
common multiple of this and the batch size), inner chunks of a quarter of that; X/data (float32)
and X/indices (int32) in shards of 2^24 values, inner chunks of 2^20, zstd level 1.

Run with the data environment (zarr 3, anndata 0.12):
  target/venv-data/bin/python workflow/scripts/make_synthetic_store.py \
      --out target/scale/synthetic-1m.zarr --cells 1000000 --genes 30000
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
import zarr
from zarr.codecs import ZstdCodec

ROOT = Path(__file__).resolve().parents[2]
VALUES_SHARD = 1 << 24
VALUES_CHUNK = 1 << 20


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--cells", type=int, default=1_000_000)
    p.add_argument("--genes", type=int, default=30_000)
    p.add_argument("--model-genes", type=Path, default=ROOT / "onnx/models/pbmc-small/genes.txt")
    p.add_argument("--density", type=float, default=0.045, help="fraction of the other genes non-zero")
    p.add_argument("--model-density", type=float, default=0.3, help="fraction of the model's genes non-zero")
    p.add_argument("--cells-per-chunk", type=int, default=16384, help="indptr shard length (rows)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true")
    a = p.parse_args()

    t0 = time.time()
    if a.out.exists():
        if not a.overwrite:
            raise SystemExit(f"{a.out} exists (--overwrite to replace it)")
        shutil.rmtree(a.out)
    rng = np.random.default_rng(a.seed)
    model_genes = [g.strip() for g in a.model_genes.read_text().splitlines() if g.strip()]
    if a.genes < len(model_genes):
        raise SystemExit(f"--genes must be at least the model's {len(model_genes)}")
    names = np.array(model_genes + [f"SYN{i:05d}" for i in range(1, a.genes - len(model_genes) + 1)], dtype=object)
    order = rng.permutation(a.genes)
    names = names[order]  # the model's genes at random positions
    is_model = np.zeros(a.genes, dtype=bool)
    is_model[np.argsort(order)[: len(model_genes)]] = True
    model_pos = np.flatnonzero(is_model).astype(np.int64)
    other_pos = np.flatnonzero(~is_model).astype(np.int64)

    # per-cell numbers of non-zeros, known up front: indptr and the total are exact
    k1 = np.clip(rng.binomial(len(model_pos), a.model_density, a.cells), 1, len(model_pos))
    k2 = np.clip(rng.binomial(len(other_pos), a.density, a.cells), 0, len(other_pos))
    nnz_cell = (k1 + k2).astype(np.int64)
    indptr = np.zeros(a.cells + 1, dtype=np.int64)
    np.cumsum(nnz_cell, out=indptr[1:])
    nnz = int(indptr[-1])
    print(f"{a.cells} cells x {a.genes} genes, {nnz} non-zeros ({nnz / a.cells / a.genes:.2%}), "
          f"{nnz / a.cells:.0f} per cell", flush=True)

    # obs, var (and the AnnData skeleton) by anndata, X by zarr block by block
    ad.settings.zarr_write_format = 3
    obs = pd.DataFrame(index=pd.Index([f"cell{i:08d}" for i in range(a.cells)], name=None))
    obs["n_genes"] = nnz_cell
    var = pd.DataFrame(index=pd.Index(list(names)))
    ad.AnnData(obs=obs, var=var).write_zarr(a.out)
    root = zarr.open_group(a.out, mode="r+", zarr_format=3)
    X = root.create_group("X")
    X.attrs.update({"encoding-type": "csr_matrix", "encoding-version": "0.1.0", "shape": [a.cells, a.genes]})
    comp = ZstdCodec(level=1)
    rows = a.cells_per_chunk
    X.create_array("indptr", shape=(a.cells + 1,), dtype="int64", shards=(rows,),
                   chunks=(max(rows // 4, 1),), compressors=comp)[:] = indptr
    chunk = min(VALUES_CHUNK, max(nnz, 1))
    shard = min(VALUES_SHARD, -(-max(nnz, 1) // chunk) * chunk)  # a multiple of the chunk
    data = X.create_array("data", shape=(nnz,), dtype="float32", shards=(shard,), chunks=(chunk,), compressors=comp)
    indices = X.create_array("indices", shape=(nnz,), dtype="int32", shards=(shard,), chunks=(chunk,), compressors=comp)

    # Generate cells in blocks, buffer their values, write whole shards only (no read-modify-write).
    buf_i: list[np.ndarray] = []
    buf_d: list[np.ndarray] = []
    buffered = 0
    written = 0

    def flush(final: bool) -> None:
        nonlocal buf_i, buf_d, buffered, written
        if not buf_i:
            return
        cat_i = np.concatenate(buf_i)
        cat_d = np.concatenate(buf_d)
        n = len(cat_i) if final else (len(cat_i) // shard) * shard
        if n:
            indices[written:written + n] = cat_i[:n]
            data[written:written + n] = cat_d[:n]
            written += n
        buf_i, buf_d = [cat_i[n:]], [cat_d[n:]]
        buffered = len(buf_i[0])

    block = 8192
    for start in range(0, a.cells, block):
        stop = min(start + block, a.cells)
        cols = []
        vals = []
        for pos, k, pgeo in ((model_pos, k1[start:stop], 0.5), (other_pos, k2[start:stop], 0.7)):
            m = len(pos)
            tot = int(k.sum())
            cell = np.repeat(np.arange(stop - start, dtype=np.int64), k)
            # k distinct sorted positions out of m: sorted draws from [0, m - k] plus 0..k-1
            draw = rng.integers(0, m - np.repeat(k, k) + 1, size=tot)
            key = np.sort(cell * (m + 1) + draw)
            first = np.repeat(np.cumsum(k) - k, k)
            rank = np.arange(tot, dtype=np.int64) - first
            cols.append(cell * a.genes + pos[key % (m + 1) + rank])
            vals.append(rng.geometric(pgeo, size=tot).astype(np.float32))
        key = np.concatenate(cols)
        perm = np.argsort(key, kind="stable")
        col = (key[perm] % a.genes).astype(np.int32)
        val = np.concatenate(vals)[perm]
        assert len(col) == indptr[stop] - indptr[start]
        buf_i.append(col)
        buf_d.append(val)
        buffered += len(col)
        if buffered >= shard:
            flush(False)
        if (start // block) % 16 == 0:
            print(f"  {stop}/{a.cells} cells, {time.time() - t0:.0f} s", flush=True)
    flush(True)
    assert written == nnz, (written, nnz)
    zarr.consolidate_metadata(a.out)
    size = sum(f.stat().st_size for f in a.out.rglob("*") if f.is_file())
    print(f"wrote {a.out}: {size / 1e9:.2f} GB on disk in {time.time() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
