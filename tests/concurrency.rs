//! One loaded model shared by 8 threads running mixed tasks (constrained and scored
//! annotation, drug response, free instructions) on different stores (zarr v2 and v3): every
//! result equals the serial run's (fp32), nothing deadlocks, and the throughput of both is
//! printed (`--nocapture`), never asserted.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use instructcell::model::{Model, ModelOptions};
use instructcell::package::Precision;
use instructcell::pipeline::{self, Dataset, InputOptions, LabelRequest, Predictions};
use instructcell::tasks::{AnswerMode, Control, TaskOptions};

const LABELS: [&str; 4] = ["CD14+ Monocyte", "CD19+ B", "CD56+ NK", "Dendritic"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn model() -> Option<Model> {
    let dir = root().join("onnx/models/pbmc-small");
    let opts = ModelOptions::default()
        .with_threads(1)
        .with_precision(Precision::Fp32);
    match Model::load(&dir, &opts) {
        Ok(m) => Some(m),
        Err(instructcell::Error::OnnxRuntimeNotFound { .. })
            if std::env::var_os("INSTRUCTCELL_REQUIRE_ORT").is_none() =>
        {
            eprintln!("skipping: ONNX Runtime not installed");
            None
        }
        Err(e) => panic!("{e}"),
    }
}

/// The four tasks, each on its own store and its own cells.
#[derive(Clone, Copy, Debug)]
enum Job {
    Constrained,
    Scored,
    Drug,
    Instruct,
}

const JOBS: [Job; 4] = [Job::Constrained, Job::Scored, Job::Drug, Job::Instruct];

fn store(job: Job) -> PathBuf {
    let name = match job {
        Job::Constrained | Job::Drug => "pbmc68k_heldout.zarr",
        Job::Scored | Job::Instruct => "pbmc68k_heldout.v3.zarr",
    };
    root().join("examples/data").join(name)
}

fn run(model: &Model, job: Job, path: &Path) -> Predictions {
    let mut data = Dataset::open(path, &InputOptions::default()).unwrap();
    let rows = match job {
        Job::Instruct => 0..24,
        _ => 0..96,
    };
    let task = TaskOptions::default()
        .with_labels(LABELS)
        .with_batch_size(8)
        .with_rows(rows);
    let mut control = Control::new();
    match job {
        Job::Constrained => {
            let req = LabelRequest::new(task.with_mode(AnswerMode::Constrained));
            pipeline::annotate(model, &mut data, &req, &mut control)
        }
        Job::Scored => {
            let req = LabelRequest::new(task.with_mode(AnswerMode::Scored));
            pipeline::annotate(model, &mut data, &req, &mut control)
        }
        Job::Drug => {
            let req = LabelRequest::new(task.with_labels(Vec::<String>::new()));
            pipeline::drug_response(model, &mut data, "cisplatin", &req, &mut control)
        }
        Job::Instruct => {
            let req = LabelRequest::new(task.with_labels(Vec::<String>::new()));
            pipeline::instruct(
                model,
                &mut data,
                "Which cell type is this? {input}",
                &req,
                &mut control,
            )
        }
    }
    .unwrap()
}

fn cells(p: &Predictions) -> usize {
    p.predictions.len()
}

#[test]
fn eight_threads_share_one_model_and_agree_with_serial_runs() {
    let Some(model) = model() else { return };
    let model = Arc::new(model);
    let t = Instant::now();
    let serial: Vec<Predictions> = JOBS.iter().map(|&j| run(&model, j, &store(j))).collect();
    let serial_s = t.elapsed().as_secs_f64();
    let serial_cells: usize = serial.iter().map(cells).sum();

    let t = Instant::now();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let model = model.clone();
            let job = JOBS[i % JOBS.len()];
            std::thread::spawn(move || (i, run(&model, job, &store(job))))
        })
        .collect();
    let mut parallel_cells = 0;
    for h in handles {
        let (i, got) = h.join().expect("a thread panicked");
        parallel_cells += cells(&got);
        assert_eq!(
            got,
            serial[i % JOBS.len()],
            "thread {i} ({:?}) differs from the serial run",
            JOBS[i % JOBS.len()]
        );
    }
    let parallel_s = t.elapsed().as_secs_f64();
    eprintln!(
        "serial: {serial_cells} cells in {serial_s:.2} s ({:.1} cells/s); 8 threads: \
         {parallel_cells} cells in {parallel_s:.2} s ({:.1} cells/s)",
        serial_cells as f64 / serial_s,
        parallel_cells as f64 / parallel_s
    );
}
