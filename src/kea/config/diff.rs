//! A unified diff of two configurations, as a dry run and `tx.diff()` show it.

use similar::TextDiff;

use super::ConfigDoc;

/// The unified diff from `old` to `new` (pretty JSON, 3 lines of context); empty when
/// they are the same.
pub fn unified_diff(old: &ConfigDoc, new: &ConfigDoc, label: &str) -> String {
    if old.value == new.value {
        return String::new();
    }
    let a = old.pretty() + "\n";
    let b = new.pretty() + "\n";
    TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{label} (running)"), &format!("{label} (changed)"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::super::Family;
    use super::*;
    use serde_json::json;

    #[test]
    fn shows_only_what_changed() {
        let a = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"valid-lifetime": 4000, "x": 1}}),
        )
        .unwrap();
        let b = ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"valid-lifetime": 7200, "x": 1}}),
        )
        .unwrap();
        let d = unified_diff(&a, &b, "dhcp4");
        assert!(d.contains("-    \"valid-lifetime\": 4000"), "{d}");
        assert!(d.contains("+    \"valid-lifetime\": 7200"), "{d}");
        assert!(d.starts_with("--- dhcp4 (running)"), "{d}");
        assert_eq!(unified_diff(&a, &a, "dhcp4"), "");
    }
}
