//! The request pipeline, independent of axum:
//!
//! journal ← `/_sim/*` admin (not journaled) and token endpoints (no auth) ← bearer auth ← faults ←
//! throttling ← latency ← [`SimState::handle_arm`]; `/sb/` goes to `servicebus::serve` (its own auth,
//! then the same faults and latency).
//!
//! All shared state sits behind `std::sync::Mutex`es that are never held across an `.await`.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;
use uuid::Uuid;

use super::admin;
use super::auth::{self, Caller};
use super::faults::{FaultAction, FaultSet};
use super::fleet::Fleet;
use super::http::{SimRequest, SimResponse};
use super::journal::{Journal, JournalRecord, STATUS_RESET, body_for_journal};
use super::latency::{LatencyKind, LatencyModel};
use super::options::SimOptions;
use super::route::{self, Route};
use super::server::SimError;
use super::servicebus::{self, RawResponse, ServiceBus};
use super::state::SimState;
use super::throttle::{Admission, ArmThrottle, GraphQuota, OpKind, hhmmss, retry_after_secs};
use super::token::{self, TokenClock, TokenStore};

/// What the pipeline decided for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Answer with this.
    Respond(SimResponse),
    /// Abort the connection (fault rule with `reset`).
    Reset,
    /// Answer with a raw (non-JSON) body: the Service Bus surface.
    Bytes(RawResponse),
}

impl Outcome {
    /// The status the client sees ([`STATUS_RESET`] for a reset).
    pub fn status(&self) -> u16 {
        match self {
            Self::Respond(r) => r.status,
            Self::Reset => STATUS_RESET,
            Self::Bytes(r) => r.status,
        }
    }
}

/// Everything one running simulator shares between requests.
pub struct SimCore {
    pub(super) options: SimOptions,
    pub(super) base_url: String,
    pub(super) state: Mutex<SimState>,
    pub(super) tokens: Mutex<TokenStore>,
    pub(super) journal: Mutex<Journal>,
    pub(super) faults: Mutex<FaultSet>,
    arm_throttle: Mutex<ArmThrottle>,
    graph_quota: Mutex<GraphQuota>,
    pub(super) latency: Mutex<LatencyModel>,
    pub(super) service_bus: ServiceBus,
}

/// Shows no options: they may hold `client_secret`.
impl fmt::Debug for SimCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimCore").field("base_url", &self.base_url).finish_non_exhaustive()
    }
}

