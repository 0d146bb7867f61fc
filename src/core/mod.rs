//! The pure core (skeleton).
