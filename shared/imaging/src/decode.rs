//! Strict decoders for the accepted formats. A file that ends early is [`ImagingError::Truncated`],
//! never a picture padded with gray.

use crate::{Channels, ImagingError, MAX_PIXELS, Pixels, SourceFormat};
use std::io::{self, Cursor};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;
use zune_jpeg::errors::DecodeErrors;

/// What the file header says: stored size and, when the file declares one, its resolution on
/// paper in dots per inch (scanners do; phone cameras write no or meaningless values).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header {
    pub width: u32,
    pub height: u32,
    pub dpi: Option<u32>,
}

/// Reads the header without decoding pixels.
pub(crate) fn header(format: SourceFormat, input: &[u8]) -> Result<Header, ImagingError> {
    match format {
        SourceFormat::Jpeg => {
            let mut decoder = jpeg_decoder(input, ColorSpace::RGB);
            decoder.decode_headers().map_err(jpeg_error)?;
            let info = decoder
                .info()
                .ok_or_else(|| corrupt("JPEG header without a frame"))?;
            Ok(Header {
                width: u32::from(info.width),
                height: u32::from(info.height),
                dpi: jfif_dpi(input),
            })
        }
        SourceFormat::Png => {
            let mut decoder = png_decoder(input);
            let info = decoder.read_header_info().map_err(png_error)?;
            let dpi = info.pixel_dims.and_then(|d| match d.unit {
                // Pixels per metre to per inch.
                png::Unit::Meter => Some((f64::from(d.xppu.min(d.yppu)) * 0.0254).round() as u32),
                png::Unit::Unspecified => None,
            });
            Ok(Header {
                width: info.width,
                height: info.height,
                dpi,
            })
        }
        SourceFormat::Webp => {
            let decoder = image_webp::WebPDecoder::new(Cursor::new(input)).map_err(webp_error)?;
            let (width, height) = decoder.dimensions();
            Ok(Header {
                width,
                height,
                dpi: None,
            })
        }
    }
}

/// The density of a JFIF APP0 segment right after the start marker, in dots per inch.
fn jfif_dpi(input: &[u8]) -> Option<u32> {
    let app0 = input.get(2..18)?;
    if app0[0..2] != [0xFF, 0xE0] || &app0[4..9] != b"JFIF\0" {
        return None;
    }
    let density = u32::from(u16::from_be_bytes([app0[12], app0[13]]))
        .min(u32::from(u16::from_be_bytes([app0[14], app0[15]])));
    match app0[11] {
        1 => Some(density),
        2 => Some((f64::from(density) * 2.54).round() as u32),
        _ => None,
    }
}

/// Decodes the whole image in its stored orientation. The caller has checked the size limits.
pub(crate) fn decode(
    format: SourceFormat,
    input: &[u8],
    channels: Channels,
) -> Result<Pixels, ImagingError> {
    let pixels = match format {
        SourceFormat::Jpeg => decode_jpeg(input, channels)?,
        SourceFormat::Png => decode_png(input)?,
        SourceFormat::Webp => decode_webp(input)?,
    };
    Ok(pixels.into_channels(channels))
}

/// Decodes to at least `min_width`×`min_height` (stored orientation), smaller than the full
/// size where the decoder can do that cheaply: with the `turbo` feature, libjpeg-turbo decodes
/// JPEGs with DCT scaling. The caller has checked the size limits.
pub(crate) fn decode_for_size(
    format: SourceFormat,
    input: &[u8],
    channels: Channels,
    min_width: u32,
    min_height: u32,
) -> Result<Pixels, ImagingError> {
    #[cfg(feature = "turbo")]
    if format == SourceFormat::Jpeg && crate::jpeg_decoder() == crate::JpegDecoder::LibjpegTurbo {
        match crate::turbo::decode_jpeg_scaled(input, channels, min_width, min_height) {
            Err(e) if crate::turbo::needs_pure_path(&e) => {}
            other => return other,
        }
    }
    let _ = (min_width, min_height);
    decode(format, input, channels)
}

fn jpeg_decoder(input: &[u8], out: ColorSpace) -> JpegDecoder<ZCursor<&[u8]>> {
    // The decoder's own size guard is opened to the format's maximum so that the header is read
    // and our limit check reports the real size; nothing is allocated from it before that check.
    let options = DecoderOptions::new_safe()
        .set_strict_mode(true)
        .set_max_width(usize::from(u16::MAX))
        .set_max_height(usize::from(u16::MAX))
        .jpeg_set_out_colorspace(out);
    JpegDecoder::new_with_options(ZCursor::new(input), options)
}

fn decode_jpeg(input: &[u8], channels: Channels) -> Result<Pixels, ImagingError> {
    let mut probe = jpeg_decoder(input, ColorSpace::RGB);
    probe.decode_headers().map_err(jpeg_error)?;
    let stored = probe.input_colorspace().unwrap_or(ColorSpace::YCbCr);
    // Gray straight from the luma plane where the file has one; other colour models
    // (RGB, CMYK, YCCK) go through RGB.
    let out = match (channels, stored) {
        (Channels::Gray, ColorSpace::YCbCr | ColorSpace::Luma) => ColorSpace::Luma,
        _ => ColorSpace::RGB,
    };
    let mut decoder = jpeg_decoder(input, out);
    let data = decoder.decode().map_err(jpeg_error)?;
    let info = decoder
        .info()
        .ok_or_else(|| corrupt("JPEG header without a frame"))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let channels = match decoder.output_colorspace() {
        Some(ColorSpace::Luma) => Channels::Gray,
        Some(ColorSpace::RGB) => Channels::Rgb,
        other => return Err(corrupt(&format!("unexpected JPEG output {other:?}"))),
    };
    checked(width, height, channels, data)
}