/// Locks a mutex, recovering the data if a panicking handler poisoned it.
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SimCore {
    /// Seeds the state from `fleet` and validates its fault rules.
    pub fn new(fleet: &Fleet, base_url: String) -> Result<Self, SimError> {
        let options = fleet.sim.clone();
        for rule in &options.faults {
            rule.validate().map_err(SimError::InvalidFault)?;
        }
        let state = SimState::from_fleet(fleet, &options)?;
        Ok(Self {
            faults: Mutex::new(FaultSet::new(options.faults.clone(), options.seed)),
            latency: Mutex::new(LatencyModel::new(options.latency, options.seed)),
            state: Mutex::new(state),
            tokens: Mutex::default(),
            journal: Mutex::default(),
            arm_throttle: Mutex::default(),
            graph_quota: Mutex::default(),
            service_bus: ServiceBus::new(),
            base_url,
            options,
        })
    }

    /// The current time for the token endpoints.
    pub fn clock(&self) -> TokenClock {
        let unix = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        TokenClock { now: Instant::now(), unix }
    }

    /// `{base_url}/{tenant}`: the authority named in 401 challenges.
    pub fn authority(&self) -> String {
        format!("{}/{}", self.base_url, self.options.tenant_id)
    }

    /// Runs one request through the pipeline and journals it (except admin calls).
    pub async fn handle(&self, req: &SimRequest, raw_query: &str) -> Outcome {
        let route = route::classify(&req.method, &req.path);
        if route == Route::Admin {
            return Outcome::Respond(admin::handle(self, req));
        }
        let outcome = self.dispatch(route, req).await;
        self.record(req, raw_query, outcome.status());
        outcome
    }

    /// Journals a request (bodies only when `journal_bodies`, never for token calls).
    pub fn record(&self, req: &SimRequest, raw_query: &str, status: u16) {
        let keep_body = self.options.journal_bodies && !route::is_token_path(&req.method, &req.path);
        let request_body = if keep_body { body_for_journal(&req.body) } else { None };
        let if_match = req.header("if-match").map(str::to_string);
        let record = JournalRecord {
            method: req.method.clone(),
            path: req.path.clone(),
            query: raw_query.to_string(),
            status,
            request_body,
            if_match,
        };
        lock(&self.journal).record(record);
    }

    async fn dispatch(&self, route: Route, req: &SimRequest) -> Outcome {
        let response = match route {
            Route::Arm => return self.arm(req).await,
            Route::EntraToken { tenant } => token::entra_token(&mut lock(&self.tokens), &self.options, &tenant, req, self.clock()),
            Route::ManagedIdentityToken => token::msi_token(&mut lock(&self.tokens), &self.options, req, self.clock()),
            Route::ServiceBus => return servicebus::serve(self, req).await,
            Route::Admin => admin::handle(self, req),
            Route::Unknown => not_found(req),
        };
        Outcome::Respond(response)
    }

    async fn arm(&self, req: &SimRequest) -> Outcome {
        let authenticated = auth::authenticate(&lock(&self.tokens), req.header("authorization"), Instant::now());
        let caller = match authenticated {
            Ok(caller) => caller,
            Err(failure) => return Outcome::Respond(arm_headers(failure.response(&self.authority()))),
        };
        let decision = lock(&self.faults).evaluate(&req.method, &req.path);
        sleep(decision.delay).await;
        match decision.action {
            Some(FaultAction::Reset) => return Outcome::Reset,
            Some(FaultAction::Respond(response)) => return Outcome::Respond(arm_headers(response)),
            None => {}
        }
        let quota_headers = match self.throttle(req, caller, Instant::now()) {
            Ok(headers) => headers,
            Err(throttled) => return Outcome::Respond(arm_headers(throttled)),
        };
        let delay = lock(&self.latency).delay(latency_kind(req));
        sleep(delay).await;
        let mut response = lock(&self.state).handle_arm(req, Instant::now());
        response.headers.extend(quota_headers);
        Outcome::Respond(arm_headers(response))
    }

    /// Takes a throttling token; `Ok` carries the remaining-quota headers, `Err` the 429.
    fn throttle(&self, req: &SimRequest, caller: Caller, now: Instant) -> Result<Vec<(String, String)>, SimResponse> {
        if !self.options.throttling {
            return Ok(Vec::new());
        }
        if route::is_graph_query(&req.method, &req.path) {
            let a = lock(&self.graph_quota).admit(caller.token_id, now);
            let headers = vec![
                ("x-ms-user-quota-remaining".to_string(), a.remaining.to_string()),
                ("x-ms-user-quota-resets-after".to_string(), hhmmss(a.resets_after)),
            ];
            if a.allowed {
                return Ok(headers);
            }
            let message = "Too many Resource Graph requests: the quota is 15 queries per 5 seconds per caller. Retry after x-ms-user-quota-resets-after.";
            let mut r =
                SimResponse::error(429, "RateLimiting", message).with_header("retry-after", retry_after_secs(a.resets_after).to_string());
            r.headers.extend(headers);
            return Err(r);
        }
        let Some(subscription) = route::subscription_of(&req.path) else {
            return Ok(Vec::new());
        };
        let kind = OpKind::of_method(&req.method);
        match lock(&self.arm_throttle).admit(subscription, kind, now) {
            Admission::Allowed { remaining } => Ok(vec![(kind.remaining_header(), remaining.to_string())]),
            Admission::Throttled { retry_after_secs } => {
                let message = format!(
                    "Number of '{}' requests for subscription '{subscription}' actor '{}' exceeded. Please try again after '{retry_after_secs}' seconds after additional tokens are available. Refer to https://aka.ms/arm-throttling for additional information.",
                    kind.plural().trim_end_matches('s'),
                    caller.token_id,
                );
                Err(SimResponse::error(429, "SubscriptionRequestsThrottled", &message)
                    .with_header("retry-after", retry_after_secs.to_string())
                    .with_header(&kind.remaining_header(), "0"))
            }
        }
    }
}

fn latency_kind(req: &SimRequest) -> LatencyKind {
    if route::is_operation_poll(&req.method, &req.path) {
        LatencyKind::Poll
    } else if req.is_read() || route::is_graph_query(&req.method, &req.path) {
        LatencyKind::Read
    } else {
        LatencyKind::Write
    }
}

async fn sleep(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// Request-id headers every ARM response carries.
fn arm_headers(response: SimResponse) -> SimResponse {
    let id = Uuid::new_v4().to_string();
    response.with_header("x-ms-request-id", id.clone()).with_header("x-ms-correlation-request-id", id)
}

fn not_found(req: &SimRequest) -> SimResponse {
    let message = format!(
        "The simulator serves nothing at {} {}. ARM paths start with /subscriptions/ or /providers/; tokens: POST /{{tenant}}/oauth2/v2.0/token, GET /msi/token; admin: /_sim/journal, /_sim/faults.",
        req.method, req.path
    );
    SimResponse::error(404, "NotFound", &message)
}
