//! Test support shared by every Kvits test and benchmark: the receipt fixtures, phone-like photos
//! derived from them deterministically, an allocator that measures peak heap use, and an OCR
//! helper around Debian's `tesseract`, and small whole PDFs.

pub mod alloc;
pub mod bombs;
pub mod fixtures;
pub mod ocr;
pub mod pdf;
pub mod photo;
pub mod proxy;
pub mod quality;
pub mod rng;

pub use fixtures::{Receipt, receipts};
pub use photo::{PhoneShot, phone_photo};
