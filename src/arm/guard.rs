//! What every request and every response must respect: the scope guard (a URL fleetgate sends to,
//! built or taken from an answer, must be on the endpoint and inside the scope) and the response size
//! cap (`azure.max_response_bytes`, enforced while streaming).

use url::Url;

use super::client::{ArmClient, Req};
use super::endpoint::redact_query;
use super::error::{ArmError, Call};

impl ArmClient {
    /// An absolute URL from a response (`nextLink`, `Azure-AsyncOperation`, `Location`), refused at once
    /// unless it is on the endpoint and inside the scope (query string kept as given).
    pub(super) fn follow(&self, call: &Call, link: &str) -> Result<Url, ArmError> {
        let url = self.inner.endpoint.follow(call, link)?;
        self.check_scope(call, &url)?;
        Ok(url)
    }

    /// Refuses a URL that is not on the endpoint or whose path is outside the scope.
    pub(super) fn check_scope(&self, call: &Call, url: &Url) -> Result<(), ArmError> {
        let endpoint = &self.inner.endpoint;
        let Some(path) = endpoint.arm_path(url) else {
            return Err(ArmError::ForeignUrl { call: call.clone(), url: redact_query(url.as_str()), expected: endpoint.origin() });
        };
        self.inner.arm_scope.check(path).map_err(|refusal| {
            tracing::warn!(call = %call, url = %redact_query(url.as_str()), reason = %refusal.describe(), "refused an ARM request outside the scope");
            ArmError::OutOfScope { call: call.clone(), url: redact_query(url.as_str()), reason: refusal.describe() }
        })
    }

    /// Reads a response body, refusing (without reading further) one announced or found to be larger
    /// than `azure.max_response_bytes`.
    pub(super) async fn read_body(&self, req: &Req<'_>, mut resp: reqwest::Response) -> Result<Vec<u8>, ArmError> {
        let limit = self.inner.max_response_bytes;
        let too_large = || ArmError::ResponseTooLarge { call: req.call.clone(), url: redact_query(req.url.as_str()), limit };
        let announced = resp.content_length().unwrap_or(0);
        if announced > limit {
            return Err(too_large());
        }
        let mut body = Vec::with_capacity(usize::try_from(announced.min(64 * 1024)).unwrap_or(0));
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(&req.call, e))? {
            if (body.len() as u64).saturating_add(chunk.len() as u64) > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }
}
