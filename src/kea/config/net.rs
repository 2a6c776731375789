//! Address arithmetic for scopes and pools: prefixes, ranges, containment, overlap.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use super::Family;
use crate::kea::KeaError;

/// A subnet prefix, checked to be canonical (no host bits set) and of the right family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix(pub IpNet);

impl Prefix {
    /// Parses `"10.1.0.0/24"`. `field` names the input in errors.
    pub fn parse(s: &str, family: Family, field: &str) -> Result<Self, KeaError> {
        let net: IpNet = s.trim().parse().map_err(|_| {
            KeaError::invalid(format!(
                "{field} \"{s}\" is not a prefix such as {}",
                family.example_prefix()
            ))
        })?;
        if family.matches(&net.addr()) {
            if net.trunc() != net {
                return Err(KeaError::invalid(format!(
                    "{field} \"{s}\" has host bits set: the prefix is {}",
                    net.trunc()
                )));
            }
            Ok(Self(net))
        } else {
            Err(KeaError::invalid(format!(
                "{field} \"{s}\" is not an {} prefix",
                family.ip_name()
            )))
        }
    }

    pub fn range(&self) -> Range {
        Range {
            first: self.0.network(),
            last: self.0.broadcast(),
        }
    }

    pub fn overlaps(&self, other: &Prefix) -> bool {
        self.0.contains(&other.0.network()) || other.0.contains(&self.0.network())
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An inclusive address range: a pool `"a - b"` or a prefix pool `"a/len"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub first: IpAddr,
    pub last: IpAddr,
}

impl Range {
    /// Parses a pool as Kea writes it: `"10.1.0.10-10.1.0.99"` (spaces optional) or
    /// `"10.1.0.64/26"`.
    pub fn parse(s: &str, family: Family, field: &str) -> Result<Self, KeaError> {
        let bad = || {
            KeaError::invalid(format!(
                "{field} \"{s}\" is not a pool such as {}",
                family.example_pool()
            ))
        };
        let t = s.trim();
        let r = if t.contains('/') {
            Prefix::parse(t, family, field)?.range()
        } else {
            let (a, b) = t.split_once('-').ok_or_else(bad)?;
            let first: IpAddr = a.trim().parse().map_err(|_| bad())?;
            let last: IpAddr = b.trim().parse().map_err(|_| bad())?;
            if !family.matches(&first) || !family.matches(&last) {
                return Err(KeaError::invalid(format!(
                    "{field} \"{s}\" is not an {} range",
                    family.ip_name()
                )));
            }
            if first > last {
                return Err(KeaError::invalid(format!(
                    "{field} \"{s}\" ends before it starts"
                )));
            }
            Range { first, last }
        };
        Ok(r)
    }

    pub fn overlaps(&self, other: &Range) -> bool {
        self.first <= other.last && other.first <= self.last
    }

    pub fn within(&self, prefix: &Prefix) -> bool {
        prefix.0.contains(&self.first) && prefix.0.contains(&self.last)
    }

    /// Kea's canonical text: `"a-b"`.
    pub fn canonical(&self) -> String {
        format!("{}-{}", self.first, self.last)
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_must_be_canonical_and_of_the_family() {
        assert!(Prefix::parse("10.1.0.0/24", Family::V4, "subnet").is_ok());
        let e = Prefix::parse("10.1.0.1/24", Family::V4, "subnet").unwrap_err();
        assert!(e.message.contains("10.1.0.0/24"), "{}", e.message);
        let e = Prefix::parse("2001:db8::/64", Family::V4, "subnet").unwrap_err();
        assert!(e.message.contains("IPv4"), "{}", e.message);
        let e = Prefix::parse("10.1.0.0/33", Family::V4, "subnet").unwrap_err();
        assert!(e.message.contains("\"10.1.0.0/33\""), "{}", e.message);
        assert!(Prefix::parse("2001:db8:1::/64", Family::V6, "subnet").is_ok());
    }

    #[test]
    fn pools_parse_both_ways_and_compare() {
        let a = Range::parse("10.1.0.10 - 10.1.0.99", Family::V4, "pool").unwrap();
        assert_eq!(a.canonical(), "10.1.0.10-10.1.0.99");
        let b = Range::parse("10.1.0.64/26", Family::V4, "pool").unwrap();
        assert_eq!(b.canonical(), "10.1.0.64-10.1.0.127");
        assert!(a.overlaps(&b));
        let p = Prefix::parse("10.1.0.0/24", Family::V4, "subnet").unwrap();
        assert!(a.within(&p));
        let out = Range::parse("10.2.0.1-10.2.0.5", Family::V4, "pool").unwrap();
        assert!(!out.within(&p));
        assert!(Range::parse("10.1.0.99-10.1.0.10", Family::V4, "pool").is_err());
        assert!(Range::parse("nonsense", Family::V4, "pool").is_err());
        let v6 = Range::parse("2001:db8:1::10-2001:db8:1::ffff", Family::V6, "pool").unwrap();
        assert!(v6.within(&Prefix::parse("2001:db8:1::/64", Family::V6, "s").unwrap()));
    }

    #[test]
    fn prefix_overlap() {
        let a = Prefix::parse("10.0.0.0/24", Family::V4, "s").unwrap();
        let b = Prefix::parse("10.0.0.0/25", Family::V4, "s").unwrap();
        let c = Prefix::parse("10.0.1.0/24", Family::V4, "s").unwrap();
        assert!(a.overlaps(&b) && b.overlaps(&a));
        assert!(!a.overlaps(&c));
    }
}
