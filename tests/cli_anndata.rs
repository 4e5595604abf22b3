//! Stores written by the `instructcell` binary, read by Python anndata: an `.h5ad` and a zarr
//! store with layers, obsm, obsp, uns and raw come back with every original element equal and
//! the new columns added; generated stores load too. Skipped without `INSTRUCTCELL_PYTHON`.
#![cfg(feature = "cli")]

mod cli_support;

use std::process::Command;

use cli_support::*;

fn python() -> Option<std::ffi::OsString> {
    let p = std::env::var_os("INSTRUCTCELL_PYTHON");
    if p.is_none() {
        eprintln!("skipped: set INSTRUCTCELL_PYTHON to an interpreter with anndata");
    }
    p
}

fn py(python: &std::ffi::OsStr, script: &str, args: &[&std::path::Path]) {
    let o = Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "python failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

const MAKE: &str = r#"
import sys, numpy as np, anndata as ad, scipy.sparse as sp
a = ad.read_zarr(sys.argv[1])
a.layers["counts"] = a.X.copy()
a.obsm["X_umap"] = np.random.default_rng(0).normal(size=(a.n_obs, 2)).astype(np.float32)
a.obsp["connectivities"] = sp.random(a.n_obs, a.n_obs, density=0.02, format="csr", random_state=0)
a.varm["loadings"] = np.ones((a.n_vars, 3), dtype=np.float32)
a.uns["note"] = {"tool": "test", "values": np.arange(3)}
a.raw = a.copy()
a.write_h5ad(sys.argv[2])
a.write_zarr(sys.argv[3])
"#;

const CHECK: &str = r#"
import sys, numpy as np, anndata as ad, scipy.sparse as sp
read = lambda p: ad.read_h5ad(p) if p.endswith(".h5ad") else ad.read_zarr(p)
a, b = read(sys.argv[1]), read(sys.argv[2])
assert (a.X != b.X).nnz == 0
assert (a.layers["counts"] != b.layers["counts"]).nnz == 0
assert np.array_equal(a.obsm["X_umap"], b.obsm["X_umap"])
assert (a.obsp["connectivities"] != b.obsp["connectivities"]).nnz == 0
assert np.array_equal(a.varm["loadings"], b.varm["loadings"])
assert b.uns["note"]["tool"] == "test" and list(b.uns["note"]["values"]) == [0, 1, 2]
assert (a.raw.X != b.raw.X).nnz == 0 and list(a.raw.var_names) == list(b.raw.var_names)
assert list(a.var_names) == list(b.var_names) and a.var.equals(b.var)
for c in a.obs.columns:
    assert a.obs[c].equals(b.obs[c]), c
new = [c for c in b.obs.columns if c not in a.obs.columns]
assert new == ["ic", "ic_confidence", "ic_text", "ic_precision"], new
assert str(b.obs["ic"].dtype) == "category" and b.obs["ic"].notna().all()
assert b.obs["ic_confidence"].between(0, 1).all()
"#;

#[test]
fn written_stores_keep_every_element_for_anndata() {
    let Some(python) = python() else {
        return;
    };
    if skip_without_ort() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (h5, zarr) = (dir.path().join("rich.h5ad"), dir.path().join("rich.zarr"));
    py(&python, MAKE, &[&heldout(), &h5, &zarr]);
    for input in [&h5, &zarr] {
        let name = input
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace("rich", "out");
        let out = dir.path().join(name);
        let before = tree(input);
        ok(&run_os(&[
            "-q".as_ref(),
            "annotate".as_ref(),
            "-i".as_ref(),
            input.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
            "--key-added".as_ref(),
            "ic".as_ref(),
            "--mode".as_ref(),
            "scored".as_ref(),
        ]));
        assert_eq!(tree(input), before, "the input changed");
        py(&python, CHECK, &[input, &out]);
    }
    // --layer, --use-raw and --use-x read the same counts here: the same answers.
    let mut tables = Vec::new();
    for flag in [
        &["--use-x"][..],
        &["--layer", "counts"][..],
        &["--use-raw"][..],
    ] {
        let t = dir.path().join(format!("t{}.tsv", tables.len()));
        let mut a: Vec<&std::ffi::OsStr> = vec![
            "-q".as_ref(),
            "annotate".as_ref(),
            "-i".as_ref(),
            h5.as_os_str(),
            "--table".as_ref(),
            t.as_os_str(),
        ];
        a.extend(flag.iter().map(std::ffi::OsStr::new));
        ok(&run_os(&a));
        tables.push(std::fs::read_to_string(&t).unwrap());
    }
    assert!(tables.iter().all(|t| *t == tables[0]));
    let o = run_os(&[
        "annotate".as_ref(),
        "-i".as_ref(),
        h5.as_os_str(),
        "--layer".as_ref(),
        "nope".as_ref(),
    ]);
    fails(&o, 3, "layers/nope");
    // In place on the zarr copy: the same check against the untouched h5ad.
    ok(&run_os(&[
        "-q".as_ref(),
        "annotate".as_ref(),
        "-i".as_ref(),
        zarr.as_os_str(),
        "--in-place".as_ref(),
        "--key-added".as_ref(),
        "ic".as_ref(),
    ]));
    py(&python, CHECK, &[&h5, &zarr]);
    // Generated stores.
    for name in ["gen.h5ad", "gen.zarr"] {
        let out = dir.path().join(name);
        ok(&run_os(&[
            "-q".as_ref(),
            "generate".as_ref(),
            "--conditions".as_ref(),
            "cell_type=CD19+ B".as_ref(),
            "--n-per-condition".as_ref(),
            "3".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
        ]));
        py(
            &python,
            "import sys, anndata as ad\nr = ad.read_h5ad if sys.argv[1].endswith('.h5ad') else ad.read_zarr\na = r(sys.argv[1])\nassert a.shape == (3, 765), a.shape\nassert list(a.obs['cell_type']) == ['CD19+ B'] * 3\n",
            &[&out],
        );
    }
}
