use crate::Pixels;
use serde::Serialize;

/// The EXIF orientation of the stored pixels: how to turn them to see the scene upright.
/// Values outside 1–8 are read as 1, as the EXIF specification's readers do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(into = "u8")]
pub struct Orientation(u8);

impl Default for Orientation {
    fn default() -> Orientation {
        Orientation::UPRIGHT
    }
}

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
        self.0
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
    if orientation.value() == 1 {
        return src;
    }
    let (sw, sh) = (src.width as usize, src.height as usize);
    let (dw, dh) = if orientation.swaps_axes() {
        (sh, sw)
    } else {
        (sw, sh)
    };
    let mut out = vec![0u8; src.data.len()];
    let step = Step::new(orientation, sw, sh);
    match src.channels.count() {
        1 => remap::<1>(&src.data, &mut out, dw, dh, step),
        _ => remap::<3>(&src.data, &mut out, dw, dh, step),
    }
    Pixels {
        width: dw as u32,
        height: dh as u32,
        channels: src.channels,
        data: out,
    }
}

/// Where upright pixel (x, y) is stored, as a pixel index: `base + x·dx + y·dy`. Every EXIF
/// orientation is such an affine map.
#[derive(Clone, Copy)]
struct Step {
    base: isize,
    dx: isize,
    dy: isize,
}

impl Step {
    fn new(orientation: Orientation, sw: usize, sh: usize) -> Step {
        let (w, last_col, last_row) = (
            sw as isize,
            sw as isize - 1,
            (sh as isize - 1) * sw as isize,
        );
        let (base, dx, dy) = match orientation.value() {
            2 => (last_col, -1, w),
            3 => (last_row + last_col, -1, -w),
            4 => (last_row, 1, -w),
            5 => (0, w, 1),
            6 => (last_row, -w, 1),
            7 => (last_row + last_col, -w, -1),
            8 => (last_col, w, -1),
            _ => (0, 1, w),
        };
        Step { base, dx, dy }
    }
}

/// Copies every upright pixel from its stored place, walking the output in square tiles so the
/// strided side of a quarter turn stays in cache.
fn remap<const N: usize>(src: &[u8], out: &mut [u8], dw: usize, dh: usize, step: Step) {
    const TILE: usize = 64;
    for ty in (0..dh).step_by(TILE) {
        for tx in (0..dw).step_by(TILE) {
            let tile_w = TILE.min(dw - tx);
            for y in ty..(ty + TILE).min(dh) {
                let mut s = step.base + tx as isize * step.dx + y as isize * step.dy;
                let row = &mut out[(y * dw + tx) * N..(y * dw + tx + tile_w) * N];
                for px in row.chunks_exact_mut(N) {
                    let at = s as usize * N;
                    px.copy_from_slice(&src[at..at + N]);
                    s += step.dx;
                }
            }
        }
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
