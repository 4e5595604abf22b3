"""Reads a store written by the Rust crate with Python anndata and checks it against a spec.

Usage: check_roundtrip.py STORE SPEC.json   (exit status 0 when everything matches)

SPEC keys (all optional):
  X          dense matrix expected in X
  obs_names  / var_names   expected indexes
  obs        {column: {"kind": ..., "values": [...], "ordered": bool}}
  reference  path of the store this one was copied from: every other obs column, var and X
             must still equal the reference's
"""

import json
import sys
import warnings

import anndata as ad
import numpy as np
import pandas as pd

warnings.filterwarnings("ignore")


def read(path: str) -> ad.AnnData:
    return ad.read_h5ad(path) if path.endswith(".h5ad") else ad.read_zarr(path)


def check_column(name: str, s: pd.Series, want: dict) -> None:
    kind, values = want["kind"], want["values"]
    if kind == "categorical":
        assert isinstance(s.dtype, pd.CategoricalDtype), f"{name}: {s.dtype} is not categorical"
        got = [None if pd.isna(v) else str(v) for v in s]
        assert got == values, f"{name}: {got} != {values}"
        assert bool(s.cat.ordered) == bool(want.get("ordered", False)), f"{name}: ordered"
    elif kind == "string":
        assert list(s.astype(str)) == values, f"{name}: {list(s)} != {values}"
    elif kind == "float":
        assert np.issubdtype(s.dtype, np.floating), f"{name}: {s.dtype}"
        np.testing.assert_allclose(s.to_numpy(), np.array(values, dtype=float))
    elif kind in ("int", "uint"):
        assert np.issubdtype(s.dtype, np.integer), f"{name}: {s.dtype}"
        assert list(map(int, s)) == values, name
    elif kind == "bool":
        assert s.dtype == bool, f"{name}: {s.dtype}"
        assert list(map(bool, s)) == values, name
    elif kind.startswith("nullable"):
        got = [None if pd.isna(v) else v for v in s]
        got = [v if v is None else (str(v) if kind == "nullable_string" else v.item() if hasattr(v, "item") else v) for v in got]
        assert got == values, f"{name}: {got} != {values}"
    else:
        raise AssertionError(f"unknown kind {kind}")


def main() -> None:
    store, spec_path = sys.argv[1], sys.argv[2]
    spec = json.load(open(spec_path))
    a = read(store)
    x = a.X.toarray() if hasattr(a.X, "toarray") else np.asarray(a.X)
    if "X" in spec:
        np.testing.assert_allclose(x, np.array(spec["X"], dtype=float).reshape(x.shape))
        assert x.shape == (len(spec["X"]), len(spec["X"][0]) if spec["X"] else x.shape[1])
    if "obs_names" in spec:
        assert list(a.obs_names) == spec["obs_names"], "obs_names"
    if "var_names" in spec:
        assert list(a.var_names) == spec["var_names"], "var_names"
    for name, want in spec.get("obs", {}).items():
        assert name in a.obs.columns, f"obs column {name} missing: {list(a.obs.columns)}"
        check_column(name, a.obs[name], want)
    if spec.get("reference"):
        r = read(spec["reference"])
        rx = r.X.toarray() if hasattr(r.X, "toarray") else np.asarray(r.X)
        np.testing.assert_array_equal(x, rx)
        pd.testing.assert_frame_equal(a.var, r.var)
        assert list(a.obs_names) == list(r.obs_names)
        for c in r.obs.columns:
            if c not in spec.get("obs", {}):
                pd.testing.assert_series_equal(a.obs[c], r.obs[c])
        assert list(a.layers.keys()) == list(r.layers.keys())
        assert (a.raw is None) == (r.raw is None)
    print("ok", store)


if __name__ == "__main__":
    main()
