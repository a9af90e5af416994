//! `kvits-server backup` and `kvits-server restore`: the whole data directory in one file, taken
//! while the server runs, and put back into an empty directory.
//!
//! A backup is a ZIP (stored, not compressed: photos and export ZIPs are compressed already):
//!
//! - `kvits.sqlite3`: the database, copied with SQLite's online backup API in one step, so it
//!   is one consistent moment however the server writes meanwhile (WAL mode: the server's
//!   writers never wait for it);
//! - `blobs/…`: every stored photo and thumbnail, and `exports/…`: every export batch's ZIP,
//!   copied *after* the database. Both are written before the rows that name them are
//!   committed and never change afterwards (a blob's name is its hash), so everything the
//!   copied database names is in the backup; a file written meanwhile is an extra that no row
//!   names yet;
//! - `manifest.json`, last: what the backup is (the schema version, when) and every file with
//!   its size and SHA-256.
//!
//! Partial uploads are left out: a device resumes or restarts them. A restore checks every
//! file against the manifest before anything is in place, then moves the directory in whole,
//! so a bad or cut backup leaves the target as it was.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The database file in a data directory and in a backup.
const DATABASE: &str = "kvits.sqlite3";
/// The directories of a data directory a backup holds.
const FOLDERS: [&str; 2] = ["blobs", "exports"];
const MANIFEST: &str = "manifest.json";
/// What a backup's manifest says it is.
const FORMAT: &str = "kvits-backup/1";

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: String,
    /// The database's schema version (migrations applied).
    schema_version: i64,
    created_at: kvits_protocol::Timestamp,
    files: Vec<FileEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct FileEntry {
    name: String,
    bytes: u64,
    sha256: String,
}

/// What a backup or a restore did (printed as one JSON line).
#[derive(Debug, Serialize)]
pub struct Summary {
    /// The backup file.
    pub file: PathBuf,
    /// Files in it, the database included.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
    pub schema_version: i64,
}

/// Writes a backup of `data_dir` to `out` (which must not exist yet), while a server may be
/// using the directory.
pub fn backup(data_dir: &Path, out: &Path) -> Result<Summary> {
    let database = data_dir.join(DATABASE);
    ensure!(
        database.is_file(),
        "{} holds no Kvits database ({DATABASE})",
        data_dir.display()
    );
    ensure!(
        !out.exists(),
        "{} exists already; choose a new file name",
        out.display()
    );
    let dir = out.parent().filter(|p| !p.as_os_str().is_empty());
    let scratch = tempfile::Builder::new()
        .prefix(".kvits-backup-")
        .tempdir_in(dir.unwrap_or(Path::new(".")))
        .context("making a scratch directory beside the backup")?;

    // The database first: what the files below must cover.
    let copy = scratch.path().join(DATABASE);
    let schema_version = snapshot(&database, &copy)?;

    let part = scratch.path().join("backup.zip.part");
    let file = std::fs::File::create(&part)
        .with_context(|| format!("cannot write beside {}", out.display()))?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true)
        .unix_permissions(0o600);
    let mut files = vec![add_file(&mut zip, options, DATABASE, &copy)?];
    for folder in FOLDERS {
        let root = data_dir.join(folder);
        if !root.is_dir() {
            continue;
        }
        for path in files_under(&root)? {
            let relative = path
                .strip_prefix(data_dir)
                .context("a file outside the data directory")?;
            let name = zip_name(relative)?;
            // A file half written by the blob store (its temporary name) is not a blob yet.
            if name.ends_with(".part") || name.contains("/.") {
                continue;
            }
            files.push(add_file(&mut zip, options, &name, &path)?);
        }
    }
    let manifest = Manifest {
        format: FORMAT.into(),
        schema_version,
        created_at: crate::now(),
        files,
    };
    zip.start_file(MANIFEST, options)?;
    zip.write_all(&serde_json::to_vec_pretty(&manifest)?)?;
    let file = zip
        .finish()?
        .into_inner()
        .map_err(|e| e.into_error())
        .context("writing the backup")?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&part, out)
        .with_context(|| format!("moving the backup to {}", out.display()))?;
    Ok(Summary {
        file: out.to_owned(),
        files: manifest.files.len(),
        bytes: manifest.files.iter().map(|f| f.bytes).sum(),
        schema_version,
    })
}

