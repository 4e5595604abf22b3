//! CSR arrays through the C API: `ic_annotate_csr` on the tiny random package with arrays
//! built from the input (cell and gene counts, indptr, indices, values, answer mode); every
//! inconsistency must be a status, never a crash. Needs ONNX Runtime (`ORT_DYLIB_PATH`).

use std::ffi::{c_char, CString};
use std::sync::OnceLock;

use instructcell::ffi::*;

struct Setup {
    model: *mut IcModel,
    genes: Vec<CString>,
}

// SAFETY: the model handle is thread-safe (see ic_model_load) and never freed.
unsafe impl Send for Setup {}
// SAFETY: as for Send: every use of the handle goes through the thread-safe C API.
unsafe impl Sync for Setup {}

fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let root = crate::common::root();
        let dir = root.join("tests/data/tiny-random");
        let path = CString::new(dir.to_str().unwrap()).unwrap();
        let mut model = std::ptr::null_mut();
        // SAFETY: valid NUL-terminated path and out-pointer.
        let s = unsafe { ic_model_load(path.as_ptr(), std::ptr::null(), 1, &mut model) };
        assert_eq!(s, IcStatus::IcOk, "the tiny package must load");
        let genes = std::fs::read_to_string(dir.join("genes.txt"))
            .unwrap()
            .lines()
            .map(|g| CString::new(g).unwrap())
            .collect();
        Setup { model, genes }
    })
}

/// One input.
pub fn run(data: &[u8]) {
    let s = setup();
    let [a, b, mode, rest @ ..] = data else {
        return;
    };
    let n_cells = (*a % 6) as usize;
    let n_genes = (s.genes.len() / 2 + *b as usize).min(s.genes.len());
    let mut bytes = rest.iter().copied();
    let mut next = || bytes.next().unwrap_or(0);
    let mut indptr = vec![0u64];
    for _ in 0..n_cells {
        let last = *indptr.last().unwrap();
        indptr.push(last + (next() % 9) as u64);
    }
    if next() % 16 == 0 {
        indptr[n_cells / 2] = next() as u64; // sometimes inconsistent
    }
    let nnz = *indptr.last().unwrap() as usize;
    let indices: Vec<u32> = (0..nnz)
        .map(|_| next() as u32 * 3 % (n_genes as u32 + 2))
        .collect();
    let values: Vec<f32> = (0..nnz)
        .map(|_| match next() {
            255 => f32::NAN,
            254 => -1.0,
            253 => f32::INFINITY,
            v => (v % 20) as f32,
        })
        .collect();
    let names: Vec<*const c_char> = s.genes[..n_genes].iter().map(|g| g.as_ptr()).collect();
    let labels = [c"CD19+ B".as_ptr(), c"CD56+ NK".as_ptr()];
    let mode = match mode % 3 {
        0 => IcAnswerMode::IcConstrained,
        1 => IcAnswerMode::IcScored,
        _ => IcAnswerMode::IcFree,
    };
    let mut out = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the lengths passed; names and labels are
    // NUL-terminated; `out` is valid for writes.
    unsafe {
        let _ = ic_annotate_csr(
            s.model,
            n_cells,
            n_genes,
            indptr.as_ptr(),
            indices.as_ptr(),
            values.as_ptr(),
            names.as_ptr(),
            labels.as_ptr(),
            labels.len(),
            mode,
            std::ptr::null(),
            std::ptr::null(),
            &mut out,
        );
        ic_predictions_free(out);
    }
}
