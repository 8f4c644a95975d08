//! Stub: filled by its feature.
