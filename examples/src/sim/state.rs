//! A station's durable state as a JSON file, so that a restarted
//! simulator continues where it stopped (queued messages, transaction
//! counters, configuration).

use std::path::Path;

/// The snapshot in `file`; `None` if there is none yet.
pub fn load<T: serde::de::DeserializeOwned>(file: &Path) -> Result<Option<T>, String> {
    let text = match std::fs::read(file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", file.display())),
    };
    serde_json::from_slice(&text)
        .map(Some)
        .map_err(|e| format!("{}: {e}", file.display()))
}

/// Writes `snapshot` to `file` whole: into a temporary file first, then
/// renamed over the old one, so a crash leaves one or the other.
pub fn store<T: serde::Serialize>(file: &Path, snapshot: &T) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("{}: {e}", file.display());
    let text = serde_json::to_vec(snapshot).map_err(|e| fail(&e))?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
    }
    let temporary = file.with_extension("json.tmp");
    std::fs::write(&temporary, text).map_err(|e| fail(&e))?;
    std::fs::rename(&temporary, file).map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_snapshot_loads_back_and_a_missing_one_is_none() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state").join("CP.json");
        assert_eq!(load::<Vec<u32>>(&file), Ok(None));
        store(&file, &vec![1u32, 2, 3]).unwrap();
        assert_eq!(load::<Vec<u32>>(&file), Ok(Some(vec![1, 2, 3])));
        std::fs::write(&file, "not json").unwrap();
        assert!(load::<Vec<u32>>(&file).unwrap_err().contains("CP.json"));
    }
}
