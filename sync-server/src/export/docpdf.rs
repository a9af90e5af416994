//! Renders one accounting document (a receipt and its photographed pages) into a PDF for an
//! auditor.
//!
//! Page 1 carries a heading (a bold title and label/value rows) with the first photo fitted
//! into the space left below it; every further photo gets an A4 page of its own. Text is set
//! in DejaVu Sans, embedded as a subset holding only the glyphs drawn, so any Latin script
//! prints and can be copied back out of the PDF. Photos are embedded as stored where the PDF
//! format allows it: a JPEG goes in byte for byte, while PNG and WebP pixels are decoded and
//! stored losslessly compressed. The same inputs always give the same bytes, so a PDF can be
//! hashed, cached and compared.

use chrono::{Datelike, NaiveDateTime, Timelike};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Date, Filter, Name, Pdf, Rect, Ref, Str, TextStr};
use std::collections::BTreeMap;
use std::io::Cursor;
use subsetter::GlyphRemapper;

/// What the first page's heading says: a title line and label/value rows.
pub struct Heading {
    pub title: String,
    pub rows: Vec<(String, String)>,
}

/// One photographed page: the stored image bytes (JPEG usually; PNG and WebP possible) with its
/// media type (the pixel size is read from the image itself).
pub struct PageImage {
    pub bytes: Vec<u8>,
    pub content_type: String,
}

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum DocPdfError {
    /// A photo that cannot be read or placed; `page` counts from 1 in the order the pages were
    /// given.
    #[error("page {page} is not an image the PDF can hold: {reason}")]
    Image { page: usize, reason: String },
    /// The embedded font could not be loaded (it is compiled in, so this means a broken build).
    #[error("the embedded font could not be loaded")]
    Font,
    /// The PDF could not be written.
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
}

const REGULAR_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const BOLD_TTF: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf");

/// A4 portrait in points, and the blank border kept around everything drawn.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 36.0;
/// Title: bold, at most two lines.
const TITLE_SIZE: f32 = 16.0;
const TITLE_LEAD: f32 = 20.0;
/// Rows: a bold label column, then the value in the rest of the line.
const ROW_SIZE: f32 = 9.5;
const ROW_LEAD: f32 = 12.5;
const LABEL_W: f32 = 140.0;
const COLUMN_GAP: f32 = 10.0;
/// Space between the heading, the rule under it and the photo.
const GAP: f32 = 8.0;
/// The heading never takes so much of page 1 that the photo gets less than this height.
const MIN_PHOTO_H: f32 = 200.0;
/// The grey of the rule under the heading (0 is black, 1 is white).
const RULE_GREY: f32 = 150.0 / 255.0;
/// How hard the zlib streams (content, font, pixels) are squeezed, on miniz's 0–10 scale.
const DEFLATE_LEVEL: u8 = 6;

/// The character collection every embedded font claims: glyphs are addressed by their CID, which
/// is the glyph's id in the subset.
const IDENTITY: SystemInfo = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

/// An embedded font: its raw TrueType data, parsed to look up glyphs and their advance widths.
/// Text is measured and drawn with the same glyphs (one per character, no kerning), so a
/// measured width is exactly the drawn width.
struct Face {
    data: &'static [u8],
    ttf: ttf_parser::Face<'static>,
}

impl Face {
    fn load(data: &'static [u8]) -> Result<Face, DocPdfError> {
        let ttf = ttf_parser::Face::parse(data, 0).map_err(|_| DocPdfError::Font)?;
        if ttf.units_per_em() == 0 {
            return Err(DocPdfError::Font);
        }
        Ok(Face { data, ttf })
    }

    /// The glyph that draws `c`, or the font's "missing glyph" box (glyph 0) when it has none.
    fn glyph(&self, c: char) -> u16 {
        self.ttf.glyph_index(c).map_or(0, |g| g.0)
    }

    /// How far `glyph` moves the pen, in font units.
    fn advance(&self, glyph: u16) -> u16 {
        self.ttf
            .glyph_hor_advance(ttf_parser::GlyphId(glyph))
            .unwrap_or(0)
    }

    /// Font units per point of font size: 1 pt of size is `units_per_em` units.
    fn units_per_em(&self) -> f32 {
        f32::from(self.ttf.units_per_em())
    }

    /// The advance width of `text` set at `size`, in points (kerning ignored).
    fn width(&self, text: &str, size: f32) -> f32 {
        let units: u64 = text
            .chars()
            .map(|c| u64::from(self.advance(self.glyph(c))))
            .sum();
        units as f32 * size / self.units_per_em()
    }

    /// Breaks `text` into at most `max_lines` lines no wider than `width`: between words where
    /// possible, inside a word that is too long for a line of its own. Whatever does not fit is
    /// cut off and the last line ends in "…", so nothing ever runs past the column.
    fn wrap(&self, text: &str, size: f32, width: f32, max_lines: usize) -> Vec<String> {
        let fits = |s: &str| self.width(s, size) <= width;
        let mut lines = Vec::new();
        let mut line = String::new();
        for word in text.split_whitespace() {
            if lines.len() > max_lines {
                break; // Already too much; the rest is cut anyway.
            }
            let joined = if line.is_empty() {
                word.to_owned()
            } else {
                format!("{line} {word}")
            };
            if fits(&joined) {
                line = joined;
                continue;
            }
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let mut rest = word;
            while !fits(rest) && lines.len() <= max_lines {
                let cut = self.longest_fitting_prefix(rest, size, width);
                lines.push(rest[..cut].to_owned());
                rest = &rest[cut..];
            }
            line = rest.to_owned();
        }
        if !line.is_empty() || lines.is_empty() {
            lines.push(line);
        }
        if lines.len() > max_lines {
            lines.truncate(max_lines);
            if let Some(last) = lines.last_mut() {
                while !last.is_empty() && !fits(&format!("{last}…")) {
                    last.pop();
                }
                last.truncate(last.trim_end().len());
                last.push('…');
            }
        }
        lines
    }

