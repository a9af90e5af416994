//! Every EXIF orientation comes out upright; bogus values are read as upright.

mod common;

use common::{decode_gray, marked, mean, tagged_jpeg};
use kvits_imaging::{Options, process};
use kvits_testkit::photo::{self, PhoneShot};

#[test]
fn each_of_the_eight_orientations_comes_out_upright() {
    let upright = marked(400, 300);
    for o in 1..=8u16 {
        let jpeg = tagged_jpeg(&upright, o);
        let out = process(&jpeg, &Options::default()).expect("processes");
        assert_eq!(out.source.orientation.value(), o as u8);
        assert_eq!(
            (out.image.width, out.image.height),
            (400, 300),
            "orientation {o}"
        );
        let (w, h, gray) = decode_gray(&out.image.jpeg);
        assert_eq!((w, h), (400, 300));
        // The dark block is top-left, the stripe at the bottom, whatever the stored layout.
        assert!(
            mean(&gray, w, 5, 5, 95, 70) < 50.0,
            "orientation {o}: block not top-left"
        );
        assert!(
            mean(&gray, w, 300, 5, 395, 70) > 200.0,
            "orientation {o}: top-right not light"
        );
        assert!(
            mean(&gray, w, 5, 100, 95, 200) > 200.0,
            "orientation {o}: block below"
        );
        let stripe = mean(&gray, w, 150, 275, 395, 298);
        assert!(
            (110.0..150.0).contains(&stripe),
            "orientation {o}: stripe {stripe}"
        );
        // The thumbnail is turned the same way.
        let (tw, th, thumb) = decode_gray(&out.thumbnail.jpeg);
        assert_eq!((tw, th), (320, 240));
        assert!(
            mean(&thumb, tw, 4, 4, 76, 56) < 60.0,
            "orientation {o}: thumbnail"
        );
    }
}

#[test]
fn bogus_orientation_values_are_read_as_upright() {
    let upright = marked(400, 300);
    for bogus in [0u16, 9, 42, 65535] {
        let shot = PhoneShot {
            orientation: bogus,
            ..common::shot(1)
        };
        let jpeg = photo::encode(&upright, 90, Some(&photo::exif(&shot)));
        let out = process(&jpeg, &Options::default()).expect("processes");
        assert_eq!(out.source.orientation.value(), 1, "value {bogus}");
        assert_eq!((out.image.width, out.image.height), (400, 300));
        let (w, _, gray) = decode_gray(&out.image.jpeg);
        assert!(mean(&gray, w, 5, 5, 95, 70) < 50.0);
    }
}

#[test]
fn a_phone_photo_held_upright_comes_out_portrait_at_the_default_size() {
    let scan = kvits_testkit::receipts("scans")[0].bytes();
    let jpeg = photo::phone_photo(&scan, &common::shot(6));
    let source = kvits_imaging::probe(&jpeg).expect("probes");
    assert_eq!(
        (source.width, source.height),
        (4032, 3024),
        "stored as the sensor sees it"
    );
    assert_eq!(source.upright_dimensions(), (3024, 4032));
    let out = process(&jpeg, &Options::default()).expect("processes");
    assert_eq!((out.image.width, out.image.height), (1512, 2016));
    let long = process(
        &jpeg,
        &Options {
            long_receipt: true,
            ..Options::default()
        },
    )
    .expect("processes");
    assert_eq!((long.image.width, long.image.height), (3024, 4032));
}
