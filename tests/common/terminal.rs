//! Runs a `fleetgate` child on a pseudo-terminal of a given size (Python's `pty`, which every CI
//! machine here has), so what a person sees — colour, wrapping, a progress bar — can be checked.

use std::process::Command;

use super::child::FleetgateCommand;

const SCRIPT: &str = r#"
import fcntl, os, pty, select, struct, sys, termios, time
cols, argv = int(sys.argv[1]), sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, cols, 0, 0))
seen, deadline = b"", time.time() + 120
while time.time() < deadline:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if ready:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(status))
"#;

/// Runs `cmd` with stdin, stdout and stderr on one terminal `cols` columns wide (`TERM=xterm-256color`
/// unless `cmd` sets it); the exit code and
/// everything the terminal received (`\r\n` line ends, ANSI escapes kept).
pub fn on_a_terminal(cmd: &FleetgateCommand, cols: u16) -> (Option<i32>, String) {
    let std = cmd.std();
    let mut python = Command::new("python3");
    python
        .arg("-c")
        .arg(SCRIPT)
        .arg(cols.to_string())
        .arg(std.get_program())
        .args(std.get_args())
        .env_clear()
        .env("TERM", "xterm-256color");
    for (k, v) in std.get_envs() {
        if let Some(v) = v {
            python.env(k, v);
        }
    }
    let out = python.output().expect("python3 runs (the terminal tests need it: apt-get install python3)");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n") + &String::from_utf8_lossy(&out.stderr))
}

/// `text` without ANSI escape sequences (CSI … letter).
pub fn visible(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