    /// The byte length of the longest start of `word` that fits in `width` (at least one
    /// character, so wrapping always advances). It never splits a letter from a combining
    /// accent that follows it.
    fn longest_fitting_prefix(&self, word: &str, size: f32, width: f32) -> usize {
        let mut best = word.chars().next().map_or(word.len(), char::len_utf8);
        for (i, c) in word.char_indices().skip(1) {
            if ('\u{300}'..='\u{36f}').contains(&c) {
                continue;
            }
            if self.width(&word[..i], size) > width {
                break;
            }
            best = i;
        }
        best
    }
}

/// One line of heading text, placed relative to the top-left corner of the heading.
struct Line {
    x: f32,
    baseline: f32,
    bold: bool,
    size: f32,
    text: String,
}

impl Line {
    /// A line whose text box starts `top` points below the heading's top edge.
    fn new(x: f32, top: f32, bold: bool, size: f32, text: String) -> Line {
        let baseline = top + size;
        Line {
            x,
            baseline,
            bold,
            size,
            text,
        }
    }
}

/// Lays out the heading: first with up to three lines per value; if that is taller than page 1
/// allows, with every value on one line; rows that still do not fit are left out and a "…" row
/// says so. Returns the lines and the height they take.
fn layout_heading(heading: &Heading, regular: &Face, bold: &Face) -> (Vec<Line>, f32) {
    let budget = PAGE_H - 2.0 * MARGIN - MIN_PHOTO_H - 2.0 * GAP;
    let content_w = PAGE_W - 2.0 * MARGIN;
    let value_x = LABEL_W + COLUMN_GAP;
    let mut lines = Vec::new();
    let mut y = 0.0;
    for value_lines in [3, 1] {
        lines.clear();
        y = 0.0;
        for text in bold.wrap(&heading.title, TITLE_SIZE, content_w, 2) {
            lines.push(Line::new(0.0, y, true, TITLE_SIZE, text));
            y += TITLE_LEAD;
        }
        y += GAP / 2.0;
        for (i, (label, value)) in heading.rows.iter().enumerate() {
            let label = bold.wrap(label, ROW_SIZE, LABEL_W, 1).concat();
            let values = regular.wrap(value, ROW_SIZE, content_w - value_x, value_lines);
            // Unless this is the last row, keep a line free for the marker that rows are left out.
            let marker = if i + 1 < heading.rows.len() { 1.0 } else { 0.0 };
            if value_lines == 1 && y + ROW_LEAD * (values.len() as f32 + marker) > budget {
                lines.push(Line::new(0.0, y, true, ROW_SIZE, "…".into()));
                y += ROW_LEAD;
                break;
            }
            lines.push(Line::new(0.0, y, true, ROW_SIZE, label));
            for text in values {
                lines.push(Line::new(value_x, y, false, ROW_SIZE, text));
                y += ROW_LEAD;
            }
        }
        if y <= budget {
            break;
        }
    }
    (lines, y)
}

/// The glyphs one font draws in the document, gathered while the text is written so that the
/// font can be subset to exactly these afterwards.
struct FontUse {
    /// Old glyph id → id in the subset, which is also the CID the content stream shows.
    remapper: GlyphRemapper,
    /// For copying text back out: the character each CID was first drawn for.
    unicode: BTreeMap<u16, char>,
}

impl FontUse {
    fn new() -> FontUse {
        FontUse {
            remapper: GlyphRemapper::new(),
            unicode: BTreeMap::new(),
        }
    }

    /// Whether anything at all was drawn with this font.
    fn is_used(&self) -> bool {
        !self.unicode.is_empty() || self.remapper.num_gids() > 1
    }

    /// `text` as the two-byte CIDs an Identity-H font shows, recording every glyph it needs.
    fn encode(&mut self, face: &Face, text: &str) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(2 * text.len());
        for c in text.chars() {
            let cid = self.remapper.remap(face.glyph(c));
            if cid != 0 {
                self.unicode.entry(cid).or_insert(c);
            }
            bytes.extend_from_slice(&cid.to_be_bytes());
        }
        bytes
    }
}

/// Hands out the numbers of the PDF's indirect objects, one after the other.
struct Ids(Ref);

impl Ids {
    fn next(&mut self) -> Ref {
        self.0.bump()
    }
}

/// Compresses `data` as a zlib stream, which is what PDF's FlateDecode filter reads.
fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, DEFLATE_LEVEL)
}

/// A six-letter tag that marks a font as a subset (PDF 32000-1, 9.6.4). It is derived from the
/// glyphs kept, so different subsets get different names and the same subset the same one.
fn subset_tag(glyphs: impl Iterator<Item = u16>) -> String {
    // FNV-1a: tiny, stable across builds and platforms.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for g in glyphs {
        for b in g.to_be_bytes() {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + ((hash >> (i * 8)) % 26) as u8))
        .collect()
}