fn png_decoder(input: &[u8]) -> png::Decoder<Cursor<&[u8]>> {
    // 16-bit RGBA at the pixel limit, plus room for the decoder's row buffers.
    let limits = png::Limits {
        bytes: (MAX_PIXELS as usize)
            .saturating_mul(8)
            .saturating_add(1 << 20),
    };
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(input), limits);
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    decoder
}

fn decode_png(input: &[u8]) -> Result<Pixels, ImagingError> {
    let mut reader = png_decoder(input).read_info().map_err(png_error)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| corrupt("PNG dimensions overflow"))?;
    let mut buf = vec![0u8; size];
    let frame = reader.next_frame(&mut buf).map_err(png_error)?;
    buf.truncate(frame.buffer_size());
    let layout = match frame.color_type {
        png::ColorType::Grayscale => Layout::Gray,
        png::ColorType::GrayscaleAlpha => Layout::GrayAlpha,
        png::ColorType::Rgb => Layout::Rgb,
        png::ColorType::Rgba => Layout::Rgba,
        png::ColorType::Indexed => return Err(corrupt("PNG palette was not expanded")),
    };
    if frame.bit_depth != png::BitDepth::Eight {
        return Err(corrupt("PNG samples were not reduced to 8 bits"));
    }
    from_samples(frame.width, frame.height, layout, buf)
}

fn decode_webp(input: &[u8]) -> Result<Pixels, ImagingError> {
    let mut decoder = image_webp::WebPDecoder::new(Cursor::new(input)).map_err(webp_error)?;
    let (width, height) = decoder.dimensions();
    let layout = if decoder.has_alpha() {
        Layout::Rgba
    } else {
        Layout::Rgb
    };
    let size = decoder
        .output_buffer_size()
        .ok_or_else(|| corrupt("WebP dimensions overflow"))?;
    let mut buf = vec![0u8; size];
    decoder.read_image(&mut buf).map_err(webp_error)?;
    from_samples(width, height, layout, buf)
}

#[derive(Clone, Copy)]
enum Layout {
    Gray,
    GrayAlpha,
    Rgb,
    Rgba,
}

/// Builds 8-bit gray or RGB pixels, flattening any alpha onto white paper.
fn from_samples(
    width: u32,
    height: u32,
    layout: Layout,
    buf: Vec<u8>,
) -> Result<Pixels, ImagingError> {
    let (channels, data) = match layout {
        Layout::Gray => (Channels::Gray, buf),
        Layout::Rgb => (Channels::Rgb, buf),
        Layout::GrayAlpha => (
            Channels::Gray,
            buf.chunks_exact(2)
                .map(|p| over_white(p[0], p[1]))
                .collect(),
        ),
        Layout::Rgba => (
            Channels::Rgb,
            buf.chunks_exact(4)
                .flat_map(|p| {
                    [
                        over_white(p[0], p[3]),
                        over_white(p[1], p[3]),
                        over_white(p[2], p[3]),
                    ]
                })
                .collect(),
        ),
    };
    checked(width, height, channels, data)
}

fn over_white(value: u8, alpha: u8) -> u8 {
    let (v, a) = (u32::from(value), u32::from(alpha));
    ((v * a + 255 * (255 - a) + 127) / 255) as u8
}

fn checked(
    width: u32,
    height: u32,
    channels: Channels,
    data: Vec<u8>,
) -> Result<Pixels, ImagingError> {
    let expected = width as usize * height as usize * channels.count();
    if data.len() != expected {
        return Err(corrupt(&format!(
            "decoder returned {} bytes for {width}×{height}",
            data.len()
        )));
    }
    Ok(Pixels {
        width,
        height,
        channels,
        data,
    })
}

fn corrupt(what: &str) -> ImagingError {
    ImagingError::Corrupt(what.to_string())
}

fn is_eof(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::UnexpectedEof
}

fn jpeg_error(e: DecodeErrors) -> ImagingError {
    if e.is_recoverable_eof() {
        return ImagingError::Truncated;
    }
    let text = e.to_string();
    // Strict mode reports a scan that runs out of data in a few ways; all mean the same to a user.
    let lower = text.to_ascii_lowercase();
    if lower.contains("eof") || lower.contains("exhausted") || lower.contains("end of") {
        return ImagingError::Truncated;
    }
    ImagingError::Corrupt(format!("JPEG: {text}"))
}

fn png_error(e: png::DecodingError) -> ImagingError {
    match e {
        png::DecodingError::IoError(io) if is_eof(&io) => ImagingError::Truncated,
        png::DecodingError::LimitsExceeded => {
            ImagingError::Corrupt("PNG needs too much memory".into())
        }
        other => ImagingError::Corrupt(format!("PNG: {other}")),
    }
}

fn webp_error(e: image_webp::DecodingError) -> ImagingError {
    match e {
        image_webp::DecodingError::IoError(io) if is_eof(&io) => ImagingError::Truncated,
        other => ImagingError::Corrupt(format!("WebP: {other}")),
    }
}
