//! JSON as AWS writes it, shared by every layer: compact strings for
//! payloads in histories and causes, and a value shown the way AWS quotes it
//! in error messages.

use serde_json::Value;

/// Serializes a payload the way AWS writes JSON strings (compact).
///
/// ```text
/// to_json_string(&json!({"a": [1, "x"]})) == r#"{"a":[1,"x"]}"#
/// ```
pub(crate) fn to_json_string(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The field `key` of an object. Payload objects are small, and comparing a
/// few keys costs less than hashing one (serde_json's ordered maps hash every
/// lookup), so small objects are scanned; keys are unique, so the answer is
/// the same.
pub(crate) fn field<'a>(m: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    const SCAN: usize = 8;
    if m.len() <= SCAN {
        m.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        m.get(key)
    }
}

/// [`field`] of a value that may be an object.
pub(crate) fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    match v {
        Value::Object(m) => field(m, key),
        _ => None,
    }
}

/// A value as AWS quotes it in a message: a string as it is, anything else
/// as compact JSON.
pub(crate) fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => to_json_string(other),
    }
}

/// Detail fields that differ between any two runs, which comparisons with
/// a recording leave out (as `score.py` does): role and map-run ARNs,
/// credentials, times.
pub(crate) const VOLATILE_KEYS: [&str; 6] = [
    "roleArn",
    "mapRunArn",
    "taskCredentials",
    "timestamp",
    "stateMachineAliasArn",
    "stateMachineVersionArn",
];

/// Fields whose value is JSON text, compared as parsed JSON.
pub(crate) const JSON_TEXT_KEYS: [&str; 5] = ["input", "output", "parameters", "cause", "result"];

/// A string that holds JSON, parsed; anything else as it is.
pub(crate) fn maybe_json(v: &Value) -> Value {
    if let Value::String(s) = v {
        let t = s.trim();
        let looks = t.starts_with(['{', '[', '"'])
            || matches!(t, "true" | "false" | "null")
            || t.parse::<f64>().is_ok();
        if looks {
            if let Ok(p) = serde_json::from_str(t) {
                return p;
            }
        }
    }
    v.clone()
}

/// Whether `act` matches the recorded `exp`, by the rules of the
/// conformance scorer (`score.py`): equal as JSON, numbers by value, JSON
/// text (under `key` in [`JSON_TEXT_KEYS`]) parsed, [`VOLATILE_KEYS`] left
/// out, and recorded placeholders standing for any text.
pub(crate) fn recorded_match(exp: &Value, act: &Value, key: Option<&str>) -> bool {
    let (exp, act) = if key.is_some_and(|k| JSON_TEXT_KEYS.contains(&k)) {
        (maybe_json(exp), maybe_json(act))
    } else {
        (exp.clone(), act.clone())
    };
    match (&exp, &act) {
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Bool(_), _) | (_, Value::Bool(_)) => false,
        (Value::Number(a), Value::Number(b)) => a.as_f64() == b.as_f64(),
        (Value::String(e), Value::String(a)) => e == a || placeholder_match(e, a),
        (Value::String(_), _) => {
            // a recorded JSON string the recorder left unparsed
            let parsed = maybe_json(&exp);
            parsed != exp && recorded_match(&parsed, &act, None)
        }
        (Value::Object(e), Value::Object(a)) => {
            let ek: Vec<&String> =
                e.keys().filter(|k| !VOLATILE_KEYS.contains(&k.as_str())).collect();
            let ak: Vec<&String> =
                a.keys().filter(|k| !VOLATILE_KEYS.contains(&k.as_str())).collect();
            ek.len() == ak.len()
                && ek
                    .iter()
                    .all(|k| a.get(*k).is_some_and(|av| recorded_match(&e[*k], av, Some(k))))
        }
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(x, y)| recorded_match(x, y, None))
        }
        _ => exp == act,
    }
}

/// Whether `act` matches `exp` where `exp` holds placeholders (`<uuid:1>`,
/// `<region>` — angle brackets around text without spaces — or the account
/// `111111111111`, what recordings redact), each standing for any text. A
/// string without placeholders matches nothing here (compare it directly).
pub(crate) fn placeholder_match(exp: &str, act: &str) -> bool {
    let mut parts = Vec::new();
    let mut rest = exp;
    loop {
        let ph = rest.find("111111111111").map(|i| (i, 12));
        let angle = rest.char_indices().find_map(|(i, c)| {
            if c != '<' {
                return None;
            }
            let tail = &rest[i + 1..];
            let end = tail.find(|c: char| c == '>' || c == '<' || c.is_whitespace())?;
            (tail.as_bytes()[end] == b'>' && end > 0).then_some((i, end + 2))
        });
        let next = match (ph, angle) {
            (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
            (a, b) => a.or(b),
        };
        match next {
            Some((i, len)) => {
                parts.push(&rest[..i]);
                rest = &rest[i + len..];
            }
            None => {
                parts.push(rest);
                break;
            }
        }
    }
    if parts.len() == 1 {
        return false;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !act.starts_with(first)
        || !act[first.len()..].ends_with(last)
        || act.len() < first.len() + last.len()
    {
        return false;
    }
    let mut pos = first.len();
    let end = act.len() - last.len();
    for p in &parts[1..parts.len() - 1] {
        match act[pos..end].find(p) {
            Some(i) => pos += i + p.len(),
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_finds_keys_in_small_and_large_objects() {
        for n in [0, 1, 8, 9, 40] {
            let m: serde_json::Map<String, Value> =
                (0..n).map(|i| (format!("k{i}"), Value::from(i))).collect();
            for i in 0..n {
                assert_eq!(field(&m, &format!("k{i}")), Some(&Value::from(i)));
            }
            assert_eq!(field(&m, "nope"), None);
        }
        assert_eq!(get(&Value::from(1), "k"), None);
    }
    use serde_json::json;

    #[test]
    fn compact_and_shown() {
        assert_eq!(to_json_string(&json!({"a": [1, "x"]})), r#"{"a":[1,"x"]}"#);
        assert_eq!(shown(&json!("x")), "x");
        assert_eq!(shown(&json!([1])), "[1]");
    }
}
