//! CSR arrays through the C API: `ic_input_from_csr` then `ic_annotate` on the tiny random
//! package with arrays built from the input (cell and gene counts, the stated number of stored
//! values, indptr, indices, values, answer mode). Every inconsistency must be a status, never a
//! crash: the input call must return exactly the status the arrays call for (IC_SHAPE for a
//! broken structure, IC_BAD_CELL for a value that is not a count, else IC_OK), a failed call
//! must leave NULL behind, and no call may end in IC_PANIC. Needs ONNX Runtime
//! (`ORT_DYLIB_PATH`).

use std::ffi::{c_char, CString};
use std::sync::OnceLock;

use instructcell::ffi::*;

struct Setup {
    model: *mut IcModel,
    genes: Vec<CString>,
}

// SAFETY: the model handle is documented as usable from several threads at once (IcModel is
// Send + Sync inside the library); `Setup` owns it, never frees it, and holds nothing else that
// is tied to a thread.
unsafe impl Send for Setup {}
// SAFETY: shared access only ever passes the handle to C API calls, which take `*const IcModel`
// and are thread-safe for models; the gene names are immutable after setup.
unsafe impl Sync for Setup {}

fn setup() -> &'static Setup {
    static S: OnceLock<Setup> = OnceLock::new();
    S.get_or_init(|| {
        let root = crate::common::root();
        let dir = root.join("tests/data/tiny-random");
        let path = CString::new(dir.to_str().unwrap()).unwrap();
        let opts = ic_model_options_new();
        assert!(!opts.is_null());
        let mut model = std::ptr::null_mut();
        // SAFETY: `opts` is a live options handle used by this thread only; `path` is
        // NUL-terminated; `model` is a writable out-pointer; `opts` is freed once, after the load.
        unsafe {
            assert_eq!(ic_model_options_set_threads(opts, 1), IcStatus::IcOk);
            let s = ic_model_load(path.as_ptr(), opts, &mut model);
            ic_model_options_free(opts);
            assert_eq!(s, IcStatus::IcOk, "the tiny package must load");
        }
        let genes = std::fs::read_to_string(dir.join("genes.txt"))
            .unwrap()
            .lines()
            .map(|g| CString::new(g).unwrap())
            .collect();
        Setup { model, genes }
    })
}

/// The status `ic_input_from_csr` owes these arrays (`nnz` is the stated length, never more
/// than the arrays hold).
fn expected_status(
    n_genes: usize,
    nnz: usize,
    indptr: &[u64],
    indices: &[u32],
    values: &[f32],
) -> IcStatus {
    let structure_ok = indptr[0] == 0
        && indptr.windows(2).all(|w| w[0] <= w[1])
        && *indptr.last().unwrap() as usize == nnz
        && indices[..nnz].iter().all(|&c| (c as usize) < n_genes);
    if !structure_ok {
        IcStatus::IcShape
    } else if values[..nnz].iter().any(|v| !v.is_finite() || *v < 0.0) {
        IcStatus::IcBadCell
    } else {
        IcStatus::IcOk
    }
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
    let len = *indptr.last().unwrap() as usize;
    let indices: Vec<u32> = (0..len)
        .map(|_| next() as u32 * 3 % (n_genes as u32 + 2))
        .collect();
    let values: Vec<f32> = (0..len)
        .map(|_| match next() {
            255 => f32::NAN,
            254 => -1.0,
            253 => f32::INFINITY,
            v => (v % 20) as f32,
        })
        .collect();
    // Sometimes a stated length shorter than the arrays (never longer: the library reads `nnz`
    // values, as a C caller promises).
    let nnz = match next() % 16 {
        0 => len.saturating_sub(1 + next() as usize % 3),
        _ => len,
    };
    let names: Vec<*const c_char> = s.genes[..n_genes].iter().map(|g| g.as_ptr()).collect();
    let labels = [c"CD19+ B".as_ptr(), c"CD56+ NK".as_ptr()];
    // 3 is not a mode: the task must refuse it.
    let mode: IcAnswerMode = match mode % 4 {
        0 => IC_CONSTRAINED,
        1 => IC_SCORED,
        2 => IC_FREE,
        _ => 3,
    };
    let want = expected_status(n_genes, nnz, &indptr, &indices, &values);
    let mut input = std::ptr::null_mut();
    // SAFETY: `indptr` holds `n_cells + 1` values, `indices` and `values` at least `nnz` each,
    // `names` `n_genes` NUL-terminated strings (alive in `s`); `input` is a writable
    // out-pointer.
    let status = unsafe {
        ic_input_from_csr(
            n_cells,
            n_genes,
            nnz,
            indptr.as_ptr(),
            indices.as_ptr(),
            values.as_ptr(),
            names.as_ptr(),
            &mut input,
        )
    };
    assert_eq!(status, want, "ic_input_from_csr");
    assert_eq!(input.is_null(), status != IcStatus::IcOk);
    if input.is_null() {
        return;
    }
    let mut out = std::ptr::null_mut();
    // SAFETY: `s.model` and `input` are live handles, `labels` holds two NUL-terminated
    // strings, `out` is a writable out-pointer; `out` and `input` are freed once each, after
    // their last use (freeing NULL is allowed).
    unsafe {
        assert_eq!(ic_input_num_cells(input), n_cells);
        let status = ic_annotate(
            s.model,
            input,
            labels.as_ptr(),
            labels.len(),
            mode,
            std::ptr::null(),
            std::ptr::null(),
            &mut out,
        );
        assert_ne!(status, IcStatus::IcPanic, "a panic reached the boundary");
        assert_eq!(out.is_null(), status != IcStatus::IcOk);
        if mode == 3 {
            assert_eq!(status, IcStatus::IcInvalidArgument);
        }
        if status == IcStatus::IcOk {
            assert_eq!(ic_predictions_len(out), n_cells);
        }
        ic_predictions_free(out);
        ic_input_free(input);
    }
}
