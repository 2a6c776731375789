//! Telling a scope's own values from the ones it inherits.
//!
//! Kea echoes some inherited values into every subnet and shared network (`config-get` in
//! 2.2, `subnet4-get` in 3.2; `reference/kea-lab.md` §7): which ones is [`ECHOED`], measured
//! on the real daemons per version and re-derived by a test. Sent back as they are, they
//! become explicit and a later server-level change no longer reaches the scope. So before
//! anything is sent back, every echoed value the scope does not own is removed. A scope owns
//! a value when keascript set it there (recorded under [`OWN_KEY`] in its `user-context`),
//! or when it differs from what the scope would inherit. Every other key — inheritable or
//! not, equal to its parent's or not — is kept exactly as read: it is there because
//! someone wrote it.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::{ConfigDoc, Family, SubnetLoc};
use crate::kea::KeaVersion;

/// The `user-context` key listing the parameters keascript set on a scope.
pub const OWN_KEY: &str = "keascript-own";

/// Parameters a subnet inherits from its shared network, and both from the global level.
const COMMON: &[&str] = &[
    "valid-lifetime",
    "min-valid-lifetime",
    "max-valid-lifetime",
    "renew-timer",
    "rebind-timer",
    "t1-percent",
    "t2-percent",
    "calculate-tee-times",
    "store-extended-info",
    "cache-threshold",
    "cache-max-age",
    "allocator",
    "reservations-global",
    "reservations-in-subnet",
    "reservations-out-of-pool",
    "ddns-send-updates",
    "ddns-override-no-update",
    "ddns-override-client-update",
    "ddns-replace-client-name",
    "ddns-generated-prefix",
    "ddns-qualifying-suffix",
    "ddns-update-on-renew",
    "ddns-use-conflict-resolution",
    "ddns-conflict-resolution-mode",
    "ddns-ttl-percent",
    "hostname-char-set",
    "hostname-char-replacement",
];

const V4_ONLY: &[&str] = &[
    "match-client-id",
    "authoritative",
    "boot-file-name",
    "next-server",
    "server-hostname",
    "offer-lifetime",
];

const V6_ONLY: &[&str] = &[
    "preferred-lifetime",
    "min-preferred-lifetime",
    "max-preferred-lifetime",
    "rapid-commit",
    "pd-allocator",
];

/// What each Kea generation echoes into subnets and shared networks from their parents
/// (`(first version, family, keys)`, newest first), measured on Kea 2.2.0 and 3.0.4 by
/// `tests/integration/echoes.rs`: every inheritable parameter set at the global level, a
/// subnet and a shared network with none, `config-get`. Versions between use the newer row
/// from 2.4 on.
pub const ECHOED: &[(KeaVersion, Family, &[&str])] = &[
    (
        KeaVersion::new(2, 4, 0),
        Family::V4,
        &[
            "allocator",
            "cache-max-age",
            "cache-threshold",
            "calculate-tee-times",
            "max-valid-lifetime",
            "min-valid-lifetime",
            "offer-lifetime",
            "rebind-timer",
            "renew-timer",
            "store-extended-info",
            "t1-percent",
            "t2-percent",
            "valid-lifetime",
        ],
    ),
    (
        KeaVersion::new(2, 4, 0),
        Family::V6,
        &[
            "allocator",
            "cache-max-age",
            "cache-threshold",
            "calculate-tee-times",
            "max-preferred-lifetime",
            "max-valid-lifetime",
            "min-valid-lifetime",
            "pd-allocator",
            "preferred-lifetime",
            "rebind-timer",
            "renew-timer",
            "store-extended-info",
            "t1-percent",
            "t2-percent",
            "valid-lifetime",
        ],
    ),
    (
        KeaVersion::new(0, 0, 0),
        Family::V4,
        &[
            "cache-max-age",
            "cache-threshold",
            "calculate-tee-times",
            "max-valid-lifetime",
            "min-valid-lifetime",
            "rebind-timer",
            "renew-timer",
            "store-extended-info",
            "t1-percent",
            "t2-percent",
            "valid-lifetime",
        ],
    ),
    (
        KeaVersion::new(0, 0, 0),
        Family::V6,
        &[
            "cache-max-age",
            "cache-threshold",
            "calculate-tee-times",
            "max-preferred-lifetime",
            "max-valid-lifetime",
            "min-valid-lifetime",
            "preferred-lifetime",
            "rebind-timer",
            "renew-timer",
            "store-extended-info",
            "t1-percent",
            "t2-percent",
            "valid-lifetime",
        ],
    ),
];