/// Writes `face` as a Type0 font with `font_id` as its id: a CIDFontType2 descendant with
/// Identity-H encoding and an identity CID-to-glyph map, its glyph widths, a ToUnicode map so
/// text can be copied out, and the TrueType data subset to the glyphs in `used`.
fn write_font(
    pdf: &mut Pdf,
    ids: &mut Ids,
    font_id: Ref,
    face: &Face,
    used: &FontUse,
) -> Result<(), DocPdfError> {
    let cid_id = ids.next();
    let descriptor_id = ids.next();
    let cmap_id = ids.next();
    let file_id = ids.next();

    let subset = subsetter::subset(face.data, 0, &used.remapper).map_err(|_| DocPdfError::Font)?;
    // The PostScript name, from whichever name record decodes (some are in Mac encodings).
    let ps_name = face
        .ttf
        .names()
        .into_iter()
        .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
        .find_map(|n| n.to_string())
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or_else(|| "DejaVuSans".to_owned());
    let base_font = format!("{}+{ps_name}", subset_tag(used.remapper.remapped_gids()));
    let base_font = Name(base_font.as_bytes());
    // PDF glyph space has 1000 units per em.
    let scale = 1000.0 / face.units_per_em();
    let to_pdf = |units: i16| f32::from(units) * scale;

    pdf.type0_font(font_id)
        .base_font(base_font)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid_id)
        .to_unicode(cmap_id);

    let widths: Vec<f32> = used
        .remapper
        .remapped_gids()
        .map(|g| f32::from(face.advance(g)) * scale)
        .collect();
    let mut cid = pdf.cid_font(cid_id);
    cid.subtype(CidFontType::Type2)
        .base_font(base_font)
        .system_info(IDENTITY)
        .font_descriptor(descriptor_id)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    cid.widths().consecutive(0, widths);
    drop(cid);

    let ttf = &face.ttf;
    let bbox = ttf.global_bounding_box();
    let mut flags = FontFlags::SYMBOLIC;
    flags.set(FontFlags::FIXED_PITCH, ttf.is_monospaced());
    flags.set(FontFlags::ITALIC, ttf.is_italic());
    let weight = f32::from(ttf.weight().to_number());
    pdf.font_descriptor(descriptor_id)
        .name(base_font)
        .flags(flags)
        .bbox(Rect::new(
            to_pdf(bbox.x_min),
            to_pdf(bbox.y_min),
            to_pdf(bbox.x_max),
            to_pdf(bbox.y_max),
        ))
        .italic_angle(ttf.italic_angle())
        .ascent(to_pdf(ttf.ascender()))
        .descent(to_pdf(ttf.descender()))
        .cap_height(to_pdf(ttf.capital_height().unwrap_or(ttf.ascender())))
        // The usual estimate of the vertical stem width from the font's weight class.
        .stem_v(10.0 + 0.244 * (weight - 50.0))
        .font_file2(file_id);

    let mut cmap = UnicodeCmap::new(Name(b"Custom"), IDENTITY);
    for (&cid, &c) in &used.unicode {
        cmap.pair(cid, c);
    }
    let cmap = deflate(cmap.finish().as_slice());
    pdf.stream(cmap_id, &cmap).filter(Filter::FlateDecode);

    let length = i32::try_from(subset.len()).map_err(|_| DocPdfError::Font)?;
    let file = deflate(&subset);
    pdf.stream(file_id, &file)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Length1"), length);
    Ok(())
}

/// The colour spaces photo pixels come in.
#[derive(Clone, Copy)]
enum Colour {
    Gray,
    Rgb,
    /// CMYK; `inverted` when an Adobe JPEG stores the inks inverted, as Adobe's software does.
    Cmyk {
        inverted: bool,
    },
}

impl Colour {
    fn name(self) -> Name<'static> {
        match self {
            Colour::Gray => Name(b"DeviceGray"),
            Colour::Rgb => Name(b"DeviceRGB"),
            Colour::Cmyk { .. } => Name(b"DeviceCMYK"),
        }
    }
}

/// How a photo's pixels go into the PDF.
enum Pixels<'a> {
    /// The JPEG file itself, which PDF readers decode (DCTDecode).
    Jpeg(&'a [u8]),
    /// Decoded 8-bit samples, zlib-compressed, with an 8-bit alpha channel (likewise compressed)
    /// when the image has any transparency.
    Flate {
        samples: Vec<u8>,
        alpha: Option<Vec<u8>>,
    },
}

/// A photo ready to be written: its size in pixels (from its own header, not from
/// `PageImage::width/height`), colour space and pixels.
struct Photo<'a> {
    width: i32,
    height: i32,
    colour: Colour,
    pixels: Pixels<'a>,
}

/// Reads one photo with the decoder its bytes call for. PNG and WebP are decoded completely, so
/// damaged pixel data is found here, before anything is written.
fn load_image(page: &PageImage, number: usize) -> Result<Photo<'_>, DocPdfError> {
    // The bytes decide; the stored media type only names what to try when they are unknown.
    let sniffed = match page.bytes.as_slice() {
        [0xFF, 0xD8, 0xFF, ..] => "image/jpeg",
        [0x89, b'P', b'N', b'G', ..] => "image/png",
        b if b.starts_with(b"RIFF") && b.get(8..12) == Some(b"WEBP") => "image/webp",
        _ => page.content_type.split(';').next().unwrap_or("").trim(),
    };
    let photo = match sniffed.to_ascii_lowercase().as_str() {
        "image/jpeg" | "image/jpg" => load_jpeg(&page.bytes),
        "image/png" => load_png(&page.bytes),
        "image/webp" => load_webp(&page.bytes),
        other => Err(format!("unrecognised image data (stored as {other:?})")),
    };
    photo.map_err(|reason| DocPdfError::Image {
        page: number,
        reason,
    })
}

