//! `Microsoft.ManagedIdentity`: user-assigned identities and their federated credentials.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Fields, ModelError};
use crate::id::ResourceId;

const IDENTITY_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";

/// A user-assigned managed identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityView {
    /// Its ARM ID.
    pub id: ResourceId,
    /// Azure region (absent in some list answers).
    pub location: Option<String>,
    /// Resource tags.
    pub tags: BTreeMap<String, String>,
    /// `properties.principalId`: the service principal object ID (role assignments, gating `objectId`).
    pub principal_id: String,
    /// `properties.clientId`.
    pub client_id: String,
    /// `properties.tenantId`.
    pub tenant_id: Option<String>,
}

impl IdentityView {
    /// Parses a user-assigned identity GET/PUT body.
    pub fn from_json(doc: &Value) -> Result<Self, ModelError> {
        let f = Fields::new(doc, "user-assigned identity");
        Ok(Self {
            id: f.req_id("/id", IDENTITY_TYPE)?,
            location: f.opt_str("/location"),
            tags: f.string_map("/tags"),
            principal_id: f.req_str("/properties/principalId")?,
            client_id: f.req_str("/properties/clientId")?,
            tenant_id: f.opt_str("/properties/tenantId"),
        })
    }

    /// The identity's name.
    pub fn name(&self) -> &str {
        self.id.name()
    }
}

/// A federated identity credential on a user-assigned identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FicView {
    /// Its name (the last ID segment).
    pub name: String,
    /// `properties.issuer`.
    pub issuer: Option<String>,
    /// `properties.subject` (absent on "flexible" credentials).
    pub subject: Option<String>,
    /// `properties.audiences`.
    pub audiences: Vec<String>,
}

impl FicView {
    /// Parses one federated identity credential (GET body or list item).
    pub fn from_json(doc: &Value) -> Result<Self, ModelError> {
        let f = Fields::new(doc, "federated identity credential");
        let name = match f.opt_str("/name") {
            Some(name) => name,
            None => {
                let raw = f.get("/id").and_then(Value::as_str).ok_or_else(|| f.field_error("/name", "a non-empty string"))?;
                f.check_id("/id", raw, "Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials")?.name().to_string()
            }
        };
        let audiences = match f.get("/properties/audiences") {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
            _ => Vec::new(),
        };
        Ok(Self { name, issuer: f.opt_str("/properties/issuer"), subject: f.opt_str("/properties/subject"), audiences })
    }

    /// True when this credential trusts exactly `issuer` for exactly `subject` (Entra compares both verbatim).
    pub fn trusts(&self, issuer: &str, subject: &str) -> bool {
        self.issuer.as_deref() == Some(issuer) && self.subject.as_deref() == Some(subject)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::testutil::fixture_body;
    use serde_json::json;

    const SUB: &str = "00000000-0000-0000-0000-0000000000aa";

    fn with_guid_subscription(mut doc: Value) -> Value {
        let id = doc["id"].as_str().unwrap().replace("/subid/", &format!("/{SUB}/"));
        doc["id"] = json!(id);
        doc
    }

    #[test]
    fn parses_identity_fixtures() {
        for (file, status) in [("IdentityGet.json", "200"), ("IdentityCreate.json", "201")] {
            let doc = with_guid_subscription(fixture_body(&format!("Microsoft.ManagedIdentity/{file}"), status));
            let mi = IdentityView::from_json(&doc).unwrap();
            assert_eq!(mi.name(), "identityName");
            assert_eq!(mi.id.resource_group(), Some("rgName"));
            assert_eq!(mi.principal_id, "25cc773c-7f05-40fc-a104-32d2300754ad");
            assert_eq!(mi.client_id, "4024ab25-56a8-4370-aea6-6389221caf29");
            assert_eq!(mi.tenant_id.as_deref(), Some("b6c948ef-f6b5-4384-8354-da3a15eca969"));
            assert_eq!(mi.location.as_deref(), Some("eastus"));
            assert_eq!(mi.tags.get("key1").map(String::as_str), Some("value1"));
        }
    }

    #[test]
    fn identity_fixture_with_non_guid_subscription_is_rejected() {
        let err = IdentityView::from_json(&fixture_body("Microsoft.ManagedIdentity/IdentityGet.json", "200")).unwrap_err();
        assert!(err.to_string().contains("subscription ID is not a GUID"), "{err}");
    }

    #[test]
    fn identity_without_principal_is_an_error() {
        let mut doc = with_guid_subscription(fixture_body("Microsoft.ManagedIdentity/IdentityGet.json", "200"));
        doc["properties"].as_object_mut().unwrap().remove("principalId");
        let err = IdentityView::from_json(&doc).unwrap_err().to_string();
        assert!(err.contains("principalId") && err.contains("identityName"), "{err}");
    }

    #[test]
    fn parses_fic_fixtures() {
        let get = FicView::from_json(&fixture_body("Microsoft.ManagedIdentity/FederatedIdentityCredentialGet.json", "200")).unwrap();
        assert_eq!(get.name, "ficResourceName");
        assert_eq!(get.issuer.as_deref(), Some("https://oidc.prod-aks.azure.com/TenantGUID/IssuerGUID"));
        assert_eq!(get.audiences, vec!["api://AzureADTokenExchange".to_string()]);
        assert!(get.trusts("https://oidc.prod-aks.azure.com/TenantGUID/IssuerGUID", "system:serviceaccount:ns:svcaccount"));
        assert!(!get.trusts("https://oidc.prod-aks.azure.com/TenantGUID/IssuerGUID/", "system:serviceaccount:ns:svcaccount"));
        let list = fixture_body("Microsoft.ManagedIdentity/FederatedIdentityCredentialList.json", "200");
        let items: Vec<FicView> = list["value"].as_array().unwrap().iter().map(|v| FicView::from_json(v).unwrap()).collect();
        assert_eq!(items, vec![get]);
    }

    #[test]
    fn fic_name_falls_back_to_id_and_subject_is_optional() {
        let id = format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi/federatedIdentityCredentials/f1"
        );
        let fic = FicView::from_json(&json!({"id": id, "properties": {"issuer": "https://i", "claimsMatchingExpression": {}}})).unwrap();
        assert_eq!(fic.name, "f1");
        assert_eq!(fic.subject, None);
        assert!(FicView::from_json(&json!({"properties": {}})).is_err());
    }
}