/// Puts the backup `from` into `data_dir`, which must be empty or not exist; answers what it
/// restored. Nothing is in `data_dir` until every file has been checked.
pub fn restore(from: &Path, data_dir: &Path) -> Result<Summary> {
    if data_dir.exists() {
        let mut entries = std::fs::read_dir(data_dir)
            .with_context(|| format!("cannot read {}", data_dir.display()))?;
        ensure!(
            entries.next().is_none(),
            "{} is not empty: restore into a new or empty directory, then point the server at it",
            data_dir.display()
        );
    }
    let file =
        std::fs::File::open(from).with_context(|| format!("cannot open {}", from.display()))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file))
        .with_context(|| format!("{} is not a Kvits backup (not a ZIP file)", from.display()))?;
    let manifest: Manifest = {
        let mut entry = zip.by_name(MANIFEST).with_context(|| {
            format!(
                "{} has no {MANIFEST}: not a whole Kvits backup",
                from.display()
            )
        })?;
        let mut text = Vec::new();
        entry.by_ref().take(64 << 20).read_to_end(&mut text)?;
        serde_json::from_slice(&text).context("the backup's manifest cannot be read")?
    };
    ensure!(
        manifest.format == FORMAT,
        "the backup is in format {:?}; this server reads {FORMAT}",
        manifest.format
    );
    ensure!(
        manifest.schema_version <= crate::db::schema_version() as i64,
        "the backup's database is at schema version {}, newer than this server ({}); restore \
         it with a newer server",
        manifest.schema_version,
        crate::db::schema_version()
    );
    ensure!(
        manifest.files.iter().any(|f| f.name == DATABASE),
        "the backup holds no database"
    );

    let parent = data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let staging = tempfile::Builder::new()
        .prefix(".kvits-restore-")
        .tempdir_in(parent)
        .context("making a scratch directory beside the data directory")?;
    let mut listed = std::collections::BTreeSet::new();
    for f in &manifest.files {
        let relative = safe_name(&f.name)?;
        ensure!(listed.insert(&f.name), "{} is listed twice", f.name);
        let mut entry = zip
            .by_name(&f.name)
            .with_context(|| format!("{} is in the manifest but not in the backup", f.name))?;
        let target = staging.path().join(relative);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut out = BufWriter::new(std::fs::File::create(&target)?);
        let (bytes, sha256) = copy_hashed(&mut entry, &mut out)
            .with_context(|| format!("{} is damaged in the backup", f.name))?;
        out.flush()?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        ensure!(
            bytes == f.bytes && sha256 == f.sha256,
            "{} is damaged in the backup (its size or SHA-256 differs from the manifest)",
            f.name
        );
    }
    let names: Vec<String> = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<_, _>>()
        .context("the backup's list of files cannot be read")?;
    for name in names {
        ensure!(
            name == MANIFEST || listed.contains(&name),
            "{name} is in the backup but not in its manifest"
        );
    }
    // The database must open (and is brought to this server's schema).
    crate::Db::open(&staging.path().join(DATABASE))
        .context("the backup's database does not open")?;
    let staged = staging.keep();
    if data_dir.exists() {
        std::fs::remove_dir(data_dir)?;
    }
    std::fs::rename(&staged, data_dir)
        .with_context(|| format!("moving the restored files to {}", data_dir.display()))?;
    Ok(Summary {
        file: from.to_owned(),
        files: manifest.files.len(),
        bytes: manifest.files.iter().map(|f| f.bytes).sum(),
        schema_version: manifest.schema_version,
    })
}

