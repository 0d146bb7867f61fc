//! Fuzz target: `ResourceId::parse` on arbitrary text.
//!
//! Properties beyond "never panics": an accepted ID re-parses from its display to an equal ID; the
//! display is a fixed point and differs from the input only in ASCII case; the key is the lower-case
//! display; case changes of the input give the same ID; a parent is a re-parseable ID that contains it.

#![no_main]

use fleetgate::id::{ResourceId, is_guid};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(id) = ResourceId::parse(text) else { return };
    let shown = id.to_string();
    let again = ResourceId::parse(&shown).unwrap_or_else(|e| panic!("display of {text:?} does not re-parse: {e}"));
    assert_eq!(again, id);
    assert_eq!(again.as_str(), shown, "display is not a fixed point");
    assert!(shown.eq_ignore_ascii_case(text), "display {shown:?} changed more than case of {text:?}");
    assert_eq!(id.key(), shown.to_ascii_lowercase());
    assert!(is_guid(id.subscription_id()));
    for variant in [text.to_ascii_uppercase(), text.to_ascii_lowercase()] {
        assert_eq!(ResourceId::parse(&variant).ok().as_ref(), Some(&id), "{variant:?} differs from {text:?}");
    }
    if let Some(ty) = id.resource_type() {
        assert!(id.is_type(&ty));
    }
    if let Some(parent) = id.parent() {
        assert!(id.is_within(&parent) && parent != id, "{parent} does not contain {id}");
        assert_eq!(ResourceId::parse(parent.as_str()).ok().as_ref(), Some(&parent));
    }
});
