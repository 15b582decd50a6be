//! Definition text to JSON in one pass, noting what a JSON parser would
//! silently merge: a state name given twice in a machine's `States` (the
//! last one wins in the JSON value, as it would on upload; AWS refuses it).

use super::diagnostic::{code, token, Diagnostic, Severity};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// The JSON of `text`, and a DUPLICATE_STATE_NAME diagnostic (with its JSON
/// pointer) for each state name a machine's `States` repeats.
pub(crate) fn read(text: &str) -> Result<(Value, Vec<Diagnostic>), serde_json::Error> {
    let mut de = serde_json::Deserializer::from_str(text);
    let mut reader = Reader { path: Vec::new(), duplicates: Vec::new() };
    let v = (&mut reader).deserialize(&mut de)?;
    de.end()?;
    Ok((v, reader.duplicates))
}

struct Reader {
    /// The pointer's tokens to the value being read.
    path: Vec<String>,
    duplicates: Vec<Diagnostic>,
}

impl Reader {
    /// Whether the object being read is a machine's `States`: under the
    /// top level, a Parallel's branch, or a Map's ItemProcessor / Iterator
    /// (not a `States` key inside Parameters or Arguments).
    fn in_states(&self) -> bool {
        let p: Vec<&str> = self.path.iter().map(String::as_str).collect();
        match p.as_slice() {
            ["States"] => true,
            [.., "States", _state, "ItemProcessor" | "Iterator", "States"] => true,
            [.., "States", _state, "Branches", i, "States"] => i.parse::<usize>().is_ok(),
            _ => false,
        }
    }

    fn pointer(&self, key: &str) -> String {
        let mut loc: String = self.path.iter().map(|p| format!("/{}", token(p))).collect();
        loc.push('/');
        loc.push_str(&token(key));
        loc
    }
}

impl<'de> DeserializeSeed<'de> for &mut Reader {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for &mut Reader {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            self.path.push(out.len().to_string());
            let item = seq.next_element_seed(&mut *self);
            self.path.pop();
            match item? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let states = self.in_states();
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if states && out.contains_key(&key) {
                self.duplicates.push(Diagnostic {
                    severity: Severity::Error,
                    code: code::DUPLICATE_STATE_NAME,
                    location: self.pointer(&key),
                    message: format!("state name '{key}' appears more than once"),
                });
            }
            self.path.push(key);
            let v = map.next_value_seed(&mut *self);
            let key = self.path.pop().unwrap_or_default();
            out.insert(key, v?);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn locations(text: &str) -> Vec<String> {
        read(text).unwrap().1.into_iter().map(|d| d.location).collect()
    }

    #[test]
    fn a_repeated_state_name_is_found_with_its_pointer() {
        assert_eq!(
            locations(
                r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"A":{"Type":"Succeed"}}}"#
            ),
            ["/States/A"]
        );
        // inside a Parallel's branch: the branch's index is part of the pointer
        let parallel = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","End":true,"Branches":[
            {"StartAt":"X","States":{"X":{"Type":"Succeed"}}},
            {"StartAt":"Y","States":{"Y":{"Type":"Succeed"},"Y":{"Type":"Succeed"}}}]}}}"#;
        assert_eq!(locations(parallel), ["/States/P/Branches/1/States/Y"]);
        let map = r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":
            {"StartAt":"Z","States":{"Z":{"Type":"Succeed"},"Z":{"Type":"Succeed"}}}}}}"#;
        assert_eq!(locations(map), ["/States/M/ItemProcessor/States/Z"]);
    }

    #[test]
    fn a_parameter_object_named_states_is_no_machine() {
        let text = r#"{"StartAt":"T","States":{"T":{"Type":"Pass","End":true,
            "Parameters":{"States":{"a":1,"a":2}}}}}"#;
        assert_eq!(locations(text), Vec::<String>::new());
    }

    #[test]
    fn it_reads_json_as_serde_json_does() {
        // a number out of range: serde_json refuses it, and so does the reader
        assert!(read("[1e400]").is_err() && serde_json::from_str::<Value>("[1e400]").is_err());
        let text = r#"{"a":[1,-2,3.5,"x\u00e9",true,null,{"b":{}}],"c":18446744073709551615}"#;
        assert_eq!(read(text).unwrap().0, serde_json::from_str::<Value>(text).unwrap());
        assert!(read(r#"{"a":1} x"#).is_err());
        assert!(read(&"[".repeat(10_000)).is_err());
    }
}
