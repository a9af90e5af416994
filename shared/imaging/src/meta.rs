//! What the pipeline keeps from a photo's metadata: the orientation and the capture date.
//! Everything else (location, camera, maker notes) is dropped with the rest of the file.

use crate::Orientation;
use exif::{In, Tag, Value};
use serde::{Serialize, Serializer};
use std::fmt;
use std::io::Cursor;

/// When the photo was taken, as the camera's clock said, with the UTC offset when the camera
/// recorded one. Used to prefill the expense date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapturedAt {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    /// Minutes east of UTC.
    pub offset_minutes: Option<i16>,
}

impl CapturedAt {
    /// The calendar date as `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// ISO 8601: `2020-03-02T14:05:09` or `2020-03-02T14:05:09+01:00`.
impl fmt::Display for CapturedAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}T{:02}:{:02}:{:02}",
            self.date(),
            self.hour,
            self.minute,
            self.second
        )?;
        if let Some(off) = self.offset_minutes {
            let sign = if off < 0 { '-' } else { '+' };
            let off = off.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", off / 60, off % 60)?;
        }
        Ok(())
    }
}

impl Serialize for CapturedAt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Meta {
    pub orientation: Orientation,
    pub captured_at: Option<CapturedAt>,
    /// XResolution/YResolution with an inch or centimetre unit, in dots per inch.
    pub dpi: Option<u32>,
}

/// Reads the metadata the pipeline uses. Missing or damaged metadata is not an error: the photo
/// is then taken as upright with no capture date.
pub(crate) fn read(input: &[u8]) -> Meta {
    let Ok(exif) = exif::Reader::new().read_from_container(&mut Cursor::new(input)) else {
        return Meta::default();
    };
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .map_or(Orientation::UPRIGHT, Orientation::from_exif);
    let captured_at = [Tag::DateTimeOriginal, Tag::DateTimeDigitized, Tag::DateTime]
        .into_iter()
        .find_map(|tag| {
            let offset_tag = match tag {
                Tag::DateTimeOriginal => Tag::OffsetTimeOriginal,
                Tag::DateTimeDigitized => Tag::OffsetTimeDigitized,
                _ => Tag::OffsetTime,
            };
            let offset = ascii(&exif, offset_tag);
            ascii(&exif, tag).and_then(|raw| parse_datetime(raw, offset))
        });
    Meta {
        orientation,
        captured_at,
        dpi: resolution(&exif),
    }
}

fn resolution(exif: &exif::Exif) -> Option<u32> {
    let per_unit = |tag| match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Rational(v) => v.first().filter(|r| r.denom != 0).map(|r| r.to_f64()),
        _ => None,
    };
    let per_unit = per_unit(Tag::XResolution)?.min(per_unit(Tag::YResolution)?);
    let unit = exif
        .get_field(Tag::ResolutionUnit, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .unwrap_or(2);
    let dpi = match unit {
        2 => per_unit,
        3 => per_unit * 2.54,
        _ => return None,
    };
    (1.0..=100_000.0).contains(&dpi).then(|| dpi.round() as u32)
}

fn ascii(exif: &exif::Exif, tag: Tag) -> Option<&[u8]> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(parts) => parts.first().map(Vec::as_slice),
        _ => None,
    }
}

fn parse_datetime(raw: &[u8], offset: Option<&[u8]>) -> Option<CapturedAt> {
    let mut dt = exif::DateTime::from_ascii(raw).ok()?;
    if let Some(off) = offset {
        // A damaged offset leaves the local time usable.
        let _ = dt.parse_offset(off);
    }
    let valid = (1900..=9999).contains(&dt.year)
        && (1..=12).contains(&dt.month)
        && (1..=days_in_month(dt.year, dt.month)).contains(&dt.day)
        && dt.hour < 24
        && dt.minute < 60
        && dt.second < 61;
    valid.then_some(CapturedAt {
        year: dt.year,
        month: dt.month,
        day: dt.day,
        hour: dt.hour,
        minute: dt.minute,
        second: dt.second.min(59),
        offset_minutes: dt.offset.filter(|o| o.abs() <= 18 * 60),
    })
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exif_dates_with_and_without_offset() {
        let d = parse_datetime(b"2020:03:02 14:05:09", None).expect("valid date");
        assert_eq!(d.to_string(), "2020-03-02T14:05:09");
        let d = parse_datetime(b"2020:03:02 14:05:09", Some(b"+01:00")).expect("valid date");
        assert_eq!(d.to_string(), "2020-03-02T14:05:09+01:00");
        let d = parse_datetime(b"2020:03:02 14:05:09", Some(b"-03:30")).expect("valid date");
        assert_eq!(d.to_string(), "2020-03-02T14:05:09-03:30");
        let d = parse_datetime(b"2020:03:02 14:05:09", Some(b"junk")).expect("valid date");
        assert_eq!(d.offset_minutes, None);
    }

    #[test]
    fn refuses_impossible_dates() {
        for raw in [
            &b"2020:13:02 14:05:09"[..],
            b"2021:02:29 10:00:00",
            b"2020:04:31 10:00:00",
            b"2020:01:01 24:00:00",
            b"0000:00:00 00:00:00",
            b"    :  :     :  :  ",
            b"garbage",
        ] {
            assert_eq!(
                parse_datetime(raw, None),
                None,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
        assert!(parse_datetime(b"2024:02:29 10:00:00", None).is_some());
    }
}
