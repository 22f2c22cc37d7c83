//! Locating, verifying and syncing the official OCA JSON schema files.
//!
//! The files themselves are not part of the repository (their CC BY-ND 4.0
//! licence allows unmodified copies only, so they are synced, never edited).
//! `schemas/SHA256SUMS` pins every file; everything here checks against it.

use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// The pinned manifest, lines `<sha256>  <folder>/<file>.json`.
const SHA256SUMS: &str = include_str!("../../schemas/SHA256SUMS");

/// The environment variable naming a directory that holds a copy of the schemas.
pub const ENV_DIR: &str = "OCPP_SCHEMAS_DIR";

/// How to get a copy, appended to "not found" errors.
const HOW_TO_GET: &str = "get a copy with `cargo run -p ocpp-codegen -- sync [DIR]` \
     (DIR defaults to $OCPP_SCHEMAS_DIR, else ../shared/ocpp-schemas next to the workspace) \
     or set OCPP_SCHEMAS_DIR to a directory holding the OCA schema folders";

/// Why a schema copy could not be found, verified or synced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A file listed in the manifest does not exist.
    #[error("missing schema file {}", path.display())]
    Missing {
        /// The path that was looked for.
        path: PathBuf,
    },
    /// A file exists but its content is not the pinned one.
    #[error(
        "altered schema file {}: expected sha256 {expected}, found {actual}",
        path.display()
    )]
    Altered {
        /// The file whose hash differs.
        path: PathBuf,
        /// The lowercase hex sha256 from the manifest.
        expected: String,
        /// The lowercase hex sha256 of the file found.
        actual: String,
    },
    /// Reading, writing or creating something failed.
    #[error("i/o error on {}: {source}", path.display())]
    Io {
        /// The path being read, written or created.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// No candidate directory holds a verified copy.
    #[error(
        "no verified copy of the OCA schemas found; tried:{}\n{HOW_TO_GET}",
        list_tried(tried)
    )]
    NotFound {
        /// Each candidate directory with the reason it was rejected.
        tried: Vec<(PathBuf, String)>,
    },
}

/// Formats the candidates of [`SchemaError::NotFound`], one per line.
fn list_tried(tried: &[(PathBuf, String)]) -> String {
    let mut out = String::new();
    for (path, why) in tried {
        let _ = write!(out, "\n  {}: {why}", path.display());
    }
    out
}

/// The manifest: (relative path like "v201/BootNotificationRequest.json", lowercase hex sha256), from include_str!("../../schemas/SHA256SUMS"), in file order.
pub fn manifest() -> Vec<(&'static str, &'static str)> {
    SHA256SUMS
        .lines()
        .filter_map(|line| {
            let (hash, path) = line.split_once("  ")?;
            Some((path.trim(), hash.trim()))
        })
        .collect()
}

/// The workspace root (CARGO_MANIFEST_DIR/..).
pub fn workspace_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    match crate_dir.parent() {
        Some(root) => root.to_path_buf(),
        None => crate_dir.join(".."),
    }
}

