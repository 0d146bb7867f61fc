//! Fault injection: rules that make matching requests fail, slow down, or lose their connection.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::http::SimResponse;

/// One fault rule. A request matches when its method (if given) and path pattern match; then the rule
/// fires for the next `count` matches, or with `probability` (seeded RNG), or always if neither is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// `GET`, `PUT`, …; `None` = any.
    #[serde(default)]
    pub method: Option<String>,
    /// Case-insensitive glob over the path (without query); `*` matches any run of characters.
    pub path: String,
    /// Status to answer with (with `{"error":{"code","message"}}`); `None` = pass through.
    #[serde(default)]
    pub status: Option<u16>,
    /// Error code in the body.
    #[serde(default)]
    pub code: Option<String>,
    /// Error message in the body.
    #[serde(default)]
    pub message: Option<String>,
    /// `Retry-After` seconds header.
    #[serde(default)]
    pub retry_after: Option<u64>,
    /// Added latency in milliseconds (before answering or passing through).
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Abort the connection instead of answering.
    #[serde(default)]
    pub reset: bool,
    /// Fire for the next N matches only.
    #[serde(default)]
    pub count: Option<u32>,
    /// Fire with this probability (0..=1).
    #[serde(default)]
    pub probability: Option<f64>,
}

impl FaultRule {
    /// Checks the rule for values that cannot work, with a message naming the field and the fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.path.trim().is_empty() {
            return Err("fault rule: `path` is empty; give a glob such as \"/subscriptions/*/resourceGroups/*\"".into());
        }
        if let Some(status) = self.status
            && !(100..=599).contains(&status)
        {
            return Err(format!("fault rule for {}: `status` {status} is not an HTTP status (100..=599)", self.path));
        }
        if let Some(p) = self.probability
            && !(0.0..=1.0).contains(&p)
        {
            return Err(format!("fault rule for {}: `probability` {p} must be between 0 and 1", self.path));
        }
        if self.status.is_none() && !self.reset && self.latency_ms.is_none() {
            return Err(format!("fault rule for {}: it does nothing; set `status`, `latency_ms` or `reset = true`", self.path));
        }
        Ok(())
    }

    /// True when the method (if set) and the path glob match (both case-insensitive).
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method)) && glob_match(&self.path, path)
    }

    /// The ARM error response this rule answers with, if it answers at all.
    pub fn response(&self) -> Option<SimResponse> {
        let status = self.status?;
        let code = self.code.clone().unwrap_or_else(|| default_code(status).to_string());
        let message = self.message.clone().unwrap_or_else(|| format!("Injected by a simulator fault rule for '{}'.", self.path));
        let mut response = SimResponse::error(status, &code, &message);
        if let Some(secs) = self.retry_after {
            response = response.with_header("retry-after", secs.to_string());
        }
        Some(response)
    }
}

fn default_code(status: u16) -> &'static str {
    match status {
        400 => "BadRequest",
        404 => "NotFound",
        409 => "Conflict",
        412 => "PreconditionFailed",
        429 => "TooManyRequests",
        500 => "InternalServerError",
        502 => "BadGateway",
        503 => "ServiceUnavailable",
        504 => "GatewayTimeout",
        _ => "InjectedFault",
    }
}

/// Case-insensitive glob: `*` matches any run of characters (including `/`); everything else is literal.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            backtrack = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((star, matched)) = backtrack {
            pi = star + 1;
            ti = matched + 1;
            backtrack = Some((star, matched + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// What the active rules do to one request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FaultDecision {
    /// Latency to add (sum over firing rules).
    pub delay: Duration,
    /// Answer or reset instead of passing the request on (the first firing rule that has one).
    pub action: Option<FaultAction>,
}

/// A fault's replacement for the normal answer.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultAction {
    /// Answer with this response.
    Respond(SimResponse),
    /// Abort the connection without answering.
    Reset,
}

#[derive(Debug, Clone)]
struct ActiveFault {
    rule: FaultRule,
    /// Matches left before the rule retires (from `count`).
    remaining: Option<u32>,
    /// How often it fired.
    fired: u64,
}

/// The active rules, in the order they were added, and the seeded RNG for probabilistic ones.
///
/// A matching rule *fires* when it has `count` left (each firing uses one; at zero the rule is removed),
/// and, if it has a `probability`, when the seeded RNG says so (only matching requests draw from it, so a
/// fixed seed and request sequence give the same faults every run). A rule with neither fires always.
#[derive(Debug)]
pub struct FaultSet {
    rules: Vec<ActiveFault>,
    rng: fastrand::Rng,
}

impl FaultSet {
    /// Rules from the fleet file plus an RNG seeded with `seed`.
    pub fn new(rules: Vec<FaultRule>, seed: u64) -> Self {
        let mut set = Self { rules: Vec::new(), rng: fastrand::Rng::with_seed(seed) };
        rules.into_iter().for_each(|r| set.add(r));
        set
    }

    /// Adds a rule at the end.
    pub fn add(&mut self, rule: FaultRule) {
        self.rules.push(ActiveFault { remaining: rule.count, rule, fired: 0 });
    }

