"""Writes anndata06.zarr and anndata06.h5ad with anndata 0.6.22 (the last layout before 0.7),
and expected.json: what anndata 0.12 reads from them.

The fixtures are committed; this records how they were made. Writing needs an environment
with the old stack, reading one with anndata 0.12 and zarr 2 (zarr 3 cannot open the
JSON-encoded object arrays of old zarr stores):

  python3 -m venv old && old/bin/pip install anndata==0.6.22.post1 numpy==1.23.5 \
      pandas==1.5.3 zarr==2.13.6 h5py==3.8.0 scipy==1.10.1 natsort numcodecs==0.11.0
  python3 -m venv new && new/bin/pip install anndata==0.12.19 zarr==2.18.7
  old/bin/python make_anndata06.py write DIR && new/bin/python make_anndata06.py read DIR
"""

import json
import sys
import warnings

warnings.filterwarnings("ignore")


def write(out):
    import anndata as ad
    import numpy as np
    import pandas as pd

    rng = np.random.RandomState(3)
    n, m = 30, 8
    counts = rng.poisson(2.0, size=(n, m + 2)).astype(np.float32)
    counts[:, 0] += 1  # no empty cell
    norm = counts / counts.sum(1, keepdims=True) * 1e4
    cell_type = pd.Categorical(rng.choice(["T cell", "B cell", "NK"], n))
    cell_type[[4, 17]] = np.nan
    obs = pd.DataFrame(
        {
            "cell_type": cell_type,
            "score": rng.normal(size=n),
            "kept": rng.rand(n) > 0.5,
            "n_genes": rng.randint(0, 1000, n),
            "barcode": ["AC%04dGT" % i for i in range(n)],
        },
        index=["cell%d" % i for i in range(n)],
    )
    var = pd.DataFrame(
        {
            "gene_ids": ["ENSG%05d" % i for i in range(m + 2)],
            "chrom": pd.Categorical(rng.choice(["1", "2", "X"], m + 2)),
        },
        index=["GENE%d" % i for i in range(m + 2)],
    )
    full = ad.AnnData(X=counts, obs=obs, var=var)
    full.raw = full
    a = full[:, :m].copy()
    a.X = np.log1p(norm[:, :m])
    a.obsm["X_umap"] = rng.normal(size=(n, 2))
    a.uns["title"] = "anndata 0.6 fixture"
    a.write_zarr(out + "/anndata06.zarr", chunks=None)
    a.write(out + "/anndata06.h5ad")


def read(out):
    import anndata as ad
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    def col(s):
        if isinstance(s.dtype, pd.CategoricalDtype):
            return {"kind": "categorical", "codes": s.cat.codes.astype(int).tolist(),
                    "categories": [str(c) for c in s.cat.categories]}
        if s.dtype == bool:
            return {"kind": "bool", "values": s.tolist()}
        if np.issubdtype(s.dtype, np.integer):
            return {"kind": "int", "values": [int(x) for x in s]}
        if np.issubdtype(s.dtype, np.floating):
            return {"kind": "float", "values": [None if np.isnan(x) else float(x) for x in s]}
        return {"kind": "string", "values": [None if x is None else str(x) for x in s]}

    def frame(df):
        return {"index": [str(x) for x in df.index],
                "columns": [[c, col(df[c])] for c in df.columns]}

    def dense(x):
        x = x.toarray() if sp.issparse(x) else np.asarray(x)
        return x.astype(np.float64).tolist()

    expected = {"anndata": ad.__version__}
    for name, reader in [("anndata06.zarr", ad.read_zarr), ("anndata06.h5ad", ad.read_h5ad)]:
        a = reader(out + "/" + name)
        expected[name] = {"obs": frame(a.obs), "var": frame(a.var), "X": dense(a.X),
                          "raw_var": frame(a.raw.var), "raw_X": dense(a.raw.X)}
    with open(out + "/expected.json", "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    {"write": write, "read": read}[sys.argv[1]](sys.argv[2])
