//! One change to a configuration, as the script API names it.

use serde_json::{Map, Value};

use crate::kea::config::reservations::{ImportRow, ResvKey, ResvScope};
use crate::kea::config::{
    self, ConfigDoc, Family, OptionScope, net::Prefix, net::Range, protected_changes,
    restore_protected,
};
use crate::kea::config::{NameOrCode, SubnetKey};
use crate::kea::{KeaError, KeaVersion};

/// The parts of a configuration that belong to one server of an HA pair and are never
/// copied to its peer: everything protected ([`config::PROTECTED`]: hooks with
/// `this-server-name` and TLS files, control sockets, loggers, databases, paths) and these.
pub const PER_PEER: &[&str] = &["interfaces-config", "server-id", "server-tag"];

/// A change, with its inputs already in Kea's key spelling.
#[derive(Debug, Clone, PartialEq)]
pub enum Edit {
    /// Replace the whole configuration.
    Apply {
        config: Value,
        allow_paths: bool,
    },
    AddSubnet(Map<String, Value>),
    UpdateSubnet(SubnetKey, Map<String, Value>),
    DeleteSubnet(SubnetKey),
    AddPool(SubnetKey, String, Map<String, Value>),
    DeletePool(SubnetKey, String),
    AddClass(Map<String, Value>),
    UpdateClass(String, Map<String, Value>),
    DeleteClass(String),
    AssignClass(SubnetKey, Option<String>, String),
    UnassignClass(SubnetKey, Option<String>),
    SetOption(OptionScope, Map<String, Value>),
    DeleteOption(OptionScope, NameOrCode, Option<String>),
    DefineOption(Map<String, Value>),
    UpdateOptionDef(u16, String, Map<String, Value>),
    DeleteOptionDef(u16, String),
    Set(Map<String, Value>),
    /// A host reservation in the configuration (global or of a subnet).
    AddReservation(ResvScope, Map<String, Value>),
    UpdateReservation(Option<ResvScope>, ResvKey, Map<String, Value>),
    DeleteReservation(Option<ResvScope>, ResvKey),
    /// Rows of a CSV file, applied as one change; with `replace`, the reservations of that
    /// scope no row names are removed.
    ImportReservations {
        source: String,
        rows: Vec<ImportRow>,
        replace: Option<ResvScope>,
    },
    /// Undoing a reservation change: the reservation must still be `expect` (as the change
    /// left it; `null`: absent), and becomes `back` (`null`: removed). Both as the audit
    /// trail records them (with `subnet`).
    RestoreReservation {
        expect: Value,
        back: Value,
    },
    AddSharedNetwork(Map<String, Value>),
    UpdateSharedNetwork(String, Map<String, Value>),
    DeleteSharedNetwork(String),
    /// A subnet into a shared network, or out of one (`None`).
    MoveSubnet(SubnetKey, Option<String>),
    AddPdPool(SubnetKey, Map<String, Value>),
    DeletePdPool(SubnetKey, String),
}

/// What an edit is about, for dry-run output and the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct EditTarget {
    /// `subnet`, `pool`, `class`, `option`, `option_def`, `settings`, `config`,
    /// `reservation`, `shared_network`, `pd_pool`.
    pub kind: &'static str,
    pub key: String,
    /// `add`, `update`, `delete`, `assign`, `unassign`, `set`, `apply`.
    pub action: &'static str,
}

