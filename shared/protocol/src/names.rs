//! Names shown to other people (a person's, a company's, a card's, a merchant's) must read as
//! what they are: characters that change the direction of the text around them or that show
//! nothing at all let "Mark" and "Ma\u{200b}rk", or an invoice number and its mirror image,
//! look alike.

/// The first character of `name` that is invisible or changes the text's direction, if any:
/// bidi embeddings, overrides, isolates and marks, zero-width spaces and joiners, the word
/// joiner and invisible operators, the byte-order mark, the soft hyphen and the Mongolian
/// vowel separator.
pub fn hidden_character(name: &str) -> Option<char> {
    name.chars().find(|c| {
        matches!(
            c,
            '\u{00ad}'
                | '\u{061c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{2069}'
                | '\u{feff}'
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_and_invisible_characters_are_found() {
        for name in [
            "Mark\u{202e}regnaM",
            "Ma\u{200b}rk",
            "Emma\u{200f}",
            "\u{2066}Birch\u{2069}",
            "\u{feff}Cedar",
            "In\u{00ad}voice",
        ] {
            assert!(hidden_character(name).is_some(), "{name:?}");
        }
    }

    #[test]
    fn names_in_any_script_pass() {
        for name in [
            "Mark Manager",
            "Jānis Bērziņš",
            "Łukasz Żółć",
            "Åsa Öberg",
            "محمد",
            "דוד",
            "Zoë O'Brien-Smith",
        ] {
            assert_eq!(hidden_character(name), None, "{name:?}");
        }
    }
}
