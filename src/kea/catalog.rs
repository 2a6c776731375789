//! Kea's standard option catalog (to be written).
