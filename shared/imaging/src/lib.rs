//! The receipt photo pipeline every Kvits platform runs.
//!
//! A phone photo (or an imported scan or screenshot) goes in; a small, upright JPEG with no
//! metadata, its SHA-256, a thumbnail and the photo's capture date come out:
//!
//! 1. sniff the format from the magic bytes and refuse what is not a JPEG, PNG or WebP;
//! 2. read the header and refuse images over [`MAX_SIDE`] px a side or [`MAX_PIXELS`] before any
//!    pixel buffer is allocated;
//! 3. read the EXIF orientation (values outside 1–8 mean 1) and capture date;
//! 4. decode strictly (a truncated or corrupt file is an error, never a gray-filled picture)
//!    straight to gray in document mode;
//! 5. downscale (never upscale) to the size in [`Options`], then turn the *small* image upright;
//! 6. encode a JPEG with no metadata at all, hash it, and make a thumbnail from it.
//!
//! By default everything here is pure Rust and builds for `wasm32-unknown-unknown`; the
//! `turbo` feature (native builds) decodes JPEGs with libjpeg-turbo's DCT scaling instead.
//! A `turbo` build still carries the pure-Rust decoder: `KVITS_IMAGING_DECODER=pure` in the
//! environment selects it for the whole process ([`jpeg_decoder`]), which is how one test build
//! checks both paths, and how an operator can set libjpeg-turbo aside without a rebuild.

mod decode;
mod encode;
mod error;
mod meta;
mod orient;
mod pixels;
mod resize;
mod sniff;
#[cfg(feature = "turbo")]
mod turbo;

pub use error::ImagingError;
pub use meta::CapturedAt;
pub use orient::Orientation;
pub use pixels::{Channels, Pixels};
pub use sniff::SourceFormat;

use serde::Serialize;

/// Which decoder reads JPEGs in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JpegDecoder {
    /// zune-jpeg in strict mode, then the resampler: every build, the only one on wasm.
    PureRust,
    /// libjpeg-turbo with DCT scaling: builds with the `turbo` feature, unless
    /// `KVITS_IMAGING_DECODER=pure` is set.
    LibjpegTurbo,
}

/// The environment variable that sets libjpeg-turbo aside in a `turbo` build (value `pure`).
pub const DECODER_ENV: &str = "KVITS_IMAGING_DECODER";

/// The JPEG decoder this process uses, read once: libjpeg-turbo in a `turbo` build unless
/// [`DECODER_ENV`] is `pure`; the pure-Rust decoder otherwise.
pub fn jpeg_decoder() -> JpegDecoder {
    #[cfg(feature = "turbo")]
    {
        static CHOSEN: std::sync::OnceLock<JpegDecoder> = std::sync::OnceLock::new();
        *CHOSEN.get_or_init(|| match std::env::var(DECODER_ENV) {
            Ok(value) if value == "pure" => JpegDecoder::PureRust,
            _ => JpegDecoder::LibjpegTurbo,
        })
    }
    #[cfg(not(feature = "turbo"))]
    JpegDecoder::PureRust
}

/// The largest width or height accepted, in pixels.
pub const MAX_SIDE: u32 = 16_384;
/// The largest pixel count accepted (50 MP).
pub const MAX_PIXELS: u64 = 50_000_000;

/// Pixel budget of the output in the default mode: a 4:3 frame 2016 px long, which keeps about
/// 200 dpi on an 80 mm receipt that fills a 12 MP photo. Narrow receipts and scans, which have
/// fewer pixels across the paper, keep their width up to this budget.
pub const DEFAULT_MAX_PIXELS: u64 = 2016 * 1512;
/// Long-edge cap in the default mode.
pub const DEFAULT_LONG_EDGE: u32 = 4096;
/// Long-edge cap in long-receipt mode.
pub const LONG_RECEIPT_LONG_EDGE: u32 = 8192;
/// Pixel budget in long-receipt mode: a whole 12 MP frame keeps its full resolution.
pub const LONG_RECEIPT_MAX_PIXELS: u64 = 4032 * 3024;
/// Resolution kept from a scan that declares its own (a flatbed or sheet-fed scanner does):
/// measured on the receipt fixtures, 260 dpi keeps what tesseract reads at 300 dpi while
/// 250 dpi starts to lose words.
pub const SCAN_DPI: u32 = 260;
/// Declared resolutions below this are screen or camera defaults (72, 96, 144), not a scan.
pub const MIN_SCAN_DPI: u32 = 200;
/// Long edge of the list thumbnail.
pub const THUMBNAIL_LONG_EDGE: u32 = 320;

/// Gray "document mode" (the default) or colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColorMode {
    #[default]
    Gray,
    Color,
}

impl ColorMode {
    fn channels(self) -> Channels {
        match self {
            ColorMode::Gray => Channels::Gray,
            ColorMode::Color => Channels::Rgb,
        }
    }
}

/// How a photo is processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Options {
    pub color: ColorMode,
    /// Keep more pixels, for receipts much longer than they are wide.
    pub long_receipt: bool,
}

impl Options {
    /// The JPEG quality used for the main output.
    pub fn quality(&self) -> u8 {
        match self.color {
            ColorMode::Gray => 70,
            ColorMode::Color => 75,
        }
    }

    /// The output size limits: (long edge, pixel count).
    pub fn limits(&self) -> (u32, u64) {
        if self.long_receipt {
            (LONG_RECEIPT_LONG_EDGE, LONG_RECEIPT_MAX_PIXELS)
        } else {
            (DEFAULT_LONG_EDGE, DEFAULT_MAX_PIXELS)
        }
    }

