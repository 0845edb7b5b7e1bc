//! The file backend: the storage contract over `std::fs`, laid out like Kafka's log directory
//! (`DIR/<topic>-<partition>/<20-digit base offset>.log`), so a `.log` file is readable by any
//! Kafka record-batch decoder.
//!
//! Durability is explicit: requests change an in-process overlay (our page cache) at once, and
//! only `Sync` writes them to disk and fsyncs. So a crash of the process (dropping the backend
//! without `Sync`) leaves exactly what was synced, the same model as the memory and IndexedDB
//! backends. Replacements go through a temporary file and a rename, so they are atomic.

use logsim::storage::{Answer, FileName, StorageError, StorageRequest, SyncStorage};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// What a dirty file's content is, relative to the disk.
#[derive(Debug)]
enum Pending {
    /// The first `len` bytes on disk (cut if shorter than the file), then `tail`.
    Disk {
        len: u64,
        tail: Vec<u8>,
    },
    /// A new content replacing whatever is on disk.
    Replaced(Vec<u8>),
    Deleted,
}

pub struct FileStorage {
    root: PathBuf,
    dirty: BTreeMap<FileName, Pending>,
    /// Dirty files in the order they were first touched since the last sync, so a sync writes
    /// them in submission order (the session checkpoint after the segments it describes).
    order: Vec<FileName>,
}

fn io_err(what: &str, path: &Path, e: io::Error) -> StorageError {
    if e.raw_os_error() == Some(28) {
        return StorageError::QuotaExceeded(format!("{what} {}: {e}", path.display()));
    }
    StorageError::Io(format!("{what} {}: {e}", path.display()))
}