/// A pixel count as the PDF writes it; zero or absurdly large sizes are refused.
fn dimension(n: u32) -> Result<i32, String> {
    i32::try_from(n)
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("unusable image size {n}"))
}

/// Finds a JPEG's size and colour space in its frame header (the SOF marker segment) without
/// decoding it; the bytes are embedded unchanged.
fn load_jpeg(bytes: &[u8]) -> Result<Photo<'_>, String> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Err("not a JPEG file".into());
    }
    let mut adobe = false;
    let mut i = 2;
    loop {
        // Every marker is 0xFF followed by a code; extra 0xFF bytes are padding.
        if bytes.get(i) != Some(&0xFF) {
            return Err("damaged JPEG header".into());
        }
        while bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        let marker = *bytes.get(i).ok_or("JPEG header ends early")?;
        i += 1;
        match marker {
            // Markers without a segment behind them.
            0x01 | 0xD0..=0xD7 => continue,
            // The image data or its end came before any frame header.
            0xD9 | 0xDA => return Err("JPEG has no frame header".into()),
            _ => {}
        }
        let segment = bytes.get(i..i + 2).ok_or("JPEG header ends early")?;
        let length = usize::from(u16::from_be_bytes([segment[0], segment[1]]));
        let body = bytes
            .get(i + 2..i + length.max(2))
            .ok_or("JPEG header ends early")?;
        match marker {
            // APP14 "Adobe": CMYK data is stored with inverted inks.
            0xEE if body.starts_with(b"Adobe") => adobe = true,
            // SOF0..SOF15, except DHT (C4), JPG (C8) and DAC (CC), which share the range.
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                let [precision, h1, h0, w1, w0, components, ..] = *body else {
                    return Err("JPEG frame header is too short".into());
                };
                if precision != 8 {
                    return Err(format!("{precision}-bit JPEG samples are not supported"));
                }
                let colour = match components {
                    1 => Colour::Gray,
                    3 => Colour::Rgb,
                    4 => Colour::Cmyk { inverted: adobe },
                    n => return Err(format!("JPEG with {n} colour components")),
                };
                return Ok(Photo {
                    width: dimension(u32::from(u16::from_be_bytes([w1, w0])))?,
                    height: dimension(u32::from(u16::from_be_bytes([h1, h0])))?,
                    colour,
                    pixels: Pixels::Jpeg(bytes),
                });
            }
            _ => {}
        }
        i += length;
    }
}

/// Decodes a PNG to 8-bit grey or RGB samples, with alpha split off.
fn load_png(bytes: &[u8]) -> Result<Photo<'static>, String> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Palettes, low bit depths and tRNS transparency expand to plain 8-bit channels.
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader
        .output_buffer_size()
        .ok_or("PNG is too large to decode")?;
    let mut buffer = vec![0; size];
    let info = reader.next_frame(&mut buffer).map_err(|e| e.to_string())?;
    if info.bit_depth != png::BitDepth::Eight {
        return Err(format!("unexpected PNG bit depth {:?}", info.bit_depth));
    }
    let (colour, channels, has_alpha) = match info.color_type {
        png::ColorType::Grayscale => (Colour::Gray, 1, false),
        png::ColorType::GrayscaleAlpha => (Colour::Gray, 2, true),
        png::ColorType::Rgb => (Colour::Rgb, 3, false),
        png::ColorType::Rgba => (Colour::Rgb, 4, true),
        png::ColorType::Indexed => return Err("PNG palette was not expanded".into()),
    };
    // Rows may be padded; keep exactly width × channels bytes of each.
    let row = info.width as usize * channels;
    let mut pixels = Vec::with_capacity(row * info.height as usize);
    for line in buffer
        .chunks(info.line_size.max(1))
        .take(info.height as usize)
    {
        pixels.extend_from_slice(line.get(..row).ok_or("PNG row is too short")?);
    }
    flate_photo(
        info.width,
        info.height,
        colour,
        channels,
        has_alpha,
        &pixels,
    )
}

/// Decodes a WebP (lossy or lossless; the first frame of an animation) to 8-bit RGB samples,
/// with alpha split off.
fn load_webp(bytes: &[u8]) -> Result<Photo<'static>, String> {
    let mut decoder =
        image_webp::WebPDecoder::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let (width, height) = decoder.dimensions();
    let has_alpha = decoder.has_alpha();
    let size = decoder
        .output_buffer_size()
        .ok_or("WebP is too large to decode")?;
    let mut pixels = vec![0; size];
    decoder.read_image(&mut pixels).map_err(|e| e.to_string())?;
    let channels = if has_alpha { 4 } else { 3 };
    flate_photo(width, height, Colour::Rgb, channels, has_alpha, &pixels)
}

/// Splits interleaved 8-bit `pixels` (colour channels, then alpha if `has_alpha`) into
/// compressed colour samples and, unless every pixel is opaque, a compressed alpha channel.
fn flate_photo(
    width: u32,
    height: u32,
    colour: Colour,
    channels: usize,
    has_alpha: bool,
    pixels: &[u8],
) -> Result<Photo<'static>, String> {
    let (w, h) = (dimension(width)?, dimension(height)?);
    let expected = width as usize * height as usize * channels;
    if pixels.len() < expected {
        return Err("image data is shorter than its size says".into());
    }
    let pixels = &pixels[..expected];
    let (samples, alpha) = if has_alpha {
        let colours = channels - 1;
        let mut samples = Vec::with_capacity(pixels.len() / channels * colours);
        let mut alpha = Vec::with_capacity(pixels.len() / channels);
        for px in pixels.chunks_exact(channels) {
            samples.extend_from_slice(&px[..colours]);
            alpha.push(px[colours]);
        }
        let opaque = alpha.iter().all(|&a| a == u8::MAX);
        (samples, (!opaque).then_some(alpha))
    } else {
        (pixels.to_vec(), None)
    };
    Ok(Photo {
        width: w,
        height: h,
        colour,
        pixels: Pixels::Flate {
            samples: deflate(&samples),
            alpha: alpha.map(|a| deflate(&a)),
        },
    })
}