    /// The output size, in the stored orientation, for an input with this header.
    pub fn output_size(&self, source: &SourceInfo) -> (u32, u32) {
        let (long_edge, max_pixels) = self.limits();
        let max_scale = match source.dpi {
            Some(dpi) if dpi >= MIN_SCAN_DPI && !self.long_receipt => {
                f64::from(SCAN_DPI) / f64::from(dpi)
            }
            _ => 1.0,
        };
        resize::fit(
            source.width,
            source.height,
            long_edge,
            max_pixels,
            max_scale,
        )
    }
}

/// What the header of the input says, read without decoding pixels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceInfo {
    pub format: SourceFormat,
    /// Stored width, before the orientation is applied.
    pub width: u32,
    pub height: u32,
    /// Resolution on paper the file declares, in dots per inch, if any.
    pub dpi: Option<u32>,
    pub orientation: Orientation,
    pub captured_at: Option<CapturedAt>,
}

impl SourceInfo {
    /// Width and height once the image is upright.
    pub fn upright_dimensions(&self) -> (u32, u32) {
        if self.orientation.swaps_axes() {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

/// A JPEG produced by the pipeline.
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedImage {
    pub width: u32,
    pub height: u32,
    pub jpeg: Vec<u8>,
}

impl std::fmt::Debug for EncodedImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedImage")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("bytes", &self.jpeg.len())
            .finish()
    }
}

/// The pipeline's result: the receipt image to upload and what the app shows and stores about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    pub image: EncodedImage,
    /// Lower-case hex SHA-256 of `image.jpeg`: the blob's content address.
    pub sha256: String,
    pub thumbnail: EncodedImage,
    pub source: SourceInfo,
}

/// Reads the header (format, size, orientation, capture date) and checks the size limits,
/// without decoding any pixels.
pub fn probe(input: &[u8]) -> Result<SourceInfo, ImagingError> {
    let format = sniff::sniff(input)?;
    let decode::Header { width, height, dpi } = decode::header(format, input)?;
    check_limits(width, height)?;
    let meta = meta::read(input);
    Ok(SourceInfo {
        format,
        width,
        height,
        dpi: dpi.or(meta.dpi),
        orientation: meta.orientation,
        captured_at: meta.captured_at,
    })
}

/// Runs the whole pipeline on one photo.
pub fn process(input: &[u8], options: &Options) -> Result<Processed, ImagingError> {
    let source = probe(input)?;
    let channels = options.color.channels();
    let (w, h) = options.output_size(&source);
    let (min_w, min_h) = decode_floor((source.width, source.height), (w, h));
    let decoded = decode::decode_for_size(source.format, input, channels, min_w, min_h)?;
    let small = resize::resize_owned(decoded, w, h)?;
    let upright = orient::apply(small, source.orientation);
    let jpeg = encode::jpeg(&upright, options.quality())?;
    let sha256 = encode::sha256_hex(&jpeg);
    let thumbnail = thumbnail(&upright)?;
    Ok(Processed {
        image: EncodedImage {
            width: upright.width,
            height: upright.height,
            jpeg,
        },
        sha256,
        thumbnail,
        source,
    })
}

/// Decodes the whole image at full resolution and turns it upright, with no downscaling.
/// This is the reference the pipeline's output is judged against (OCR, SSIMULACRA2).
pub fn decode_upright(input: &[u8], channels: Channels) -> Result<Pixels, ImagingError> {
    let source = probe(input)?;
    let decoded = decode::decode(source.format, input, channels)?;
    Ok(orient::apply(decoded, source.orientation))
}

/// Downscales `pixels` (never upscales) to fit `long_edge` and `max_pixels`, with the same
/// resampler the pipeline uses.
pub fn downscale(pixels: &Pixels, long_edge: u32, max_pixels: u64) -> Result<Pixels, ImagingError> {
    let (w, h) = resize::fit(pixels.width, pixels.height, long_edge, max_pixels, 1.0);
    resize::resize(pixels, w, h)
}

/// Encodes pixels as a metadata-free JPEG.
pub fn encode_jpeg(pixels: &Pixels, quality: u8) -> Result<Vec<u8>, ImagingError> {
    encode::jpeg(pixels, quality)
}

/// The smallest decode worth asking for: a decoder's DCT scaling is as good as a resampler
/// only when it lands exactly on the target (a 12 MP photo at ½); otherwise the resampler gets
/// at least a 1.5× step, since a nearly-1:1 resample of a DCT-scaled image visibly softens text.
fn decode_floor(stored: (u32, u32), target: (u32, u32)) -> (u32, u32) {
    if [2, 4, 8]
        .iter()
        .any(|d| stored.0 == target.0 * d && stored.1 == target.1 * d)
    {
        return target;
    }
    let grow = |t: u32, s: u32| (u64::from(t) * 3 / 2).min(u64::from(s)) as u32;
    (grow(target.0, stored.0), grow(target.1, stored.1))
}

fn thumbnail(upright: &Pixels) -> Result<EncodedImage, ImagingError> {
    let small = downscale(upright, THUMBNAIL_LONG_EDGE, u64::MAX)?;
    let jpeg = encode::jpeg(&small, 60)?;
    Ok(EncodedImage {
        width: small.width,
        height: small.height,
        jpeg,
    })
}

fn check_limits(width: u32, height: u32) -> Result<(), ImagingError> {
    if width == 0 || height == 0 {
        return Err(ImagingError::Corrupt("the image has no pixels".into()));
    }
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImagingError::TooLarge { width, height });
    }
    Ok(())
}
