use crate::{Channels, ImagingError, Pixels};
use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

/// The output size for a `width`×`height` image: the largest that keeps the aspect ratio, fits
/// `long_edge` on its longer side and `max_pixels` in all, scales by at most `max_scale`, and is
/// never larger than the input.
pub(crate) fn fit(
    width: u32,
    height: u32,
    long_edge: u32,
    max_pixels: u64,
    max_scale: f64,
) -> (u32, u32) {
    let (w, h) = (f64::from(width), f64::from(height));
    let by_edge = f64::from(long_edge) / w.max(h);
    let by_area = (max_pixels as f64 / (w * h)).sqrt();
    let scale = by_edge.min(by_area).min(max_scale);
    if scale >= 1.0 {
        return (width, height);
    }
    let out = |v: f64| ((v * scale).round() as u32).clamp(1, u32::MAX);
    (out(w).min(width), out(h).min(height))
}

/// [`resize`] that hands the image back untouched when it already has the size.
pub(crate) fn resize_owned(src: Pixels, width: u32, height: u32) -> Result<Pixels, ImagingError> {
    if (width, height) == (src.width, src.height) {
        return Ok(src);
    }
    resize(&src, width, height)
}

/// Resamples with a Catmull-Rom convolution: sharp text at a third of Lanczos3's taps
/// (an exact copy when the size is unchanged).
pub(crate) fn resize(src: &Pixels, width: u32, height: u32) -> Result<Pixels, ImagingError> {
    if (width, height) == (src.width, src.height) {
        return Ok(src.clone());
    }
    let pixel_type = match src.channels {
        Channels::Gray => PixelType::U8,
        Channels::Rgb => PixelType::U8x3,
    };
    let fail = |e: &dyn std::fmt::Display| ImagingError::Corrupt(format!("resize: {e}"));
    let from = ImageRef::new(src.width, src.height, &src.data, pixel_type).map_err(|e| fail(&e))?;
    let mut to = Image::new(width, height, pixel_type);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
    Resizer::new()
        .resize(&from, &mut to, &options)
        .map_err(|e| fail(&e))?;
    Ok(Pixels {
        width,
        height,
        channels: src.channels,
        data: to.into_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_12_mp_photo_gets_the_default_long_edge() {
        assert_eq!(fit(4032, 3024, 2016, 2016 * 1512, 1.0), (2016, 1512));
        assert_eq!(fit(3024, 4032, 2016, 2016 * 1512, 1.0), (1512, 2016));
    }

    #[test]
    fn never_upscales() {
        assert_eq!(fit(800, 600, 2016, 2016 * 1512, 1.0), (800, 600));
        assert_eq!(fit(1, 1, 2016, 10, 1.0), (1, 1));
    }

    #[test]
    fn the_pixel_budget_limits_long_thin_images() {
        // A long receipt scan: the long edge alone would allow it, the budget does not.
        let (w, h) = fit(1000, 8000, 8192, 4_000_000, 1.0);
        assert!(u64::from(w) * u64::from(h) <= 4_000_000);
        assert_eq!((w, h), (707, 5657));
    }

    #[test]
    fn extreme_aspect_ratios_keep_at_least_one_pixel() {
        assert_eq!(fit(16384, 1, 2016, 2016 * 1512, 1.0), (2016, 1));
    }
}
