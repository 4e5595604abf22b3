//! Command-line arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Exit codes: 0 success; 1 internal error; 2 usage (bad flags, labels, template); 3 input data \
(missing or malformed store, no usable matrix, NaN/negative counts, no gene overlap); 4 model \
package (missing, malformed, tampered); 5 ONNX Runtime or execution provider; 6 output cannot \
be written (exists, unwritable); 130 interrupted (SIGINT); 143 terminated (SIGTERM).

Examples:
  instructcell annotate --input pbmc.h5ad --output pbmc.annotated.h5ad --mode scored --p-thres 0.5
  instructcell annotate --input atlas.zarr --shard 3/16 --table part3.tsv
  instructcell merge --input atlas.zarr --tables part*.tsv --output atlas.annotated.zarr
  instructcell info --input pbmc.h5ad";

/// Single-cell language-model tasks (InstructCell) over AnnData stores, through ONNX Runtime.
#[derive(Debug, Parser)]
#[command(name = "instructcell", version, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// The task to run.
    #[command(subcommand)]
    pub command: Command,
    /// Print only errors (no progress, no summary).
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Annotate the cell type of every cell.
    #[command(after_help = "Examples:
  instructcell annotate --input pbmc.h5ad --output pbmc.annotated.h5ad
  instructcell annotate --input pbmc.zarr --in-place --mode scored --table labels.tsv
  instructcell annotate --input pbmc.h5ad --use-raw --labels-from-obs bulk_labels --output out.h5ad
  instructcell annotate --input pbmc.h5ad --metadata species=human --metadata tissue=obs:tissue \\
      --majority-voting --over-clustering leiden --output out.h5ad")]
    Annotate(LabelArgs),
    /// Predict every cell's response to a drug (Sensitive / Resistant).
    #[command(after_help = "Example:
  instructcell drug-response --input cells.h5ad --drug cisplatin --mode scored --table response.tsv")]
    DrugResponse(DrugArgs),
    /// Generate pseudo-cells for conditions (a new AnnData store).
    #[command(after_help = "Examples:
  instructcell generate --conditions 'cell_type=CD14+ Monocyte' --n-per-condition 20 --output mono.zarr
  instructcell generate --conditions conditions.tsv --counts mean --output generated.h5ad")]
    Generate(GenerateArgs),
    /// Follow a free-form instruction, once or for every cell of a store.
    #[command(after_help = "Examples:
  instructcell instruct --template 'Describe what a CD14+ monocyte does.'
  instructcell instruct --input pbmc.zarr --template 'What is this cell? {input}' --table answers.jsonl")]
    Instruct(InstructArgs),
    /// Merge the tables of a sharded run into the store (exactly what one run writes).
    #[command(after_help = "Example:
  instructcell merge --input atlas.zarr --tables part1.tsv part2.tsv --output atlas.annotated.zarr")]
    Merge(MergeArgs),
    /// Describe a model package and/or a dataset (shape, layers, what X holds, gene overlap).
    #[command(after_help = "Examples:
  instructcell info
  instructcell info --input pbmc.h5ad --json")]
    Info(InfoArgs),
    /// Versions of the tool, ONNX Runtime and the model package, as YAML (for versions.yml).
    Versions(VersionsArgs),
}

