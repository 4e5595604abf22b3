//! `merge`: shard tables into the store.

use instructcell::pipeline::{merge_tables, LabelOutput};
use instructcell::AnnDataStore;
use tracing::info;

use crate::cli::MergeArgs;
use crate::exit::{AtStage, CmdResult, Failure, Stage};
use crate::labels_cmd::{check_outputs, print_counts, write_outputs};
use crate::signals::Signals;

/// Merges the tables and writes what one unsharded run would have written.
pub fn run(args: &MergeArgs, quiet: bool, signals: &Signals) -> CmdResult {
    check_outputs(&args.output)?;
    let store = AnnDataStore::open(&args.input).at(Stage::Run)?;
    let obs_names = store.obs_names().at(Stage::Run)?;
    let predictions = merge_tables(&obs_names, &args.tables).at(Stage::Run)?;
    info!(
        "merged {} tables: {} cells",
        args.tables.len(),
        predictions.predictions.len()
    );
    let mut post = LabelOutput::default().with_key_added(args.output.key_added.clone());
    if let Some(p) = args.post.p_thres {
        if !(0.0..=1.0).contains(&p) {
            return Err(Failure::usage(format!("--p-thres {p} is not within 0..1")));
        }
        post = post.with_p_thres(p);
    }
    if args.post.majority_voting {
        let col = args.post.over_clustering.as_deref().unwrap_or_default();
        let clusters = store.obs_column(col).at(Stage::Run)?.to_strings();
        post = post.with_majority_voting(clusters);
    }
    let columns = predictions.columns(&post).at(Stage::Run)?;
    write_outputs(
        &args.input,
        &predictions,
        &columns,
        &args.output,
        &post,
        signals,
    )?;
    if !quiet {
        print_counts(&predictions, &post)?;
    }
    Ok(())
}
