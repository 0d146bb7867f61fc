//! What every command shares about output: `-o/--output text|json`, the JSON document envelope
//! (`schema_version` + `command`, `docs/schemas/<command>.schema.json`), and the terminal settings from
//! the global flags (`-q`, `-v`, `NO_COLOR`). Human lines go to stdout in text mode; progress, prompts
//! and logs go to stderr.

use std::io::{IsTerminal, Write};

use clap::ValueEnum;
use serde::Serialize;
use serde_json::{Map, Value, json};

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

    /// True when stderr may carry ANSI colour: a terminal, and `NO_COLOR` unset or empty
    /// (<https://no-color.org>).
    pub fn color(&self) -> bool {
        color_allowed(std::env::var_os("NO_COLOR").as_deref()) && std::io::stderr().is_terminal()
    }

    /// `text` in bold yellow when colour is allowed.
    pub fn warn_style(&self, text: &str) -> String {
        if self.color() { format!("\x1b[1;33m{text}\x1b[0m") } else { text.to_string() }
    }
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
    fn no_color_is_honoured_when_set_to_anything() {
        assert!(color_allowed(None));
        assert!(color_allowed(Some(std::ffi::OsStr::new(""))));
        assert!(!color_allowed(Some(std::ffi::OsStr::new("1"))));
    }
}
