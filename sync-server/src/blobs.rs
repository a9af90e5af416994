//! Content-addressed blob storage: receipt images and their thumbnails, per tenant.
//!
//! Objects are named `<firm_id>/<sha[0..2]>/<sha>` (the image as uploaded) and
//! `<firm_id>/<sha[0..2]>/<sha>.thumb.jpg` (its thumbnail). The same bytes uploaded twice by
//! a firm land on the same name, so a blob is stored once; another firm's copy is its own.
//!
//! Storage goes through an [`ObjectStore`] trait object: [`BlobStore::open`] uses the local
//! disk (`<data_dir>/blobs`, fsynced writes), and [`BlobStore::new`] takes any other store
//! (S3, in memory) without changing a caller. Writes are atomic: a reader sees a whole object
//! or none. Callers decide who may read what; this module only stores bytes.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use kvits_protocol::{FirmId, is_sha256_hex};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// What storage answers; `NotFound` is mapped to `None` by the reading methods.
pub type BlobResult<T> = Result<T, object_store::Error>;

/// Which object of a blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// The image exactly as uploaded (its SHA-256 is its name).
    Original,
    /// The JPEG thumbnail made from it when it was stored.
    Thumbnail,
}

/// A whole object, streamed.
pub struct BlobBody {
    /// Size in bytes.
    pub size: u64,
    pub stream: BoxStream<'static, BlobResult<Bytes>>,
}

impl std::fmt::Debug for BlobBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobBody")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// The blob store shared by all requests; cheap to clone.
#[derive(Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    /// Shared by uploads storing a blob (objects, then the row); exclusive while unreferenced
    /// blobs are deleted (row, then objects), so neither undoes the other's half.
    deleting: Arc<tokio::sync::RwLock<()>>,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobStore({})", self.store)
    }
}

impl BlobStore {
    /// The local-disk store under `<data_dir>/blobs` (created if needed). Every write is
    /// fsynced (file and directory) before it returns.
    pub fn open(data_dir: &Path) -> anyhow::Result<BlobStore> {
        let root = data_dir.join("blobs");
        std::fs::create_dir_all(&root)?;
        let store = LocalFileSystem::new_with_prefix(&root)?
            .with_fsync(true)
            .with_automatic_cleanup(true);
        Ok(BlobStore::new(Arc::new(store)))
    }

    /// A blob store over any object store (S3, in memory, …).
    pub fn new(store: Arc<dyn ObjectStore>) -> BlobStore {
        BlobStore {
            store,
            deleting: Arc::new(tokio::sync::RwLock::new(())),
        }
    }

