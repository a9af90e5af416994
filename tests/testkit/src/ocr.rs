//! Reads the words on a receipt image with Debian's `tesseract` (German model), to check that
//! a compressed receipt stays readable. Page segmentation mode 6 ("a single uniform block of
//! text") fits a receipt; with mode 4 tesseract's column detection now and then drops the
//! whole price column of a tilted photo, which says nothing about legibility.

use std::collections::HashMap;
use std::process::Command;

/// One word tesseract read, with its confidence (0–100).
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub text: String,
    pub confidence: f32,
}

/// The words tesseract reads in an 8-bit gray image, in reading order, normalised by
/// [`normalize`]; fragments shorter than two characters are left out.
pub fn read(width: u32, height: u32, gray: &[u8]) -> Result<Vec<Word>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let path = dir.path().join("page.png");
    image::save_buffer(&path, gray, width, height, image::ExtendedColorType::L8)
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    let out = Command::new("tesseract")
        .arg(&path)
        .arg("stdout")
        .args(["-l", "deu", "--psm", "6", "tsv"])
        .env("OMP_THREAD_LIMIT", "1")
        .output()
        .map_err(|e| {
            format!("running tesseract ({e}); install Debian's tesseract-ocr and tesseract-ocr-deu")
        })?;
    if !out.status.success() {
        return Err(format!(
            "tesseract failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(parse_tsv(&String::from_utf8_lossy(&out.stdout)))
}

/// Parses tesseract's TSV: the 11th column is the confidence, the 12th the text.
fn parse_tsv(tsv: &str) -> Vec<Word> {
    tsv.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            let confidence: f32 = cols.get(10)?.parse().ok()?;
            let text = normalize(cols.get(11)?)?;
            Some(Word { text, confidence })
        })
        .collect()
}

/// Lower case, without the punctuation around it; `None` for fragments under two characters.
pub fn normalize(raw: &str) -> Option<String> {
    let w = raw
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    (w.chars().count() >= 2).then_some(w)
}

/// How many of the `reference` words (as a multiset) appear in `candidate`.
pub fn kept(reference: &[String], candidate: &[String]) -> usize {
    let mut available: HashMap<&str, usize> = HashMap::new();
    for w in candidate {
        *available.entry(w.as_str()).or_default() += 1;
    }
    reference
        .iter()
        .filter(|w| match available.get_mut(w.as_str()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tesseract_tsv() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
                   1\t1\t0\t0\t0\t0\t0\t0\t872\t2748\t-1\t\n\
                   5\t1\t1\t1\t1\t1\t10\t10\t50\t20\t96.06\tGLÜCKLICH?\n\
                   5\t1\t1\t1\t1\t2\t70\t10\t50\t20\t7.9\tR\n\
                   5\t1\t1\t1\t1\t3\t70\t10\t50\t20\t88.5\t24,23\n";
        let words = parse_tsv(tsv);
        assert_eq!(
            words,
            vec![
                Word {
                    text: "glücklich".into(),
                    confidence: 96.06
                },
                Word {
                    text: "24,23".into(),
                    confidence: 88.5
                },
            ]
        );
    }

    #[test]
    fn counts_words_as_a_multiset() {
        let s = |v: &[&str]| v.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert_eq!(
            kept(
                &s(&["eur", "eur", "milch", "brot"]),
                &s(&["eur", "milch", "milch"])
            ),
            2
        );
    }
}
