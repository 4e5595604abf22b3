"""Writes MuData stores for the tests from an AnnData zarr store (the held-out PBMCs).

Usage: make_mudata.py SOURCE.zarr OUT_DIR

OUT_DIR/multi.h5mu and OUT_DIR/multi.zarr: modalities rna (SOURCE plus a layer, obsm, obsp and
uns) and prot (6 random antibody counts, its own obs column, var column and obsm), a global
obs column, obsm and uns. OUT_DIR/two.h5mu: modalities gex and adt, none named rna.
"""

import sys
import warnings

warnings.filterwarnings("ignore")
import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import scipy.sparse as sp

md.set_options(pull_on_update=False)
src, out = sys.argv[1], sys.argv[2]
rna = ad.read_zarr(src)
n = rna.n_obs
rng = np.random.default_rng(7)
rna.layers["counts_copy"] = rna.X.copy()
rna.obsm["X_umap"] = rng.normal(size=(n, 2))
rna.obsp["distances"] = sp.random(n, n, density=0.05, format="csr", random_state=1)
rna.uns["note"] = "rna modality"
prot = ad.AnnData(
    X=rng.poisson(3.0, size=(n, 6)).astype(np.float32),
    obs=pd.DataFrame({"isotype": rng.random(n)}, index=rna.obs_names.copy()),
    var=pd.DataFrame(
        {"target": [f"T{i}" for i in range(6)]}, index=[f"ADT{i}" for i in range(6)]
    ),
)
prot.obsm["X_pca"] = rng.normal(size=(n, 3)).astype(np.float32)
m = md.MuData({"rna": rna, "prot": prot})
m.obs["sample"] = pd.Categorical(rng.choice(["s1", "s2"], n))
m.obsm["X_wnn"] = rng.normal(size=(n, 4))
m.uns["pipeline"] = {"step": "qc", "version": 3}
m.write_h5mu(f"{out}/multi.h5mu")
m.write_zarr(f"{out}/multi.zarr")
md.MuData({"gex": rna.copy(), "adt": prot.copy()}).write_h5mu(f"{out}/two.h5mu")
print("ok")
