//! The ARM client (skeleton).
