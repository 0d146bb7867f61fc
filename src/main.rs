//! The `fleetgate` binary: parses the command line and maps outcomes to exit codes.

fn main() {
    println!("fleetgate {}", env!("CARGO_PKG_VERSION"));
}
