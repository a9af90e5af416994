//! Reads the words on a receipt image with Debian's `tesseract` (German model), to check that
//! a compressed receipt stays readable.

use std::collections::HashMap;
use std::process::Command;

/// The words tesseract reads in an 8-bit gray image, in reading order. Words are runs of letters
/// and digits (with `,` `.` `-` `/` `:` inside numbers and dates) of two or more characters.
pub fn words(width: u32, height: u32, gray: &[u8]) -> Result<Vec<String>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let path = dir.path().join("page.png");
    image::save_buffer(&path, gray, width, height, image::ExtendedColorType::L8)
        .map_err(|e| format!("writing {}: {e}", path.display()))?;
    let out = Command::new("tesseract")
        .arg(&path)
        .arg("stdout")
        .args(["-l", "deu", "--psm", "4"])
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
    Ok(tokenize(&String::from_utf8_lossy(&out.stdout)))
}

pub fn tokenize(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace())
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| w.chars().count() >= 2 && w.chars().any(char::is_alphanumeric))
        .collect()
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
    fn tokenizes_receipt_lines() {
        assert_eq!(
            tokenize("SUMME  EUR 24,23\n*Milch 1,5% x  ."),
            vec!["summe", "eur", "24,23", "milch", "1,5"]
        );
    }

    #[test]
    fn counts_words_as_a_multiset() {
        let r = tokenize("eur eur milch brot");
        let c = tokenize("eur milch milch");
        assert_eq!(kept(&r, &c), 2);
    }
}
