use crate::{MAX_PIXELS, MAX_SIDE};

/// Why a photo could not be processed. Every variant has a message a user can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImagingError {
    #[error("the file is empty")]
    Empty,
    #[error("{0} files are not supported; use a JPEG, PNG or WebP photo of the receipt")]
    Unsupported(&'static str),
    #[error(
        "the image is {width}×{height} px; the limit is {MAX_SIDE} px a side and {} megapixels",
        MAX_PIXELS / 1_000_000
    )]
    TooLarge { width: u32, height: u32 },
    #[error("the image file is cut short (incomplete download or copy?)")]
    Truncated,
    #[error("the image file is damaged: {0}")]
    Corrupt(String),
    #[error("the image could not be encoded: {0}")]
    Encode(String),
}

impl ImagingError {
    /// A stable machine-readable code for the error, for logs and the wire.
    pub fn code(&self) -> &'static str {
        match self {
            ImagingError::Empty => "empty",
            ImagingError::Unsupported(_) => "unsupported_format",
            ImagingError::TooLarge { .. } => "too_large",
            ImagingError::Truncated => "truncated",
            ImagingError::Corrupt(_) => "corrupt",
            ImagingError::Encode(_) => "encode_failed",
        }
    }
}