/// Copies the database at `from` to `to` in one step of SQLite's online backup, and answers
/// its schema version.
fn snapshot(from: &Path, to: &Path) -> Result<i64> {
    // Read-write, though it writes nothing: a read-only connection cannot open a WAL database
    // whose shared-memory file is not there yet (no server running).
    let source = rusqlite::Connection::open(from)
        .with_context(|| format!("cannot open {}", from.display()))?;
    source.busy_timeout(crate::db::DEFAULT_BUSY_TIMEOUT)?;
    let mut target = rusqlite::Connection::open(to)?;
    {
        let copy = rusqlite::backup::Backup::new(&source, &mut target)?;
        // Every page in one step: one read transaction, one consistent moment.
        loop {
            match copy.step(-1)? {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => continue,
                rusqlite::backup::StepResult::Busy | rusqlite::backup::StepResult::Locked => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                _ => bail!("the database could not be copied"),
            }
        }
    }
    let version: i64 = target.pragma_query_value(None, "user_version", |r| r.get(0))?;
    target.pragma_update(None, "journal_mode", "DELETE")?;
    drop(target);
    Ok(version)
}

fn add_file<W: Write + std::io::Seek>(
    zip: &mut zip::ZipWriter<W>,
    options: zip::write::SimpleFileOptions,
    name: &str,
    path: &Path,
) -> Result<FileEntry> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    zip.start_file(name, options)?;
    let (bytes, sha256) = copy_hashed(&mut file, zip)?;
    Ok(FileEntry {
        name: name.to_owned(),
        bytes,
        sha256,
    })
}

/// Copies everything from `from` to `to`, answering the bytes and their SHA-256.
fn copy_hashed(from: &mut impl Read, to: &mut impl Write) -> Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        to.write_all(&buf[..n])?;
        total += n as u64;
    }
    Ok((total, hex::encode(hasher.finalize())))
}

/// Every file under `root`, in a stable order.
fn files_under(root: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A relative path as a ZIP entry name (`/` separated).
fn zip_name(relative: &Path) -> Result<String> {
    let mut parts = Vec::new();
    for c in relative.components() {
        match c {
            Component::Normal(p) => parts.push(
                p.to_str()
                    .with_context(|| format!("{} is not a UTF-8 name", relative.display()))?,
            ),
            _ => bail!("{} is not a plain relative path", relative.display()),
        }
    }
    Ok(parts.join("/"))
}

/// The path a backup's entry name stands for: the database, or a plain relative path under
/// one of [`FOLDERS`]; anything else (`..`, absolute, another folder) is refused.
fn safe_name(name: &str) -> Result<PathBuf> {
    if name == DATABASE {
        return Ok(PathBuf::from(DATABASE));
    }
    let parts: Vec<&str> = name.split('/').collect();
    let plain = parts.len() >= 2
        && FOLDERS.contains(&parts[0])
        && parts
            .iter()
            .all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.contains('\\'));
    ensure!(
        plain,
        "the backup names a file Kvits does not restore: {name:?}"
    );
    Ok(parts.iter().collect())
}

#[cfg(test)]
mod tests {
    use super::safe_name;

    #[test]
    fn only_the_database_and_plain_paths_in_its_folders_are_restored() {
        assert!(safe_name("kvits.sqlite3").is_ok());
        assert!(safe_name("blobs/f/ab/abcd").is_ok());
        assert!(safe_name("exports/1.zip").is_ok());
        for bad in [
            "../kvits.sqlite3",
            "blobs/../../etc/passwd",
            "/etc/passwd",
            "uploads/x.part",
            "blobs",
            "blobs//x",
            "blobs\\..\\x",
            "manifest.json",
        ] {
            assert!(safe_name(bad).is_err(), "{bad}");
        }
    }
}
