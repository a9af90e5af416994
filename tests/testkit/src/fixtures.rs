//! The receipt scans in `tests/fixtures/receipts/` (CC-BY-4.0, see the README there) and the
//! ground truth their file names carry: `MERCHANT_DDMMYYYY_ITEMS_TOTAL.jpg`.

use std::path::{Path, PathBuf};

/// The folder holding `scans/` and `uncropped/`.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/receipts")
}

/// One fixture file and what its name says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub path: PathBuf,
    pub merchant: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub items: Option<u32>,
    pub total_cents: u64,
}

impl Receipt {
    pub fn name(&self) -> String {
        self.path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path)
            .unwrap_or_else(|e| panic!("reading fixture {}: {e}", self.path.display()))
    }

    /// Parses a fixture file name; `None` when it does not follow the pattern.
    pub fn from_path(path: &Path) -> Option<Receipt> {
        let stem = path.file_stem()?.to_str()?;
        let parts: Vec<&str> = stem.split('_').collect();
        let (merchant, date, items, total) = match parts.as_slice() {
            [m, d, i, t] => (*m, *d, Some(i.parse().ok()?), *t),
            [m, d, t] => (*m, *d, None, *t),
            _ => return None,
        };
        if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Receipt {
            path: path.to_path_buf(),
            merchant: merchant.to_string(),
            date: format!("{}-{}-{}", &date[4..8], &date[2..4], &date[0..2]),
            items,
            total_cents: total.parse().ok()?,
        })
    }
}

/// Every fixture in `scans/` (cropped receipts) or `uncropped/` (A4 pages), sorted by name.
pub fn receipts(folder: &str) -> Vec<Receipt> {
    let dir = dir().join(folder);
    let mut out: Vec<Receipt> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter_map(|e| Receipt::from_path(&e.path()))
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_ground_truth() {
        let r = Receipt::from_path(Path::new("scans/aldi_02032020_19_02423.jpg")).expect("parses");
        assert_eq!(r.merchant, "aldi");
        assert_eq!(r.date, "2020-03-02");
        assert_eq!(r.items, Some(19));
        assert_eq!(r.total_cents, 2423);
        let r = Receipt::from_path(Path::new("saturn_08092017_112900.jpg")).expect("parses");
        assert_eq!((r.items, r.total_cents), (None, 112_900));
        assert_eq!(Receipt::from_path(Path::new("README.md")), None);
    }

    #[test]
    fn all_fixtures_are_present() {
        assert_eq!(receipts("scans").len(), 26);
        assert_eq!(receipts("uncropped").len(), 3);
    }
}
