//! `versions`: YAML for a pipeline's `versions.yml`.

use crate::cli::VersionsArgs;
use crate::common::model_dir;
use crate::exit::{AtStage, CmdResult, Failure, Stage};

fn yaml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Prints the versions.
pub fn run(args: &VersionsArgs) -> CmdResult {
    let dir = model_dir(args.model.as_deref())?;
    let rt = instructcell::runtime::runtime().at(Stage::Model)?;
    let manifest = dir.join("manifest.json");
    let bytes = std::fs::read(&manifest).map_err(|e| {
        Failure::new(
            crate::exit::Code::Package,
            format!("cannot read {}: {e}", manifest.display()),
        )
    })?;
    let hex = instructcell::package::sha256_hex(&bytes);
    let name = dir
        .canonicalize()
        .unwrap_or(dir.clone())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    println!("{}:", yaml_str(&args.process));
    println!("  instructcell: {}", yaml_str(env!("CARGO_PKG_VERSION")));
    println!(
        "  onnxruntime: {}",
        yaml_str(&rt.version().unwrap_or_else(|| "unknown".into()))
    );
    println!(
        "  onnxruntime_library: {}",
        yaml_str(&rt.library_path().display().to_string())
    );
    println!("  model: {}", yaml_str(&name));
    println!("  model_manifest_sha256: {}", yaml_str(&hex));
    Ok(())
}
