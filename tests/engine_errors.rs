//! The engine's refusals and guarantees on the tiny package: bad prompts, bad cells, bad options,
//! thread safety, reproducible sampling across thread counts.

use instructcell::generation::{Decoding, DecodingOptions, Sampling};
use instructcell::model::{CellOptions, Model, ModelOptions, Prompt};
use instructcell::prompt::{Metadata, Template};
use instructcell::Error;
use std::path::PathBuf;

fn package() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny-random")
}

fn load(threads: usize) -> Option<Model> {
    match Model::load(package(), &ModelOptions::default().with_threads(threads)) {
        Ok(m) => Some(m),
        Err(Error::OnnxRuntimeNotFound { .. })
            if std::env::var_os("INSTRUCTCELL_REQUIRE_ORT").is_none() =>
        {
            eprintln!("skipping: ONNX Runtime not installed");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn model_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Model>();
}

#[test]
fn prompt_and_cell_mismatches_are_typed_errors() {
    let Some(m) = load(1) else { return };
    let g = m.dims().num_genes;
    let expr = vec![0.5f32; g];
    let opts = DecodingOptions::default().with_max_new_tokens(4);
    let cell = CellOptions::default();
    let wrap = |t: &str| format!("User:\n{t}\n\nAssistant:\n");

    // A cell but no placeholder in the text.
    let text = wrap("No placeholder here.");
    let p = [Prompt {
        text: &text,
        expression: Some(&expr),
        id: 0,
    }];
    assert!(matches!(
        m.generate(&p, &opts, &cell, None),
        Err(Error::Prompt(_))
    ));

    // A placeholder but no cell.
    let text = wrap("Cell <CELL><CELL0></CELL>.");
    let p = [Prompt {
        text: &text,
        expression: None,
        id: 0,
    }];
    assert!(matches!(
        m.generate(&p, &opts, &cell, None),
        Err(Error::Prompt(_))
    ));

    // Two placeholders for one cell.
    let text = wrap("<CELL><CELL0></CELL> and <CELL><CELL0></CELL>");
    let p = [Prompt {
        text: &text,
        expression: Some(&expr),
        id: 0,
    }];
    assert!(matches!(
        m.generate(&p, &opts, &cell, None),
        Err(Error::Prompt(_))
    ));

    // An expression vector of the wrong length.
    let text = wrap("Cell <CELL><CELL0></CELL>.");
    let short = vec![0.5f32; g - 1];
    let p = [Prompt {
        text: &text,
        expression: Some(&short),
        id: 0,
    }];
    assert!(matches!(
        m.generate(&p, &opts, &cell, None),
        Err(Error::Shape(_))
    ));

    // Bad options.
    let p = [Prompt {
        text: &text,
        expression: Some(&expr),
        id: 0,
    }];
    let zero = DecodingOptions::default().with_max_new_tokens(0);
    assert!(matches!(
        m.generate(&p, &zero, &cell, None),
        Err(Error::InvalidArgument(_))
    ));
    let hot = DecodingOptions::default()
        .with_decoding(Decoding::Sample(Sampling::default().with_temperature(0.0)));
    assert!(matches!(
        m.generate(&p, &hot, &cell, None),
        Err(Error::InvalidArgument(_))
    ));

    // Nothing to do is not an error.
    assert!(m.generate(&[], &opts, &cell, None).unwrap().is_empty());
}

#[test]
fn generator_inputs_are_checked() {
    let Some(m) = load(1) else { return };
    let d = m.dims();
    let cond = vec![vec![0f32; d.d_model]];
    let z = vec![0f32; d.n_latent];
    assert!(m.generator_params(&cond, &z, &[7.0]).is_ok());
    assert!(matches!(
        m.generator_params(&cond, &z[1..], &[7.0]),
        Err(Error::Shape(_))
    ));
    assert!(matches!(
        m.generator_params(&[vec![0f32; 3]], &z, &[7.0]),
        Err(Error::Shape(_))
    ));
    let bad_prior = CellOptions::default().with_prior_batch(5);
    assert!(matches!(
        m.cells_from_conditions(&cond, &[0], &bad_prior),
        Err(Error::InvalidArgument(_))
    ));
    let nan_lib = CellOptions::default().with_log_library(Some(f32::NAN));
    assert!(matches!(
        m.cells_from_conditions(&cond, &[0], &nan_lib),
        Err(Error::InvalidArgument(_))
    ));
    let fixed = CellOptions::default().with_log_library(Some(6.0));
    let cells = m.cells_from_conditions(&cond, &[0], &fixed).unwrap();
    assert_eq!(cells[0].log_library, 6.0);
}

#[test]
fn formatter_follows_the_package_conventions() {
    let Some(m) = load(1) else { return };
    let f = m.formatter();
    let t = Template::parse("Type of {input} in {tissue}? {choices}").unwrap();
    let labels = vec!["B cell".to_string(), "T cell".to_string()];
    let meta = Metadata::new()
        .with("tissue", "blood")
        .with("unused_key", "ignored");
    let text = f.format(&t, &meta, Some(&labels), true).unwrap();
    assert_eq!(
        text,
        "User:\nType of <CELL><CELL0></CELL> in blood? (B cell, T cell)\n\nAssistant:\n"
    );
    assert!(
        f.format(&t, &meta, Some(&labels), false).is_err(),
        "placeholder without a cell"
    );
    assert!(
        f.format(&t, &meta, Some(&[]), true).is_err(),
        "empty label set"
    );
    assert!(f.format(&t, &meta, None, true).is_err(), "no label set");
    assert!(
        f.format(&t, &Metadata::new(), Some(&labels), true).is_err(),
        "missing field"
    );
    let no_input = Template::parse("Describe a {tissue} cell.").unwrap();
    assert!(
        f.format(&no_input, &meta, None, true).is_err(),
        "cell without placeholder"
    );
    // A label the model never saw is just text.
    let novel = vec!["Zebra cell".to_string()];
    let text = f.format(&t, &meta, Some(&novel), true).unwrap();
    let p = [Prompt {
        text: &text,
        expression: Some(&vec![0.1; m.dims().num_genes]),
        id: 0,
    }];
    let out = m
        .generate(
            &p,
            &DecodingOptions::default().with_max_new_tokens(3),
            &CellOptions::default(),
            None,
        )
        .unwrap();
    assert_eq!(out[0].tokens.len(), out[0].logprobs.len());
}

#[test]
fn seeded_sampling_is_identical_across_thread_counts_and_runs() {
    let (Some(one), Some(two)) = (load(1), load(2)) else {
        return;
    };
    let g = one.dims().num_genes;
    let exprs: Vec<Vec<f32>> = (0..6)
        .map(|i| {
            (0..g)
                .map(|j| ((i * 31 + j * 7) % 11) as f32 * 0.2)
                .collect()
        })
        .collect();
    let text = "User:\nWhat is <CELL><CELL0></CELL>?\n\nAssistant:\n";
    let prompts: Vec<Prompt<'_>> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| Prompt {
            text,
            expression: Some(e),
            id: i as u64,
        })
        .collect();
    let opts = DecodingOptions::default()
        .with_max_new_tokens(12)
        .with_decoding(Decoding::Sample(Sampling::default().with_seed(9)));
    let cell = CellOptions::default();
    let a = one.generate(&prompts, &opts, &cell, None).unwrap();
    let b = two.generate(&prompts, &opts, &cell, None).unwrap();
    let c = two.generate(&prompts[2..4], &opts, &cell, None).unwrap();
    assert_eq!(
        a.iter().map(|x| &x.tokens).collect::<Vec<_>>(),
        b.iter().map(|x| &x.tokens).collect::<Vec<_>>()
    );
    assert_eq!(c[0].tokens, a[2].tokens);
    assert_eq!(c[1].tokens, a[3].tokens);
    assert_eq!(a, one.generate(&prompts, &opts, &cell, None).unwrap());
}

#[test]
fn concurrent_calls_are_safe_and_agree() {
    let Some(m) = load(1) else { return };
    let m = std::sync::Arc::new(m);
    let text = "User:\nName a blood cell.\n\nAssistant:\n";
    let opts = DecodingOptions::default().with_max_new_tokens(8);
    let solo = m
        .generate(
            &[Prompt {
                text,
                expression: None,
                id: 0,
            }],
            &opts,
            &CellOptions::default(),
            None,
        )
        .unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let m = m.clone();
            let opts = opts.clone();
            std::thread::spawn(move || {
                m.generate(
                    &[Prompt {
                        text,
                        expression: None,
                        id: 0,
                    }],
                    &opts,
                    &CellOptions::default(),
                    None,
                )
                .unwrap()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), solo);
    }
}
