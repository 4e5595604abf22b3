//! The first model loaded in a process sizes ONNX Runtime's shared thread pool; models loaded
//! later with other thread settings get pools of their own, and both give the same answers.

use instructcell::generation::DecodingOptions;
use instructcell::model::{CellOptions, Model, ModelOptions, Prompt};
use instructcell::prompt::{Metadata, Template};
use instructcell::runtime::{runtime, SessionOptions, SharedPool};
use instructcell::Error;
use std::path::PathBuf;

fn load(opts: ModelOptions) -> Option<Model> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny-random");
    match Model::load(dir, &opts) {
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

fn answers(model: &Model) -> Vec<Vec<u32>> {
    let g = model.dims().num_genes;
    let cells: Vec<Vec<f32>> = (0..3)
        .map(|i| (0..g).map(|j| ((i * 7 + j) % 5) as f32 * 0.4).collect())
        .collect();
    let template = Template::parse("What is the cell type of {input}?").unwrap();
    let text = model
        .formatter()
        .format(&template, &Metadata::new(), None, true)
        .unwrap();
    let prompts: Vec<Prompt<'_>> = cells
        .iter()
        .enumerate()
        .map(|(i, c)| Prompt {
            text: &text,
            expression: Some(c),
            id: i as u64,
        })
        .collect();
    let opts = DecodingOptions::default().with_max_new_tokens(8);
    model
        .generate(&prompts, &opts, &CellOptions::default(), None)
        .unwrap()
        .into_iter()
        .map(|a| a.tokens)
        .collect()
}

#[test]
fn the_first_model_sizes_the_shared_pool_and_others_get_their_own() {
    // One test in this binary: nothing else creates the runtime first.
    let Some(shared) = load(ModelOptions::default().with_threads(2)) else {
        return;
    };
    let pool = runtime().unwrap().shared_pool();
    assert_eq!(
        pool,
        Some(SharedPool {
            threads: 2,
            spinning: true
        })
    );
    let own = load(ModelOptions::default().with_threads(1)).unwrap();
    let quiet = load(
        ModelOptions::default().with_threads(2).with_session(
            SessionOptions::default()
                .with_threads(2)
                .with_spinning(false),
        ),
    );
    let want = answers(&shared);
    assert_eq!(answers(&own), want);
    if let Some(quiet) = quiet {
        assert_eq!(answers(&quiet), want);
    }
}
