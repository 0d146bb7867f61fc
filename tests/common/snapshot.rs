//! Snapshot files in `tests/snapshots/`: `FLEETGATE_UPDATE_SNAPSHOTS=1` rewrites them (review the
//! diff before committing); otherwise the text must match byte for byte (ESC shown as `␛`).

use std::path::PathBuf;

/// `tests/snapshots/<name>`.
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name)
}

/// Asserts that `actual` equals the snapshot `name`.
pub fn assert_snapshot(name: &str, actual: &str) {
    let actual = actual.replace('\x1b', "␛");
    let file = path(name);
    if std::env::var_os("FLEETGATE_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&file, &actual).expect("write the snapshot");
        return;
    }
    let expected =
        std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e} (FLEETGATE_UPDATE_SNAPSHOTS=1 writes it)", file.display()));
    assert_eq!(actual, expected, "snapshot {name} differs (FLEETGATE_UPDATE_SNAPSHOTS=1 rewrites it; review the diff)");
}