/// The keys Kea `version` echoes into the scopes of a `family` configuration.
pub fn echoed(family: Family, version: KeaVersion) -> &'static [&'static str] {
    ECHOED
        .iter()
        .find(|(from, f, _)| *f == family && version >= *from)
        .map(|(_, _, keys)| *keys)
        .unwrap_or(&[])
}

/// Every inheritable parameter of a family.
pub fn inheritable(family: Family) -> impl Iterator<Item = &'static str> {
    let extra = match family {
        Family::V4 => V4_ONLY,
        Family::V6 => V6_ONLY,
    };
    COMMON.iter().chain(extra.iter()).copied()
}

pub fn is_inheritable(family: Family, key: &str) -> bool {
    inheritable(family).any(|k| k == key)
}

/// The parameters a scope's `user-context` says keascript set on it.
pub fn own_keys(scope: &Map<String, Value>) -> BTreeSet<String> {
    scope
        .get("user-context")
        .and_then(|u| u.get(OWN_KEY))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Records which inheritable parameters a scope now owns (`set`) or no longer owns (`unset`).
pub fn mark_own(scope: &mut Map<String, Value>, set: &[String], unset: &[String]) {
    let mut own = own_keys(scope);
    for k in set {
        own.insert(k.clone());
    }
    for k in unset {
        own.remove(k);
    }
    let ctx = scope
        .entry("user-context")
        .or_insert_with(|| Value::Object(Map::new()));
    if !ctx.is_object() {
        *ctx = Value::Object(Map::new());
    }
    let ctx = ctx.as_object_mut().expect("map");
    if own.is_empty() {
        ctx.remove(OWN_KEY);
    } else {
        ctx.insert(
            OWN_KEY.into(),
            Value::Array(own.into_iter().map(Value::String).collect()),
        );
    }
    if ctx.is_empty() {
        scope.remove("user-context");
    }
}

/// Removes, from every shared network and subnet, the inheritable values it does not own.
pub fn normalize_inherited(doc: &mut ConfigDoc) {
    let family = doc.family;
    let echoes = echoed(family, doc.version);
    // What the scopes inherit, not the whole root (its subnets are most of a large one).
    let global = inherited_from(doc.root(), family);
    let sk = family.subnet_key();
    // Shared networks: their subnets inherit from them as they were sent by Kea.
    let nets = doc.root_array("shared-networks").len();
    for n in 0..nets {
        let effective = match doc.root()["shared-networks"][n].as_object() {
            Some(net) => overlay(&global, net, family),
            None => global.clone(),
        };
        if let Some(net) = doc.root_mut()["shared-networks"][n].as_object_mut() {
            strip(net, &global, echoes);
        }
        let count = doc.root()["shared-networks"][n]
            .get(sk)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        for i in 0..count {
            strip(doc.subnet_mut(SubnetLoc::Network(n, i)), &effective, echoes);
        }
    }
    for i in 0..doc.root_array(sk).len() {
        strip(doc.subnet_mut(SubnetLoc::Top(i)), &global, echoes);
    }
}

/// Normalises a whole configuration a script hands over (`apply`), which may carry Kea's
/// echoes from an earlier `config()`: a value counts as inherited when it equals what the
/// scope inherits in the new configuration, or what it inherited in the `live` one (the
/// echo of a server-level value the script has since changed).
pub fn normalize_against(new: &mut ConfigDoc, live: &ConfigDoc) {
    let family = new.family;
    let echoes = echoed(family, new.version);
    let sk = family.subnet_key();
    let live_global = inherited_from(live.root(), family);
    // What each live scope inherited: by subnet id, and by shared network name.
    let mut subnet_parents = std::collections::HashMap::new();
    for n in 0..live.root_array("shared-networks").len() {
        let net = live.root()["shared-networks"][n]
            .as_object()
            .cloned()
            .unwrap_or_default();
        let eff = overlay(&live_global, &net, family);
        for s in net.get(sk).and_then(Value::as_array).into_iter().flatten() {
            if let Some(id) = s.get("id").and_then(Value::as_u64) {
                subnet_parents.insert(id, eff.clone());
            }
        }
    }
    for s in live.root_array(sk) {
        if let Some(id) = s.get("id").and_then(Value::as_u64) {
            subnet_parents.insert(id, live_global.clone());
        }
    }
    let live_nets: BTreeSet<String> = live
        .root_array("shared-networks")
        .iter()
        .filter_map(|n| n.get("name").and_then(Value::as_str).map(String::from))
        .collect();
    normalize_inherited(new);
    for n in 0..new.root_array("shared-networks").len() {
        if let Some(net) = new.root_mut()["shared-networks"][n].as_object_mut()
            && net
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|name| live_nets.contains(name))
        {
            strip(net, &live_global, echoes);
        }
    }
    for loc in new.subnet_locs() {
        let id = new.subnet(loc).get("id").and_then(Value::as_u64);
        if let Some(parent) = id.and_then(|id| subnet_parents.get(&id)) {
            strip(new.subnet_mut(loc), parent, echoes);
        }
    }
}

