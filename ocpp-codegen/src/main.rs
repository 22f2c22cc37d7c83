//! Generates `ocpp-types/src/{v16,v201,v21}/` from the official OCA JSON schemas.
//!
//! Usage:
//!
//! ```text
//! ocpp-codegen sync [DIR]   copy and verify the OCA schemas from DIR into <root>/schemas
//!                           (DIR default: $OCPP_SCHEMAS_DIR, else <root>/../shared/ocpp-schemas)
//! ocpp-codegen --write      regenerate ocpp-types/src/{v16,v201,v21}/
//! ocpp-codegen --check      fail if the generated files are out of date
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use ocpp_codegen::schemas;

const USAGE: &str = "usage: ocpp-codegen sync [DIR] | --write | --check";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["sync"] => sync(schemas::default_source()),
        ["sync", dir] => sync(PathBuf::from(dir)),
        ["--write"] => generate(true),
        ["--check"] => generate(false),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Copies the verified schemas from `from` into `<root>/schemas`.
fn sync(from: PathBuf) -> ExitCode {
    let to = schemas::workspace_root().join("schemas");
    match schemas::sync(&from, &to) {
        Ok(n) => {
            println!("synced {n} schema files from {}", from.display());
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("ocpp-codegen sync: {err}");
            ExitCode::FAILURE
        }
    }
}

/// Regenerates `ocpp-types/src/{v16,v201,v21}/`, or with `write == false`
/// only reports the files that are out of date.
fn generate(write: bool) -> ExitCode {
    let root = schemas::workspace_root();
    let result = schemas::locate()
        .map_err(|e| e.to_string())
        .and_then(|dir| ocpp_codegen::generate(&dir));
    let files = match result {
        Ok(files) => files,
        Err(err) => {
            eprintln!("ocpp-codegen: {err}");
            return ExitCode::FAILURE;
        }
    };
    if write {
        if let Err(err) = ocpp_codegen::write(&root, &files) {
            eprintln!("ocpp-codegen --write: {err}");
            return ExitCode::FAILURE;
        }
        println!("wrote {} files", files.len());
        return ExitCode::SUCCESS;
    }
    let stale = ocpp_codegen::stale(&root, &files);
    if stale.is_empty() {
        println!("{} generated files are up to date", files.len());
        ExitCode::SUCCESS
    } else {
        for path in &stale {
            eprintln!("stale: {path}");
        }
        eprintln!("run `cargo run -p ocpp-codegen -- --write` to regenerate");
        ExitCode::FAILURE
    }
}
