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
