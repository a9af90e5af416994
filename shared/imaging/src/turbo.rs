//! Optional native fast path (cargo feature `turbo`, off by default): libjpeg-turbo through the
//! `turbojpeg` crate, linked against the system `libturbojpeg` found with pkg-config (on Debian:
//! `libturbojpeg0-dev`). The pure-Rust path stays the default and the only one on wasm.
//!
//! It makes decoding a phone photo faster and smaller in memory: with DCT scaling a 12 MP JPEG
//! is decoded straight to, say, 1/2 size, so the full frame is never in memory and the resampler
//! only does the last, small step. Encoding stays with the pure-Rust encoder on every platform:
//! with optimized Huffman tables (which TurboJPEG 2.x, Debian 12's, cannot be asked for) its
//! output is about 5 % smaller at about the same speed as libjpeg-turbo's optimizing encoder.
//!
//! Behaviour the caller relies on:
//! - The caller has read the header and checked the size limits before calling
//!   [`decode_jpeg_scaled`]. libjpeg-turbo reads the header again on its own; that reading is
//!   checked against the same limits before anything is allocated, so a file that the two
//!   parsers see differently cannot make it allocate more than the limits allow.
//! - Strict: libjpeg-turbo treats corrupt or missing data as *warnings* and fills the rest of
//!   the picture with gray. The TurboJPEG 2.x API reports any warning raised while decoding as a
//!   failure of the call, so a file that ends early is [`ImagingError::Truncated`] and any other
//!   damage is [`ImagingError::Corrupt`], never a padded picture. (The crate's 0.5 line has no
//!   way to pass `TJFLAG_STOPONWARNING`, so a damaged file is decoded to its end before the
//!   error is reported; that only costs time on the error path.)
//! - CMYK and YCCK JPEGs: libjpeg-turbo cannot convert them to gray or RGB (it only hands back
//!   raw CMYK), so [`decode_jpeg_scaled`] refuses them up front, before decoding, with the error
//!   that [`needs_pure_path`] recognises; the caller then decodes with the pure path, which
//!   converts them. Every other JPEG colour model (gray, YCbCr, RGB) is decoded here.

use crate::{Channels, ImagingError, MAX_PIXELS, MAX_SIDE, Pixels};
use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat};

/// The DCT scaling factors (numerator, denominator) libjpeg-turbo decodes at, up to 1/1,
/// smallest first. (It also has factors above 1; the pipeline never upscales.)
const SCALES: [(u32, u32); 8] = [
    (1, 8),
    (1, 4),
    (3, 8),
    (1, 2),
    (5, 8),
    (3, 4),
    (7, 8),
    (1, 1),
];

/// The reason in the [`ImagingError::Unsupported`] that [`decode_jpeg_scaled`] returns for a JPEG
/// this path does not decode (CMYK, YCCK). Never shown to a user: the caller falls back.
pub(crate) const PURE_PATH_ONLY: &str = "CMYK or YCCK JPEG on the libjpeg-turbo path";

/// True when `err` means "decode this one with the pure-Rust path instead", not a real failure.
pub(crate) fn needs_pure_path(err: &ImagingError) -> bool {
    matches!(err, ImagingError::Unsupported(reason) if *reason == PURE_PATH_ONLY)
}

/// A side of `dimension` px decoded at `scale`, rounded up as libjpeg-turbo does (`TJSCALED`).
fn scaled(dimension: u32, (num, denom): (u32, u32)) -> u32 {
    let out = (u64::from(dimension) * u64::from(num)).div_ceil(u64::from(denom));
    // Never more than `dimension`, because every factor is at most 1.
    out as u32
}

/// The smallest factor that decodes a `width`×`height` image to at least
/// `min_width`×`min_height` (clamped to the image, so it is 1/1 when the minimum is larger).
fn scale_for(width: u32, height: u32, min_width: u32, min_height: u32) -> (u32, u32) {
    let min_width = min_width.max(1).min(width);
    let min_height = min_height.max(1).min(height);
    SCALES
        .into_iter()
        .find(|&s| scaled(width, s) >= min_width && scaled(height, s) >= min_height)
        .unwrap_or((1, 1))
}