/// The inheritable values of the global level.
fn inherited_from(root: &Map<String, Value>, family: Family) -> Map<String, Value> {
    inheritable(family)
        .filter_map(|k| root.get(k).map(|v| (k.to_string(), v.clone())))
        .collect()
}

/// Puts back what Kea echoes into every shared network and subnet from its parents (the
/// opposite of [`normalize_inherited`]): a configuration as keascript sends it, shown as
/// Kea would answer `config-get` for it (a dry run's staged configuration, for its readers).
pub fn echo_inherited(doc: &mut ConfigDoc) {
    echo_inherited_undoably(doc);
}

/// Where [`echo_inherited`] put values in: a shared network, or a subnet.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Network(usize),
    Subnet(SubnetLoc),
}

/// The keys [`echo_inherited_undoably`] put in, scope by scope, to take them out again
/// exactly ([`unecho`]).
#[derive(Debug, Default)]
pub struct Echoed(Vec<(Scope, Vec<String>)>);

/// [`echo_inherited`], remembering which keys it added where: [`unecho`] then gives back
/// the very configuration it was given, without a copy of it having been made (a snapshot
/// of a large configuration is written from the echoed one in place).
pub fn echo_inherited_undoably(doc: &mut ConfigDoc) -> Echoed {
    let family = doc.family;
    let echoes = echoed(family, doc.version);
    let global = inherited_from(doc.root(), family);
    let sk = family.subnet_key();
    let mut added = Echoed::default();
    let mut note = |scope: Scope, keys: Vec<String>| {
        if !keys.is_empty() {
            added.0.push((scope, keys));
        }
    };
    for n in 0..doc.root_array("shared-networks").len() {
        // The network as Kea answers it is what its subnets inherit from.
        if let Some(net) = doc.root_mut()["shared-networks"][n].as_object_mut() {
            note(Scope::Network(n), fill(net, &global, echoes));
        }
        let effective = match doc.root()["shared-networks"][n].as_object() {
            Some(net) => overlay(&global, net, family),
            None => global.clone(),
        };
        let count = doc.root()["shared-networks"][n]
            .get(sk)
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        for i in 0..count {
            let loc = SubnetLoc::Network(n, i);
            note(
                Scope::Subnet(loc),
                fill(doc.subnet_mut(loc), &effective, echoes),
            );
        }
    }
    for i in 0..doc.root_array(sk).len() {
        let loc = SubnetLoc::Top(i);
        note(
            Scope::Subnet(loc),
            fill(doc.subnet_mut(loc), &global, echoes),
        );
    }
    added
}

