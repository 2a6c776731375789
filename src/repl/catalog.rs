//! What the REPL knows about the functions it can complete: the script API as the engine
//! really registers it (names, receivers, return types) and the methods Rhai's own
//! packages give arrays, maps and strings.

use std::collections::{BTreeMap, BTreeSet};

use rhai::Engine;

use crate::script::help::{self, Registered};

/// The types of the script API that have methods.
pub const API_TYPES: &[&str] = &["Server", "Service", "Transaction"];

/// Rhai's own global functions worth completing (the packages have hundreds, mostly
/// operators and conversions).
const RHAI_GLOBALS: &[&str] = &[
    "print",
    "debug",
    "type_of",
    "parse_int",
    "parse_float",
    "parse_json",
    "timestamp",
    "range",
    "is_def_var",
    "is_def_fn",
    "Fn",
];

/// Rhai's keywords.
pub const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "for", "in", "while", "loop", "do", "until", "break",
    "continue", "return", "throw", "try", "catch", "switch", "import", "export", "as", "true",
    "false", "private", "this",
];

/// A member of a type: a method (`name(`) or a property (`name`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    pub name: String,
    pub property: bool,
}

impl Member {
    /// The text completion inserts.
    pub fn insert_text(&self) -> String {
        if self.property {
            self.name.clone()
        } else {
            format!("{}(", self.name)
        }
    }
}

/// The functions, methods and properties the REPL completes.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    api: Vec<Registered>,
    /// Methods of Rhai's own types (`array`, `map`, `string`), from its packages.
    builtin_members: BTreeMap<String, BTreeSet<Member>>,
}

impl Catalog {
    /// Reads what `engine` registers.
    pub fn from_engine(engine: &Engine) -> Self {
        let api = help::registered(engine);
        let mut builtin_members: BTreeMap<String, BTreeSet<Member>> = BTreeMap::new();
        for sig in engine.gen_fn_signatures(true) {
            let Some(r) = help::parse_signature(engine, &sig) else {
                continue;
            };
            if matches!(
                r.name.as_str(),
                "print" | "debug" | "to_debug" | "to_string"
            ) {
                continue;
            }
            // Rhai's packages take their first argument by value or by reference; either
            // way it can be called as a method.
            let first = sig
                .split_once('(')
                .map(|(_, rest)| rest.split([',', ')']).next().unwrap_or(""))
                .unwrap_or("");
            let ty = first
                .split_once(": ")
                .map_or(first, |(_, t)| t)
                .trim()
                .trim_start_matches("&mut ")
                .to_string();
            if ["array", "map", "string"].contains(&ty.as_str()) {
                builtin_members.entry(ty).or_default().insert(Member {
                    name: r.name.clone(),
                    property: r.property,
                });
            }
        }
        Self {
            api,
            builtin_members,
        }
    }

    /// Global functions of the script API, plus a few of Rhai's own.
    pub fn globals(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self
            .api
            .iter()
            .filter(|r| r.receiver.is_none())
            .map(|r| r.name.clone())
            .collect();
        out.extend(RHAI_GLOBALS.iter().map(|s| s.to_string()));
        out
    }

    /// The members of a type; for an unknown type (`None`), those of every API type.
    pub fn members(&self, ty: Option<&str>) -> BTreeSet<Member> {
        let api_of = |t: &str| -> Vec<Member> {
            self.api
                .iter()
                .filter(|r| r.receiver.as_deref() == Some(t))
                .filter(|r| !matches!(r.name.as_str(), "to_string" | "to_debug"))
                .map(|r| Member {
                    name: r.name.clone(),
                    property: r.property,
                })
                .collect()
        };
        match ty {
            Some(t) if API_TYPES.contains(&t) => api_of(t).into_iter().collect(),
            Some(t) => self.builtin_members.get(t).cloned().unwrap_or_default(),
            None => API_TYPES.iter().flat_map(|t| api_of(t)).collect(),
        }
    }

    /// The type a global function returns (`kea` → `Server`), when the engine says.
    pub fn function_returns(&self, name: &str) -> Option<String> {
        known(
            self.api
                .iter()
                .filter(|r| r.receiver.is_none() && !r.property && r.name == name)
                .map(|r| r.returns.as_str()),
        )
    }

    /// The type a method or property of `ty` returns (`Server.dhcp4` → `Service`).
    pub fn member_returns(&self, ty: &str, name: &str, property: bool) -> Option<String> {
        known(
            self.api
                .iter()
                .filter(|r| {
                    r.receiver.as_deref() == Some(ty) && r.property == property && r.name == name
                })
                .map(|r| r.returns.as_str()),
        )
    }
}

/// The one type every overload agrees on; `?` (any value) counts as unknown.
fn known<'a>(types: impl Iterator<Item = &'a str>) -> Option<String> {
    let set: BTreeSet<&str> = types.collect();
    match set.len() {
        1 => set
            .into_iter()
            .next()
            .filter(|t| *t != "?")
            .map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    use std::sync::Arc;

    use super::Catalog;
    use crate::kea::Inventory;
    use crate::script::{Limits, RunContext, build_engine};

    pub(crate) fn catalog() -> Catalog {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let ctx = Arc::new(RunContext::new(
            rt.handle().clone(),
            Inventory::builtin(),
            vec![],
        ));
        Catalog::from_engine(&build_engine(ctx, &Limits::default(), None))
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::catalog;
    use super::*;

    #[test]
    fn knows_the_api_and_rhai_members() {
        let c = catalog();
        assert_eq!(c.function_returns("kea").as_deref(), Some("Server"));
        assert_eq!(
            c.member_returns("Server", "dhcp4", true).as_deref(),
            Some("Service")
        );
        assert_eq!(
            c.member_returns("Service", "begin", false).as_deref(),
            Some("Transaction")
        );
        let service = c.members(Some("Service"));
        assert!(service.contains(&Member {
            name: "capabilities".into(),
            property: false
        }));
        assert!(!service.iter().any(|m| m.name == "to_string"));
        let tx = c.members(Some("Transaction"));
        assert!(tx.iter().any(|m| m.name == "commit"));
        assert!(!tx.iter().any(|m| m.name == "capabilities"));
        assert!(c.members(Some("array")).iter().any(|m| m.name == "filter"));
        assert!(c.members(Some("map")).iter().any(|m| m.name == "keys"));
        assert!(c.members(Some("string")).iter().any(|m| m.name == "split"));
        assert!(c.globals().contains("kea"));
        assert!(c.globals().contains("print"));
        assert!(!c.globals().contains("capabilities"));
    }
}
