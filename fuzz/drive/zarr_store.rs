//! Zarr metadata and chunks: one file of a bundled store (v2 or v3, chosen by the first byte;
//! the file by the second) replaced by the input's remaining bytes, then the store read in
//! full. The seed corpus holds every file of both stores as it is. zarrs panics on some
//! corrupt chunks; the crate contains those (`io::guard`) and so does this target, so a crash
//! here is a panic that escaped the crate, an abort or a memory error.

use std::path::PathBuf;
use std::sync::OnceLock;

struct Base {
    stores: Vec<(PathBuf, Vec<PathBuf>, Vec<Vec<u8>>)>,
}

fn base() -> &'static Base {
    static BASE: OnceLock<Base> = OnceLock::new();
    BASE.get_or_init(|| {
        let dir = crate::common::scratch("zarr");
        let stores = ["pbmc68k_heldout.zarr", "pbmc68k_heldout.v3.zarr"]
            .iter()
            .map(|name| {
                let work = dir.join(name);
                crate::common::copy_tree(
                    &crate::common::root().join("examples/data").join(name),
                    &work,
                );
                let files = crate::common::files(&work);
                let bytes = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
                (work, files, bytes)
            })
            .collect();
        Base { stores }
    })
}

/// One input.
pub fn run(data: &[u8]) {
    crate::common::contain_panics();
    let [which, file, payload @ ..] = data else {
        return;
    };
    let (work, files, originals) = &base().stores[*which as usize % 2];
    let i = *file as usize % files.len();
    std::fs::write(&files[i], payload).unwrap();
    let _ = crate::common::read_all(work);
    std::fs::write(&files[i], &originals[i]).unwrap();
}