/// Decodes a JPEG with libjpeg-turbo at the smallest DCT scale whose output is still at least
/// `min_width`×`min_height` (in the stored orientation), so that the resize after it only ever
/// shrinks. Gray output for [`Channels::Gray`] (straight from the luma plane for YCbCr files),
/// RGB otherwise.
///
/// The caller has already checked the header against the size limits. Errors:
/// [`ImagingError::Truncated`] when the data ends early, [`ImagingError::Corrupt`] for other
/// damage, and, for CMYK/YCCK files, the error [`needs_pure_path`] recognises.
pub(crate) fn decode_jpeg_scaled(
    input: &[u8],
    channels: Channels,
    min_width: u32,
    min_height: u32,
) -> Result<Pixels, ImagingError> {
    let mut decompressor = Decompressor::new().map_err(|e| library_error(&e))?;
    let header = decompressor.read_header(input).map_err(decode_error)?;
    if matches!(header.colorspace, Colorspace::CMYK | Colorspace::YCCK) {
        return Err(ImagingError::Unsupported(PURE_PATH_ONLY));
    }
    let (width, height) = checked_dimensions(header.width, header.height)?;
    let scale = scale_for(width, height, min_width, min_height);
    let (out_width, out_height) = (scaled(width, scale), scaled(height, scale));

    let format = match channels {
        Channels::Gray => PixelFormat::GRAY,
        Channels::Rgb => PixelFormat::RGB,
    };
    let pitch = out_width as usize * channels.count();
    let mut data = vec![0u8; pitch * out_height as usize];
    // TurboJPEG 2.x picks the largest scaling factor whose output fits the requested size; that
    // is `scale` exactly, since its output is this size and every larger factor's is larger.
    let image = Image {
        pixels: data.as_mut_slice(),
        width: out_width as usize,
        pitch,
        height: out_height as usize,
        format,
    };
    decompressor
        .decompress(input, image)
        .map_err(decode_error)?;
    Ok(Pixels {
        width: out_width,
        height: out_height,
        channels,
        data,
    })
}

/// libjpeg-turbo's own reading of the header, held to the pipeline's limits before any buffer is
/// sized from it.
fn checked_dimensions(width: usize, height: usize) -> Result<(u32, u32), ImagingError> {
    let (Ok(w), Ok(h)) = (u32::try_from(width), u32::try_from(height)) else {
        return Err(ImagingError::Corrupt(
            "JPEG header has impossible dimensions".into(),
        ));
    };
    if w == 0 || h == 0 {
        return Err(ImagingError::Corrupt("the image has no pixels".into()));
    }
    if w > MAX_SIDE || h > MAX_SIDE || u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(ImagingError::TooLarge {
            width: w,
            height: h,
        });
    }
    Ok((w, h))
}

/// Maps a libjpeg-turbo decoding failure. Data that runs out is reported by libjpeg as
/// "Premature end of JPEG file" (the source ran dry) or "Corrupt JPEG data: premature end of data
/// segment" (a scan cut short by a marker); both mean the file was cut.
fn decode_error(e: turbojpeg::Error) -> ImagingError {
    let text = match e {
        turbojpeg::Error::TurboJpegError(message) => message,
        other => other.to_string(),
    };
    if text.to_ascii_lowercase().contains("premature end") {
        return ImagingError::Truncated;
    }
    ImagingError::Corrupt(format!("JPEG: {}", text.trim()))
}

