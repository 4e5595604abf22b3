//! Exit codes and one-line error messages.

use instructcell::Error;

/// Documented exit codes (also in `--help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// An error that is none of the others.
    Internal = 1,
    /// Bad flags, labels, templates.
    Usage = 2,
    /// The input data cannot be used.
    Input = 3,
    /// The model package is missing, malformed or tampered with.
    Package = 4,
    /// ONNX Runtime or an execution provider failed.
    Runtime = 5,
    /// The output cannot be written.
    Output = 6,
    /// SIGINT.
    Interrupted = 130,
    /// SIGTERM.
    Terminated = 143,
}

/// A failed command: its exit code and a one-line message.
#[derive(Debug)]
pub struct Failure {
    /// Exit code.
    pub code: Code,
    /// One line (newlines of the underlying message are folded).
    pub message: String,
}

impl Failure {
    /// A failure with this code and message.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }

    /// A usage failure.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Code::Usage, message)
    }
}

/// Which stage an error came from: errors of files are input errors while reading and
/// output errors while writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Loading the model package.
    Model,
    /// Reading the input and computing.
    Run,
    /// Writing results.
    Write,
}

/// Folds a multi-line message into one line.
pub fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Classifies a crate error raised in `stage`.
pub fn classify(e: &Error, stage: Stage) -> Code {
    match e {
        Error::InvalidArgument(_) | Error::Prompt(_) => Code::Usage,
        Error::Cancelled => Code::Interrupted,
        Error::Package { .. } | Error::Tokenizer(_) => Code::Package,
        Error::OnnxRuntimeNotFound { .. }
        | Error::OnnxRuntimeLoad { .. }
        | Error::ProviderUnavailable { .. }
        | Error::Onnx { .. } => Code::Runtime,
        Error::Io { .. } | Error::Store { .. } => match stage {
            Stage::Model => Code::Package,
            Stage::Run => Code::Input,
            Stage::Write => Code::Output,
        },
        Error::Shape(_)
        | Error::GeneOverlap { .. }
        | Error::DuplicateGene { .. }
        | Error::BadCell { .. } => Code::Input,
        _ => Code::Internal,
    }
}

/// Converts a crate error raised in `stage`.
pub fn failure(e: Error, stage: Stage) -> Failure {
    Failure::new(classify(&e, stage), one_line(&e.to_string()))
}

/// `Result` of a command.
pub type CmdResult<T = ()> = std::result::Result<T, Failure>;

/// Attaches a stage to crate results.
pub trait AtStage<T> {
    /// Converts the error, if any, as raised in `stage`.
    fn at(self, stage: Stage) -> CmdResult<T>;
}

impl<T> AtStage<T> for instructcell::Result<T> {
    fn at(self, stage: Stage) -> CmdResult<T> {
        self.map_err(|e| failure(e, stage))
    }
}
