//! `merge`: shard tables into the store.

use instructcell::io::StoreOptions;
use instructcell::pipeline::merge_tables;
use instructcell::AnnDataStore;
use tracing::info;

use crate::cli::MergeArgs;
use crate::exit::{AtStage, CmdResult, Stage};
use crate::labels_cmd::{check_outputs, check_writable, label_output, print_counts, write_outputs};
use crate::signals::Signals;

/// Merges the tables and writes what one unsharded run would have written.
pub fn run(args: &MergeArgs, quiet: bool, signals: &Signals) -> CmdResult {
    check_outputs(&args.output)?;
    let mut opts = StoreOptions::default();
    if let Some(m) = &args.modality {
        opts = opts.with_modality(m.clone());
    }
    let store = AnnDataStore::open_with(&args.input, &opts).at(Stage::Run)?;
    check_writable(&args.input, store.modality(), &args.output)?;
    let obs_names = store.obs_names().at(Stage::Run)?;
    let predictions = merge_tables(&obs_names, &args.tables).at(Stage::Run)?;
    info!(
        "merged {} tables: {} cells",
        args.tables.len(),
        predictions.predictions.len()
    );
    let post = label_output(&args.output, &args.post, |c| {
        Ok(store.obs_column(c).at(Stage::Run)?.to_strings())
    })?;
    let columns = predictions.columns(&post).at(Stage::Run)?;
    write_outputs(
        &args.input,
        store.modality(),
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
