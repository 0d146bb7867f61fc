//! `Microsoft.Security/pricings` (the `Containers` plan).

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Fields, ModelError, lookup_ci, string_map};

/// One plan extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingExtension {
    /// Extension name, e.g. `ContainerSensor`.
    pub name: String,
    /// `isEnabled` ("True"/"False", compared case-insensitively).
    pub is_enabled: bool,
    /// `additionalExtensionProperties`.
    pub additional: BTreeMap<String, String>,
}

impl PricingExtension {
    /// An additional property by case-insensitive name.
    pub fn property(&self, name: &str) -> Option<&str> {
        lookup_ci(&self.additional, name)
    }
}

/// A Defender pricing (plan) at some scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PricingView {
    /// The pricing name (`Containers`), when present.
    pub name: Option<String>,
    /// `properties.pricingTier` (`Free` / `Standard`).
    pub pricing_tier: Option<String>,
    /// `properties.extensions`.
    pub extensions: Vec<PricingExtension>,
}

impl PricingView {
    /// Parses a pricing GET body.
    pub fn from_json(doc: &Value) -> Result<Self, ModelError> {
        let f = Fields::new(doc, "Defender pricing");
        if !doc.is_object() {
            return Err(f.field_error("", "a JSON object"));
        }
        let extensions = match f.get("/properties/extensions") {
            Some(Value::Array(items)) => items.iter().filter_map(extension).collect(),
            _ => Vec::new(),
        };
        Ok(Self { name: f.opt_str("/name"), pricing_tier: f.opt_str("/properties/pricingTier"), extensions })
    }

    /// An extension by case-insensitive name.
    pub fn extension(&self, name: &str) -> Option<&PricingExtension> {
        self.extensions.iter().find(|e| e.name.eq_ignore_ascii_case(name))
    }

    /// True when the tier is `Standard` (case-insensitive).
    pub fn is_standard(&self) -> bool {
        self.pricing_tier.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("standard"))
    }
}

fn extension(v: &Value) -> Option<PricingExtension> {
    let name = v.get("name")?.as_str()?.to_string();
    let is_enabled = match v.get("isEnabled") {
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        Some(Value::Bool(b)) => *b,
        _ => false,
    };
    Some(PricingExtension { name, is_enabled, additional: string_map(v.get("additionalExtensionProperties")) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testutil::fixture_body;
    use serde_json::json;

    #[test]
    fn parses_containers_fixture() {
        let p = PricingView::from_json(&fixture_body("Microsoft.Security/GetResourcePricingByNameContainers_example.json", "200")).unwrap();
        assert_eq!(p.name.as_deref(), Some("Containers"));
        assert!(p.is_standard());
        assert_eq!(p.extensions.len(), 5);
        let vm = p.extension("agentlessvmscanning").unwrap();
        assert!(vm.is_enabled);
        assert_eq!(vm.property("exclusiontags"), Some("[]"));
        assert_eq!(p.extension("ContainerSensor").unwrap().property("SecurityGatingEnabled"), None);
    }

    #[test]
    fn is_enabled_is_case_insensitive_and_missing_parts_are_tolerated() {
        let p = PricingView::from_json(&json!({"properties": {"pricingTier": "free", "extensions": [
            {"name": "ContainerSensor", "isEnabled": "true", "additionalExtensionProperties": {"SecurityGatingEnabled": "TRUE"}},
            {"name": "ContainerIntegrityContribution", "isEnabled": "FALSE"},
            {"isEnabled": "True"}
        ]}}))
        .unwrap();
        assert!(!p.is_standard());
        assert!(p.extension("containersensor").unwrap().is_enabled);
        assert!(!p.extension("ContainerIntegrityContribution").unwrap().is_enabled);
        assert_eq!(p.extensions.len(), 2, "an extension without a name is ignored");
        let empty = PricingView::from_json(&json!({})).unwrap();
        assert_eq!((empty.pricing_tier, empty.extensions.len()), (None, 0));
        assert!(PricingView::from_json(&json!("Standard")).is_err());
    }
}