/// Writes `photo` as an image XObject with id `id` (and its alpha as a soft mask, if any).
fn write_image(pdf: &mut Pdf, ids: &mut Ids, id: Ref, photo: &Photo) {
    let mask_id = match &photo.pixels {
        Pixels::Flate {
            alpha: Some(alpha), ..
        } => {
            let mask_id = ids.next();
            let mut mask = pdf.image_xobject(mask_id, alpha);
            mask.width(photo.width)
                .height(photo.height)
                .color_space_name(Name(b"DeviceGray"))
                .bits_per_component(8);
            mask.filter(Filter::FlateDecode);
            Some(mask_id)
        }
        _ => None,
    };
    let (data, filter) = match &photo.pixels {
        Pixels::Jpeg(bytes) => (*bytes, Filter::DctDecode),
        Pixels::Flate { samples, .. } => (samples.as_slice(), Filter::FlateDecode),
    };
    let mut image = pdf.image_xobject(id, data);
    image
        .width(photo.width)
        .height(photo.height)
        .color_space_name(photo.colour.name())
        .bits_per_component(8);
    image.filter(filter);
    if let Colour::Cmyk { inverted: true } = photo.colour {
        image.decode([1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0]);
    }
    if let Some(mask_id) = mask_id {
        image.s_mask(mask_id);
    }
}

/// A box on the page measured from the top-left corner, as the layout thinks of it.
#[derive(Clone, Copy)]
struct Area {
    left: f32,
    top: f32,
    right: f32,
    bottom: f32,
}

/// Draws the image named `/Im1` as large as fits in `area`, keeping its aspect ratio, centred
/// in it.
fn draw_fitted(
    content: &mut Content,
    photo: &Photo,
    area: Area,
    number: usize,
) -> Result<(), DocPdfError> {
    let (w, h) = (photo.width as f32, photo.height as f32);
    let (area_w, area_h) = (area.right - area.left, area.bottom - area.top);
    let scale = (area_w / w).min(area_h / h);
    let (draw_w, draw_h) = (w * scale, h * scale);
    if !(draw_w.is_finite() && draw_h.is_finite() && draw_w > 0.0 && draw_h > 0.0) {
        return Err(DocPdfError::Image {
            page: number,
            reason: format!("cannot place a {w}x{h} image"),
        });
    }
    let x = area.left + (area_w - draw_w) / 2.0;
    let top = area.top + (area_h - draw_h) / 2.0;
    // PDF measures y upwards from the bottom edge; an image fills the unit square.
    content
        .save_state()
        .transform([draw_w, 0.0, 0.0, draw_h, x, PAGE_H - top - draw_h])
        .x_object(Name(b"Im1"))
        .restore_state();
    Ok(())
}

/// Renders the document: page 1 = the heading at the top, then the first photo scaled to fit
/// the rest of the page (keep aspect ratio, centred, never upscaled beyond fitting); every
/// further photo on its own A4 page, fitted within 36 pt margins. No photos → one page with the
/// heading only. The PDF has exactly max(1, pages.len()) pages.
///
/// `created` becomes the document's creation date and is written as UTC. Nothing else varies
/// between runs, so equal inputs give byte-identical PDFs.
pub fn render(
    heading: &Heading,
    pages: &[PageImage],
    created: NaiveDateTime,
) -> Result<Vec<u8>, DocPdfError> {
    let regular = Face::load(REGULAR_TTF)?;
    let bold = Face::load(BOLD_TTF)?;
    // Every photo is read before anything is drawn, so a bad one fails fast.
    let photos = pages
        .iter()
        .enumerate()
        .map(|(i, page)| load_image(page, i + 1))
        .collect::<Result<Vec<_>, _>>()?;
    let full_page = Area {
        left: MARGIN,
        top: MARGIN,
        right: PAGE_W - MARGIN,
        bottom: PAGE_H - MARGIN,
    };

    let mut pdf = Pdf::new();
    let mut ids = Ids(Ref::new(1));
    let catalog_id = ids.next();
    let tree_id = ids.next();
    let info_id = ids.next();
    let regular_id = ids.next();
    let bold_id = ids.next();
    let mut regular_use = FontUse::new();
    let mut bold_use = FontUse::new();

    let (lines, heading_h) = layout_heading(heading, &regular, &bold);
    let mut photos = photos.into_iter();
    let mut page_ids = Vec::new();
    for number in 1..=pages.len().max(1) {
        let page_id = ids.next();
        let content_id = ids.next();
        page_ids.push(page_id);
        let mut content = Content::new();
        let mut area = full_page;
        if number == 1 {
            for line in &lines {
                let (face, used, font) = if line.bold {
                    (&bold, &mut bold_use, Name(b"F2"))
                } else {
                    (&regular, &mut regular_use, Name(b"F1"))
                };
                let text = used.encode(face, &line.text);
                content
                    .begin_text()
                    .set_font(font, line.size)
                    .next_line(MARGIN + line.x, PAGE_H - MARGIN - line.baseline)
                    .show(Str(&text))
                    .end_text();
            }
            // A hairline rule between the heading and the photo.
            let rule_y = MARGIN + heading_h + GAP;
            content
                .save_state()
                .set_fill_gray(RULE_GREY)
                .rect(MARGIN, PAGE_H - rule_y - 0.5, PAGE_W - 2.0 * MARGIN, 0.5)
                .fill_nonzero()
                .restore_state();
            area.top = rule_y + GAP;
        }
        let mut image_id = None;
        if let Some(photo) = photos.next()
            && area.right > area.left
            && area.bottom > area.top
        {
            draw_fitted(&mut content, &photo, area, number)?;
            let id = ids.next();
            write_image(&mut pdf, &mut ids, id, &photo);
            image_id = Some(id);
        }
        let stream = deflate(content.finish().as_slice());
        pdf.stream(content_id, &stream).filter(Filter::FlateDecode);

        let mut page = pdf.page(page_id);
        page.parent(tree_id)
            .media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .contents(content_id);
        let mut resources = page.resources();
        if number == 1 {
            let mut fonts = resources.fonts();
            if regular_use.is_used() {
                fonts.pair(Name(b"F1"), regular_id);
            }
            if bold_use.is_used() {
                fonts.pair(Name(b"F2"), bold_id);
            }
        }
        if let Some(id) = image_id {
            resources.x_objects().pair(Name(b"Im1"), id);
        }
    }

    if regular_use.is_used() {
        write_font(&mut pdf, &mut ids, regular_id, &regular, &regular_use)?;
    }
    if bold_use.is_used() {
        write_font(&mut pdf, &mut ids, bold_id, &bold, &bold_use)?;
    }
    let count =
        i32::try_from(page_ids.len()).map_err(|_| DocPdfError::Pdf("too many pages".into()))?;
    pdf.pages(tree_id).kids(page_ids).count(count);
    pdf.catalog(catalog_id).pages(tree_id);
    pdf.document_info(info_id)
        .title(TextStr(&heading.title))
        .creator(TextStr("Kvits"))
        .producer(TextStr("Kvits"))
        .creation_date(pdf_date(created));
    Ok(pdf.finish())
}