/// Model loading.
#[derive(Debug, Args, Clone)]
pub struct ModelArgs {
    /// Model package directory [default: $INSTRUCTCELL_MODEL, else the bundled pbmc-small].
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Graph precision: fp32, int8, fp16, optionally with +ties=M (fp32 decides answers whose
    /// margin is below M nats), e.g. int8+ties=0.5.
    #[arg(long, default_value = "fp32", value_name = "SPEC")]
    pub precision: String,
    /// Execution provider.
    #[arg(long, value_enum, default_value_t = Device::Cpu)]
    pub device: Device,
    /// Continue on CPU when the requested GPU provider cannot start (reported), instead of failing.
    #[arg(long)]
    pub allow_fallback: bool,
    /// Threads for ONNX Runtime and preprocessing [default: the CPUs this process may use].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

/// Execution providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Device {
    /// ONNX Runtime's CPU provider.
    Cpu,
    /// NVIDIA CUDA (needs an onnxruntime-gpu library).
    Cuda,
    /// NVIDIA TensorRT (needs an onnxruntime-gpu library).
    Tensorrt,
}

/// The dataset read.
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// Input dataset: .h5ad, zarr v2/v3 directory, or 10x Matrix Market directory.
    #[arg(long, short = 'i', value_name = "PATH")]
    pub input: PathBuf,
    /// Read layers/NAME instead of choosing automatically.
    #[arg(long, value_name = "NAME", conflicts_with = "use_raw")]
    pub layer: Option<String>,
    /// Read raw/X (genes from raw/var) instead of choosing automatically.
    #[arg(long)]
    pub use_raw: bool,
    /// Read X even when it is not the first choice.
    #[arg(long, conflicts_with_all = ["layer", "use_raw"])]
    pub use_x: bool,
    /// var column with the gene symbols [default: the var index].
    #[arg(long, value_name = "COLUMN")]
    pub gene_symbols: Option<String>,
    /// MuData (.h5mu, MuData zarr): the modality to read and annotate [default: rna, else the only one].
    #[arg(long, value_name = "NAME")]
    pub modality: Option<String>,
}

/// Where per-cell results go.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// New store: the input with every element kept and the new obs columns added (same format).
    #[arg(long, short = 'o', value_name = "PATH", conflicts_with = "in_place")]
    pub output: Option<PathBuf>,
    /// Add the columns to the input store itself (atomic).
    #[arg(long)]
    pub in_place: bool,
    /// Replace an existing output store and existing columns of the same names.
    #[arg(long)]
    pub overwrite: bool,
    /// Prefix of the obs columns: KEY, KEY_confidence, KEY_text, KEY_precision.
    #[arg(long, default_value = "instructcell", value_name = "KEY")]
    pub key_added: String,
    /// One row per cell (.tsv, .csv or .jsonl, by extension).
    #[arg(long, value_name = "FILE")]
    pub table: Option<PathBuf>,
}

/// Post-processing of labels.
#[derive(Debug, Args, Clone)]
pub struct PostArgs {
    /// Cells whose confidence is below P are labelled Unassigned (calibrated in scored mode).
    #[arg(long, value_name = "P")]
    pub p_thres: Option<f32>,
    /// Add KEY_majority_voting: the most frequent label of each cell's cluster.
    #[arg(long, requires = "over_clustering")]
    pub majority_voting: bool,
    /// obs column with the clusters for --majority-voting (e.g. leiden).
    #[arg(long, value_name = "COLUMN")]
    pub over_clustering: Option<String>,
}

/// Label-task flags.
#[derive(Debug, Args, Clone)]
pub struct TaskArgs {
    /// Label set: a file (one label per line) or a comma-separated list.
    #[arg(long, value_name = "FILE|A,B,C", conflicts_with = "labels_from_obs")]
    pub labels: Option<String>,
    /// Label set: the values observed in this obs column.
    #[arg(long, value_name = "COLUMN")]
    pub labels_from_obs: Option<String>,
    /// How answers become labels.
    #[arg(long, value_enum, default_value_t = Mode::Constrained)]
    pub mode: Mode,
    /// Template field: KEY=VALUE for every cell, or KEY=obs:COLUMN per cell (repeatable).
    #[arg(long, value_name = "KEY=VALUE", action = clap::ArgAction::Append)]
    pub metadata: Vec<String>,
    /// Instruction template (TEXT or @FILE) with {input}; fields like {species} come from --metadata.
    #[arg(long, value_name = "TEXT|@FILE")]
    pub template: Option<String>,
    /// Cells per model call (int8: keep it equal across shards of one run).
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub batch_size: usize,
    /// Process only the I-th of N contiguous, chunk- and batch-aligned parts; needs --table.
    #[arg(long, value_name = "I/N", requires = "table", conflicts_with_all = ["output", "in_place"])]
    pub shard: Option<String>,
    /// Most new tokens per free answer.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub max_new_tokens: usize,
}

/// Answer modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    /// Free answer; the label is looked up in the text.
    Free,
    /// Decoding restricted to the label set.
    Constrained,
    /// Every label scored; probabilities per label.
    Scored,
}