impl FileStorage {
    /// Opens (creating if needed) a log directory.
    pub fn open(root: impl Into<PathBuf>) -> Result<FileStorage, StorageError> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| io_err("cannot create", &root, e))?;
        if !root.is_dir() {
            return Err(StorageError::Io(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        Ok(FileStorage {
            root,
            dirty: BTreeMap::new(),
            order: Vec::new(),
        })
    }

    fn path(&self, file: &FileName) -> PathBuf {
        self.root.join(file.as_str())
    }

    fn disk_len(&self, file: &FileName) -> Result<Option<u64>, StorageError> {
        let path = self.path(file);
        match fs::metadata(&path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err("cannot stat", &path, e)),
        }
    }

    fn touch(&mut self, file: &FileName) -> Result<&mut Pending, StorageError> {
        if !self.dirty.contains_key(file) {
            let pending = match self.disk_len(file)? {
                Some(len) => Pending::Disk {
                    len,
                    tail: Vec::new(),
                },
                None => Pending::Deleted,
            };
            self.dirty.insert(file.clone(), pending);
            self.order.push(file.clone());
        }
        self.dirty
            .get_mut(file)
            .ok_or_else(|| StorageError::Io("dirty entry vanished".into()))
    }

    fn read_disk(&self, file: &FileName, len: Option<u64>) -> Result<Vec<u8>, StorageError> {
        let path = self.path(file);
        let mut f = File::open(&path).map_err(|e| {
            if e.kind() == io::ErrorKind::NotFound {
                StorageError::NotFound(file.clone())
            } else {
                io_err("cannot open", &path, e)
            }
        })?;
        let mut out = Vec::new();
        match len {
            Some(len) => f.take(len).read_to_end(&mut out),
            None => f.read_to_end(&mut out),
        }
        .map_err(|e| io_err("cannot read", &path, e))?;
        Ok(out)
    }

    fn list_disk(
        &self,
        dir: &Path,
        rel: &str,
        out: &mut Vec<FileName>,
    ) -> Result<(), StorageError> {
        let entries = fs::read_dir(dir).map_err(|e| io_err("cannot list", dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_err("cannot list", dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                continue; // A replacement a crash interrupted; never part of the image.
            }
            let rel_name = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let ty = entry
                .file_type()
                .map_err(|e| io_err("cannot stat", &entry.path(), e))?;
            if ty.is_dir() {
                self.list_disk(&entry.path(), &rel_name, out)?;
            } else if let Ok(f) = FileName::new(rel_name) {
                out.push(f);
            }
        }
        Ok(())
    }

    fn apply_request(&mut self, request: StorageRequest) -> Result<Answer, StorageError> {
        match request {
            StorageRequest::Append { file, bytes } => {
                match self.touch(&file)? {
                    Pending::Disk { tail, .. } => tail.extend_from_slice(&bytes),
                    Pending::Replaced(content) => content.extend_from_slice(&bytes),
                    p @ Pending::Deleted => *p = Pending::Replaced(bytes),
                }
                Ok(Answer::Done)
            }
            StorageRequest::Replace { file, bytes } => {
                *self.touch(&file)? = Pending::Replaced(bytes);
                Ok(Answer::Done)
            }
            StorageRequest::Truncate { file, len } => {
                match self.touch(&file)? {
                    Pending::Disk { len: disk, tail } => {
                        if len <= *disk {
                            *disk = len;
                            tail.clear();
                        } else {
                            let keep = usize::try_from(len - *disk).unwrap_or(usize::MAX);
                            tail.truncate(keep);
                        }
                    }
                    Pending::Replaced(content) => {
                        content.truncate(usize::try_from(len).unwrap_or(usize::MAX));
                    }
                    Pending::Deleted => {}
                }
                Ok(Answer::Done)
            }
            StorageRequest::Delete { file } => {
                *self.touch(&file)? = Pending::Deleted;
                Ok(Answer::Done)
            }
            StorageRequest::Sync => {
                self.sync()?;
                Ok(Answer::Done)
            }
            StorageRequest::List { prefix } => {
                let mut files = Vec::new();
                self.list_disk(&self.root.clone(), "", &mut files)?;
                let mut all: BTreeMap<FileName, ()> = files.into_iter().map(|f| (f, ())).collect();
                for (f, p) in &self.dirty {
                    match p {
                        Pending::Deleted => all.remove(f),
                        _ => all.insert(f.clone(), ()),
                    };
                }
                Ok(Answer::Listed(
                    all.into_keys()
                        .filter(|f| f.as_str().starts_with(&prefix))
                        .collect(),
                ))
            }
            StorageRequest::Read { file } => match self.dirty.get(&file) {
                Some(Pending::Deleted) => Err(StorageError::NotFound(file)),
                Some(Pending::Replaced(content)) => Ok(Answer::Read(content.clone())),
                Some(Pending::Disk { len, tail }) => {
                    let mut out = self.read_disk(&file, Some(*len))?;
                    out.extend_from_slice(tail);
                    Ok(Answer::Read(out))
                }
                None => Ok(Answer::Read(self.read_disk(&file, None)?)),
            },
        }
    }

    /// Writes every pending change in submission order and fsyncs the files and directories.
    fn sync(&mut self) -> Result<(), StorageError> {
        let order = std::mem::take(&mut self.order);
        let mut dirs: BTreeMap<PathBuf, ()> = BTreeMap::new();
        for file in order {
            let Some(pending) = self.dirty.remove(&file) else {
                continue;
            };
            let path = self.path(&file);
            if let Some(parent) = path.parent() {
                fs::create_dir_all(parent).map_err(|e| io_err("cannot create", parent, e))?;
                dirs.insert(parent.to_path_buf(), ());
            }
            match pending {
                Pending::Deleted => match fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err("cannot delete", &path, e)),
                },
                Pending::Replaced(content) => {
                    let tmp = path.with_extension(format!(
                        "{}.tmp",
                        path.extension()
                            .map_or(String::new(), |e| e.to_string_lossy().into_owned())
                    ));
                    let mut f = File::create(&tmp).map_err(|e| io_err("cannot create", &tmp, e))?;
                    f.write_all(&content)
                        .map_err(|e| io_err("cannot write", &tmp, e))?;
                    f.sync_data().map_err(|e| io_err("cannot fsync", &tmp, e))?;
                    fs::rename(&tmp, &path).map_err(|e| io_err("cannot rename", &tmp, e))?;
                }
                Pending::Disk { len, tail } => {
                    let mut f = OpenOptions::new()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .open(&path)
                        .map_err(|e| io_err("cannot open", &path, e))?;
                    let on_disk = f
                        .metadata()
                        .map_err(|e| io_err("cannot stat", &path, e))?
                        .len();
                    if on_disk > len {
                        f.set_len(len)
                            .map_err(|e| io_err("cannot truncate", &path, e))?;
                    }
                    f.seek(SeekFrom::Start(len.min(on_disk)))
                        .map_err(|e| io_err("cannot seek", &path, e))?;
                    f.write_all(&tail)
                        .map_err(|e| io_err("cannot write", &path, e))?;
                    f.sync_data()
                        .map_err(|e| io_err("cannot fsync", &path, e))?;
                }
            }
        }
        self.dirty.clear();
        for dir in dirs.into_keys() {
            // A directory fsync makes creations, renames and deletions durable.
            if let Ok(d) = File::open(&dir) {
                d.sync_all().map_err(|e| io_err("cannot fsync", &dir, e))?;
            }
        }
        Ok(())
    }
}

impl SyncStorage for FileStorage {
    fn apply(&mut self, request: StorageRequest) -> Result<Answer, StorageError> {
        self.apply_request(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logsim::storage::{Completion, RequestId};

    #[test]
    fn file_backend_passes_the_conformance_suite() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().to_path_buf();
        // A crash drops the backend with its overlay; a new one opens the same directory.
        logsim::storage::conformance::run_sync(|_previous: Option<FileStorage>| {
            FileStorage::open(&root).expect("open log dir")
        })
        .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn files_land_in_kafka_layout() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut s = FileStorage::open(dir.path()).expect("open");
        let file = FileName::new("events-0/00000000000000000000.log").expect("name");
        let done = s.execute(vec![
            (
                RequestId(1),
                StorageRequest::Append {
                    file,
                    bytes: b"abc".to_vec(),
                },
            ),
            (RequestId(2), StorageRequest::Sync),
        ]);
        assert!(
            done.iter().all(|c| matches!(c, Completion::Done(_))),
            "{done:?}"
        );
        let on_disk = fs::read(dir.path().join("events-0/00000000000000000000.log")).expect("read");
        assert_eq!(on_disk, b"abc");
    }
}
