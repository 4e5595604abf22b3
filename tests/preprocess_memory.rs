//! In-memory row sources: sprs CSR matrices and dense ndarray arrays.

mod preprocess_support;

use instructcell::genes::{AlignOptions, GeneAlignment, MinOverlap};
use instructcell::memory::{DenseSource, SparseSource};
use instructcell::preprocess::{Batcher, PreprocessOptions};
use instructcell::{CsrRows, Error, RowSource};
use ndarray::Array2;
use preprocess_support::*;
use sprs::{CsMat, CsMatI, TriMat};

fn dense_counts(rng: &mut Rng, n: usize, g: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, g), |_| {
        if rng.below(3) == 0 {
            rng.count() as f64
        } else {
            0.0
        }
    })
}

fn to_csr(a: &Array2<f64>) -> CsMat<f64> {
    let mut t = TriMat::new(a.dim());
    for ((r, c), &v) in a.indexed_iter() {
        if v != 0.0 {
            t.add_triplet(r, c, v);
        }
    }
    t.to_csr()
}

fn read_all(src: &mut impl RowSource) -> CsrRows {
    let mut out = CsrRows::new(0);
    src.read_rows(0..src.n_rows(), &mut out).unwrap();
    out
}

#[test]
fn sparse_and_dense_sources_read_the_same_rows() {
    let mut rng = Rng(9);
    let a = dense_counts(&mut rng, 23, 17);
    let genes = names("G", 17);
    let csr = to_csr(&a);
    let mut sparse = SparseSource::new(csr.view(), genes.clone()).unwrap();
    let mut dense = DenseSource::new(a.view(), genes.clone()).unwrap();
    assert_eq!((sparse.n_rows(), sparse.n_cols()), (23, 17));
    assert_eq!(sparse.gene_names(), &genes[..]);
    let s = read_all(&mut sparse);
    assert_eq!(s, read_all(&mut dense));
    s.validate().unwrap();
    // A column-major (Fortran order) array reads the same.
    let f = a.t().as_standard_layout().t().to_owned();
    let mut fortran = DenseSource::new(f.view(), genes.clone()).unwrap();
    assert_eq!(read_all(&mut fortran), s);
    // Sub-ranges, including an empty one, and reuse of the block.
    let mut block = CsrRows::new(0);
    for range in [5..9, 0..1, 22..23, 7..7] {
        sparse.read_rows(range.clone(), &mut block).unwrap();
        let mut want = CsrRows::new(0);
        dense.read_rows(range.clone(), &mut want).unwrap();
        assert_eq!(block, want, "{range:?}");
        assert_eq!(block.n_rows(), range.len());
        for (i, r) in range.enumerate() {
            let (c, v) = block.row(i);
            let expect: Vec<(u32, f32)> = a
                .row(r)
                .iter()
                .enumerate()
                .filter(|(_, &v)| v != 0.0)
                .map(|(c, &v)| (c as u32, v as f32))
                .collect();
            let got: Vec<(u32, f32)> = c.iter().copied().zip(v.iter().copied()).collect();
            assert_eq!(got, expect);
        }
    }
}

#[test]
fn other_value_and_index_types() {
    let a = Array2::from_shape_vec((2, 3), vec![0i32, 4, 1, 2, 0, 0]).unwrap();
    let genes = names("G", 3);
    let mut dense = DenseSource::new(a.view(), genes.clone()).unwrap();
    let d = read_all(&mut dense);
    assert_eq!(d.indptr, vec![0, 2, 3]);
    assert_eq!(d.indices, vec![1, 2, 0]);
    assert_eq!(d.data, vec![4.0, 1.0, 2.0]);
    let m: CsMatI<u16, u32, u32> =
        CsMatI::new((2, 3), vec![0u32, 2, 3], vec![1u32, 2, 0], vec![4u16, 1, 2]);
    let mut sparse = SparseSource::new(m.view(), genes).unwrap();
    assert_eq!(read_all(&mut sparse), d);
}

#[test]
fn a_sliced_csr_view_reads_from_its_own_offset() {
    let mut rng = Rng(4);
    let a = dense_counts(&mut rng, 10, 6);
    let csr = to_csr(&a);
    let sliced = csr.slice_outer(3..8);
    let genes = names("G", 6);
    let mut s = SparseSource::new(sliced, genes.clone()).unwrap();
    let sub = a.slice(ndarray::s![3..8, ..]).to_owned();
    let mut d = DenseSource::new(sub.view(), genes).unwrap();
    assert_eq!(read_all(&mut s), read_all(&mut d));
}