    /// Removes every rule.
    pub fn clear(&mut self) {
        self.rules.clear();
    }

    /// The active rules; `count` shows the firings left.
    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.iter().map(|a| FaultRule { count: a.remaining, ..a.rule.clone() }).collect()
    }

    /// The active rules with how often each has fired so far (a retired `count` rule is gone).
    pub fn firings(&self) -> Vec<(FaultRule, u64)> {
        self.rules.iter().map(|a| (FaultRule { count: a.remaining, ..a.rule.clone() }, a.fired)).collect()
    }

    /// Decides what happens to a `method` request on `path`, using up counts.
    pub fn evaluate(&mut self, method: &str, path: &str) -> FaultDecision {
        let mut decision = FaultDecision::default();
        for active in self.rules.iter_mut().filter(|a| a.rule.matches(method, path)) {
            if active.remaining == Some(0) {
                continue;
            }
            if let Some(p) = active.rule.probability
                && self.rng.f64() >= p
            {
                continue;
            }
            if let Some(n) = active.remaining.as_mut() {
                *n -= 1;
            }
            active.fired += 1;
            decision.delay += Duration::from_millis(active.rule.latency_ms.unwrap_or(0));
            if decision.action.is_none() {
                decision.action =
                    if active.rule.reset { Some(FaultAction::Reset) } else { active.rule.response().map(FaultAction::Respond) };
            }
        }
        self.rules.retain(|a| a.remaining != Some(0));
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(path: &str) -> FaultRule {
        FaultRule {
            method: None,
            path: path.into(),
            status: Some(503),
            code: None,
            message: None,
            retry_after: None,
            latency_ms: None,
            reset: false,
            count: None,
            probability: None,
        }
    }

    #[test]
    fn glob_is_case_insensitive_and_star_spans_segments() {
        assert!(glob_match("/subscriptions/*/resourceGroups/*", "/SUBSCRIPTIONS/abc/resourcegroups/rg/x"));
        assert!(glob_match("*managedClusters*", "/s/p/Microsoft.ContainerService/managedclusters/c1"));
        assert!(glob_match("/a/*/c", "/a/b/x/c"));
        assert!(!glob_match("/a/*/c", "/a/b/x/d"));
        assert!(!glob_match("/a", "/a/b"));
        assert!(glob_match("*", ""));
    }

    #[test]
    fn count_rules_fire_n_times_then_retire() {
        let mut set = FaultSet::new(vec![FaultRule { count: Some(2), method: Some("put".into()), ..rule("/x*") }], 1);
        assert_eq!(set.evaluate("GET", "/x1"), FaultDecision::default(), "method must match");
        for _ in 0..2 {
            let d = set.evaluate("PUT", "/x1");
            assert!(
                matches!(d.action, Some(FaultAction::Respond(ref r)) if r.status == 503 && r.error_code() == Some("ServiceUnavailable"))
            );
        }
        assert_eq!(set.evaluate("PUT", "/x1").action, None);
        assert!(set.rules().is_empty());
    }

    #[test]
    fn probability_is_reproducible_for_a_seed() {
        let run = |seed| {
            let mut set = FaultSet::new(vec![FaultRule { probability: Some(0.5), ..rule("*") }], seed);
            (0..64).map(|_| set.evaluate("GET", "/p").action.is_some()).collect::<Vec<_>>()
        };
        let a = run(42);
        assert_eq!(a, run(42));
        let mut set = FaultSet::new(vec![FaultRule { probability: Some(0.5), ..rule("*") }], 42);
        (0..64).for_each(|_| drop(set.evaluate("GET", "/p")));
        assert_eq!(set.firings()[0].1, a.iter().filter(|f| **f).count() as u64, "firings are counted");
        assert_ne!(a, run(43));
        let fired = a.iter().filter(|f| **f).count();
        assert!((16..=48).contains(&fired), "fired {fired} of 64");
    }

    #[test]
    fn latency_adds_up_and_first_answer_wins() {
        let slow = FaultRule { status: None, latency_ms: Some(30), ..rule("*") };
        let reset = FaultRule { reset: true, status: None, ..rule("/r") };
        let mut set = FaultSet::new(vec![slow.clone(), reset, FaultRule { retry_after: Some(7), ..rule("*") }], 1);
        let d = set.evaluate("GET", "/r");
        assert_eq!(d.delay, Duration::from_millis(30));
        assert_eq!(d.action, Some(FaultAction::Reset));
        let d = set.evaluate("GET", "/other");
        let Some(FaultAction::Respond(r)) = d.action else { panic!("expected a response") };
        assert_eq!(r.headers, vec![("retry-after".to_string(), "7".to_string())]);
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(rule("/x").validate().is_ok());
        assert!(rule("").validate().unwrap_err().contains("`path`"));
        assert!(FaultRule { probability: Some(1.5), ..rule("/x") }.validate().unwrap_err().contains("probability"));
        assert!(FaultRule { status: Some(42), ..rule("/x") }.validate().unwrap_err().contains("status"));
        assert!(FaultRule { status: None, ..rule("/x") }.validate().unwrap_err().contains("does nothing"));
    }
}