/// `annotate`.
#[derive(Debug, Args)]
pub struct LabelArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub task: TaskArgs,
    #[command(flatten)]
    pub post: PostArgs,
}

/// `drug-response`.
#[derive(Debug, Args)]
pub struct DrugArgs {
    /// The drug's name.
    #[arg(long, value_name = "NAME")]
    pub drug: String,
    #[command(flatten)]
    pub labels: LabelArgs,
}

/// `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// Conditions: a .tsv/.csv file (a cell_type column, optional n and metadata columns) or
    /// KEY=VALUE[;KEY=VALUE...] with cell_type (repeatable).
    #[arg(long, required = true, value_name = "FILE|cell_type=...", action = clap::ArgAction::Append)]
    pub conditions: Vec<String>,
    /// Cells per condition (a file's n column overrides it).
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub n_per_condition: usize,
    /// Counts sampled from the model's distribution, or its mean.
    #[arg(long, value_enum, default_value_t = Counts::Sample)]
    pub counts: Counts,
    /// Seed of the sampling (same seed, same cells).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Template with {cell_type} and metadata fields (TEXT or @FILE).
    #[arg(long, value_name = "TEXT|@FILE")]
    pub template: Option<String>,
    /// The new store (.h5ad or a zarr directory).
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: PathBuf,
    /// Replace an existing output.
    #[arg(long)]
    pub overwrite: bool,
    /// Prompts per model call.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub batch_size: usize,
}

/// How generated counts are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Counts {
    /// Sampled from the zero-inflated negative binomial.
    Sample,
    /// The distribution's expected value.
    Mean,
}

/// `instruct`.
#[derive(Debug, Args)]
pub struct InstructArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The instruction (TEXT or @FILE); with --input it must contain {input}.
    #[arg(long, value_name = "TEXT|@FILE")]
    pub template: String,
    /// Ask for every cell of this dataset.
    #[arg(long, short = 'i', value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Template field KEY=VALUE (or KEY=obs:COLUMN with --input; repeatable).
    #[arg(long, value_name = "KEY=VALUE", action = clap::ArgAction::Append)]
    pub metadata: Vec<String>,
    /// One answer per cell (.tsv, .csv or .jsonl); with --input.
    #[arg(long, value_name = "FILE", requires = "input")]
    pub table: Option<PathBuf>,
    /// New store with the answers as obs column KEY_text; with --input.
    #[arg(long, short = 'o', value_name = "PATH", requires = "input")]
    pub output: Option<PathBuf>,
    /// Replace an existing output.
    #[arg(long)]
    pub overwrite: bool,
    /// MuData: the modality to read and write [default: rna, else the only one].
    #[arg(long, value_name = "NAME", requires = "input")]
    pub modality: Option<String>,
    /// Prefix of the obs column.
    #[arg(long, default_value = "instructcell", value_name = "KEY")]
    pub key_added: String,
    /// Most new tokens per answer.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_new_tokens: usize,
    /// Cells per model call.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub batch_size: usize,
}

/// `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The store the shards were run on.
    #[arg(long, short = 'i', value_name = "PATH")]
    pub input: PathBuf,
    /// The shards' tables (any order).
    #[arg(long, required = true, num_args = 1.., value_name = "FILE")]
    pub tables: Vec<PathBuf>,
    /// MuData (.h5mu, MuData zarr): the modality to read and annotate [default: rna, else the only one].
    #[arg(long, value_name = "NAME")]
    pub modality: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub post: PostArgs,
}

/// `info`.
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// Model package [default: $INSTRUCTCELL_MODEL, else the bundled pbmc-small].
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// A dataset to describe (and compare with the model's genes).
    #[arg(long, short = 'i', value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// var column with the gene symbols.
    #[arg(long, value_name = "COLUMN")]
    pub gene_symbols: Option<String>,
    /// MuData: the modality to describe [default: rna, else the only one].
    #[arg(long, value_name = "NAME")]
    pub modality: Option<String>,
    /// Cells per model call, to size shards.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub batch_size: usize,
    /// JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `versions`.
#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// Model package [default: $INSTRUCTCELL_MODEL, else the bundled pbmc-small].
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// The top-level key (an nf-core process name).
    #[arg(long, default_value = "instructcell", value_name = "NAME")]
    pub process: String,
}
