//! Results are bit-for-bit the same whatever the thread count or pool.

mod preprocess_support;

use instructcell::genes::{AlignOptions, GeneAlignment, MinOverlap};
use instructcell::preprocess::{Batcher, PreprocessOptions};
use preprocess_support::*;

fn run(rows: &[Row], data: &[String], al: &GeneAlignment, o: PreprocessOptions) -> Vec<f32> {
    let source = RowsSource {
        rows: rows.to_vec(),
        n_cols: data.len(),
        genes: data.to_vec(),
    };
    let mut b = Batcher::new(source, al.clone(), o).unwrap();
    let mut out = Vec::new();
    b.for_each_batch(|batch| {
        out.extend_from_slice(batch.as_slice());
        Ok(())
    })
    .unwrap();
    out
}

#[test]
fn same_bits_for_every_thread_count() {
    let mut rng = Rng(5);
    let vocab = names("G", 2000);
    let data: Vec<String> = (0..3000)
        .map(|i| {
            if i % 3 == 0 {
                format!("X{i}")
            } else {
                format!("G{}", rng.below(2000))
            }
        })
        .collect();
    let al = GeneAlignment::new(
        &data,
        &vocab,
        &AlignOptions::default().with_min_overlap(MinOverlap::Count(1)),
    )
    .unwrap();
    let mut rows = random_rows(&mut rng, 300, data.len(), 200);
    // Every cell gets a count in a kept vocabulary gene: no empty cells.
    let kept = (0..data.len()).find(|&c| al.position(c).is_some()).unwrap() as u32;
    for row in &mut rows {
        row.0.push(kept);
        row.1.push(1.0);
        let mut pairs: Vec<_> = row.0.iter().copied().zip(row.1.iter().copied()).collect();
        pairs.sort_by_key(|p| p.0);
        pairs.dedup_by_key(|p| p.0);
        *row = pairs.into_iter().unzip();
    }
    let o = PreprocessOptions::default().with_batch_size(37);
    let serial = run(&rows, &data, &al, o.clone().with_threads(Some(1)));
    assert_eq!(serial.len(), 300 * 2000);
    for t in [2, 3, 4, 8] {
        let got = run(&rows, &data, &al, o.clone().with_threads(Some(t)));
        assert!(got == serial, "{t} threads differ");
    }
    // The caller's own pool, and the global pool.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let got = pool.install(|| run(&rows, &data, &al, o.clone()));
    assert!(got == serial, "caller's pool differs");
    assert!(run(&rows, &data, &al, o) == serial, "global pool differs");
}

#[test]
fn prefetching_gives_the_same_batches_in_order() {
    let mut rng = Rng(6);
    let vocab = names("G", 500);
    let data = names("G", 800);
    let al = GeneAlignment::new(&data, &vocab, &AlignOptions::default()).unwrap();
    let mut rows = random_rows(&mut rng, 203, data.len(), 60);
    for row in &mut rows {
        if !row.0.iter().any(|&c| c < 500) {
            *row = (vec![0], vec![1.0]);
        }
    }
    // A bad cell at row 150: everything before it is delivered, then its error.
    rows[150] = (vec![0], vec![-1.0]);
    let source = || RowsSource {
        rows: rows.clone(),
        n_cols: data.len(),
        genes: data.clone(),
    };
    for threads in [None, Some(1), Some(2), Some(3)] {
        let o = PreprocessOptions::default()
            .with_batch_size(16)
            .with_threads(threads);
        let collect = |prefetch: bool| {
            let mut b = Batcher::new(source(), al.clone(), o.clone()).unwrap();
            let mut out = Vec::new();
            let mut starts = Vec::new();
            let f = |batch: instructcell::Batch<'_>| {
                starts.push(batch.source_rows().start);
                out.extend_from_slice(batch.as_slice());
                Ok(())
            };
            let err = if prefetch {
                b.for_each_batch_prefetch(f)
            } else {
                b.for_each_batch(f)
            }
            .unwrap_err();
            assert!(
                matches!(err, instructcell::Error::BadCell { row: 150, .. }),
                "{err}"
            );
            assert!(b.next_batch().is_none());
            (out, starts)
        };
        let (want, want_starts) = collect(false);
        let (got, got_starts) = collect(true);
        assert_eq!(want_starts, (0..144).step_by(16).collect::<Vec<_>>());
        assert_eq!(got_starts, want_starts, "{threads:?}");
        assert!(got == want, "{threads:?}");
    }
}

#[test]
fn prefetching_reports_a_failing_read_and_a_failing_callback() {
    struct Failing(RowsSource);
    impl instructcell::RowSource for Failing {
        fn n_rows(&self) -> usize {
            self.0.rows.len()
        }
        fn n_cols(&self) -> usize {
            self.0.n_cols
        }
        fn gene_names(&self) -> &[String] {
            &self.0.genes
        }
        fn read_rows(
            &mut self,
            rows: std::ops::Range<usize>,
            out: &mut instructcell::CsrRows,
        ) -> instructcell::Result<()> {
            if rows.start >= 20 {
                return Err(instructcell::Error::InvalidArgument("disk on fire".into()));
            }
            self.0.read_rows(rows, out)
        }
    }
    let genes = names("G", 3);
    let al = GeneAlignment::new(&genes, &genes, &AlignOptions::default()).unwrap();
    let src = Failing(RowsSource {
        rows: vec![(vec![0], vec![1.0]); 40],
        n_cols: 3,
        genes: genes.clone(),
    });
    let o = PreprocessOptions::default()
        .with_batch_size(10)
        .with_threads(Some(2));
    let mut b = Batcher::new(src, al.clone(), o.clone()).unwrap();
    let mut seen = 0;
    let err = b
        .for_each_batch_prefetch(|batch| {
            seen += batch.n_cells();
            Ok(())
        })
        .unwrap_err();
    assert!(err.to_string().contains("disk on fire"));
    assert_eq!(seen, 20);

    let src = RowsSource {
        rows: vec![(vec![0], vec![1.0]); 40],
        n_cols: 3,
        genes,
    };
    let mut b = Batcher::new(src, al, o).unwrap();
    let mut calls = 0;
    let err = b
        .for_each_batch_prefetch(|_| {
            calls += 1;
            if calls == 2 {
                Err(instructcell::Error::InvalidArgument("consumer stop".into()))
            } else {
                Ok(())
            }
        })
        .unwrap_err();
    assert!(err.to_string().contains("consumer stop"));
    assert_eq!(calls, 2);
    assert!(b.next_batch().is_none());
}