/// Takes out exactly what [`echo_inherited_undoably`] put in (it only ever adds keys a
/// scope lacked, so removing them gives back the configuration as it was).
pub fn unecho(doc: &mut ConfigDoc, added: Echoed) {
    for (scope, keys) in added.0 {
        let map = match scope {
            Scope::Network(n) => doc.root_mut()["shared-networks"][n].as_object_mut(),
            Scope::Subnet(loc) => Some(doc.subnet_mut(loc)),
        };
        if let Some(map) = map {
            for k in keys {
                map.remove(&k);
            }
        }
    }
}

/// The echoed keys a scope lacks, from its parent; returns the keys it added. Lifetime
/// bounds the parent only derives from its own default are derived from the scope's
/// effective default instead, as Kea does.
fn fill(
    scope: &mut Map<String, Value>,
    parent: &Map<String, Value>,
    echoes: &[&str],
) -> Vec<String> {
    let mut added = Vec::new();
    let bounds = [
        "min-valid-lifetime",
        "max-valid-lifetime",
        "min-preferred-lifetime",
        "max-preferred-lifetime",
    ];
    for k in echoes.iter().copied().filter(|k| !bounds.contains(k)) {
        if !scope.contains_key(k)
            && let Some(v) = parent.get(k)
        {
            scope.insert(k.to_string(), v.clone());
            added.push(k.to_string());
        }
    }
    for base in ["valid-lifetime", "preferred-lifetime"] {
        for bound in [format!("min-{base}"), format!("max-{base}")] {
            if !echoes.contains(&bound.as_str()) || scope.contains_key(&bound) {
                continue;
            }
            let derived = parent
                .get(&bound)
                .is_none_or(|b| Some(b) == parent.get(base));
            let value = if derived {
                scope.get(base).or_else(|| parent.get(base))
            } else {
                parent.get(&bound)
            };
            if let Some(v) = value.cloned() {
                scope.insert(bound.clone(), v);
                added.push(bound);
            }
        }
    }
    added
}

/// The values a scope would pass on: its own over its parent's.
fn overlay(
    parent: &Map<String, Value>,
    scope: &Map<String, Value>,
    family: Family,
) -> Map<String, Value> {
    let mut m = Map::new();
    for k in inheritable(family) {
        if let Some(v) = scope.get(k).or_else(|| parent.get(k)) {
            m.insert(k.to_string(), v.clone());
        }
    }
    m
}