impl Edit {
    /// What the edit is about.
    pub fn target(&self) -> EditTarget {
        let t = |kind, key: String, action| EditTarget { kind, key, action };
        let subnet_of = |m: &Map<String, Value>| {
            m.get("subnet")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        let name_of = |m: &Map<String, Value>| {
            m.get("name")
                .or_else(|| m.get("code"))
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                .unwrap_or_default()
        };
        match self {
            Self::Apply { .. } => t("config", String::new(), "apply"),
            Self::AddSubnet(m) => t("subnet", subnet_of(m), "add"),
            Self::UpdateSubnet(k, _) => t("subnet", k.to_string(), "update"),
            Self::DeleteSubnet(k) => t("subnet", k.to_string(), "delete"),
            Self::AddPool(k, r, _) => t("pool", format!("{k} {r}"), "add"),
            Self::DeletePool(k, r) => t("pool", format!("{k} {r}"), "delete"),
            Self::AddClass(m) => t("class", name_of(m), "add"),
            Self::UpdateClass(n, _) => t("class", n.clone(), "update"),
            Self::DeleteClass(n) => t("class", n.clone(), "delete"),
            Self::AssignClass(k, p, c) => t(
                "class",
                format!(
                    "{c} on {k}{}",
                    p.as_ref().map(|p| format!(" {p}")).unwrap_or_default()
                ),
                "assign",
            ),
            Self::UnassignClass(k, p) => t(
                "class",
                format!(
                    "{k}{}",
                    p.as_ref().map(|p| format!(" {p}")).unwrap_or_default()
                ),
                "unassign",
            ),
            Self::SetOption(s, m) => t("option", format!("{} at {s}", name_of(m)), "set"),
            Self::DeleteOption(s, w, _) => {
                let w = match w {
                    NameOrCode::Name(n) => n.clone(),
                    NameOrCode::Code(c) => c.to_string(),
                };
                t("option", format!("{w} at {s}"), "delete")
            }
            Self::DefineOption(m) => t("option_def", name_of(m), "add"),
            Self::UpdateOptionDef(c, s, _) => t("option_def", format!("{s}/{c}"), "update"),
            Self::DeleteOptionDef(c, s) => t("option_def", format!("{s}/{c}"), "delete"),
            Self::AddReservation(scope, m) => t(
                "reservation",
                format!("{} in {scope}", config::reservations::describe(m)),
                "add",
            ),
            Self::UpdateReservation(scope, k, _) => t("reservation", resv_key(scope, k), "update"),
            Self::DeleteReservation(scope, k) => t("reservation", resv_key(scope, k), "delete"),
            Self::ImportReservations { source, rows, .. } => t(
                "reservation",
                format!("{} rows of {source}", rows.len()),
                "import",
            ),
            Self::RestoreReservation { expect, back } => {
                let probe = if expect.is_null() { back } else { expect };
                let scope = match probe.get("subnet") {
                    Some(Value::String(g)) => g.clone(),
                    Some(v) => format!("subnet id {v}"),
                    None => "global".into(),
                };
                let action = match (expect.is_null(), back.is_null()) {
                    (true, _) => "add",
                    (_, true) => "delete",
                    _ => "update",
                };
                t(
                    "reservation",
                    format!(
                        "{} in {scope}",
                        probe
                            .as_object()
                            .map(config::reservations::describe)
                            .unwrap_or_default()
                    ),
                    action,
                )
            }
            Self::AddSharedNetwork(m) => t("shared_network", name_of(m), "add"),
            Self::UpdateSharedNetwork(n, _) => t("shared_network", n.clone(), "update"),
            Self::DeleteSharedNetwork(n) => t("shared_network", n.clone(), "delete"),
            Self::MoveSubnet(k, to) => t(
                "subnet",
                format!(
                    "{k} to {}",
                    to.as_deref()
                        .map_or("the top level".to_string(), |n| format!("network {n}"))
                ),
                "move",
            ),
            Self::AddPdPool(k, m) => t(
                "pd_pool",
                format!(
                    "{k} {}/{}",
                    m.get("prefix").and_then(Value::as_str).unwrap_or("?"),
                    m.get("prefix-len").map_or("?".into(), Value::to_string)
                ),
                "add",
            ),
            Self::DeletePdPool(k, p) => t("pd_pool", format!("{k} {p}"), "delete"),
            Self::Set(m) => t(
                "settings",
                m.keys()
                    .map(|k| k.replace('-', "_"))
                    .collect::<Vec<_>>()
                    .join(","),
                "set",
            ),
        }
    }

    /// Checks that need no server: the input alone. Runs before anything is sent.
    pub fn precheck(&self, family: Family) -> Result<(), KeaError> {
        self.refuse_redacted()?;
        match self {
            Self::Apply { config, .. }
                if config.get(family.root_key()).is_none_or(|v| !v.is_object()) =>
            {
                return Err(KeaError::invalid(format!(
                    "apply(): the configuration needs a \"{}\" map",
                    family.root_key()
                )));
            }
            Self::AddSubnet(m) => {
                let s = m.get("subnet").and_then(Value::as_str).ok_or_else(|| {
                    KeaError::invalid("add_subnet: \"subnet\" (the prefix) is required")
                })?;
                let prefix = Prefix::parse(s, family, "subnet")?;
                for p in m
                    .get("pools")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let text = p
                        .as_str()
                        .or_else(|| p.get("pool").and_then(Value::as_str))
                        .unwrap_or("");
                    let r = Range::parse(text, family, "pool")?;
                    if !r.within(&prefix) {
                        return Err(KeaError::invalid(format!(
                            "pool \"{text}\" does not lie inside its subnet {prefix}"
                        )));
                    }
                }
            }
            Self::AddPool(_, r, _) | Self::DeletePool(_, r) => {
                Range::parse(r, family, "pool")?;
            }
            Self::AssignClass(_, p, c) => {
                if let Some(p) = p {
                    Range::parse(p, family, "pool")?;
                }
                if c.trim().is_empty() {
                    return Err(KeaError::invalid("the class name is empty"));
                }
            }
            Self::UnassignClass(_, Some(p)) => {
                Range::parse(p, family, "pool")?;
            }
            Self::AddReservation(_, m) | Self::UpdateReservation(_, _, m)
                if m.contains_key("subnet") =>
            {
                return Err(KeaError::invalid(
                    "a reservation's subnet is its scope: add_reservation(#{ subnet, … }) takes it, update_reservation(scope, key, map) names it",
                ));
            }
            Self::AddReservation(_, m) => {
                // Its shape alone; the subnet's prefix and the others are checked in
                // `apply_to`.
                config::reservations::check_shape(&mut m.clone(), family, None)?;
            }
            Self::AddPdPool(_, m) => {
                if family != Family::V6 {
                    return Err(KeaError::invalid(
                        "prefix delegation is DHCPv6 only: use v6.add_pd_pool",
                    ));
                }
                config::pd_pools::check(m)?;
            }
            Self::DeletePdPool(_, p) => {
                config::pd_pools::parse_prefix(p)?;
            }
            Self::AddSharedNetwork(m)
                if m.get("name")
                    .and_then(Value::as_str)
                    .is_none_or(|n| n.trim().is_empty()) =>
            {
                return Err(KeaError::invalid(
                    "add_shared_network: \"name\" is required",
                ));
            }
            Self::AddClass(m)
                if m.get("name")
                    .and_then(Value::as_str)
                    .is_none_or(|n| n.trim().is_empty()) =>
            {
                return Err(KeaError::invalid("add_class: \"name\" is required"));
            }
            // The rest depends on the server's configuration: checked in `apply_to`.
            _ => {}
        }
        Ok(())
    }

