"""Checks that OUTPUT holds every element of INPUT unchanged plus the new obs columns of SPEC.

Usage: compare_stores.py INPUT OUTPUT SPEC.json
SPEC: {"new": {column: {"kind": categorical|float|string|bool, "values": [...],
                        "categories": [...]}},
       "modality": NAME}   (null in values marks a missing value)

AnnData stores (.h5ad, zarr) are read with anndata. MuData stores (.h5mu, or a zarr whose root
says encoding-type MuData) are read with mudata: the new columns must be in the obs of
modality NAME (default rna), every other modality must be unchanged in every element, and the
global obs, obsm, obsp, varm, varp, uns and the modality list must be as they were (mudata
shows modality columns in the global obs as "NAME:column"; the new ones may appear there).
"""
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")
import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp


def read(path):
    return ad.read_h5ad(path) if path.endswith(".h5ad") else ad.read_zarr(path)


def is_mudata(path):
    if path.endswith(".h5mu"):
        return True
    if path.endswith(".h5ad"):
        return False
    import zarr

    return zarr.open_group(path, mode="r").attrs.get("encoding-type") == "MuData"


def read_mudata(path):
    import mudata

    return mudata.read_h5mu(path) if path.endswith(".h5mu") else mudata.read_zarr(path)


def same_array(what, a, b):
    assert type(a) is type(b), f"{what}: {type(a)} != {type(b)}"
    if sp.issparse(a):
        assert a.format == b.format, f"{what}: {a.format} != {b.format}"
        assert a.dtype == b.dtype, f"{what}: {a.dtype} != {b.dtype}"
        assert a.shape == b.shape, f"{what}: {a.shape} != {b.shape}"
        for part in ("data", "indices", "indptr"):
            np.testing.assert_array_equal(getattr(a, part), getattr(b, part), err_msg=what)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, obj=what)
    else:
        a, b = np.asarray(a), np.asarray(b)
        assert a.dtype == b.dtype, f"{what}: {a.dtype} != {b.dtype}"
        np.testing.assert_array_equal(a, b, err_msg=what)


def same_tree(what, a, b):
    if isinstance(a, dict):
        assert isinstance(b, dict), f"{what}: {type(b)} is not a dict"
        assert sorted(a) == sorted(b), f"{what}: keys {sorted(a)} != {sorted(b)}"
        for k in a:
            same_tree(f"{what}/{k}", a[k], b[k])
    elif isinstance(a, (np.ndarray, pd.DataFrame)) or sp.issparse(a):
        same_array(what, a, b)
    else:
        assert type(a) is type(b) and a == b, f"{what}: {a!r} != {b!r}"


# A zarr group lists its members in directory order, which a copy need not keep; HDF5 keeps
# the order of creation. main() clears this for zarr stores.
ORDERED = True


def same_mapping(what, a, b):
    ka, kb = list(a.keys()), list(b.keys())
    if not ORDERED:
        ka, kb = sorted(ka), sorted(kb)
    assert ka == kb, f"{what}: {ka} != {kb}"
    for k in a.keys():
        same_array(f"{what}/{k}", a[k], b[k])


def check_new(name, s, want):
    kind, values = want["kind"], want["values"]
    missing = [v is None for v in values]
    assert list(pd.isna(s)) == missing, f"{name}: missing {list(pd.isna(s))} != {missing}"
    if kind == "categorical":
        assert isinstance(s.dtype, pd.CategoricalDtype), f"{name}: {s.dtype}"
        assert list(s.cat.categories) == want["categories"], f"{name}: {list(s.cat.categories)}"
        got = [None if pd.isna(v) else str(v) for v in s]
        assert got == values, f"{name}: {got} != {values}"
    elif kind == "float":
        assert s.dtype == np.float64, f"{name}: {s.dtype}"
        want_f = np.array([np.nan if v is None else v for v in values], dtype=float)
        np.testing.assert_array_equal(s.to_numpy(), want_f, err_msg=name)
    elif kind == "string":
        assert s.dtype == object or pd.api.types.is_string_dtype(s.dtype), f"{name}: {s.dtype}"
        assert list(s) == values, f"{name}: {list(s)} != {values}"
    elif kind == "bool":
        assert s.dtype == bool, f"{name}: {s.dtype}"
        assert list(map(bool, s)) == values, name
    else:
        raise AssertionError(f"unknown kind {kind}")


def same_anndata(a, b, new):
    """Every element of b equals a's, and b's obs adds the columns of new."""
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    same_array("X", a.X, b.X)
    for attr in ("layers", "obsm", "obsp", "varm", "varp"):
        same_mapping(attr, getattr(a, attr), getattr(b, attr))
    same_tree("uns", dict(a.uns), dict(b.uns))
    pd.testing.assert_frame_equal(a.var, b.var, obj="var")
    assert (a.raw is None) == (b.raw is None), "raw"
    if a.raw is not None:
        same_array("raw/X", a.raw.X, b.raw.X)
        pd.testing.assert_frame_equal(a.raw.var, b.raw.var, obj="raw/var")
        same_mapping("raw/varm", a.raw.varm, b.raw.varm)
    assert list(a.obs_names) == list(b.obs_names), "obs_names"
    old_cols = [c for c in a.obs.columns if c not in new]
    assert list(b.obs.columns[: len(old_cols)]) == old_cols, f"obs columns {list(b.obs.columns)}"
    for c in old_cols:
        pd.testing.assert_series_equal(a.obs[c], b.obs[c], obj=f"obs/{c}")
    for name, want in new.items():
        assert name in b.obs.columns, f"new column {name} missing: {list(b.obs.columns)}"
        check_new(name, b.obs[name], want)


def same_mudata(a, b, target, new):
    assert list(a.mod.keys()) == list(b.mod.keys()), f"mod {list(a.mod)} != {list(b.mod)}"
    for name in a.mod:
        same_anndata(a.mod[name], b.mod[name], new if name == target else {})
    assert a.shape == b.shape, f"shape {a.shape} != {b.shape}"
    pulled = {f"{target}:{c}" for c in new}
    cols = [c for c in b.obs.columns if c not in pulled]
    assert cols == list(a.obs.columns), f"global obs {list(b.obs.columns)}"
    pd.testing.assert_frame_equal(a.obs, b.obs[cols], obj="global obs")
    pd.testing.assert_frame_equal(a.var, b.var, obj="global var")
    for attr in ("obsm", "obsp", "varm", "varp"):
        same_mapping(f"global {attr}", getattr(a, attr), getattr(b, attr))
    same_tree("global uns", dict(a.uns), dict(b.uns))


def main():
    global ORDERED
    inp, outp, spec = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
    ORDERED = not (os.path.isdir(inp) or os.path.isdir(outp))
    new = spec["new"]
    if is_mudata(inp):
        assert is_mudata(outp), f"{outp} is not MuData"
        same_mudata(read_mudata(inp), read_mudata(outp), spec.get("modality") or "rna", new)
    else:
        same_anndata(read(inp), read(outp), new)
    print("ok", outp)


if __name__ == "__main__":
    main()
