//! Images over the size limits are refused from their header, before any pixel memory is taken.
//! (One test per binary: the allocator counts every thread, so nothing else may run beside it.)

use kvits_imaging::{ImagingError, Options, probe, process};
use kvits_testkit::alloc::PeakAlloc;
use kvits_testkit::bombs::{jpeg_claiming, png_claiming, small};

#[global_allocator]
static ALLOC: PeakAlloc = PeakAlloc::new();

/// A lossless WebP whose VP8L header is rewritten to claim 16000×16000 (256 MP).
/// (16384 a side reads as 0 in image-webp 0.2.4, which the pipeline refuses as having no pixels.)
fn webp_claiming_max() -> Vec<u8> {
    let mut file = Vec::new();
    image_webp::WebPEncoder::new(&mut file)
        .encode(&small().data, 16, 16, image_webp::ColorType::Rgb8)
        .expect("webp encodes");
    assert_eq!(&file[12..16], b"VP8L");
    let mut bits = u32::from_le_bytes([file[21], file[22], file[23], file[24]]);
    bits = (bits & !0x0FFF_FFFF) | 15_999 | (15_999 << 14);
    file[21..25].copy_from_slice(&bits.to_le_bytes());
    file
}

#[test]
fn oversized_images_are_refused_before_allocating() {
    let cases = [
        (
            "jpeg 65000×65000",
            jpeg_claiming(65000, 65000),
            (65000, 65000),
        ),
        ("jpeg 16385 wide", jpeg_claiming(16385, 10), (16385, 10)),
        (
            "jpeg 8000×8000 (64 MP)",
            jpeg_claiming(8000, 8000),
            (8000, 8000),
        ),
        (
            "png 65000×65000",
            png_claiming(65000, 65000),
            (65000, 65000),
        ),
        ("png 1×2^31", png_claiming(1, 1 << 31), (1, 1 << 31)),
        ("webp 16000×16000", webp_claiming_max(), (16000, 16000)),
    ];
    for (name, file, (width, height)) in cases {
        ALLOC.reset_peak();
        let before = ALLOC.current();
        let result = process(&file, &Options::default());
        let used = ALLOC.peak() - before;
        assert_eq!(
            result.map(|_| ()),
            Err(ImagingError::TooLarge { width, height }),
            "{name}"
        );
        assert!(
            used < 1 << 20,
            "{name}: {used} bytes allocated before refusing"
        );
        assert!(
            matches!(probe(&file), Err(ImagingError::TooLarge { .. })),
            "{name}"
        );
    }
    // Just inside the limits is accepted by the header check.
    let ok = probe(&jpeg_claiming(16384, 3000)).expect("49 MP is within the limits");
    assert_eq!((ok.width, ok.height), (16384, 3000));
}