    /// The protected top-level keys this edit may change on purpose.
    pub fn allowed_protected(&self) -> Vec<&'static str> {
        match self {
            Self::Apply {
                allow_paths: true, ..
            } => config::PROTECTED.to_vec(),
            Self::Set(m) if m.contains_key("control-socket") => {
                vec!["control-socket", "control-sockets"]
            }
            _ => Vec::new(),
        }
    }

    /// Applies the edit to `doc`. `live` is the server's running configuration, `version`
    /// the server's Kea version (it decides how class keys are spelled);
    /// `min_subnet_id` the lowest id a new subnet may get. `peer` is set when the edit is
    /// carried over to an HA peer: a whole configuration then keeps the peer's own
    /// per-server parts ([`PER_PEER`]).
    pub fn apply_to(
        &self,
        doc: &mut ConfigDoc,
        live: &ConfigDoc,
        version: KeaVersion,
        min_subnet_id: u64,
        peer: bool,
    ) -> Result<Value, KeaError> {
        use config::{
            classes as c, networks as n, options as o, pd_pools as pd, reservations as rv,
            settings as st, subnets as s,
        };
        Ok(match self {
            Self::Apply {
                config,
                allow_paths,
            } => {
                let mut new = ConfigDoc::new(doc.family, config.clone())?;
                if !allow_paths {
                    let changed = protected_changes(live, &new);
                    if let Some(k) = changed.first() {
                        return Err(KeaError::invalid(format!(
                            "apply() would change \"{k}\" (hook libraries, control sockets and file paths are protected); pass #{{ allow_paths: true }} to change it"
                        )));
                    }
                }
                restore_protected(&mut new, live, &self.allowed_protected());
                if peer {
                    for k in config::PROTECTED.iter().chain(PER_PEER) {
                        match live.root().get(*k) {
                            Some(v) => {
                                new.root_mut().insert((*k).to_string(), v.clone());
                            }
                            None => {
                                new.root_mut().remove(*k);
                            }
                        }
                    }
                }
                // The script may hand back Kea's echoes from an earlier `config()`.
                new.version = doc.version;
                crate::kea::config::inherit::normalize_against(&mut new, live);
                *doc = new;
                Value::Null
            }
            Self::AddSubnet(m) => s::add_subnet(doc, m, min_subnet_id)?,
            Self::UpdateSubnet(k, m) => s::update_subnet(doc, k, m)?,
            Self::DeleteSubnet(k) => s::delete_subnet(doc, k)?,
            Self::AddPool(k, r, m) => s::add_pool(doc, k, r, m)?,
            Self::DeletePool(k, r) => s::delete_pool(doc, k, r)?,
            Self::AddClass(m) => c::add_class(doc, m)?,
            Self::UpdateClass(n, m) => c::update_class(doc, n, m)?,
            Self::DeleteClass(n) => c::delete_class(doc, n)?,
            Self::AssignClass(k, p, class) => {
                s::assign_class(doc, k, p.as_deref(), class, version)?;
                Value::Null
            }
            Self::UnassignClass(k, p) => {
                s::unassign_class(doc, k, p.as_deref())?;
                Value::Null
            }
            Self::SetOption(scope, m) => o::set_option(doc, scope, m)?,
            Self::DeleteOption(scope, w, space) => {
                o::delete_option(doc, scope, w, space.as_deref())?
            }
            Self::DefineOption(m) => o::define_option(doc, m)?,
            Self::UpdateOptionDef(code, space, m) => o::update_option_def(doc, *code, space, m)?,
            Self::DeleteOptionDef(code, space) => o::delete_option_def(doc, *code, space)?,
            Self::Set(m) => Value::Object(st::set(doc, m)?),
            Self::AddReservation(scope, m) => rv::add(doc, scope, m)?,
            Self::UpdateReservation(scope, k, m) => rv::update(doc, scope.as_ref(), k, m)?,
            Self::DeleteReservation(scope, k) => rv::delete(doc, scope.as_ref(), k)?,
            Self::ImportReservations { rows, replace, .. } => {
                let c = rv::import(doc, rows, replace.as_ref())?;
                serde_json::json!({"added": c.added, "updated": c.updated,
                                   "unchanged": c.unchanged, "deleted": c.deleted})
            }
            Self::RestoreReservation { expect, back } => {
                let probe = if expect.is_null() { back } else { expect };
                let (scope, key) = rv::identity_of_view(probe).ok_or_else(|| {
                    KeaError::invalid(format!("cannot tell which reservation {probe} is"))
                })?;
                rv::put(doc, &scope, &key, back.as_object())?;
                back.clone()
            }
            Self::AddSharedNetwork(m) => n::add(doc, m)?,
            Self::UpdateSharedNetwork(name, m) => n::update(doc, name, m)?,
            Self::DeleteSharedNetwork(name) => n::delete(doc, name)?,
            Self::MoveSubnet(k, to) => n::move_subnet(doc, k, to.as_deref())?,
            Self::AddPdPool(k, m) => pd::add(doc, k, m)?,
            Self::DeletePdPool(k, p) => pd::delete(doc, k, p)?,
        })
    }
}

