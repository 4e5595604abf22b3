//! `--shard I/N` + `merge` give exactly what one unsharded run gives, and merge refuses
//! incomplete, overlapping or foreign tables.
#![cfg(feature = "cli")]

mod cli_support;

use std::path::{Path, PathBuf};

use cli_support::*;

fn annotate(args: &[&std::ffi::OsStr]) {
    let mut a: Vec<&std::ffi::OsStr> = vec![
        "-q".as_ref(),
        "annotate".as_ref(),
        "-i".as_ref(),
        heldout().into_os_string().leak(),
    ];
    a.extend_from_slice(args);
    ok(&run_os(&a));
}

fn shards(dir: &Path, n: usize, extra: &[&str]) -> Vec<PathBuf> {
    (1..=n)
        .map(|i| {
            let t = dir.join(format!("part{i}.tsv"));
            let spec = format!("{i}/{n}");
            let mut a: Vec<&std::ffi::OsStr> = vec![
                "--shard".as_ref(),
                spec.as_ref(),
                "--table".as_ref(),
                t.as_os_str(),
            ];
            a.extend(extra.iter().map(std::ffi::OsStr::new));
            annotate(&a);
            t
        })
        .collect()
}

fn merge(
    dir: &Path,
    tables: &[PathBuf],
    out: &str,
    extra: &[&str],
) -> (std::process::Output, PathBuf) {
    let out = dir.join(out);
    let mut a: Vec<&std::ffi::OsStr> = vec![
        "merge".as_ref(),
        "-i".as_ref(),
        heldout().into_os_string().leak(),
        "--output".as_ref(),
        out.as_os_str(),
        "--tables".as_ref(),
    ];
    a.extend(tables.iter().map(|t| t.as_os_str()));
    a.extend(extra.iter().map(std::ffi::OsStr::new));
    (run_os(&a), out)
}

#[test]
fn sharded_runs_merge_to_the_unsharded_store_bit_for_bit() {
    if skip_without_ort() {
        return;
    }
    for (precision, mode) in [
        ("fp32", "scored"),
        ("fp32", "constrained"),
        ("int8", "constrained"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let extra = [
            "--precision",
            precision,
            "--mode",
            mode,
            "--p-thres",
            "0.9",
            "--batch-size",
            "16",
        ];
        let one = d.join("one.zarr");
        let one_table = d.join("one.tsv");
        let mut a: Vec<&std::ffi::OsStr> = vec![
            "--output".as_ref(),
            one.as_os_str(),
            "--table".as_ref(),
            one_table.as_os_str(),
        ];
        a.extend(extra.iter().map(std::ffi::OsStr::new));
        annotate(&a);
        // 5 parts of 178 cells in units of 16: 48, 32, 32, 32, 34 cells.
        let shard_extra = [
            "--precision",
            precision,
            "--mode",
            mode,
            "--batch-size",
            "16",
        ];
        let tables = shards(d, 5, &shard_extra);
        let sizes: Vec<usize> = tables
            .iter()
            .map(|t| std::fs::read_to_string(t).unwrap().lines().count() - 1)
            .collect();
        assert_eq!(sizes.iter().sum::<usize>(), 178);
        assert!(sizes.iter().all(|&s| s > 0), "{sizes:?}");
        let mut reversed = tables.clone();
        reversed.reverse();
        let (o, merged) = merge(d, &reversed, "merged.zarr", &["--p-thres", "0.9"]);
        ok(&o);
        assert_eq!(
            tree(&merged),
            tree(&one),
            "{precision} {mode}: merged store differs"
        );
        // The merged table equals the unsharded one (same rows, same numbers).
        let a = instructcell::pipeline::read_table(&one_table).unwrap();
        let mut b = Vec::new();
        for t in &tables {
            b.extend(instructcell::pipeline::read_table(t).unwrap().predictions);
        }
        assert_eq!(a.predictions, b, "{precision} {mode}");
    }
}

#[test]
fn merge_refuses_missing_duplicate_and_foreign_tables() {
    if skip_without_ort() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tables = shards(d, 3, &[]);
    let (o, out) = merge(d, &tables[..2], "a.zarr", &[]);
    fails(&o, 2, "a shard is missing");
    assert!(!out.exists());
    let dup = vec![
        tables[0].clone(),
        tables[1].clone(),
        tables[2].clone(),
        tables[1].clone(),
    ];
    let (o, out) = merge(d, &dup, "b.zarr", &[]);
    fails(&o, 2, "is in both");
    assert!(!out.exists());
    // A table whose cell names are not the store's.
    let text = std::fs::read_to_string(&tables[0]).unwrap();
    let forged = d.join("forged.tsv");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[1] = lines[1].replacen('-', "X", 1);
    std::fs::write(&forged, lines.join("\n") + "\n").unwrap();
    let (o, out) = merge(
        d,
        &[forged, tables[1].clone(), tables[2].clone()],
        "c.zarr",
        &[],
    );
    fails(&o, 2, "another dataset");
    assert!(!out.exists());
    // A shard that does not exist, and a shard without a table.
    let o = run_os(&[
        "annotate".as_ref(),
        "-i".as_ref(),
        heldout().as_os_str(),
        "--shard".as_ref(),
        "4/3".as_ref(),
        "--table".as_ref(),
        d.join("x.tsv").as_os_str(),
    ]);
    fails(&o, 2, "shard 4/3");
    let o = run_os(&[
        "annotate".as_ref(),
        "-i".as_ref(),
        heldout().as_os_str(),
        "--shard".as_ref(),
        "1/3".as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2));
}
