//! The data crates of the `bundled-model` feature carry exactly the bundled package
//! (`onnx/models/pbmc-small`), byte for byte, and what `bundled::write_to` writes loads.
#![cfg(feature = "bundled-model")]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use instructcell::package::{ModelPackage, Precision};

fn package_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("onnx/models/pbmc-small")
}

fn files_under(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(root, &path, out);
        } else {
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.insert(rel, std::fs::read(&path).unwrap());
        }
    }
}

#[test]
fn the_data_crates_carry_every_file_of_the_bundled_package_unchanged() {
    let mut on_disk = BTreeMap::new();
    files_under(&package_dir(), &package_dir(), &mut on_disk);
    let bundled: BTreeMap<String, Vec<u8>> = instructcell::bundled::files()
        .map(|(rel, bytes)| (rel.to_string(), bytes.to_vec()))
        .collect();
    let names = |m: &BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&bundled),
        names(&on_disk),
        "run `python3 models/sync.py`"
    );
    for (rel, bytes) in &on_disk {
        assert!(
            bundled[rel] == *bytes,
            "{rel} differs: run `python3 models/sync.py`"
        );
    }
}

#[test]
fn the_written_package_opens_and_verifies_at_every_precision() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("pbmc-small");
    instructcell::bundled::write_to(&dir).unwrap();
    let package = ModelPackage::open(&dir).unwrap();
    for precision in [Precision::Fp32, Precision::Int8] {
        package.verify(precision).unwrap();
    }
    // A second call finds the complete copy and leaves it as it is.
    let before = std::fs::metadata(dir.join("manifest.json"))
        .unwrap()
        .modified()
        .unwrap();
    instructcell::bundled::write_to(&dir).unwrap();
    let after = std::fs::metadata(dir.join("manifest.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after);
}