    /// Held while an upload stores its objects and then its row.
    pub async fn lock_for_store(&self) -> tokio::sync::RwLockReadGuard<'_, ()> {
        self.deleting.read().await
    }

    /// Held while an unreferenced blob's row and then its objects are deleted.
    pub async fn lock_for_delete(&self) -> tokio::sync::RwLockWriteGuard<'_, ()> {
        self.deleting.write().await
    }

    /// Stores the image `sha256` of `firm`. Overwriting an existing blob writes the same
    /// bytes again (the name is their hash), so callers need not check first.
    pub async fn put_blob(&self, firm: FirmId, sha256: &str, bytes: Bytes) -> BlobResult<()> {
        self.put(firm, sha256, Variant::Original, bytes).await
    }

    /// Stores the thumbnail of the image `sha256` of `firm`.
    pub async fn put_thumbnail(&self, firm: FirmId, sha256: &str, jpeg: Bytes) -> BlobResult<()> {
        self.put(firm, sha256, Variant::Thumbnail, jpeg).await
    }

    async fn put(
        &self,
        firm: FirmId,
        sha256: &str,
        variant: Variant,
        bytes: Bytes,
    ) -> BlobResult<()> {
        let key = key(firm, sha256, variant)?;
        self.store.put(&key, PutPayload::from_bytes(bytes)).await?;
        Ok(())
    }

    /// The whole object as a stream, or `None` if it is not stored.
    pub async fn get(
        &self,
        firm: FirmId,
        sha256: &str,
        variant: Variant,
    ) -> BlobResult<Option<BlobBody>> {
        let key = key(firm, sha256, variant)?;
        match self.store.get(&key).await {
            Ok(result) => Ok(Some(BlobBody {
                size: result.meta.size,
                stream: result.into_stream(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A whole object's bytes, or `None` if it is not stored (for objects that fit in memory:
    /// one photo).
    pub async fn read(
        &self,
        firm: FirmId,
        sha256: &str,
        variant: Variant,
    ) -> BlobResult<Option<Bytes>> {
        let key = key(firm, sha256, variant)?;
        match self.store.get(&key).await {
            Ok(result) => Ok(Some(result.bytes().await?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The bytes `range` (end exclusive, within the object) of an object as a stream (a large
    /// range is never held in memory whole), or `None` if it is not stored.
    pub async fn get_range(
        &self,
        firm: FirmId,
        sha256: &str,
        variant: Variant,
        range: Range<u64>,
    ) -> BlobResult<Option<BlobBody>> {
        let key = key(firm, sha256, variant)?;
        let options = object_store::GetOptions {
            range: Some(object_store::GetRange::Bounded(range.clone())),
            ..object_store::GetOptions::default()
        };
        match self.store.get_opts(&key, options).await {
            Ok(result) => Ok(Some(BlobBody {
                size: range.end - range.start,
                stream: result.into_stream(),
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The size of an object, or `None` if it is not stored.
    pub async fn size(
        &self,
        firm: FirmId,
        sha256: &str,
        variant: Variant,
    ) -> BlobResult<Option<u64>> {
        let key = key(firm, sha256, variant)?;
        match self.store.head(&key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Whether an object is stored.
    pub async fn exists(&self, firm: FirmId, sha256: &str, variant: Variant) -> BlobResult<bool> {
        Ok(self.size(firm, sha256, variant).await?.is_some())
    }

    /// Deletes a blob and its thumbnail; missing objects are not an error.
    pub async fn delete(&self, firm: FirmId, sha256: &str) -> BlobResult<()> {
        for variant in [Variant::Thumbnail, Variant::Original] {
            let key = key(firm, sha256, variant)?;
            match self.store.delete(&key).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// The object name of a blob. Only lower-case hex SHA-256 names are accepted, so no caller
/// input can reach another path.
fn key(firm: FirmId, sha256: &str, variant: Variant) -> BlobResult<ObjectPath> {
    if !is_sha256_hex(sha256) {
        return Err(object_store::Error::Generic {
            store: "kvits-blobs",
            source: format!("not a blob name: {sha256:?}").into(),
        });
    }
    let prefix = &sha256[..2];
    let name = match variant {
        Variant::Original => format!("{firm}/{prefix}/{sha256}"),
        Variant::Thumbnail => format!("{firm}/{prefix}/{sha256}.thumb.jpg"),
    };
    Ok(ObjectPath::from(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(data: &[u8]) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(data))
    }

    #[tokio::test]
    async fn put_get_range_exists_delete() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let store = BlobStore::open(dir.path())?;
        let firm = FirmId(uuid::Uuid::now_v7());
        let data = Bytes::from_static(b"hello, receipts");
        let name = sha(&data);

        assert!(!store.exists(firm, &name, Variant::Original).await?);
        assert!(store.get(firm, &name, Variant::Original).await?.is_none());
        store.put_blob(firm, &name, data.clone()).await?;
        store
            .put_thumbnail(firm, &name, Bytes::from_static(b"thumb"))
            .await?;

        let path = dir
            .path()
            .join("blobs")
            .join(firm.to_string())
            .join(&name[..2]);
        assert!(path.join(&name).is_file());
        assert!(path.join(format!("{name}.thumb.jpg")).is_file());

        let body = store
            .get(firm, &name, Variant::Original)
            .await?
            .ok_or_else(|| anyhow::anyhow!("missing"))?;
        assert_eq!(body.size, data.len() as u64);
        let chunks: Vec<Bytes> = futures::TryStreamExt::try_collect(body.stream).await?;
        assert_eq!(chunks.concat(), data.to_vec());
        let part = store
            .get_range(firm, &name, Variant::Original, 7..15)
            .await?
            .ok_or_else(|| anyhow::anyhow!("missing"))?;
        assert_eq!(part.size, 8);
        let chunks: Vec<Bytes> = futures::TryStreamExt::try_collect(part.stream).await?;
        assert_eq!(chunks.concat(), b"receipts".to_vec());
        assert_eq!(store.size(firm, &name, Variant::Thumbnail).await?, Some(5));

        // Another firm does not see it.
        let other = FirmId(uuid::Uuid::now_v7());
        assert!(!store.exists(other, &name, Variant::Original).await?);

        store.delete(firm, &name).await?;
        assert!(!store.exists(firm, &name, Variant::Original).await?);
        assert!(!store.exists(firm, &name, Variant::Thumbnail).await?);
        store.delete(firm, &name).await?;
        Ok(())
    }

    #[tokio::test]
    async fn refuses_names_that_are_not_hashes() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let store = BlobStore::open(dir.path())?;
        let firm = FirmId(uuid::Uuid::now_v7());
        for bad in [
            "../../etc/passwd",
            "",
            "ABCDEF",
            &"A".repeat(64),
            &"0".repeat(63),
        ] {
            assert!(store.put_blob(firm, bad, Bytes::new()).await.is_err());
            assert!(store.exists(firm, bad, Variant::Original).await.is_err());
        }
        Ok(())
    }
}
