//! Results as an admin reads them: maps and arrays one item a line when they do not fit on
//! one, long arrays shortened with a count, strings at the top level as plain text. A value
//! nested deeper than the engine's nesting limit is refused, not shown (showing recurses).

use rhai::{Array, Dynamic, Map};

use crate::kea::redact;

/// How to show values.
pub struct Show<'a> {
    /// Text for a value of a registered type (`Server(lab at …)`), when there is one.
    pub custom: &'a dyn Fn(&Dynamic) -> Option<String>,
    /// Arrays longer than this are shortened.
    pub max_items: usize,
    /// Lines longer than this are broken up.
    pub width: usize,
    /// Values with arrays or maps nested deeper than this are not shown.
    pub max_depth: usize,
}

impl Show<'_> {
    /// The text of a result. A string at the top level is shown as it is (so a diff reads
    /// as a diff); everything else as Rhai would write it. Secrets never show: values
    /// under secret keys (`kea::redact`) read `[redacted]`, and secrets loaded by this
    /// process and URL passwords are scrubbed from the text. An error names the nesting
    /// limit when the value is nested deeper.
    pub fn show(&self, v: &Dynamic) -> Result<String, String> {
        if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
            return Ok(redact::text(s.as_str()).into_owned());
        }
        if crate::script::nested_deeper_than(v, self.max_depth) {
            return Err(format!(
                "cannot show a value nested more than {} levels deep (the nesting limit); \
                 look at a part of it",
                self.max_depth
            ));
        }
        let text = if has_secret(v, false) {
            self.render(&redacted(v, false), 0)
        } else {
            self.render(v, 0)
        };
        Ok(redact::text(&text).into_owned())
    }

    fn render(&self, v: &Dynamic, indent: usize) -> String {
        let flat = self.flat(v);
        if indent + flat.chars().count() <= self.width || !(v.is_map() || v.is_array()) {
            return flat;
        }
        let pad = " ".repeat(indent + 2);
        let end = " ".repeat(indent);
        if let Some(m) = v.read_lock::<Map>() {
            let mut out = String::from("#{\n");
            for (k, val) in m.iter() {
                out.push_str(&format!(
                    "{pad}{}: {},\n",
                    key(k),
                    self.render(val, indent + 2)
                ));
            }
            out.push_str(&end);
            out.push('}');
            return out;
        }
        if let Some(a) = v.read_lock::<Array>() {
            let mut out = String::from("[\n");
            for val in a.iter().take(self.max_items) {
                out.push_str(&format!("{pad}{},\n", self.render(val, indent + 2)));
            }
            if a.len() > self.max_items {
                out.push_str(&format!("{pad}{}\n", self.more(a.len())));
            }
            out.push_str(&end);
            out.push(']');
            return out;
        }
        flat
    }

    fn more(&self, len: usize) -> String {
        format!("... {} more, {len} in all", len - self.max_items)
    }

    /// On one line.
    fn flat(&self, v: &Dynamic) -> String {
        if v.is_unit() {
            return "()".into();
        }
        if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
            return format!("{:?}", s.as_str());
        }
        if let Some(m) = v.read_lock::<Map>() {
            if m.is_empty() {
                return "#{}".into();
            }
            let items: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}: {}", key(k), self.flat(v)))
                .collect();
            return format!("#{{ {} }}", items.join(", "));
        }
        if let Some(a) = v.read_lock::<Array>() {
            let mut items: Vec<String> = a
                .iter()
                .take(self.max_items)
                .map(|v| self.flat(v))
                .collect();
            if a.len() > self.max_items {
                items.push(self.more(a.len()));
            }
            return format!("[{}]", items.join(", "));
        }
        if v.is_int() || v.is_float() || v.is_bool() || v.is_char() {
            return v.to_string();
        }
        if let Some(text) = (self.custom)(v) {
            return text;
        }
        format!("{v:?}")
    }
}

/// Does a value hold a map key whose value must not show?
fn has_secret(v: &Dynamic, credentials: bool) -> bool {
    if let Some(m) = v.read_lock::<Map>() {
        return m.iter().any(|(k, x)| {
            (!x.is_unit() && redact::is_secret_key_in(k, credentials))
                || has_secret(x, credentials || redact::is_credential_container(k))
        });
    }
    if let Some(a) = v.read_lock::<Array>() {
        return a.iter().any(|x| has_secret(x, credentials));
    }
    false
}

/// `v` with the values of secret keys replaced by `[redacted]` (`kea::redact`'s rule).
fn redacted(v: &Dynamic, credentials: bool) -> Dynamic {
    if let Some(m) = v.read_lock::<Map>() {
        let out: Map = m
            .iter()
            .map(|(k, x)| {
                let x = if !x.is_unit() && redact::is_secret_key_in(k, credentials) {
                    Dynamic::from(redact::REDACTED)
                } else {
                    redacted(x, credentials || redact::is_credential_container(k))
                };
                (k.clone(), x)
            })
            .collect();
        return out.into();
    }
    if let Some(a) = v.read_lock::<Array>() {
        return a
            .iter()
            .map(|x| redacted(x, credentials))
            .collect::<Array>()
            .into();
    }
    v.clone()
}