fn strip(scope: &mut Map<String, Value>, parent: &Map<String, Value>, echoes: &[&str]) {
    let own = own_keys(scope);
    for k in echoes.iter().copied() {
        if own.contains(k) {
            continue;
        }
        if scope.get(k).is_some_and(|v| Some(v) == parent.get(k)) {
            scope.remove(k);
        }
    }
    // Kea derives min-/max- bounds from the scope's effective default when they are not
    // set: bounds equal to that default are derived, not owned.
    for base in ["valid-lifetime", "preferred-lifetime"] {
        let Some(default) = scope.get(base).or_else(|| parent.get(base)).cloned() else {
            continue;
        };
        for bound in [format!("min-{base}"), format!("max-{base}")] {
            if echoes.contains(&bound.as_str())
                && !own.contains(&bound)
                && scope.get(&bound) == Some(&default)
            {
                scope.remove(&bound);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn echoed() -> ConfigDoc {
        // What Kea 2.2 answers after a config-get → config-set round trip.
        ConfigDoc::new(
            Family::V4,
            json!({"Dhcp4": {
                "valid-lifetime": 4000, "min-valid-lifetime": 4000, "max-valid-lifetime": 4000,
                "renew-timer": 1000, "rebind-timer": 2000, "t1-percent": 0.5,
                "subnet4": [
                    {"id": 1, "subnet": "10.0.0.0/24", "valid-lifetime": 4000, "min-valid-lifetime": 4000,
                     "max-valid-lifetime": 4000, "renew-timer": 1000, "rebind-timer": 2000, "t1-percent": 0.5},
                    {"id": 2, "subnet": "10.0.1.0/24", "valid-lifetime": 4000, "min-valid-lifetime": 4000,
                     "max-valid-lifetime": 4000, "user-context": {"keascript-own": ["valid-lifetime"], "note": "x"}},
                    {"id": 3, "subnet": "10.0.2.0/24", "valid-lifetime": 600, "min-valid-lifetime": 600,
                     "max-valid-lifetime": 600}
                ],
                "shared-networks": [{"name": "n", "valid-lifetime": 5000, "min-valid-lifetime": 5000,
                    "max-valid-lifetime": 5000, "user-context": {"keascript-own": ["valid-lifetime"]},
                    "subnet4": [{"id": 4, "subnet": "10.0.3.0/24", "valid-lifetime": 5000,
                                 "min-valid-lifetime": 5000, "max-valid-lifetime": 5000}]}]
            }}),
        )
        .unwrap()
    }

    #[test]
    fn echoed_values_are_dropped_and_own_values_kept() {
        let mut d = echoed();
        normalize_inherited(&mut d);
        let s = |loc| Value::Object(d.subnet(loc).clone());
        assert_eq!(
            s(SubnetLoc::Top(0)),
            json!({"id": 1, "subnet": "10.0.0.0/24"})
        );
        // Recorded as own, even though equal to the global value.
        assert_eq!(
            s(SubnetLoc::Top(1)),
            json!({"id": 2, "subnet": "10.0.1.0/24", "valid-lifetime": 4000,
                   "user-context": {"keascript-own": ["valid-lifetime"], "note": "x"}})
        );
        // Different from what it would inherit: its own; the bounds are derived from it.
        assert_eq!(
            s(SubnetLoc::Top(2)),
            json!({"id": 3, "subnet": "10.0.2.0/24", "valid-lifetime": 600})
        );
        // Inside a shared network: inherits from the network.
        assert_eq!(
            s(SubnetLoc::Network(0, 0)),
            json!({"id": 4, "subnet": "10.0.3.0/24"})
        );
        let net = &d.root()["shared-networks"][0];
        assert_eq!(net["valid-lifetime"], 5000);
        assert!(net.get("min-valid-lifetime").is_none());
        // The global level is untouched.
        assert_eq!(d.root()["renew-timer"], 1000);
    }

    #[test]
    fn echoing_puts_back_what_kea_answers() {
        let read = echoed();
        let mut d = read.clone();
        normalize_inherited(&mut d);
        echo_inherited(&mut d);
        assert_eq!(d.subnet(SubnetLoc::Top(0)), read.subnet(SubnetLoc::Top(0)));
        for loc in [SubnetLoc::Top(2), SubnetLoc::Network(0, 0)] {
            for (k, v) in read.subnet(loc) {
                assert_eq!(d.subnet(loc).get(k), Some(v), "{loc:?} {k}");
            }
        }
        assert_eq!(
            d.root()["shared-networks"][0]["min-valid-lifetime"],
            5000,
            "a bound derived from the network's own lifetime"
        );
    }

    #[test]
    fn echoing_undoably_then_unechoing_gives_back_the_very_configuration() {
        let mut d = echoed();
        normalize_inherited(&mut d);
        let base = d.clone();
        let added = echo_inherited_undoably(&mut d);
        let mut plain = base.clone();
        echo_inherited(&mut plain);
        assert_eq!(d, plain, "the same echoes as echo_inherited");
        assert_ne!(d, base, "something was echoed");
        unecho(&mut d, added);
        assert_eq!(d, base);
    }

    #[test]
    fn marking_own_keys() {
        let mut m = json!({"id": 1}).as_object().unwrap().clone();
        mark_own(
            &mut m,
            &["valid-lifetime".into(), "renew-timer".into()],
            &[],
        );
        assert_eq!(own_keys(&m).len(), 2);
        mark_own(
            &mut m,
            &[],
            &["valid-lifetime".into(), "renew-timer".into()],
        );
        assert!(m.get("user-context").is_none(), "{m:?}");
    }
}
