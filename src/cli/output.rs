//! What every command shares about output: `-o/--output text|json`, the JSON document envelope
//! (`schema_version` + `command`, `docs/schemas/<command>.schema.json`), and the terminal settings from
//! the global flags (`-q`, `-v`, `NO_COLOR`). Human lines go to stdout in text mode; progress, prompts
//! and logs go to stderr.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use serde::Serialize;
use serde_json::{Map, Value, json};

use fleetgate::core::text::TextStyle;
use fleetgate::fleet::{OUTPUT_SCHEMA_VERSION, ProgressStyle};

/// `-o/--output` of the commands that print data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Lines for people.
    Text,
    /// One JSON document (JSON lines for `run`) with `schema_version`.
    Json,
}

/// The JSON document of `command`: `{"schema_version": 1, "command": …, …the fields of body}`.
pub fn document(command: &str, body: &impl Serialize) -> Value {
    let mut doc = Map::new();
    doc.insert("schema_version".into(), json!(OUTPUT_SCHEMA_VERSION));
    doc.insert("command".into(), json!(command));
    match serde_json::to_value(body) {
        Ok(Value::Object(fields)) => doc.extend(fields),
        Ok(other) => {
            doc.insert("value".into(), other);
        }
        Err(e) => {
            doc.insert("error".into(), json!(format!("cannot render the output: {e}")));
        }
    }
    Value::Object(doc)
}

/// Prints a JSON document (pretty) on stdout.
pub fn print_json(doc: &Value) {
    let text = serde_json::to_string_pretty(doc).unwrap_or_else(|e| format!("{{\"error\": \"cannot render the output: {e}\"}}"));
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
    let _ = out.flush();
}

/// Terminal behaviour from the global flags and the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Ui {
    /// `-q`: no progress, errors only in the logs.
    pub quiet: bool,
    /// `-v` count.
    pub verbose: u8,
}

impl Ui {
    /// How fleet progress is shown on stderr: nothing with `-q`, a bar on a terminal, lines otherwise.
    pub fn progress(&self) -> ProgressStyle {
        if self.quiet { ProgressStyle::Quiet } else { ProgressStyle::detect() }
    }

    /// True when the screens of what will change may carry ANSI colour: they go to stdout (stderr with
    /// `-o json`), so both must be terminals, and `NO_COLOR` unset or empty (<https://no-color.org>).
    pub fn color(&self) -> bool {
        color_allowed(std::env::var_os("NO_COLOR").as_deref()) && std::io::stderr().is_terminal() && std::io::stdout().is_terminal()
    }

    /// How text on stdout is rendered: coloured and wrapped to the terminal's width when stdout is a
    /// terminal (colour unless `NO_COLOR`); otherwise plain, wrapped only when `COLUMNS` is set.
    pub fn stdout_style(&self) -> TextStyle {
        let no_color = std::env::var_os("NO_COLOR");
        let columns = std::env::var("COLUMNS").ok();
        let term = console::Term::stdout();
        let size = term.is_term().then(|| term.size_checked()).flatten().map(|(_, cols)| usize::from(cols));
        text_style(size, color_allowed(no_color.as_deref()), columns.as_deref())
    }

    /// `text` in bold yellow when colour is allowed.
    pub fn warn_style(&self, text: &str) -> String {
        if self.color() { format!("\x1b[1;33m{text}\x1b[0m") } else { text.to_string() }
    }
}

/// The text style for a terminal of `size` columns (`None`: not a terminal): colour on a terminal when
/// allowed; the width of the terminal, else `COLUMNS` when it is a number.
pub fn text_style(size: Option<usize>, color_allowed: bool, columns: Option<&str>) -> TextStyle {
    let columns = columns.and_then(|c| c.trim().parse::<usize>().ok()).filter(|&c| c > 0);
    TextStyle { color: size.is_some() && color_allowed, width: size.or(columns) }
}

/// `NO_COLOR` set to anything but the empty string turns colour off.
pub fn color_allowed(no_color: Option<&std::ffi::OsStr>) -> bool {
    no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_start_with_the_schema_version_and_the_command() {
        #[derive(Serialize)]
        struct Body {
            status: &'static str,
        }
        let doc = document("plan", &Body { status: "compliant" });
        let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["schema_version", "command", "status"]);
        assert_eq!(doc["schema_version"], json!(OUTPUT_SCHEMA_VERSION));
    }

    #[test]
    fn text_on_a_terminal_is_coloured_and_wrapped_elsewhere_plain() {
        assert_eq!(text_style(Some(120), true, None), TextStyle { color: true, width: Some(120) });
        assert_eq!(text_style(Some(120), false, Some("80")), TextStyle { color: false, width: Some(120) }, "NO_COLOR");
        assert_eq!(text_style(None, true, None), TextStyle::PLAIN, "a pipe gets neither colour nor wrapping");
        assert_eq!(text_style(None, true, Some("90")), TextStyle { color: false, width: Some(90) });
        assert_eq!(text_style(None, true, Some("wide")), TextStyle::PLAIN);
    }

    #[test]
    fn no_color_is_honoured_when_set_to_anything() {
        assert!(color_allowed(None));
        assert!(color_allowed(Some(std::ffi::OsStr::new(""))));
        assert!(!color_allowed(Some(std::ffi::OsStr::new("1"))));
    }
}
