//! JSON as AWS writes it, shared by every layer: compact strings for
//! payloads in histories and causes, and a value shown the way AWS quotes it
//! in error messages.

use serde_json::Value;

/// Serializes a payload the way AWS writes JSON strings (compact).
///
/// ```text
/// to_json_string(&json!({"a": [1, "x"]})) == r#"{"a":[1,"x"]}"#
/// ```
pub fn to_json_string(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// A value as AWS quotes it in a message: a string as it is, anything else
/// as compact JSON.
pub fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => to_json_string(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn compact_and_shown() {
        assert_eq!(to_json_string(&json!({"a": [1, "x"]})), r#"{"a":[1,"x"]}"#);
        assert_eq!(shown(&json!("x")), "x");
        assert_eq!(shown(&json!([1])), "[1]");
    }
}