/// A map key: bare when it is an identifier, else quoted (`"valid-lifetime"`).
fn key(k: &str) -> String {
    let ident = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ident {
        k.to_string()
    } else {
        format!("{k:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn show(v: Dynamic) -> String {
        let custom = |_: &Dynamic| None;
        Show {
            custom: &custom,
            max_items: 3,
            width: 40,
            max_depth: 10,
        }
        .show(&v)
        .unwrap()
    }

    fn eval(s: &str) -> Dynamic {
        rhai::Engine::new().eval::<Dynamic>(s).unwrap()
    }

    #[test]
    fn secrets_never_show() {
        let v = eval(
            "#{ Dhcp4: #{ \"lease-database\": #{ user: \"kea\", password: \"show-pw-1\", key: \"show-k\" } }, api_token: \"show-tok\", key: \"10.0.0.0/24\", none: #{ password: () } }",
        );
        let s = show(v);
        for secret in ["show-pw-1", "show-k", "show-tok"] {
            assert!(!s.contains(secret), "{secret} in {s}");
        }
        assert!(
            s.contains("[redacted]") && s.contains("10.0.0.0/24") && s.contains("password: ()"),
            "{s}"
        );
        let _s = crate::transport::Secret::new("show-loaded-secret");
        assert_eq!(show(eval("\"is show-loaded-secret\"")), "is [redacted]");
        assert_eq!(show(eval("[\"show-loaded-secret\"]")), "[\"[redacted]\"]");
    }

    #[test]
    fn small_values_stay_on_one_line() {
        assert_eq!(show(eval("#{ a: 1, b: \"x\" }")), "#{ a: 1, b: \"x\" }");
        assert_eq!(show(eval("[1, 2]")), "[1, 2]");
        assert_eq!(show(eval("()")), "()");
        assert_eq!(show(eval("#{}")), "#{}");
        assert_eq!(
            show(eval("#{ \"valid-lifetime\": 4000 }")),
            "#{ \"valid-lifetime\": 4000 }"
        );
        // Top-level strings are plain text.
        assert_eq!(show(eval("\"2.2.0\"")), "2.2.0");
        assert_eq!(show(eval("\"a\\nb\"")), "a\nb");
        assert_eq!(show(eval("[\"a\"]")), "[\"a\"]");
    }

    #[test]
    fn big_values_are_broken_up_and_long_lists_shortened() {
        let v = eval(
            "#{ subnet: \"10.1.0.0/24\", pools: [#{ pool: \"10.1.0.10-10.1.0.99\" }], id: 1, valid_lifetime: 4000 }",
        );
        assert_eq!(
            show(v),
            "#{\n  id: 1,\n  pools: [#{ pool: \"10.1.0.10-10.1.0.99\" }],\n  subnet: \"10.1.0.0/24\",\n  valid_lifetime: 4000,\n}"
        );
        assert_eq!(
            show(eval("[1, 2, 3, 4, 5]")),
            "[1, 2, 3, ... 2 more, 5 in all]"
        );
        let long = show(eval(
            "let a = []; for i in 0..1000 { a.push(\"item number \" + i) } a",
        ));
        assert_eq!(
            long,
            "[\n  \"item number 0\",\n  \"item number 1\",\n  \"item number 2\",\n  ... 997 more, 1000 in all\n]"
        );
    }
}

#[cfg(test)]
mod depth_tests {
    use super::*;

    #[test]
    fn values_nested_past_the_limit_are_refused_not_shown() {
        let custom = |_: &Dynamic| None;
        let show = Show {
            custom: &custom,
            max_items: 20,
            width: 100,
            max_depth: 1000,
        };
        let mut v = Dynamic::from_int(1);
        for _ in 0..1000 {
            v = Dynamic::from_array(vec![v]);
        }
        let text = show.show(&v).expect("at the limit is shown");
        assert!(
            text.starts_with("[\n"),
            "broken into lines: {}",
            &text[..20]
        );
        // 20,000 levels: rendering would overflow the stack; the check stops at the limit.
        for _ in 1000..20_000 {
            v = Dynamic::from_array(vec![v]);
        }
        let err = show.show(&v).unwrap_err();
        assert!(
            err.contains("more than 1000 levels deep (the nesting limit)"),
            "{err}"
        );
        while let Ok(mut a) = v.try_cast_result::<Array>() {
            v = a.pop().unwrap_or(Dynamic::UNIT);
        }
    }
}
