//! `Microsoft.ContainerRegistry/registries`.

use serde_json::Value;

use super::{Fields, ModelError};
use crate::id::ResourceId;

/// A container registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryView {
    /// Its ARM ID.
    pub id: ResourceId,
    /// `properties.loginServer`, e.g. `myacr.azurecr.io`.
    pub login_server: String,
    /// Azure region.
    pub location: Option<String>,
}

impl RegistryView {
    /// Parses a registry GET body.
    pub fn from_json(doc: &Value) -> Result<Self, ModelError> {
        let f = Fields::new(doc, "container registry");
        Ok(Self {
            id: f.req_id("/id", "Microsoft.ContainerRegistry/registries")?,
            login_server: f.req_str("/properties/loginServer")?,
            location: f.opt_str("/location"),
        })
    }

    /// The registry's name.
    pub fn name(&self) -> &str {
        self.id.name()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ACR: &str =
        "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/acr1";

    #[test]
    fn parses_registry() {
        let r = RegistryView::from_json(&json!({"id": ACR, "name": "acr1", "location": "westeurope",
            "properties": {"loginServer": "acr1.azurecr.io", "adminUserEnabled": false}}))
        .unwrap();
        assert_eq!(r.name(), "acr1");
        assert_eq!(r.login_server, "acr1.azurecr.io");
        assert_eq!(r.location.as_deref(), Some("westeurope"));
    }

    #[test]
    fn rejects_wrong_type_and_missing_login_server() {
        let cluster = ACR.replace("Microsoft.ContainerRegistry/registries", "Microsoft.ContainerService/managedClusters");
        assert!(RegistryView::from_json(&json!({"id": cluster, "properties": {"loginServer": "x"}})).is_err());
        let err = RegistryView::from_json(&json!({"id": ACR, "properties": {}})).unwrap_err().to_string();
        assert!(err.contains("loginServer") && err.contains("acr1"), "{err}");
    }
}
