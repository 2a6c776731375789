//! Kea's version, and what each generation does differently (one place for the rules).

/// A Kea version, `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct KeaVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl KeaVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// Reads the start of what `kea-dhcp4 -v` or `version-get` says (`2.2.0`,
    /// `3.0.4 (3.0.4 (tarball))`, `2.7.8-git`); `None` when it names no version.
    pub fn parse(text: &str) -> Option<Self> {
        let word = text.split_whitespace().next()?;
        let mut parts = word.split(['.', '-']).map(|p| p.parse::<u32>());
        let major = parts.next()?.ok()?;
        let minor = parts.next()?.ok()?;
        let patch = parts.next().and_then(Result::ok).unwrap_or(0);
        Some(Self::new(major, minor, patch))
    }

    /// Daemons have their own HTTP control sockets (2.7.2), and the subnet/class hooks
    /// are free software (2.7.7; `subnet_cmds`, `class_cmds`, `host_cmds`).
    pub fn daemon_http(self) -> bool {
        self >= Self::new(2, 7, 2)
    }

    /// Subnets and pools are limited to classes with the list `client-classes` (2.7.4:
    /// `client-class` is still read, with a deprecation warning, and always reported as
    /// the list), and `require-client-classes` became `evaluate-additional-classes`.
    pub fn class_lists(self) -> bool {
        self >= Self::new(2, 7, 4)
    }

    /// Files Kea opens must lie in its own folders unless its environment says otherwise
    /// (the 2025 path hardening of 3.0; also in 2.6.3).
    pub fn path_rules(self) -> bool {
        self >= Self::new(2, 6, 3)
    }
}

impl std::fmt::Display for KeaVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse_and_order() {
        let v = KeaVersion::parse("3.0.4 (3.0.4 (tarball))").unwrap();
        assert_eq!(v, KeaVersion::new(3, 0, 4));
        assert!(v.daemon_http() && v.class_lists() && v.path_rules());
        let old = KeaVersion::parse("2.2.0").unwrap();
        assert!(!old.daemon_http() && !old.class_lists() && !old.path_rules());
        assert_eq!(
            KeaVersion::parse("2.7.8-git"),
            Some(KeaVersion::new(2, 7, 8))
        );
        assert_eq!(KeaVersion::parse(""), None);
        assert_eq!(KeaVersion::parse("premium: no"), None);
    }
}