/// The library could not even start (out of memory, or a broken installation).
fn library_error(e: &turbojpeg::Error) -> ImagingError {
    ImagingError::Corrupt(format!("libjpeg-turbo: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jpeg_encoder::{ColorType, Encoder};
    use zune_core::bytestream::ZCursor;
    use zune_core::colorspace::ColorSpace;
    use zune_jpeg::JpegDecoder;

    /// A smooth test scene (JPEG of a smooth scene decodes close to it at any scale), one sample
    /// per pixel per channel, with a per-channel phase so that RGB channels differ.
    fn scene(width: u32, height: u32, channels: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(width as usize * height as usize * channels);
        for y in 0..height {
            for x in 0..width {
                for c in 0..channels {
                    let (fx, fy, fc) = (f64::from(x), f64::from(y), c as f64);
                    let v =
                        128.0 + 60.0 * (fx / 37.0 + fc).sin() + 50.0 * (fy / 29.0 - fc * 2.0).cos();
                    out.push(v.clamp(0.0, 255.0) as u8);
                }
            }
        }
        out
    }

    fn jpeg_of(width: u32, height: u32, color: ColorType) -> Vec<u8> {
        let n = match color {
            ColorType::Luma => 1,
            ColorType::Rgb => 3,
            _ => 4,
        };
        let samples = scene(width, height, n);
        let mut out = Vec::new();
        let encoder = Encoder::new(&mut out, 90);
        encoder
            .encode(&samples, width as u16, height as u16, color)
            .expect("jpeg-encoder encodes the test scene");
        out
    }

    /// Decodes with zune-jpeg at full size to `out` (Luma or RGB).
    fn zune(jpeg: &[u8], out: ColorSpace) -> (u32, u32, ColorSpace, Vec<u8>) {
        let options = zune_core::options::DecoderOptions::new_safe()
            .set_strict_mode(true)
            .jpeg_set_out_colorspace(out);
        let mut decoder = JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
        let data = decoder.decode().expect("zune-jpeg decodes it");
        let info = decoder.info().expect("header was read");
        let stored = decoder.input_colorspace().expect("header was read");
        (u32::from(info.width), u32::from(info.height), stored, data)
    }

    fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
        assert_eq!(a.len(), b.len());
        let sum: u64 = a
            .iter()
            .zip(b)
            .map(|(&x, &y)| u64::from(x.abs_diff(y)))
            .sum();
        sum as f64 / a.len() as f64
    }

    /// Averages `factor`×`factor` blocks (the image sides are multiples of `factor`).
    fn box_down(data: &[u8], width: u32, height: u32, n: usize, factor: u32) -> Vec<u8> {
        let (w, ow, oh) = (
            width as usize,
            (width / factor) as usize,
            (height / factor) as usize,
        );
        let f = factor as usize;
        let mut out = Vec::with_capacity(ow * oh * n);
        for y in 0..oh {
            for x in 0..ow {
                for c in 0..n {
                    let mut sum = 0u32;
                    for dy in 0..f {
                        for dx in 0..f {
                            sum += u32::from(data[((y * f + dy) * w + x * f + dx) * n + c]);
                        }
                    }
                    out.push(((sum + (f * f) as u32 / 2) / (f * f) as u32) as u8);
                }
            }
        }
        out
    }

    #[test]
    fn picks_the_smallest_scale_that_still_covers_the_target() {
        // A 12 MP phone photo to the default 2016×1512 (and portrait): exactly half.
        assert_eq!(scale_for(4032, 3024, 2016, 1512), (1, 2));
        assert_eq!(scale_for(3024, 4032, 1512, 2016), (1, 2));
        // One pixel more than half needs the next factor up.
        assert_eq!(scale_for(4032, 3024, 2017, 1512), (5, 8));
        assert_eq!(scale_for(4032, 3024, 2016, 1513), (5, 8));
        // A thumbnail-sized target.
        assert_eq!(scale_for(4032, 3024, 320, 240), (1, 8));
        assert_eq!(scale_for(4032, 3024, 505, 240), (1, 4));
        // Rounding up as libjpeg does: 1001×777 at 3/8 is 376×292.
        assert_eq!(scale_for(1001, 777, 376, 292), (3, 8));
        assert_eq!((scaled(1001, (3, 8)), scaled(777, (3, 8))), (376, 292));
        // Never upscales; a zero target means "as small as possible".
        assert_eq!(scale_for(800, 600, 2016, 1512), (1, 1));
        assert_eq!(scale_for(800, 600, 0, 0), (1, 8));
        assert_eq!(scale_for(1, 1, 1, 1), (1, 8));
        assert_eq!((scaled(1, (1, 8)), scaled(7, (1, 8))), (1, 1));
        // The long-receipt budget keeps a whole 12 MP frame.
        assert_eq!(scale_for(3024, 4032, 3024, 4032), (1, 1));
        assert_eq!(scale_for(16_384, 1, 2016, 1), (1, 8));
    }

    #[test]
    fn decodes_at_the_chosen_scale_to_the_expected_size() {
        // (stored width, height, colour, channels asked for, minimum, expected output size)
        #[rustfmt::skip]
        let cases = [
            (1600, 1200, ColorType::Rgb, Channels::Gray, 800, 600, 800, 600),
            (1600, 1200, ColorType::Rgb, Channels::Gray, 801, 600, 1000, 750),
            (1600, 1200, ColorType::Rgb, Channels::Rgb, 1, 1, 200, 150),
            (1600, 1200, ColorType::Luma, Channels::Gray, 2000, 1500, 1600, 1200),
            (1600, 1200, ColorType::Luma, Channels::Rgb, 1200, 900, 1200, 900),
            (1001, 777, ColorType::Rgb, Channels::Gray, 376, 292, 376, 292),
            (1001, 777, ColorType::Rgb, Channels::Rgb, 377, 292, 501, 389),
            (1200, 1600, ColorType::Rgb, Channels::Gray, 600, 800, 600, 800),
        ];
        for (w, h, color, channels, min_w, min_h, out_w, out_h) in cases {
            let jpeg = jpeg_of(w, h, color);
            let px = decode_jpeg_scaled(&jpeg, channels, min_w, min_h)
                .unwrap_or_else(|e| panic!("{w}×{h} to {min_w}×{min_h}: {e}"));
            assert_eq!(
                (px.width, px.height, px.channels),
                (out_w, out_h, channels),
                "{w}×{h} {color:?} to at least {min_w}×{min_h}"
            );
            assert_eq!(px.data.len(), (out_w * out_h) as usize * channels.count());
        }
    }

    #[test]
    fn full_scale_matches_the_pure_decoder() {
        for (color, channels, out) in [
            (ColorType::Rgb, Channels::Gray, ColorSpace::Luma),
            (ColorType::Rgb, Channels::Rgb, ColorSpace::RGB),
            (ColorType::Luma, Channels::Gray, ColorSpace::Luma),
        ] {
            let jpeg = jpeg_of(640, 480, color);
            let ours = decode_jpeg_scaled(&jpeg, channels, 640, 480).expect("decodes");
            let (w, h, _, reference) = zune(&jpeg, out);
            assert_eq!((ours.width, ours.height), (w, h));
            let d = mean_abs_diff(&ours.data, &reference);
            assert!(d < 1.0, "{color:?} → {channels:?}: mean abs diff {d}");
        }
    }

    #[test]
    fn scaled_decode_looks_like_the_downscaled_picture() {
        for (factor, min) in [(2, (320, 240)), (4, (160, 120)), (8, (80, 60))] {
            let jpeg = jpeg_of(640, 480, ColorType::Rgb);
            let ours = decode_jpeg_scaled(&jpeg, Channels::Gray, min.0, min.1).expect("decodes");
            assert_eq!((ours.width, ours.height), min);
            let (w, h, _, full) = zune(&jpeg, ColorSpace::Luma);
            let reference = box_down(&full, w, h, 1, factor);
            let d = mean_abs_diff(&ours.data, &reference);
            assert!(d < 3.0, "1/{factor}: mean abs diff {d}");
        }
    }

    #[test]
    fn a_cut_file_is_truncated_not_padded() {
        for color in [ColorType::Rgb, ColorType::Luma] {
            let jpeg = jpeg_of(800, 600, color);
            // Cut in half, and a few other places in the scan, down to just the end marker.
            for keep in [
                jpeg.len() / 2,
                jpeg.len() / 4,
                jpeg.len() * 9 / 10,
                jpeg.len() - 2,
            ] {
                for channels in [Channels::Gray, Channels::Rgb] {
                    for min in [(800, 600), (400, 300)] {
                        let got = decode_jpeg_scaled(&jpeg[..keep], channels, min.0, min.1);
                        assert_eq!(
                            got,
                            Err(ImagingError::Truncated),
                            "{color:?} cut to {keep} of {} bytes, {channels:?} at {min:?}",
                            jpeg.len()
                        );
                    }
                }
            }
            // The whole file still decodes on the same thread afterwards (no stale warning).
            assert!(decode_jpeg_scaled(&jpeg, Channels::Gray, 800, 600).is_ok());
        }
    }

    #[test]
    fn damage_that_is_not_a_cut_is_corrupt() {
        let jpeg = jpeg_of(320, 240, ColorType::Rgb);
        // Garbage where the scan should start: keep the headers, overwrite the entropy data
        // with a marker-free pattern that decodes to nonsense and runs past the end.
        let sos = jpeg
            .windows(2)
            .position(|w| w == [0xFF, 0xDA])
            .expect("has a scan");
        let mut broken = jpeg[..sos].to_vec();
        broken.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02]);
        broken.extend_from_slice(&[0xFF, 0xD9]);
        let got = decode_jpeg_scaled(&broken, Channels::Gray, 320, 240);
        assert!(matches!(got, Err(ImagingError::Corrupt(_))), "{got:?}");
        // Flipped bits inside the scan (never making or breaking a 0xFF marker byte).
        let mut flipped = jpeg.clone();
        for i in (sos + 200..sos + 260).step_by(3) {
            if flipped[i] != 0xFF && flipped[i] != 0xA5 && flipped[i - 1] != 0xFF {
                flipped[i] ^= 0x5A;
            }
        }
        let got = decode_jpeg_scaled(&flipped, Channels::Gray, 320, 240);
        assert!(got.is_err(), "a damaged scan decoded: {got:?}");
    }

    #[test]
    fn cmyk_goes_back_to_the_pure_path() {
        for color in [ColorType::Cmyk, ColorType::Ycck, ColorType::CmykAsYcck] {
            let jpeg = jpeg_of(64, 48, color);
            for channels in [Channels::Gray, Channels::Rgb] {
                let got = decode_jpeg_scaled(&jpeg, channels, 32, 24);
                match &got {
                    Err(e) => assert!(needs_pure_path(e), "{color:?}: {e:?}"),
                    Ok(px) => panic!("{color:?} decoded to {px:?}, expected the fallback"),
                }
            }
            // ...which does decode it.
            let pure = crate::decode_upright(&jpeg, Channels::Gray).expect("pure path decodes");
            assert_eq!((pure.width, pure.height), (64, 48));
        }
        // Why: libjpeg-turbo itself refuses to turn CMYK into gray or RGB.
        let jpeg = jpeg_of(64, 48, ColorType::Cmyk);
        let mut data = vec![0u8; 64 * 48];
        let image = Image {
            pixels: data.as_mut_slice(),
            width: 64,
            pitch: 64,
            height: 48,
            format: PixelFormat::GRAY,
        };
        let direct = Decompressor::new()
            .expect("decompressor")
            .decompress(&jpeg, image);
        assert!(direct.is_err(), "libjpeg-turbo now converts CMYK to gray");
        // Real errors are not mistaken for the fallback.
        assert!(!needs_pure_path(&ImagingError::Truncated));
        assert!(!needs_pure_path(&ImagingError::Unsupported("HEIC")));
    }
}