/// `created` as a PDF date, in UTC; fields out of the PDF's range are clamped.
fn pdf_date(t: NaiveDateTime) -> Date {
    let small = |n: u32| u8::try_from(n).unwrap_or(u8::MAX); // pdf-writer clamps these further.
    Date::new(u16::try_from(t.year().clamp(0, 9999)).unwrap_or(0))
        .month(small(t.month()))
        .day(small(t.day()))
        .hour(small(t.hour()))
        .minute(small(t.minute()))
        .second(small(t.second()))
        .utc_offset_hour(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::{Document as Pdf, Object, ObjectId};

    const FIXTURE: &str = "/work/main/tests/fixtures/receipts/scans/aldi_02032020_19_02423.jpg";

    fn created() -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2025, 3, 14)
            .and_then(|d| d.and_hms_opt(9, 26, 53))
            .expect("valid date")
    }

    fn heading() -> Heading {
        let row = |l: &str, v: &str| (l.to_owned(), v.to_owned());
        Heading {
            title: "Kvīts Nr. 42 — Rīgas Piens".into(),
            rows: vec![
                row(
                    "Tirgotājs",
                    "SIA Rīgas Piena Kombināts, ģērbtuvē ķiļķēni ļņšūž",
                ),
                row("Miasto", "Łódź, ul. Piotrkowska ąćęłńóśźż"),
                row("Butik", "Åhléns, Göteborg (åäö)"),
                row("Pood", "Õismäe Selver"),
                row("Summa", "24,23 EUR"),
                row(
                    "Piezīme",
                    &"ļoti gara piezīme ar daudziem vārdiem, ".repeat(12),
                ),
                row("Bez atstarpēm", &"x".repeat(400)),
            ],
        }
    }

    /// A JPEG made in the test: a `w`×`h` gradient tinted by `seed`, so every call differs.
    fn jpeg(w: u32, h: u32, seed: u8) -> PageImage {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, seed])
        });
        let mut bytes = Vec::new();
        jpeg_encoder::Encoder::new(&mut bytes, 80)
            .encode(
                img.as_raw(),
                w as u16,
                h as u16,
                jpeg_encoder::ColorType::Rgb,
            )
            .expect("encode jpeg");
        PageImage {
            bytes,
            content_type: "image/jpeg".into(),
        }
    }

    fn encoded(format: image::ImageFormat, content_type: &str) -> PageImage {
        let img = image::RgbaImage::from_fn(60, 40, |x, y| {
            image::Rgba([x as u8 * 4, y as u8 * 6, 90, 255])
        });
        let mut cursor = std::io::Cursor::new(Vec::new());
        img.write_to(&mut cursor, format).expect("encode");
        PageImage {
            bytes: cursor.into_inner(),
            content_type: content_type.into(),
        }
    }

    fn parse(pdf: &[u8]) -> Pdf {
        Pdf::load_mem(pdf).expect("the output parses")
    }

    /// The image XObjects a page draws, looked up through its resources.
    fn page_images(doc: &Pdf, page: ObjectId) -> Vec<lopdf::Stream> {
        let page = doc.get_dictionary(page).expect("page");
        let resources = page
            .get_deref(b"Resources", doc)
            .and_then(Object::as_dict)
            .expect("resources");
        let Ok(xobjects) = resources
            .get_deref(b"XObject", doc)
            .and_then(Object::as_dict)
        else {
            return Vec::new();
        };
        xobjects
            .iter()
            .filter_map(|(_, o)| doc.dereference(o).ok()?.1.as_stream().ok().cloned())
            .filter(|s| s.dict.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Image"))
            .collect()
    }

    /// Where each image lands on a page, as (left, bottom, right, top) in PDF points: the unit
    /// square an image occupies, mapped through the `q`/`Q`/`cm` transforms before its `Do`.
    fn image_boxes(doc: &Pdf, page: ObjectId) -> Vec<[f32; 4]> {
        let content =
            lopdf::content::Content::decode(&doc.get_page_content(page)).expect("decode content");
        let num = |o: &Object| o.as_float().expect("number");
        let (mut ctm, mut stack) = ([1.0, 0.0, 0.0, 1.0, 0.0, 0.0f32], Vec::new());
        let mut boxes = Vec::new();
        for op in content.operations {
            match op.operator.as_str() {
                "q" => stack.push(ctm),
                "Q" => ctm = stack.pop().expect("balanced q/Q"),
                "cm" => {
                    let m: Vec<f32> = op.operands.iter().map(num).collect();
                    let c = ctm;
                    ctm = [
                        m[0] * c[0] + m[1] * c[2],
                        m[0] * c[1] + m[1] * c[3],
                        m[2] * c[0] + m[3] * c[2],
                        m[2] * c[1] + m[3] * c[3],
                        m[4] * c[0] + m[5] * c[2] + c[4],
                        m[4] * c[1] + m[5] * c[3] + c[5],
                    ];
                }
                "Do" => {
                    let (xs, ys) = (
                        [ctm[4], ctm[4] + ctm[0] + ctm[2]],
                        [ctm[5], ctm[5] + ctm[1] + ctm[3]],
                    );
                    boxes.push([
                        xs[0].min(xs[1]),
                        ys[0].min(ys[1]),
                        xs[0].max(xs[1]),
                        ys[0].max(ys[1]),
                    ]);
                }
                _ => {}
            }
        }
        boxes
    }

    #[test]
    fn heading_only_gives_one_small_page() {
        let pdf = render(&heading(), &[], created()).expect("render");
        let doc = parse(&pdf);
        assert_eq!(doc.get_pages().len(), 1);
        println!("heading-only PDF: {} bytes", pdf.len());
        assert!(
            pdf.len() < 60_000,
            "heading-only PDF is {} bytes",
            pdf.len()
        );
        let info = doc
            .trailer
            .get_deref(b"Info", &doc)
            .and_then(Object::as_dict)
            .expect("info");
        let text = |k: &[u8]| lopdf::decode_text_string(info.get(k).expect("key")).expect("text");
        assert_eq!(text(b"Title"), "Kvīts Nr. 42 — Rīgas Piens");
        assert_eq!(text(b"Producer"), "Kvits");
        assert_eq!(text(b"Creator"), "Kvits");
        let date = info
            .get(b"CreationDate")
            .and_then(Object::as_str)
            .expect("date");
        assert!(
            date.starts_with(b"D:20250314092653"),
            "{}",
            String::from_utf8_lossy(date)
        );
    }

    #[test]
    fn three_photos_give_three_pages_each_with_its_image() {
        let sizes = [(300.0, 800.0), (800.0, 300.0), (200.0, 200.0)];
        let photos = [jpeg(300, 800, 1), jpeg(800, 300, 2), jpeg(200, 200, 3)];
        let pdf = render(&heading(), &photos, created()).expect("render");
        let doc = parse(&pdf);
        let pages = doc.get_pages();
        assert_eq!(pages.len(), 3);
        for (n, ((&page, photo), (w, h))) in pages.values().zip(&photos).zip(sizes).enumerate() {
            let images = page_images(&doc, page);
            assert_eq!(images.len(), 1, "page {}", n + 1);
            // The JPEG is embedded byte for byte, not decoded and re-encoded.
            let filter = images[0]
                .dict
                .get(b"Filter")
                .and_then(Object::as_name)
                .expect("filter");
            assert_eq!(filter, b"DCTDecode");
            assert_eq!(images[0].content, photo.bytes, "page {}", n + 1);
            // Placed within the margins, centred horizontally, aspect ratio kept.
            let boxes = image_boxes(&doc, page);
            assert_eq!(boxes.len(), 1);
            let [l, b, r, t] = boxes[0];
            let eps = 0.05;
            assert!(
                l >= MARGIN - eps && r <= PAGE_W - MARGIN + eps,
                "{:?}",
                boxes[0]
            );
            assert!(
                b >= MARGIN - eps && t <= PAGE_H - MARGIN + eps,
                "{:?}",
                boxes[0]
            );
            assert!(
                ((l - MARGIN) - (PAGE_W - MARGIN - r)).abs() < eps,
                "centred: {:?}",
                boxes[0]
            );
            let ratio = (r - l) / (t - b) - w / h;
            assert!(ratio.abs() < 0.01, "aspect ratio: {:?}", boxes[0]);
            // It fills the available width or height.
            let touches_sides = (l - MARGIN).abs() < eps;
            let touches_bottom = (b - MARGIN).abs() < eps;
            assert!(touches_sides || touches_bottom, "fitted: {:?}", boxes[0]);
            if n > 0 {
                assert!(touches_bottom || ((b - MARGIN) - (PAGE_H - MARGIN - t)).abs() < eps);
            }
        }
    }

    #[test]
    fn same_inputs_give_the_same_bytes() {
        let photos = [
            jpeg(120, 160, 7),
            encoded(image::ImageFormat::Png, "image/png"),
        ];
        let a = render(&heading(), &photos, created()).expect("render");
        let b = render(&heading(), &photos, created()).expect("render");
        assert!(a == b, "two renders differ");
        let later = created() + chrono::Duration::seconds(1);
        assert!(a != render(&heading(), &photos, later).expect("render"));
    }

    #[test]
    fn bytes_that_are_no_image_name_their_page() {
        let junk = PageImage {
            bytes: b"not a picture at all".to_vec(),
            content_type: "image/jpeg".into(),
        };
        let photos = [jpeg(50, 50, 1), junk];
        match render(&heading(), &photos, created()) {
            Err(DocPdfError::Image { page: 2, reason }) => println!("page 2 refused: {reason}"),
            other => panic!("expected an image error on page 2, got {other:?}"),
        }
        // Unrecognised bytes with a media type no decoder handles.
        let odd = PageImage {
            bytes: vec![0; 64],
            content_type: "application/pdf".into(),
        };
        assert!(matches!(
            render(&heading(), &[odd], created()),
            Err(DocPdfError::Image { page: 1, .. })
        ));
        let mut png = encoded(image::ImageFormat::Png, "image/png");
        png.bytes.truncate(png.bytes.len() - 20); // Header intact, pixel data cut short.
        // Its header still reads, but the pixels are decoded up front, so the damage is found
        // while loading and reported with the page number.
        assert!(matches!(
            load_image(&png, 2),
            Err(DocPdfError::Image { page: 2, .. })
        ));
        let result = render(&heading(), &[jpeg(40, 40, 0), png], created());
        assert!(
            matches!(result, Err(DocPdfError::Image { page: 2, .. })),
            "{result:?}"
        );
    }

    #[test]
    fn unicode_text_is_extractable() {
        let pdf = render(&heading(), &[], created()).expect("render");
        let doc = parse(&pdf);
        let text = doc.extract_text(&[1]).expect("extract text");
        for word in [
            "Rīgas",
            "Łódź",
            "ąćęłńóśźż",
            "ģērbtuvē",
            "ķiļķēni",
            "ļņšūž",
            "Åhléns",
            "åäö",
            "Õismäe",
        ] {
            assert!(text.contains(word), "{word:?} missing from {text:?}");
        }
    }

    #[test]
    fn png_webp_and_a_real_scan_embed() {
        let scan = std::fs::read(FIXTURE).expect("fixture");
        let real = PageImage {
            bytes: scan,
            content_type: "image/jpeg".into(),
        };
        let one = render(&heading(), std::slice::from_ref(&real), created()).expect("render");
        println!(
            "1-photo PDF ({} byte scan): {} bytes",
            real.bytes.len(),
            one.len()
        );
        assert!(one.len() < real.bytes.len() + 60_000);
        let pages = [
            real,
            encoded(image::ImageFormat::Png, "image/png"),
            encoded(image::ImageFormat::WebP, "image/webp"),
        ];
        let doc = parse(&render(&heading(), &pages, created()).expect("render"));
        for page in doc.get_pages().values() {
            assert_eq!(page_images(&doc, *page).len(), 1);
        }
    }

    #[test]
    fn wrapping_keeps_text_inside_its_column() {
        let face = Face::load(REGULAR_TTF).expect("font");
        let long = "Ļoti garš teksts ar vārdiem un Łódź ".repeat(20) + &"ž".repeat(300);
        for max in [1, 2, 3, 50] {
            let lines = face.wrap(&long, ROW_SIZE, 200.0, max);
            assert!(!lines.is_empty() && lines.len() <= max);
            assert!(
                lines.iter().all(|l| face.width(l, ROW_SIZE) <= 200.0),
                "{lines:?}"
            );
            if max < 50 {
                assert!(lines.last().is_some_and(|l| l.ends_with('…')));
            }
        }
        assert_eq!(face.wrap("", ROW_SIZE, 200.0, 2), vec![String::new()]);
        assert_eq!(
            face.wrap("short", ROW_SIZE, 200.0, 2),
            vec!["short".to_owned()]
        );
    }

    #[test]
    fn twenty_five_long_rows_all_stay_on_page_one() {
        let mut many = heading();
        many.rows = (1..=25)
            .map(|i| (format!("Rinda {i}"), "vērtība ".repeat(80)))
            .collect();
        let regular = Face::load(REGULAR_TTF).expect("font");
        let bold = Face::load(BOLD_TTF).expect("font");
        let (_, height) = layout_heading(&many, &regular, &bold);
        assert!(height <= PAGE_H - 2.0 * MARGIN - MIN_PHOTO_H, "{height}");
        let pdf = render(&many, &[jpeg(100, 300, 4)], created()).expect("render");
        let doc = parse(&pdf);
        let text = doc.extract_text(&[1]).expect("text");
        assert!(
            (1..=25).all(|i| text.contains(&format!("Rinda {i}"))),
            "{text}"
        );
        // The photo sits below the heading, inside the bottom margin.
        let page = doc.get_pages()[&1];
        let [_, b, _, t] = image_boxes(&doc, page)[0];
        assert!(
            b >= MARGIN - 0.05 && t <= PAGE_H - MARGIN - height,
            "{b} {t}"
        );
        // Far more rows than fit: the rest is left out, marked by "…", and the photo still fits.
        many.rows = (1..=80)
            .map(|i| (format!("Rinda {i}"), "v".into()))
            .collect();
        let (_, height) = layout_heading(&many, &regular, &bold);
        assert!(height <= PAGE_H - 2.0 * MARGIN - MIN_PHOTO_H, "{height}");
    }
}