#[test]
fn shape_and_layout_errors() {
    let a = Array2::<f32>::zeros((3, 4));
    assert!(matches!(
        DenseSource::new(a.view(), names("G", 3)),
        Err(Error::Shape(_))
    ));
    let csr = to_csr(&Array2::<f64>::eye(4));
    assert!(matches!(
        SparseSource::new(csr.view(), names("G", 5)),
        Err(Error::Shape(_))
    ));
    let csc = csr.to_csc();
    assert!(matches!(
        SparseSource::new(csc.view(), names("G", 4)),
        Err(Error::InvalidArgument(_))
    ));
    let mut s = SparseSource::new(csr.view(), names("G", 4)).unwrap();
    let mut out = CsrRows::new(0);
    assert!(matches!(s.read_rows(2..5, &mut out), Err(Error::Shape(_))));
    let mut d = DenseSource::new(a.view(), names("G", 4)).unwrap();
    assert!(matches!(d.read_rows(0..4, &mut out), Err(Error::Shape(_))));
}

#[test]
fn a_dense_nan_reaches_the_core() {
    let mut a = Array2::<f32>::ones((2, 3));
    a[[1, 2]] = f32::NAN;
    let genes = names("G", 3);
    let src = DenseSource::new(a.view(), genes.clone()).unwrap();
    let al = GeneAlignment::new(&genes, &genes, &AlignOptions::default()).unwrap();
    let mut b = Batcher::new(src, al, PreprocessOptions::default()).unwrap();
    assert!(matches!(
        b.next_batch(),
        Some(Err(Error::BadCell { row: 1, .. }))
    ));
}

#[test]
fn sparse_source_through_the_batcher_matches_the_reference() {
    let mut rng = Rng(12);
    let a = dense_counts(&mut rng, 40, 30);
    let data = names("G", 30);
    let vocab: Vec<String> = (0..25).rev().map(|i| format!("G{}", i * 2)).collect();
    let csr = to_csr(&a);
    let al = GeneAlignment::new(
        &data,
        &vocab,
        &AlignOptions::default().with_min_overlap(MinOverlap::Count(1)),
    )
    .unwrap();
    let cols = reference_columns(
        &data,
        &vocab,
        instructcell::genes::GeneMatching::Exact,
        instructcell::genes::DatasetDuplicates::KeepLast,
        instructcell::genes::VocabDuplicates::AllCopies,
    );
    let o = PreprocessOptions::default()
        .with_batch_size(16)
        .with_bad_cells(instructcell::preprocess::BadCellPolicy::Skip);
    let src = SparseSource::new(csr.view(), data.clone()).unwrap();
    let mut b = Batcher::new(src, al, o.clone()).unwrap();
    let mut n = 0;
    b.for_each_batch(|batch| {
        for (i, &r) in batch.rows().iter().enumerate() {
            let row: Row = a
                .row(r)
                .iter()
                .enumerate()
                .filter(|(_, &v)| v != 0.0)
                .map(|(c, &v)| (c as u32, v as f32))
                .unzip();
            let want = reference_row(&row, 30, &cols, &o).unwrap();
            assert_row(&batch, i, &want, "sparse source");
            n += 1;
        }
        n += batch.issues().len();
        Ok(())
    })
    .unwrap();
    assert_eq!(n, 40);
}

#[test]
fn a_borrowed_or_boxed_source_streams_and_stays_usable() {
    let a = Array2::from_shape_vec((3, 2), vec![1.0f32, 2.0, 0.0, 5.0, 3.0, 0.0]).unwrap();
    let genes = names("G", 2);
    let mut src = DenseSource::new(a.view(), genes.clone()).unwrap();
    let al = GeneAlignment::for_source(&src, &genes, &AlignOptions::default()).unwrap();
    assert_eq!(al.table(), &[0, 1]);
    let mut n = 0;
    Batcher::new(&mut src, al.clone(), PreprocessOptions::default())
        .unwrap()
        .for_each_batch(|b| {
            n += b.n_cells();
            Ok(())
        })
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(src.n_rows(), 3);
    let boxed: Box<dyn RowSource + Send + '_> = Box::new(src);
    let mut b = Batcher::new(boxed, al, PreprocessOptions::default()).unwrap();
    b.for_each_batch_prefetch(|batch| {
        assert_eq!(batch.shape(), [3, 2]);
        Ok(())
    })
    .unwrap();
}
