//! The KQL lexer of the simulated Resource Graph (see [`super::kql`] for the grammar).

use super::kql::KqlError;

/// A token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// A word (`where`, a column, `in~`, `!contains`).
    Ident(String),
    /// A string literal, unescaped.
    Str(String),
    /// A number.
    Num(f64),
    /// Punctuation or a symbolic operator.
    Sym(&'static str),
}

const SYMBOLS: [&str; 13] = ["==", "=~", "!=", "!~", "|", ",", "(", ")", "[", "]", ".", "=", "~"];

/// Splits a query into tokens.
pub fn lex(src: &str) -> Result<Vec<Tok>, KqlError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' || (c == '@' && matches!(chars.get(i + 1), Some('\'' | '"'))) {
            let verbatim = c == '@';
            let (s, next) = lex_string(&chars, if verbatim { i + 1 } else { i }, verbatim)?;
            out.push(Tok::Str(s));
            i = next;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Tok::Num(text.parse().map_err(|_| KqlError(format!("invalid number '{text}'")))?));
        } else if c.is_ascii_alphabetic() || c == '_' || (c == '!' && chars.get(i + 1).is_some_and(|n| n.is_ascii_alphabetic())) {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '_'
                    || (chars[i] == '-' && chars.get(i + 1).is_some_and(char::is_ascii_alphabetic)))
            {
                i += 1;
            }
            if chars.get(i) == Some(&'~') && matches!(chars[start..i].iter().collect::<String>().as_str(), "in" | "!in") {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if let Some(sym) = SYMBOLS.iter().find(|s| chars[i..].iter().take(s.len()).copied().eq(s.chars())) {
            out.push(Tok::Sym(sym));
            i += sym.len();
        } else {
            return Err(KqlError(format!("unsupported character '{c}' at position {i}")));
        }
    }
    Ok(out)
}

fn lex_string(chars: &[char], start: usize, verbatim: bool) -> Result<(String, usize), KqlError> {
    let quote = chars[start];
    let mut s = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if !verbatim => {
                let next = chars.get(i + 1).ok_or_else(|| KqlError("unterminated string literal".into()))?;
                s.push(match next {
                    'n' => '\n',
                    't' => '\t',
                    other => *other,
                });
                i += 2;
            }
            c if c == quote => return Ok((s, i + 1)),
            c => {
                s.push(c);
                i += 1;
            }
        }
    }
    Err(KqlError("unterminated string literal".into()))
}

/// A token for error messages.
pub fn show(tok: Option<&Tok>) -> String {
    match tok {
        None => "end of query".into(),
        Some(Tok::Ident(s)) => format!("'{s}'"),
        Some(Tok::Str(s)) => format!("string '{s}'"),
        Some(Tok::Num(n)) => format!("number {n}"),
        Some(Tok::Sym(s)) => format!("'{s}'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexes_operators_strings_and_words() {
        let toks = lex("a.b =~ 'x\\'y' and c in~ (@'p\\q', 3) | where d !contains \"z\"").unwrap();
        assert!(toks.contains(&Tok::Sym("=~")));
        assert!(toks.contains(&Tok::Str("x'y".into())));
        assert!(toks.contains(&Tok::Ident("in~".into())));
        assert!(toks.contains(&Tok::Str("p\\q".into())), "verbatim strings keep backslashes");
        assert!(toks.contains(&Tok::Ident("!contains".into())));
        assert!(toks.contains(&Tok::Num(3.0)));
        assert!(lex("'open").is_err());
        assert!(lex("a + b").unwrap_err().0.contains('+'));
    }
}
