//! `--output text` of `plan` and `apply`, read like `terraform plan`: grouped per cluster, then per
//! resource — `+` create, `~` update in place with the changed attribute paths (the cluster and
//! pricing PUTs), `-` delete — blockers with `!` and their fix, and the summary
//! `Plan: 3 to add, 2 to change, 0 to destroy, 1 blocked.` Pure: the caller says whether to colour and
//! to which width to wrap ([`TextStyle`]).
//!
//! - `changes`: actions → one [`ResourceChange`] per resource (operation, attribute paths).
//! - `layout`: lines with marks, wrapping, colour.
//! - `plan`, `apply`: the two renderings.

mod apply;
mod changes;
mod layout;
mod plan;

pub use apply::render_apply;
pub use changes::{Attribute, Counts, Op, ResourceChange, resource_changes};
pub use layout::{Line, Paint, TextStyle, render as render_lines, wrap};
pub use plan::{render_plan, summary as plan_summary};

use crate::id::ResourceId;

/// `subscription/resource-group/name`: a cluster (or any resource) in one short, unambiguous line.
pub fn short_id(id: &ResourceId) -> String {
    match id.resource_group() {
        Some(rg) => format!("{}/{rg}/{}", id.subscription_id(), id.name()),
        None => format!("{}/{}", id.subscription_id(), id.name()),
    }
}

/// The snake_case name serde gives a unit enum variant.
pub(crate) fn status_word<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests;
