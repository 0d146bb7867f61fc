//! The simulator's own endpoints under `/_sim/` (no auth, not journaled):
//!
//! | method | path | does |
//! |---|---|---|
//! | GET | `/_sim/health` | `{"status":"ok"}` |
//! | GET | `/_sim/journal[?since=SEQ]` | journal entries (JSON array), only those with `seq > SEQ` when given |
//! | DELETE | `/_sim/journal` | clears the journal (204) |
//! | GET | `/_sim/faults` | active fault rules; `count` shows firings left |
//! | POST | `/_sim/faults` | adds one rule (a JSON `FaultRule`), 201 with the rule |
//! | DELETE | `/_sim/faults` | removes every rule (204) |

use serde_json::json;

use super::faults::FaultRule;
use super::http::{SimRequest, SimResponse};
use super::pipeline::{SimCore, lock};

/// Answers one `/_sim/…` request.
pub fn handle(core: &SimCore, req: &SimRequest) -> SimResponse {
    let path = req.path.trim_end_matches('/');
    match (req.method.as_str(), path) {
        ("GET", "/_sim/health") => SimResponse::json(200, json!({"status": "ok"})),
        ("GET", "/_sim/journal") => journal(core, req),
        ("DELETE", "/_sim/journal") => {
            lock(&core.journal).clear();
            SimResponse::empty(204)
        }
        ("GET", "/_sim/faults") => SimResponse::json(200, json!(lock(&core.faults).rules())),
        ("POST", "/_sim/faults") => add_fault(core, req),
        ("DELETE", "/_sim/faults") => {
            lock(&core.faults).clear();
            SimResponse::empty(204)
        }
        (_, "/_sim/health" | "/_sim/journal" | "/_sim/faults") => {
            SimResponse::error(405, "MethodNotAllowed", &format!("{} is not supported on {path}.", req.method))
        }
        _ => SimResponse::error(404, "NotFound", &format!("No admin endpoint at {path}; see /_sim/journal, /_sim/faults, /_sim/health.")),
    }
}

fn journal(core: &SimCore, req: &SimRequest) -> SimResponse {
    let since = match req.query_param("since").map(str::parse::<u64>) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return SimResponse::error(400, "InvalidQueryParameter", "`since` must be a journal sequence number (0 or more)."),
    };
    SimResponse::json(200, json!(lock(&core.journal).since(since)))
}

fn add_fault(core: &SimCore, req: &SimRequest) -> SimResponse {
    let rule: FaultRule = match serde_json::from_slice(&req.body) {
        Ok(rule) => rule,
        Err(e) => {
            return SimResponse::error(
                400,
                "InvalidFaultRule",
                &format!("The body is not a fault rule: {e}. Example: {{\"path\":\"/subscriptions/*\",\"status\":503,\"count\":2}}"),
            );
        }
    };
    if let Err(message) = rule.validate() {
        return SimResponse::error(400, "InvalidFaultRule", &message);
    }
    lock(&core.faults).add(rule.clone());
    SimResponse::json(201, json!(rule))
}