/// How an update or delete names its reservation in the audit trail.
fn resv_key(scope: &Option<ResvScope>, k: &ResvKey) -> String {
    match scope {
        Some(s) => format!("{k} in {s}"),
        None => k.to_string(),
    }
}

impl Edit {
    /// Refuses a change that would send a value the redaction rule wrote (`[redacted]`):
    /// it was copied from a drift snapshot, the audit trail or a diff, and Kea would take
    /// it for the secret.
    fn refuse_redacted(&self) -> Result<(), KeaError> {
        let found = match self {
            Self::Apply { config, .. } => crate::kea::redact::redacted_at(config),
            Self::AddSubnet(m)
            | Self::UpdateSubnet(_, m)
            | Self::AddPool(_, _, m)
            | Self::AddClass(m)
            | Self::UpdateClass(_, m)
            | Self::SetOption(_, m)
            | Self::DefineOption(m)
            | Self::UpdateOptionDef(_, _, m)
            | Self::AddReservation(_, m)
            | Self::UpdateReservation(_, _, m)
            | Self::AddSharedNetwork(m)
            | Self::UpdateSharedNetwork(_, m)
            | Self::AddPdPool(_, m)
            | Self::Set(m) => m.iter().find_map(|(k, v)| {
                crate::kea::redact::redacted_at(v).map(|p| {
                    if p.is_empty() {
                        k.clone()
                    } else {
                        format!("{k}/{p}")
                    }
                })
            }),
            _ => None,
        };
        match found {
            Some(at) => Err(KeaError::invalid(format!(
                "{at} is \"{}\": a value from a redacted copy (a drift snapshot, the audit trail, a dry-run diff), not the secret itself; put the real value there",
                crate::kea::redact::REDACTED
            ))),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kea::audit::KINDS;
    use serde_json::json;

    #[test]
    fn every_kind_an_edit_is_audited_under_is_in_the_one_table() {
        let m = Map::new;
        let k = || SubnetKey::Id(1);
        let edits = [
            Edit::Apply {
                config: json!({}),
                allow_paths: false,
            },
            Edit::AddSubnet(m()),
            Edit::UpdateSubnet(k(), m()),
            Edit::DeleteSubnet(k()),
            Edit::AddPool(k(), "r".into(), m()),
            Edit::DeletePool(k(), "r".into()),
            Edit::AddClass(m()),
            Edit::UpdateClass("c".into(), m()),
            Edit::DeleteClass("c".into()),
            Edit::AssignClass(k(), None, "c".into()),
            Edit::UnassignClass(k(), None),
            Edit::SetOption(OptionScope::Global, m()),
            Edit::DeleteOption(OptionScope::Global, NameOrCode::Code(3), None),
            Edit::DefineOption(m()),
            Edit::UpdateOptionDef(1, "s".into(), m()),
            Edit::DeleteOptionDef(1, "s".into()),
            Edit::Set(m()),
        ];
        for e in &edits {
            let kind = e.target().kind;
            assert!(KINDS.contains(&kind), "{kind} is not in audit::KINDS");
        }
    }

    #[test]
    fn a_redacted_value_is_never_sent_back() {
        let config = json!({"Dhcp4": {"lease-database": {"type": "memfile"},
                                      "hosts-database": {"type": "postgresql", "password": "[redacted]"}}});
        let e = Edit::Apply {
            config,
            allow_paths: false,
        }
        .precheck(Family::V4)
        .unwrap_err();
        assert!(
            e.message.contains("Dhcp4/hosts-database/password"),
            "{}",
            e.message
        );
        let mut m = Map::new();
        m.insert("name".into(), json!("c"));
        m.insert(
            "user-context".into(),
            json!({"api_token": "[redacted, changed]"}),
        );
        let e = Edit::UpdateClass("c".into(), m)
            .precheck(Family::V4)
            .unwrap_err();
        assert!(
            e.message.contains("user-context/api_token"),
            "{}",
            e.message
        );
        let mut m = Map::new();
        m.insert("name".into(), json!("c"));
        m.insert(
            "user-context".into(),
            json!({"note": "was [redacted] before"}),
        );
        assert!(Edit::AddClass(m).precheck(Family::V4).is_ok());
    }
}
