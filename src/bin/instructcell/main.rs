//! `instructcell`: the command-line tool. Each subcommand is one pipeline step over AnnData
//! stores; see `instructcell --help` and the README for flags and exit codes.

mod cli;
mod common;
mod exit;
mod generate_cmd;
mod info_cmd;
mod instruct_cmd;
mod labels_cmd;
mod merge_cmd;
mod progress;
mod signals;
mod versions_cmd;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cli::{Cli, Command};
use labels_cmd::LabelTask;

fn init_logging(quiet: bool, verbose: u8) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    // The crate's own messages at `level`; dependencies only when very verbose.
    let filter = if verbose >= 2 {
        EnvFilter::new(level)
    } else {
        EnvFilter::new(format!("warn,instructcell={level}"))
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_target(false)
        .try_init();
}

fn main() {
    let cli = Cli::parse();
    init_logging(cli.quiet, cli.verbose);
    let signals = signals::Signals::install();
    let q = cli.quiet;
    let result = match &cli.command {
        Command::Annotate(a) => labels_cmd::run(a, LabelTask::Annotate, q, &signals),
        Command::DrugResponse(d) => {
            labels_cmd::run(&d.labels, LabelTask::Drug(d.drug.clone()), q, &signals)
        }
        Command::Generate(g) => generate_cmd::run(g, q, &signals),
        Command::Instruct(i) => instruct_cmd::run(i, q, &signals),
        Command::Merge(m) => merge_cmd::run(m, q, &signals),
        Command::Info(i) => info_cmd::run(i),
        Command::Versions(v) => versions_cmd::run(v),
    };
    if let Err(f) = result {
        eprintln!("error: {}", f.message);
        std::process::exit(f.code as i32);
    }
}
