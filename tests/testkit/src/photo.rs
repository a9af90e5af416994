//! Phone-like photos derived from the flatbed scans, deterministically: the receipt lies slightly
//! askew on a wooden table, fills most of a 12 MP portrait frame, is lit unevenly, carries sensor
//! noise, and is stored the way phones store it — in sensor orientation with an EXIF orientation
//! tag, a capture date and a GPS position (which the pipeline must strip).

use crate::rng::Rng;
use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use std::io::Cursor;
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

/// Upright size of the derived photo: a 12 MP portrait frame.
pub const FRAME: (u32, u32) = (3024, 4032);

/// How one derived photo is taken.
#[derive(Debug, Clone)]
pub struct PhoneShot {
    /// EXIF orientation the photo is stored with, 1–8 (6 is a phone held upright).
    pub orientation: u16,
    /// Seeds the tilt, lighting and noise.
    pub seed: u64,
    /// `YYYY:MM:DD HH:MM:SS` written as DateTimeOriginal.
    pub taken: String,
}

/// An RGB image: width, height, pixels.
#[derive(Debug, Clone)]
pub struct Rgb {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
}

/// Decodes a fixture JPEG to RGB.
pub fn decode_rgb(jpeg: &[u8]) -> Rgb {
    let options = DecoderOptions::new_safe().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut decoder = JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
    let data = decoder.decode().expect("fixture decodes");
    let info = decoder.info().expect("fixture has a header");
    Rgb {
        width: u32::from(info.width),
        height: u32::from(info.height),
        data,
    }
}

/// The upright scene: the scan on a table, as the camera sees it.
pub fn scene(scan: &Rgb, seed: u64) -> Rgb {
    let (fw, fh) = FRAME;
    let mut rng = Rng::new(seed);
    let tilt = (rng.unit() - 0.5) * 5.0_f32.to_radians();
    let scale = (0.92 * fh as f32 / scan.height as f32).min(0.88 * fw as f32 / scan.width as f32);
    let (sin, cos) = tilt.sin_cos();
    let (cx, cy) = (fw as f32 / 2.0, fh as f32 / 2.0);
    let (sw, sh) = (scan.width as f32, scan.height as f32);
    let wood_phase = rng.unit() * 6.0;
    let light_x = rng.unit() * fw as f32;
    let mut data = Vec::with_capacity((fw * fh * 3) as usize);
    for y in 0..fh {
        for x in 0..fw {
            let (dx, dy) = (x as f32 - cx, y as f32 - cy);
            let u = (cos * dx + sin * dy) / scale + sw / 2.0;
            let v = (-sin * dx + cos * dy) / scale + sh / 2.0;
            let mut px = if u >= 0.0 && v >= 0.0 && u < sw - 1.0 && v < sh - 1.0 {
                bilinear(scan, u, v)
            } else {
                let grain =
                    ((y as f32 * 0.011 + (x as f32 * 0.002).sin() * 3.0 + wood_phase).sin() * 0.5
                        + 0.5)
                        * 40.0;
                [95.0 + grain, 68.0 + grain * 0.7, 45.0 + grain * 0.4]
            };
            // Uneven light: brighter near one spot, darker towards the corners.
            let lx = (x as f32 - light_x) / fw as f32;
            let ly = dy / fh as f32;
            let light = 1.0 - 0.22 * (lx * lx + ly * ly);
            for (i, c) in px.iter_mut().enumerate() {
                let tint = [1.0, 0.97, 0.92][i];
                *c = (*c * light * tint + rng.noise(3.5)).clamp(0.0, 255.0);
                data.push(*c as u8);
            }
        }
    }
    Rgb {
        width: fw,
        height: fh,
        data,
    }
}

fn bilinear(img: &Rgb, u: f32, v: f32) -> [f32; 3] {
    let (x0, y0) = (u as usize, v as usize);
    let (fx, fy) = (u - x0 as f32, v - y0 as f32);
    let w = img.width as usize;
    let at = |x: usize, y: usize, c: usize| f32::from(img.data[(y * w + x) * 3 + c]);
    let mut out = [0.0; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let top = at(x0, y0, c) * (1.0 - fx) + at(x0 + 1, y0, c) * fx;
        let bottom = at(x0, y0 + 1, c) * (1.0 - fx) + at(x0 + 1, y0 + 1, c) * fx;
        *o = top * (1.0 - fy) + bottom * fy;
    }
    out
}

