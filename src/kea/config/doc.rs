//! A Kea configuration document and where its subnets are.

use serde_json::{Map, Value};

use super::Family;
use super::net::Prefix;
use crate::kea::{ErrorKind, KeaError};

/// Where a subnet sits: at the top level, or inside a shared network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SubnetLoc {
    Top(usize),
    Network(usize, usize),
}

/// How a script names a subnet: its id or its prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubnetKey {
    Id(u64),
    Prefix(Prefix),
}

impl SubnetKey {
    /// `"10.1.0.0/24"` or `"5"`.
    pub fn parse(s: &str, family: Family) -> Result<Self, KeaError> {
        let t = s.trim();
        if let Ok(id) = t.parse::<u64>() {
            return Self::id(id as i64);
        }
        Ok(Self::Prefix(Prefix::parse(t, family, "subnet")?))
    }

    pub fn id(id: i64) -> Result<Self, KeaError> {
        if id <= 0 || id > u32::MAX as i64 {
            return Err(KeaError::invalid(format!(
                "subnet id {id} is out of range (1 to {})",
                u32::MAX
            )));
        }
        Ok(Self::Id(id as u64))
    }
}

impl std::fmt::Display for SubnetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(i) => write!(f, "id {i}"),
            Self::Prefix(p) => write!(f, "{p}"),
        }
    }
}

/// A whole configuration, `{"Dhcp4": {...}}` or `{"Dhcp6": {...}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigDoc {
    pub family: Family,
    pub value: Value,
    /// The Kea that runs it (what it echoes into scopes depends on the version); 0.0.0
    /// when unknown.
    pub version: crate::kea::KeaVersion,
}

impl ConfigDoc {
    /// Wraps a configuration; it must have the family's top-level key.
    pub fn new(family: Family, mut value: Value) -> Result<Self, KeaError> {
        if let Some(m) = value.as_object_mut() {
            m.remove("hash");
        }
        if !value.get(family.root_key()).is_some_and(Value::is_object) {
            return Err(KeaError::invalid(format!(
                "the configuration has no \"{}\" map",
                family.root_key()
            )));
        }
        Ok(Self {
            family,
            value,
            version: crate::kea::KeaVersion::default(),
        })
    }

    /// The same document, known to run on `version`.
    pub fn with_version(mut self, version: crate::kea::KeaVersion) -> Self {
        self.version = version;
        self
    }

    pub fn root(&self) -> &Map<String, Value> {
        self.value[self.family.root_key()]
            .as_object()
            .expect("checked in new")
    }

    pub fn root_mut(&mut self) -> &mut Map<String, Value> {
        let key = self.family.root_key();
        self.value[key].as_object_mut().expect("checked in new")
    }

    /// An array at the top level (created empty when missing).
    pub fn root_array_mut(&mut self, key: &str) -> &mut Vec<Value> {
        let root = self.root_mut();
        if !root.get(key).is_some_and(Value::is_array) {
            root.insert(key.to_string(), Value::Array(Vec::new()));
        }
        root[key].as_array_mut().expect("array")
    }

