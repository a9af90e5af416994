use crate::Pixels;
use serde::Serialize;

/// The EXIF orientation of the stored pixels: how to turn them to see the scene upright.
/// Values outside 1–8 are read as 1, as the EXIF specification's readers do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(into = "u8")]
pub struct Orientation(u8);

impl Orientation {
    pub const UPRIGHT: Orientation = Orientation(1);

    /// The orientation for an EXIF tag value; anything but 1–8 means upright.
    pub fn from_exif(value: u32) -> Orientation {
        match value {
            1..=8 => Orientation(value as u8),
            _ => Orientation::UPRIGHT,
        }
    }

    /// The EXIF value, 1–8.
    pub fn value(self) -> u8 {
        if self.0 == 0 { 1 } else { self.0 }
    }

    /// True for the orientations whose upright image is the stored one transposed (5–8).
    pub fn swaps_axes(self) -> bool {
        self.value() >= 5
    }
}

impl From<Orientation> for u8 {
    fn from(o: Orientation) -> u8 {
        o.value()
    }
}

/// Turns stored pixels upright. For each upright pixel (x, y) it reads the stored pixel the
/// orientation maps there; the mapping for each EXIF value is the standard one:
/// 2 mirrors left-right, 3 turns 180°, 4 mirrors top-bottom, 5 transposes, 6 needs a
/// clockwise quarter turn, 7 transverses, 8 needs an anticlockwise quarter turn.
pub(crate) fn apply(src: Pixels, orientation: Orientation) -> Pixels {
    let o = orientation.value();
    if o == 1 {
        return src;
    }
    let (sw, sh) = (src.width as usize, src.height as usize);
    let (dw, dh) = if orientation.swaps_axes() {
        (sh, sw)
    } else {
        (sw, sh)
    };
    let n = src.channels.count();
    let mut out = vec![0u8; src.data.len()];
    // Walk the output in square tiles so that the strided side of a quarter turn stays in cache.
    const TILE: usize = 64;
    for ty in (0..dh).step_by(TILE) {
        for tx in (0..dw).step_by(TILE) {
            for y in ty..(ty + TILE).min(dh) {
                for x in tx..(tx + TILE).min(dw) {
                    let (sx, sy) = match o {
                        2 => (sw - 1 - x, y),
                        3 => (sw - 1 - x, sh - 1 - y),
                        4 => (x, sh - 1 - y),
                        5 => (y, x),
                        6 => (y, sh - 1 - x),
                        7 => (sw - 1 - y, sh - 1 - x),
                        _ => (sw - 1 - y, x), // 8
                    };
                    let s = (sy * sw + sx) * n;
                    let d = (y * dw + x) * n;
                    out[d..d + n].copy_from_slice(&src.data[s..s + n]);
                }
            }
        }
    }
    Pixels {
        width: dw as u32,
        height: dh as u32,
        channels: src.channels,
        data: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Channels;

    /// A 3×2 image whose pixel values are their stored indices:
    /// ```text
    /// 0 1 2
    /// 3 4 5
    /// ```
    fn numbered() -> Pixels {
        Pixels {
            width: 3,
            height: 2,
            channels: Channels::Gray,
            data: (0..6).collect(),
        }
    }

    #[test]
    fn each_orientation_maps_as_exif_defines() {
        // Upright results, row by row, for stored image `numbered()` tagged 1..=8.
        let expected: [(u32, &[u8]); 8] = [
            (3, &[0, 1, 2, 3, 4, 5]),
            (3, &[2, 1, 0, 5, 4, 3]),
            (3, &[5, 4, 3, 2, 1, 0]),
            (3, &[3, 4, 5, 0, 1, 2]),
            (2, &[0, 3, 1, 4, 2, 5]),
            (2, &[3, 0, 4, 1, 5, 2]),
            (2, &[5, 2, 4, 1, 3, 0]),
            (2, &[2, 5, 1, 4, 0, 3]),
        ];
        for (i, (width, data)) in expected.iter().enumerate() {
            let o = Orientation::from_exif(i as u32 + 1);
            let out = apply(numbered(), o);
            assert_eq!(out.width, *width, "orientation {}", i + 1);
            assert_eq!(out.data, *data, "orientation {}", i + 1);
        }
    }

    #[test]
    fn bogus_values_mean_upright() {
        for v in [0, 9, 255, 65535, u32::MAX] {
            assert_eq!(Orientation::from_exif(v), Orientation::UPRIGHT);
        }
    }

    #[test]
    fn rgb_pixels_move_whole() {
        let src = Pixels {
            width: 2,
            height: 1,
            channels: Channels::Rgb,
            data: vec![1, 2, 3, 4, 5, 6],
        };
        let out = apply(src, Orientation::from_exif(6));
        assert_eq!((out.width, out.height), (1, 2));
        assert_eq!(out.data, vec![1, 2, 3, 4, 5, 6]);
        let src = Pixels {
            width: 2,
            height: 1,
            channels: Channels::Rgb,
            data: vec![1, 2, 3, 4, 5, 6],
        };
        let out = apply(src, Orientation::from_exif(8));
        assert_eq!(out.data, vec![4, 5, 6, 1, 2, 3]);
    }
}
