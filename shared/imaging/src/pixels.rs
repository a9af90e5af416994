/// How many 8-bit samples a pixel has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    Gray,
    Rgb,
}

impl Channels {
    pub fn count(self) -> usize {
        match self {
            Channels::Gray => 1,
            Channels::Rgb => 3,
        }
    }
}

/// An 8-bit image in memory, rows top to bottom, no padding.
#[derive(Clone, PartialEq, Eq)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub channels: Channels,
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Pixels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pixels")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl Pixels {
    /// Converts to gray with the BT.601 luma weights JPEG uses.
    pub fn into_gray(self) -> Pixels {
        match self.channels {
            Channels::Gray => self,
            Channels::Rgb => Pixels {
                width: self.width,
                height: self.height,
                channels: Channels::Gray,
                data: self
                    .data
                    .chunks_exact(3)
                    .map(|p| luma(p[0], p[1], p[2]))
                    .collect(),
            },
        }
    }

    pub(crate) fn into_channels(self, channels: Channels) -> Pixels {
        match (self.channels, channels) {
            (Channels::Rgb, Channels::Gray) => self.into_gray(),
            (Channels::Gray, Channels::Rgb) => Pixels {
                width: self.width,
                height: self.height,
                channels: Channels::Rgb,
                data: self.data.iter().flat_map(|&v| [v, v, v]).collect(),
            },
            _ => self,
        }
    }
}

/// BT.601 luma in fixed point (weights sum to 65536).
pub(crate) fn luma(r: u8, g: u8, b: u8) -> u8 {
    let y = 19_595 * u32::from(r) + 38_470 * u32::from(g) + 7_471 * u32::from(b) + 32_768;
    (y >> 16) as u8
}
