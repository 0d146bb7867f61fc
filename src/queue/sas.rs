//! Shared access signatures for Service Bus, signed over the host a request is really sent to.
//!
//! azure_messaging_servicebus 0.21 signs `https://{ns}.servicebus.windows.net/…`; once the transport sends
//! the request elsewhere (a sovereign cloud, the simulator) that signature names the wrong resource, so
//! the transport re-signs with [`SasKey::authorization`] (over the entity's URI, see `transport`).

use std::fmt;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Lifetime of the signatures the transport creates (what the crate uses too).
pub const SAS_TTL_SECS: i64 = 3600;

/// A SAS key name and key. Debug never shows the key.
#[derive(Clone)]
pub struct SasKey {
    key_name: String,
    key: String,
}

impl fmt::Debug for SasKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SasKey").field("key_name", &self.key_name).finish_non_exhaustive()
    }
}

impl SasKey {
    /// A key for rule `key_name` (e.g. `RootManageSharedAccessKey`).
    pub fn new(key_name: impl Into<String>, key: impl Into<String>) -> Self {
        Self { key_name: key_name.into(), key: key.into() }
    }

    /// The rule name (`skn`).
    pub fn key_name(&self) -> &str {
        &self.key_name
    }

    /// The key (for building a `QueueClient`; never log it).
    pub fn key(&self) -> &str {
        &self.key
    }

    /// `SharedAccessSignature sr=…&sig=…&se=…&skn=…` for `resource_uri`, expiring at `expiry_unix`.
    ///
    /// The signature is HMAC-SHA256 keyed with the key's UTF-8 bytes over `urlencode(uri) + "\n" + se`.
    pub fn authorization(&self, resource_uri: &str, expiry_unix: i64) -> String {
        let sr: String = url::form_urlencoded::byte_serialize(resource_uri.as_bytes()).collect();
        let signature = match Hmac::<Sha256>::new_from_slice(self.key.as_bytes()) {
            Ok(mut mac) => {
                mac.update(format!("{sr}\n{expiry_unix}").as_bytes());
                base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
            }
            // HMAC accepts keys of any length; this arm cannot happen.
            Err(_) => String::new(),
        };
        let sig: String = url::form_urlencoded::byte_serialize(signature.as_bytes()).collect();
        let skn: String = url::form_urlencoded::byte_serialize(self.key_name.as_bytes()).collect();
        format!("SharedAccessSignature sr={sr}&sig={sig}&se={expiry_unix}&skn={skn}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core_legacy::auth::Secret;

    #[test]
    fn signs_like_the_service_expects() {
        let key = SasKey::new("RootManageSharedAccessKey", "c2VjcmV0+/=");
        let header = key.authorization("https://ns.servicebus.windows.net/q/messages/head?timeout=5", 1_700_000_000);
        let sr = "https%3A%2F%2Fns.servicebus.windows.net%2Fq%2Fmessages%2Fhead%3Ftimeout%3D5";
        assert!(header.starts_with(&format!("SharedAccessSignature sr={sr}&sig=")), "{header}");
        assert!(header.ends_with("&se=1700000000&skn=RootManageSharedAccessKey"));
        // azure_core 0.21's hmac (base64-decodes its key) over the same string gives the same signature.
        let encoded = base64::engine::general_purpose::STANDARD.encode(key.key());
        let expected = azure_core_legacy::hmac::hmac_sha256(&format!("{sr}\n1700000000"), &Secret::new(encoded)).unwrap();
        let expected: String = url::form_urlencoded::byte_serialize(expected.as_bytes()).collect();
        assert!(header.contains(&format!("&sig={expected}&")));
        assert!(!format!("{key:?}").contains(key.key()));
    }
}
