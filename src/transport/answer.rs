//! The command envelope Kea reads and the answer it writes.

use serde_json::{Map, Value};

use super::{TransportError, wire};

/// One command as Kea reads it: `{"command", "service", "arguments"}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub command: String,
    /// The daemon a Control Agent forwards to (`dhcp4`, `dhcp6`, `d2`); `None` for the
    /// agent itself, and ignored by daemon endpoints.
    pub service: Option<String>,
    pub arguments: Option<Value>,
}

impl Request {
    pub fn new(command: impl Into<String>) -> Self {
        Self {
            command: command.into(),
            service: None,
            arguments: None,
        }
    }

    pub fn service(mut self, service: Option<&str>) -> Self {
        self.service = service.map(str::to_owned);
        self
    }

    pub fn arguments(mut self, arguments: Option<Value>) -> Self {
        self.arguments = arguments;
        self
    }

    /// The bytes to send, as Kea reads them ([`wire::encode`]); refused when Kea could not
    /// give its arguments back ([`wire::check_sendable`]), so nothing is sent.
    pub fn encode(&self, with_service: bool) -> Result<Vec<u8>, TransportError> {
        self.as_ref().encode(with_service)
    }

    /// The JSON body; `service` is included only when `with_service` is set.
    pub fn to_json(&self, with_service: bool) -> Value {
        let mut m = Map::new();
        m.insert("command".into(), Value::String(self.command.clone()));
        if with_service && let Some(s) = &self.service {
            m.insert(
                "service".into(),
                Value::Array(vec![Value::String(s.clone())]),
            );
        }
        if let Some(a) = &self.arguments {
            m.insert("arguments".into(), a.clone());
        }
        Value::Object(m)
    }

    /// The same command, borrowed.
    pub fn as_ref(&self) -> RequestRef<'_> {
        RequestRef {
            command: &self.command,
            service: self.service.as_deref(),
            arguments: self.arguments.as_ref(),
        }
    }
}

/// One command whose parts are borrowed: a whole configuration is sent as it is, never
/// copied into an envelope first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestRef<'a> {
    pub command: &'a str,
    pub service: Option<&'a str>,
    pub arguments: Option<&'a Value>,
}

/// The envelope as it is written: keys in the order serde_json writes a map's.
#[derive(serde::Serialize)]
struct Envelope<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    arguments: Option<&'a Value>,
    command: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<[&'a str; 1]>,
}

impl RequestRef<'_> {
    /// The bytes to send (see [`Request::encode`]), serialised from the borrowed parts.
    pub fn encode(&self, with_service: bool) -> Result<Vec<u8>, TransportError> {
        if let Some(a) = self.arguments {
            wire::check_sendable(a).map_err(|u| TransportError::Unsendable {
                command: self.command.to_string(),
                what: u.to_string(),
            })?;
        }
        let envelope = Envelope {
            arguments: self.arguments,
            command: self.command,
            service: if with_service {
                self.service.map(|s| [s])
            } else {
                None
            },
        };
        Ok(wire::encode(&envelope))
    }
}

/// Kea's answer to one command, normalised across endpoints.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// Kea's result code (0–5), or the HTTP status (400, 401, 403) of a bare-map HTTP error.
    pub result: i64,
    pub text: Option<String>,
    pub arguments: Option<Value>,
    /// A digest of the answer's bytes as they came ([`wire::digest`]): two answers with the
    /// same digest said the same thing, byte for byte.
    pub digest: u64,
}

impl Answer {
    /// Reads one answer object `{"result", "text", "arguments"}`.
    pub fn from_object(v: Value) -> Result<Self, TransportError> {
        let Value::Object(mut m) = v else {
            return Err(TransportError::BadAnswer(format!(
                "expected a JSON object, got {}",
                kind_of(&v)
            )));
        };
        let result = m.get("result").and_then(Value::as_i64).ok_or_else(|| {
            TransportError::BadAnswer("the answer has no integer 'result'".into())
        })?;
        // Kea's text is shown to people: the server must not drive their terminal with it.
        let text = match m.remove("text") {
            Some(Value::String(s)) => Some(match super::printable(&s) {
                std::borrow::Cow::Borrowed(_) => s,
                std::borrow::Cow::Owned(p) => p,
            }),
            _ => None,
        };
        Ok(Self {
            result,
            text,
            arguments: m.remove("arguments"),
            digest: 0,
        })
    }

    /// Reads an HTTP answer body: an array (one element per service, we send at most one),
    /// or a bare map (HTTP-level errors such as 400/401/403).
    pub fn from_http_body(v: Value) -> Result<Self, TransportError> {
        match v {
            Value::Array(mut items) => {
                if items.is_empty() {
                    return Err(TransportError::BadAnswer(
                        "the answer is an empty array".into(),
                    ));
                }
                Self::from_object(items.swap_remove(0))
            }
            other => Self::from_object(other),
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn array_answers_take_the_first_element() {
        let a = Answer::from_http_body(json!([{"result": 0, "text": "ok", "arguments": {"x": 1}}]))
            .unwrap();
        assert_eq!(a.result, 0);
        assert_eq!(a.text.as_deref(), Some("ok"));
        assert_eq!(a.arguments, Some(json!({"x": 1})));
    }

    #[test]
    fn bare_map_answers_are_read_as_is() {
        let a = Answer::from_http_body(json!({"result": 401, "text": "Unauthorized"})).unwrap();
        assert_eq!(a.result, 401);
    }

    #[test]
    fn answers_without_result_are_bad() {
        assert!(matches!(
            Answer::from_http_body(json!([{"text": "x"}])),
            Err(TransportError::BadAnswer(_))
        ));
        assert!(matches!(
            Answer::from_http_body(json!([])),
            Err(TransportError::BadAnswer(_))
        ));
        assert!(matches!(
            Answer::from_http_body(json!("hello")),
            Err(TransportError::BadAnswer(_))
        ));
    }

    #[test]
    fn service_is_sent_as_a_list_only_when_asked() {
        let r = Request::new("config-get").service(Some("dhcp4"));
        assert_eq!(
            r.to_json(true),
            json!({"command": "config-get", "service": ["dhcp4"]})
        );
        assert_eq!(r.to_json(false), json!({"command": "config-get"}));
    }

    #[test]
    fn the_borrowed_envelope_writes_the_same_bytes() {
        let r = Request::new("config-set")
            .service(Some("dhcp4"))
            .arguments(Some(json!({"Dhcp4": {"x": "Büro"}})));
        for with_service in [true, false] {
            assert_eq!(
                r.encode(with_service).unwrap(),
                wire::encode(&r.to_json(with_service))
            );
        }
        let bare = Request::new("config-get");
        assert_eq!(bare.encode(true).unwrap(), br#"{"command":"config-get"}"#);
    }
}