/// A phone photo of a scanned receipt: the scene stored for `shot.orientation`, encoded like a
/// phone camera would (q92, 4:2:0) with EXIF orientation, capture date, camera and GPS tags.
pub fn phone_photo(scan_jpeg: &[u8], shot: &PhoneShot) -> Vec<u8> {
    let upright = scene(&decode_rgb(scan_jpeg), shot.seed);
    let stored = store_for(upright, shot.orientation);
    encode(&stored, 92, Some(&exif(shot)))
}

/// Encodes RGB pixels as a camera-like JPEG with an optional EXIF block (TIFF bytes).
pub fn encode(img: &Rgb, quality: u8, exif_tiff: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, quality);
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    if let Some(tiff) = exif_tiff {
        encoder
            .add_exif_metadata(tiff)
            .expect("EXIF fits one segment");
    }
    let (w, h) = (
        u16::try_from(img.width).expect("width fits JPEG"),
        u16::try_from(img.height).expect("height fits JPEG"),
    );
    encoder
        .encode(&img.data, w, h, ColorType::Rgb)
        .expect("encoding a test image");
    out
}

/// The EXIF block a phone writes, as TIFF bytes.
pub fn exif(shot: &PhoneShot) -> Vec<u8> {
    let rational = |num, denom| Rational { num, denom };
    let fields = [
        Field {
            tag: Tag::Make,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"Kvits Test Camera".to_vec()]),
        },
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![shot.orientation]),
        },
        Field {
            tag: Tag::DateTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![shot.taken.as_bytes().to_vec()]),
        },
        Field {
            tag: Tag::OffsetTimeOriginal,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"+02:00".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"N".to_vec()]),
        },
        Field {
            tag: Tag::GPSLatitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![rational(56, 1), rational(56, 1), rational(3012, 100)]),
        },
        Field {
            tag: Tag::GPSLongitudeRef,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![b"E".to_vec()]),
        },
        Field {
            tag: Tag::GPSLongitude,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![rational(24, 1), rational(6, 1), rational(1044, 100)]),
        },
    ];
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).expect("writing EXIF");
    out.into_inner()
}

/// The stored pixels whose display, per EXIF `orientation`, is `upright`. Built from quarter
/// turns and mirrors, independently of the pipeline's own mapping.
pub fn store_for(upright: Rgb, orientation: u16) -> Rgb {
    match orientation {
        2 => mirror(upright),
        3 => turn_cw(turn_cw(upright)),
        4 => mirror(turn_cw(turn_cw(upright))),
        5 => mirror(turn_cw(upright)),
        6 => turn_cw(turn_cw(turn_cw(upright))),
        7 => turn_cw(turn_cw(mirror(turn_cw(upright)))),
        8 => turn_cw(upright),
        _ => upright,
    }
}

/// Quarter turn clockwise.
pub fn turn_cw(img: Rgb) -> Rgb {
    let (w, h) = (img.width as usize, img.height as usize);
    let mut data = vec![0u8; img.data.len()];
    for y in 0..h {
        for x in 0..w {
            // Source (x, y) lands at (h - 1 - y, x) in the h-wide result.
            let d = (x * h + (h - 1 - y)) * 3;
            let s = (y * w + x) * 3;
            data[d..d + 3].copy_from_slice(&img.data[s..s + 3]);
        }
    }
    Rgb {
        width: img.height,
        height: img.width,
        data,
    }
}

/// Left-right mirror.
pub fn mirror(img: Rgb) -> Rgb {
    let w = img.width as usize;
    let mut data = img.data;
    for row in data.chunks_exact_mut(w * 3) {
        for x in 0..w / 2 {
            for c in 0..3 {
                row.swap(x * 3 + c, (w - 1 - x) * 3 + c);
            }
        }
    }
    Rgb { data, ..img }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(w: u32, h: u32) -> Rgb {
        Rgb {
            width: w,
            height: h,
            data: (0..w * h).flat_map(|i| [i as u8; 3]).collect(),
        }
    }

    #[test]
    fn four_quarter_turns_are_identity() {
        let img = numbered(3, 2);
        let back = turn_cw(turn_cw(turn_cw(turn_cw(img.clone()))));
        assert_eq!(back.data, img.data);
        let turned = turn_cw(img);
        assert_eq!((turned.width, turned.height), (2, 3));
        // 0 1 2 / 3 4 5 turned clockwise is 3 0 / 4 1 / 5 2.
        let firsts: Vec<u8> = turned.data.chunks(3).map(|p| p[0]).collect();
        assert_eq!(firsts, vec![3, 0, 4, 1, 5, 2]);
    }
}
