//! Turning registry files into clean UTF-8 text and cutting texts into documents.

/// Decodes UTF-8, falling back to Latin-1 for legacy files, and normalises CRLF/CR to LF.
pub fn decode_text(bytes: &[u8]) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    };
    text.replace("\r\n", "\n").replace('\r', "\n")
}

/// Brown Corpus `word/tag` format to plain running text: tags stripped, quotes and spacing
/// around punctuation restored; one paragraph a line, paragraphs separated by a blank line.
pub fn brown_to_plain(tagged: &str) -> String {
    let mut paragraphs = Vec::new();
    for block in tagged.split("\n\n") {
        let words: Vec<&str> = block
            .split_whitespace()
            .map(|tok| tok.rsplit_once('/').map_or(tok, |(w, _)| w))
            .collect();
        if !words.is_empty() {
            paragraphs.push(detokenize(&words));
        }
    }
    let mut out = paragraphs.join("\n\n");
    out.push('\n');
    out
}

/// Joins tokens with single spaces, except where English punctuation attaches to a neighbour.
fn detokenize(words: &[&str]) -> String {
    let mut out = String::new();
    let mut glue_next = true; // no space before the first word or after an opening mark
    for &w in words {
        let (w, opens, closes) = match w {
            "``" => ("\"", true, false),
            "''" => ("\"", false, true),
            "(" | "[" => (w, true, false),
            "," | "." | ";" | ":" | "?" | "!" | ")" | "]" | "'s" | "n't" => (w, false, true),
            _ => (w, false, false),
        };
        if !glue_next && !closes {
            out.push(' ');
        }
        out.push_str(w);
        glue_next = opens;
    }
    out
}

/// Cuts a text at blank lines into pieces of at least `min_bytes` (the last piece may be
/// shorter only if the text is); concatenating the pieces gives back the text exactly.
///
/// ```
/// let t = "a\n\nbb\n\nccc\n";
/// let docs = dclab::data::text::split_documents(t, 3);
/// assert_eq!(docs.concat(), t);
/// assert!(docs.iter().all(|d| d.len() >= 3));
/// ```
pub fn split_documents(text: &str, min_bytes: usize) -> Vec<String> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut rest = text;
    while !rest.is_empty() {
        let cut = rest.find("\n\n").map_or(rest.len(), |i| {
            let after = &rest[i..];
            i + after.len() - after.trim_start_matches('\n').len()
        });
        current.push_str(&rest[..cut]);
        rest = &rest[cut..];
        if current.len() >= min_bytes {
            docs.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        match docs.last_mut() {
            Some(last) => last.push_str(&current),
            None => docs.push(current),
        }
    }
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brown_tags_are_stripped_and_quotes_restored() {
        let tagged =
            "\n\n\tThe/at jury/nn said/vbd ``/`` no/at evidence/nn ''/'' ,/, Atlanta's/np$ ./.\n\n";
        assert_eq!(brown_to_plain(tagged), "The jury said \"no evidence\", Atlanta's.\n");
    }

    #[test]
    fn latin1_and_crlf_are_decoded() {
        assert_eq!(decode_text(b"caf\xe9\r\nx\r"), "caf\u{e9}\nx\n");
    }

    #[test]
    fn documents_cover_the_text_in_order() {
        let text = "para one\n\n\npara two is longer\n\nthree\n\nfour\n";
        for min in [1, 5, 12, 1000] {
            let docs = split_documents(text, min);
            assert_eq!(docs.concat(), text, "min_bytes {min}");
            assert!(docs[..docs.len() - 1].iter().all(|d| d.len() >= min));
        }
    }
}
