//! Laying out text for a terminal or a file: each [`Line`] is an indent, an optional coloured mark
//! (`+`, `~`, `-`, `!`) and a body. Bodies longer than the width wrap at a space or after a `/` or
//! `,` (never inside a word when a break exists), continuation lines aligned under the body. Colour
//! (ANSI SGR) is added only when [`TextStyle::color`] is on, after wrapping, so widths never count
//! escape codes.

use std::fmt::Write as _;

/// How text is rendered: colour or not, and the width to wrap to (`None`: never wrap).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextStyle {
    /// ANSI colour (a terminal, and `NO_COLOR` unset).
    pub color: bool,
    /// Terminal columns to wrap to; `None` leaves lines whole (a file or a pipe).
    pub width: Option<usize>,
}

impl TextStyle {
    /// No colour, no wrapping: what a pipe or a file gets.
    pub const PLAIN: Self = Self { color: false, width: None };

    /// Below this many columns wrapping is pointless: narrower terminals get 40.
    const MIN_WIDTH: usize = 40;

    fn width(&self) -> Option<usize> {
        self.width.map(|w| w.max(Self::MIN_WIDTH))
    }
}

/// The colour of a mark or a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paint {
    /// Uncoloured.
    None,
    /// Bold.
    Bold,
    /// Green (create).
    Green,
    /// Yellow (update in place).
    Yellow,
    /// Red (delete, blocked, failed).
    Red,
    /// Dim (unchanged context).
    Dim,
}

impl Paint {
    fn code(self) -> Option<&'static str> {
        match self {
            Self::None => None,
            Self::Bold => Some("1"),
            Self::Green => Some("32"),
            Self::Yellow => Some("33"),
            Self::Red => Some("31"),
            Self::Dim => Some("2"),
        }
    }

    /// `text` wrapped in this colour when `color` is on.
    pub fn apply(self, text: &str, color: bool) -> String {
        match self.code() {
            Some(code) if color && !text.is_empty() => format!("\x1b[{code}m{text}\x1b[0m"),
            _ => text.to_string(),
        }
    }
}

/// One logical line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Leading spaces.
    pub indent: usize,
    /// A mark before the body (`+`, `~`, `-`, `!`, `=`, `x`) and its colour.
    pub mark: Option<(char, Paint)>,
    /// The text.
    pub body: String,
    /// Colour of the body.
    pub paint: Paint,
}

impl Line {
    /// A plain line.
    pub fn text(indent: usize, body: impl Into<String>) -> Self {
        Self { indent, mark: None, body: body.into(), paint: Paint::None }
    }

    /// A line with a mark.
    pub fn marked(indent: usize, mark: char, paint: Paint, body: impl Into<String>) -> Self {
        Self { indent, mark: Some((mark, paint)), body: body.into(), paint: Paint::None }
    }

    /// The same line with its body in `paint`.
    pub fn painted(mut self, paint: Paint) -> Self {
        self.paint = paint;
        self
    }

    /// An empty line.
    pub fn blank() -> Self {
        Self::text(0, "")
    }
}

/// Renders lines: wrapped to the style's width, coloured when it says so, one `\n` after each.
pub fn render(lines: &[Line], style: &TextStyle) -> String {
    let mut out = String::new();
    for line in lines {
        let lead = line.indent + line.mark.map_or(0, |_| 2);
        let pieces = match style.width() {
            Some(w) => wrap(&line.body, w.saturating_sub(lead).max(20)),
            None => vec![line.body.clone()],
        };
        for (i, piece) in pieces.iter().enumerate() {
            out.push_str(&" ".repeat(line.indent));
            match (i, line.mark) {
                (0, Some((mark, paint))) => {
                    let _ = write!(out, "{} ", paint.apply(&mark.to_string(), style.color));
                }
                (_, Some(_)) => out.push_str("  "),
                _ => {}
            }
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(&line.paint.apply(piece, style.color));
            out.push('\n');
        }
    }
    out
}

/// Splits `text` into pieces of at most `width` characters (continuations are 2 narrower), breaking
/// after the last space, `/` or `,` that fits; a piece with no break opportunity is cut at `width`.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    let mut limit = width.max(1);
    while rest.len() > limit {
        let cut = (1..=limit).rev().find(|&i| matches!(rest[i - 1], ' ' | '/' | ',')).unwrap_or(limit);
        let piece: String = rest[..cut].iter().collect();
        pieces.push(piece.trim_end().to_string());
        rest.drain(..cut);
        while rest.first() == Some(&' ') {
            rest.remove(0);
        }
        limit = width.saturating_sub(2).max(1);
    }
    pieces.push(rest.into_iter().collect());
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_breaks_after_slashes_and_spaces_and_cuts_only_when_it_must() {
        assert_eq!(wrap("short", 10), ["short"]);
        assert_eq!(wrap("/subscriptions/abc/resourceGroups/rg", 20), ["/subscriptions/abc/", "resourceGroups/rg"]);
        assert_eq!(wrap("one two three four", 9), ["one two", "three", "four"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "ef", "gh", "ij"]);
        for piece in wrap(&"word ".repeat(40), 30) {
            assert!(piece.chars().count() <= 30, "{piece}");
        }
    }

    #[test]
    fn render_indents_marks_and_wraps_under_the_body() {
        let lines = [Line::marked(2, '+', Paint::Green, "aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm")];
        let plain = render(&lines, &TextStyle::PLAIN);
        assert_eq!(plain, "  + aaaa bbbb cccc dddd eeee ffff gggg hhhh iiii jjjj kkkk llll mmmm\n");
        let narrow = render(&lines, &TextStyle { color: false, width: Some(40) });
        let out: Vec<&str> = narrow.lines().collect();
        assert_eq!(out[0], "  + aaaa bbbb cccc dddd eeee ffff gggg");
        assert_eq!(out[1], "      hhhh iiii jjjj kkkk llll mmmm");
        assert!(narrow.lines().all(|l| l.chars().count() <= 40), "{narrow}");
    }

    #[test]
    fn colour_only_when_asked_and_never_counted_in_the_width() {
        let lines = [Line::marked(0, '~', Paint::Yellow, "x".repeat(50)).painted(Paint::Bold)];
        let coloured = render(&lines, &TextStyle { color: true, width: Some(40) });
        assert!(coloured.starts_with("\x1b[33m~\x1b[0m \x1b[1mxxxxxxxx"), "{coloured:?}");
        let visible: String = coloured.replace("\x1b[33m", "").replace("\x1b[1m", "").replace("\x1b[0m", "");
        assert!(visible.lines().all(|l| l.chars().count() <= 40), "{visible}");
        assert!(!render(&lines, &TextStyle { color: false, width: Some(40) }).contains('\x1b'));
    }
}
