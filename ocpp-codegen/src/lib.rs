//! Generates `ocpp-types/src/{v16,v201,v21}/` from the official OCA JSON schemas.
//!
//! The pipeline: [`schemas`] finds and verifies the OCA files, [`model`]
//! reads them into named, merged and checked types (with the names and
//! directions of [`config`]), [`emit`] writes Rust, [`format`](mod@format) runs rustfmt.
//! `cargo run -p ocpp-codegen -- --write` regenerates; `--check` fails,
//! naming the stale files, when the checked-in code differs.

pub mod config;
pub mod emit;
pub mod format;
pub mod model;
pub mod schemas;

use std::path::Path;

pub use emit::File;
pub use model::Error;

/// Generates every file from the schemas in `schema_dir`, formatted, in a
/// fixed order.
pub fn generate(schema_dir: &Path) -> Result<Vec<File>, Error> {
    let config = config::Config::builtin()?;
    let versions = model::load(schema_dir, &config)?;
    let mut files = Vec::new();
    for v in &versions {
        for f in emit::version(v) {
            let text = format::rustfmt(&f.text).map_err(|e| format!("{}: {e}", f.path))?;
            files.push(File { path: f.path, text });
        }
    }
    Ok(files)
}

/// The generated files that differ from those under `root` (missing,
/// changed, or present but no longer generated), by path.
pub fn stale(root: &Path, files: &[File]) -> Vec<String> {
    let mut out: Vec<String> = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(root.join(&f.path)).ok().as_deref() != Some(f.text.as_str())
        })
        .map(|f| f.path.clone())
        .collect();
    out.extend(extra_files(root, files));
    out
}

/// Writes `files` under `root`, removing generated files that are no longer produced.
pub fn write(root: &Path, files: &[File]) -> Result<(), Error> {
    for path in extra_files(root, files) {
        std::fs::remove_file(root.join(&path)).map_err(|e| format!("{path}: {e}"))?;
    }
    for f in files {
        let path = root.join(&f.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        if std::fs::read_to_string(&path).ok().as_deref() != Some(f.text.as_str()) {
            std::fs::write(&path, &f.text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(())
}

/// Files in the generated folders that `files` does not contain.
fn extra_files(root: &Path, files: &[File]) -> Vec<String> {
    let mut out = Vec::new();
    for module in ["v16", "v201", "v21"] {
        let dir = format!("ocpp-types/src/{module}");
        let Ok(entries) = std::fs::read_dir(root.join(&dir)) else {
            continue;
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| format!("{dir}/{}", e.file_name().to_string_lossy()))
            .filter(|p| !files.iter().any(|f| &f.path == p))
            .collect();
        names.sort();
        out.extend(names);
    }
    out
}