    /// An array at the top level, empty when missing.
    pub fn root_array(&self, key: &str) -> &[Value] {
        self.root()
            .get(key)
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// Every subnet, top-level ones first, then those inside shared networks.
    pub fn subnet_locs(&self) -> Vec<SubnetLoc> {
        let sk = self.family.subnet_key();
        let mut v: Vec<SubnetLoc> = (0..self.root_array(sk).len()).map(SubnetLoc::Top).collect();
        for (n, net) in self.root_array("shared-networks").iter().enumerate() {
            let count = net.get(sk).and_then(Value::as_array).map_or(0, Vec::len);
            v.extend((0..count).map(|i| SubnetLoc::Network(n, i)));
        }
        v
    }

    pub fn subnet(&self, loc: SubnetLoc) -> &Map<String, Value> {
        let sk = self.family.subnet_key();
        let v = match loc {
            SubnetLoc::Top(i) => &self.root()[sk][i],
            SubnetLoc::Network(n, i) => &self.root()["shared-networks"][n][sk][i],
        };
        v.as_object().expect("subnets are maps")
    }

    pub fn subnet_mut(&mut self, loc: SubnetLoc) -> &mut Map<String, Value> {
        let sk = self.family.subnet_key();
        let root = self.root_mut();
        let v = match loc {
            SubnetLoc::Top(i) => &mut root[sk][i],
            SubnetLoc::Network(n, i) => &mut root["shared-networks"][n][sk][i],
        };
        v.as_object_mut().expect("subnets are maps")
    }

    /// The shared network a subnet is in.
    pub fn network_of(&self, loc: SubnetLoc) -> Option<&Map<String, Value>> {
        match loc {
            SubnetLoc::Top(_) => None,
            SubnetLoc::Network(n, _) => self.root()["shared-networks"][n].as_object(),
        }
    }

    /// Removes a subnet and returns it.
    pub fn remove_subnet(&mut self, loc: SubnetLoc) -> Value {
        let sk = self.family.subnet_key();
        let root = self.root_mut();
        match loc {
            SubnetLoc::Top(i) => root[sk].as_array_mut().expect("array").remove(i),
            SubnetLoc::Network(n, i) => root["shared-networks"][n][sk]
                .as_array_mut()
                .expect("array")
                .remove(i),
        }
    }

    /// The subnet a key names, or a `not_found` error.
    pub fn find_subnet(&self, key: &SubnetKey) -> Result<SubnetLoc, KeaError> {
        for loc in self.subnet_locs() {
            let s = self.subnet(loc);
            let hit = match key {
                SubnetKey::Id(id) => s.get("id").and_then(Value::as_u64) == Some(*id),
                SubnetKey::Prefix(p) => {
                    s.get("subnet")
                        .and_then(Value::as_str)
                        .and_then(|t| Prefix::parse(t, self.family, "subnet").ok())
                        == Some(*p)
                }
            };
            if hit {
                return Ok(loc);
            }
        }
        Err(KeaError::new(
            ErrorKind::NotFound,
            format!("no subnet {key} on the server"),
        ))
    }

    /// The highest subnet id in use (0 when there is none).
    pub fn max_subnet_id(&self) -> u64 {
        self.subnet_locs()
            .into_iter()
            .filter_map(|l| self.subnet(l).get("id").and_then(Value::as_u64))
            .max()
            .unwrap_or(0)
    }

    /// Pretty JSON, as diffs show it.
    pub fn pretty(&self) -> String {
        serde_json::to_string_pretty(&self.value).expect("JSON")
    }
}

/// Merges `patch` into `target` as the script API promises: nested maps merge, arrays and
/// scalars are replaced, `null` removes the key (back to inherited or unset).
pub fn merge(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, v) in patch {
        match v {
            Value::Null => {
                target.remove(k);
            }
            Value::Object(p) if k != "user-context" => match target.get_mut(k) {
                Some(Value::Object(t)) => merge(t, p),
                _ => {
                    target.insert(k.clone(), v.clone());
                }
            },
            Value::Object(p) => {
                // The user's own data merges too, but keeps our bookkeeping.
                match target.get_mut(k) {
                    Some(Value::Object(t)) => {
                        for (pk, pv) in p {
                            if pv.is_null() {
                                t.remove(pk);
                            } else {
                                t.insert(pk.clone(), pv.clone());
                            }
                        }
                    }
                    _ => {
                        target.insert(k.clone(), v.clone());
                    }
                }
            }
            _ => {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> ConfigDoc {
        ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {"subnet4": [{"id": 1, "subnet": "10.0.0.0/24"}],
                  "shared-networks": [{"name": "n", "subnet4": [{"id": 7, "subnet": "10.7.0.0/24"}]}]},
                  "hash": "x"}),
        )
        .unwrap()
    }

    #[test]
    fn finds_subnets_by_id_and_prefix_also_in_shared_networks() {
        let d = doc();
        assert!(d.value.get("hash").is_none());
        assert_eq!(d.subnet_locs().len(), 2);
        let k = SubnetKey::parse("10.7.0.0/24", Family::V4).unwrap();
        assert_eq!(d.find_subnet(&k).unwrap(), SubnetLoc::Network(0, 0));
        assert_eq!(d.find_subnet(&SubnetKey::Id(1)).unwrap(), SubnetLoc::Top(0));
        assert_eq!(d.max_subnet_id(), 7);
        let e = d.find_subnet(&SubnetKey::Id(9)).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotFound);
    }

    #[test]
    fn merge_rules() {
        let mut t =
            json!({"a": 1, "m": {"x": 1, "y": 2}, "arr": [1, 2], "user-context": {"k": 1, "z": 2}})
                .as_object()
                .unwrap()
                .clone();
        let p = json!({"a": null, "m": {"y": 3}, "arr": [9], "user-context": {"z": null, "n": 1}});
        merge(&mut t, p.as_object().unwrap());
        assert_eq!(
            Value::Object(t),
            json!({"m": {"x": 1, "y": 3}, "arr": [9], "user-context": {"k": 1, "n": 1}})
        );
    }
}