/// The lowercase hex sha256 of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// Reads `path`, turning "not found" into [`SchemaError::Missing`].
fn read(path: &Path) -> Result<Vec<u8>, SchemaError> {
    fs::read(path).map_err(|source| {
        if source.kind() == io::ErrorKind::NotFound {
            SchemaError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            SchemaError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    })
}

/// Checks that `bytes`, read from `path`, hash to `expected`.
fn check(path: &Path, bytes: &[u8], expected: &str) -> Result<(), SchemaError> {
    let actual = sha256_hex(bytes);
    if actual == expected {
        Ok(())
    } else {
        Err(SchemaError::Altered {
            path: path.to_path_buf(),
            expected: expected.to_owned(),
            actual,
        })
    }
}

/// Checks that every manifest file exists under `dir` with the right hash.
pub fn verify(dir: &Path) -> Result<(), SchemaError> {
    for (rel, expected) in manifest() {
        let path = dir.join(rel);
        let bytes = read(&path)?;
        check(&path, &bytes, expected)?;
    }
    Ok(())
}

/// Copies the four folders' manifest files from `from` into `to` (creating folders), verifying every hash of the source before copying and of the copies after; returns the number of files.
///
/// Files already present in `to` with the right content are left alone, so
/// syncing twice, or syncing a directory onto itself, is harmless.
pub fn sync(from: &Path, to: &Path) -> Result<usize, SchemaError> {
    verify(from)?;
    let entries = manifest();
    for (rel, expected) in &entries {
        let source = from.join(rel);
        let bytes = read(&source)?;
        // The source may have changed since `verify`: copy only what is checked.
        check(&source, &bytes, expected)?;
        let target = to.join(rel);
        if fs::read(&target).is_ok_and(|old| sha256_hex(&old) == *expected) {
            continue;
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(|source| SchemaError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        // Remove first so that a read-only stale copy does not block the write.
        if let Err(source) = fs::remove_file(&target)
            && source.kind() != io::ErrorKind::NotFound
        {
            return Err(SchemaError::Io {
                path: target,
                source,
            });
        }
        fs::write(&target, &bytes).map_err(|source| SchemaError::Io {
            path: target.clone(),
            source,
        })?;
    }
    verify(to)?;
    Ok(entries.len())
}

/// The directory named by $OCPP_SCHEMAS_DIR, if set and not empty.
pub fn env_dir() -> Option<PathBuf> {
    std::env::var_os(ENV_DIR)
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
}

/// The default source of `sync`: $OCPP_SCHEMAS_DIR, else `<root>/../shared/ocpp-schemas`.
pub fn default_source() -> PathBuf {
    env_dir().unwrap_or_else(shared_dir)
}

/// `<root>/../shared/ocpp-schemas`, the shared read-only copy next to the workspace.
fn shared_dir() -> PathBuf {
    workspace_root().join("../shared/ocpp-schemas")
}

/// Finds a verified copy: `<root>/schemas` (if its files verify), else $OCPP_SCHEMAS_DIR, else `<root>/../shared/ocpp-schemas`. On failure the error lists each candidate with why it failed and says how to get a copy (`cargo run -p ocpp-codegen -- sync [DIR]` or set OCPP_SCHEMAS_DIR).
///
/// The result is computed once per process and cached.
pub fn locate() -> Result<PathBuf, SchemaError> {
    static FOUND: OnceLock<Result<PathBuf, Vec<(PathBuf, String)>>> = OnceLock::new();
    FOUND
        .get_or_init(locate_uncached)
        .clone()
        .map_err(|tried| SchemaError::NotFound { tried })
}

/// [`locate`] without the cache; the error is the list of rejected candidates.
fn locate_uncached() -> Result<PathBuf, Vec<(PathBuf, String)>> {
    let mut tried = Vec::new();
    let mut candidates = vec![workspace_root().join("schemas")];
    match env_dir() {
        Some(dir) => candidates.push(dir),
        None => tried.push((PathBuf::from(format!("${ENV_DIR}")), "not set".to_owned())),
    }
    candidates.push(shared_dir());
    for dir in candidates {
        match verify(&dir) {
            Ok(()) => return Ok(dir),
            Err(err) => tried.push((dir, err.to_string())),
        }
    }
    Err(tried)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A unique temporary directory, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(tag: &str) -> Self {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!(
                "ocpp-codegen-schemas-{}-{n}-{tag}",
                std::process::id()
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create temp dir");
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn shared() -> PathBuf {
        workspace_root().join("../shared/ocpp-schemas")
    }

    /// A synced temporary copy of the shared schemas.
    fn synced_copy(tag: &str) -> TempDir {
        let tmp = TempDir::new(tag);
        let n = sync(&shared(), &tmp.0).expect("sync into temp dir");
        assert_eq!(n, 387);
        tmp
    }

    #[test]
    fn manifest_is_complete_and_well_formed() {
        let entries = manifest();
        assert_eq!(entries.len(), 387);
        for folder in ["v16/", "v16-security/", "v201/", "v21/"] {
            let count = entries
                .iter()
                .filter(|(p, _)| p.starts_with(folder))
                .count();
            let want = match folder {
                "v16/" => 56,
                "v16-security/" => 22,
                "v201/" => 128,
                _ => 181,
            };
            assert_eq!(count, want, "{folder}");
        }
        let mut paths: Vec<_> = entries.iter().map(|(p, _)| *p).collect();
        paths.sort_unstable();
        paths.dedup();
        assert_eq!(paths.len(), 387, "duplicate paths");
        for (path, hash) in &entries {
            assert!(path.ends_with(".json"), "{path}");
            assert_eq!(hash.len(), 64, "{path}");
            assert!(
                hash.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{path}: {hash}"
            );
        }
        assert!(entries.contains(&(
            "v16/StopTransaction.json",
            "438aa43249c83ac761ad563bc20e84726f057bc43dd9a454859abaffe923c09c"
        )));
    }

    #[test]
    fn hex_of_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn verify_passes_on_shared_copy() {
        verify(&shared()).expect("shared copy verifies");
    }

    #[test]
    fn locate_finds_a_verified_copy() {
        let dir = locate().expect("a copy is found");
        verify(&dir).expect("located copy verifies");
    }

    #[test]
    fn verify_names_an_altered_file() {
        let tmp = synced_copy("altered");
        let rel = "v201/BootNotificationRequest.json";
        let path = tmp.0.join(rel);
        let mut bytes = fs::read(&path).expect("read copy");
        bytes[10] ^= 0x01;
        fs::write(&path, &bytes).expect("alter copy");
        let err = verify(&tmp.0).expect_err("altered copy must fail");
        match &err {
            SchemaError::Altered {
                path: bad,
                expected,
                actual,
            } => {
                assert!(bad.ends_with(rel), "{}", bad.display());
                assert_ne!(expected, actual);
            }
            other => panic!("wrong error: {other}"),
        }
        assert!(err.to_string().contains("BootNotificationRequest.json"));
        // A sync repairs the copy.
        assert_eq!(sync(&shared(), &tmp.0).expect("resync"), 387);
        verify(&tmp.0).expect("repaired");
    }

    #[test]
    fn verify_names_a_missing_file() {
        let tmp = synced_copy("missing");
        let rel = "v16-security/GetLog.json";
        fs::remove_file(tmp.0.join(rel)).expect("delete one file");
        let err = verify(&tmp.0).expect_err("incomplete copy must fail");
        match &err {
            SchemaError::Missing { path } => assert!(path.ends_with(rel), "{}", path.display()),
            other => panic!("wrong error: {other}"),
        }
        assert!(err.to_string().contains("GetLog.json"));
    }

    #[test]
    fn sync_refuses_a_bad_source() {
        let src = synced_copy("bad-source");
        fs::remove_file(src.0.join("v21/NotifyPeriodicEventStream.json")).expect("delete");
        let dst = TempDir::new("bad-target");
        let err = sync(&src.0, &dst.0).expect_err("bad source must fail");
        assert!(matches!(err, SchemaError::Missing { .. }), "{err}");
        assert!(!dst.0.join("v21").exists(), "nothing copied");
    }

    #[test]
    fn not_found_lists_candidates_and_the_fix() {
        let err = SchemaError::NotFound {
            tried: vec![
                (
                    PathBuf::from("a"),
                    "missing schema file a/x.json".to_owned(),
                ),
                (PathBuf::from("$OCPP_SCHEMAS_DIR"), "not set".to_owned()),
            ],
        };
        let text = err.to_string();
        assert!(text.contains("a: missing schema file a/x.json"), "{text}");
        assert!(text.contains("$OCPP_SCHEMAS_DIR: not set"), "{text}");
        assert!(text.contains("cargo run -p ocpp-codegen -- sync"), "{text}");
        assert!(text.contains("OCPP_SCHEMAS_DIR"), "{text}");
    }

    #[test]
    fn error_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync + std::error::Error>() {}
        assert_send_sync::<SchemaError>();
    }
}
