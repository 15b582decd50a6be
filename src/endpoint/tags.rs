//! Tags on state machines and activities: TagResource, UntagResource,
//! ListTagsForResource, and `tags` on CreateStateMachine / CreateActivity.
//! Tags keep the order they were first given in; a key given again takes
//! its new value; a resource holds at most 50 (AWS's quota).

use super::{err, ApiError};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// How many tags one resource may hold.
const MAX_TAGS: usize = 50;

#[derive(Default)]
pub(super) struct Tags {
    by_arn: Mutex<BTreeMap<String, Vec<(String, String)>>>,
}

/// The `tags` list of a request, checked as the API reference says (keys
/// of 1 to 128 characters, values of at most 256).
pub(super) fn parse(req: &Value, field: &str) -> Result<Vec<(String, String)>, ApiError> {
    let Some(list) = req.get(field) else { return Ok(Vec::new()) };
    let list = list.as_array().ok_or_else(|| invalid(field, "Member must be a list"))?;
    list.iter()
        .enumerate()
        .map(|(i, t)| {
            let key = t.get("key").and_then(Value::as_str).unwrap_or_default();
            let value = match t.get("value") {
                None | Some(Value::Null) => "",
                Some(Value::String(s)) => s,
                Some(_) => return Err(invalid(&format!("{field}.{}.member.value", i + 1), "Member must be a string")),
            };
            if key.is_empty() || key.chars().count() > 128 {
                return Err(invalid(
                    &format!("{field}.{}.member.key", i + 1),
                    "Member must have length less than or equal to 128 and greater than or equal to 1",
                ));
            }
            if value.chars().count() > 256 {
                return Err(invalid(
                    &format!("{field}.{}.member.value", i + 1),
                    "Member must have length less than or equal to 256",
                ));
            }
            Ok((key.to_string(), value.to_string()))
        })
        .collect()
}

fn invalid(at: &str, constraint: &str) -> ApiError {
    err(
        "ValidationException",
        format!("1 validation error detected: Value at '{at}' failed to satisfy constraint: {constraint}"),
    )
}

impl Tags {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<(String, String)>>> {
        self.by_arn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `tags` would fit on `arn` (checked before the resource is made).
    pub(super) fn fits(&self, arn: &str, tags: &[(String, String)]) -> Result<(), ApiError> {
        let lock = self.lock();
        let mut keys: Vec<&str> =
            lock.get(arn).into_iter().flatten().map(|(k, _)| k.as_str()).collect();
        for (k, _) in tags {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        if keys.len() > MAX_TAGS {
            return Err(err(
                "TooManyTags",
                format!("Too many tags: '{arn}' may have at most {MAX_TAGS} tags"),
            ));
        }
        Ok(())
    }

    /// Adds `tags` to `arn` (a key given again takes its new value).
    pub(super) fn tag(&self, arn: &str, tags: Vec<(String, String)>) -> Result<(), ApiError> {
        self.fits(arn, &tags)?;
        let mut lock = self.lock();
        let have = lock.entry(arn.to_string()).or_default();
        for (k, v) in tags {
            match have.iter_mut().find(|(hk, _)| *hk == k) {
                Some(slot) => slot.1 = v,
                None => have.push((k, v)),
            }
        }
        Ok(())
    }

    pub(super) fn untag(&self, arn: &str, keys: &[&str]) {
        if let Some(have) = self.lock().get_mut(arn) {
            have.retain(|(k, _)| !keys.contains(&k.as_str()));
        }
    }

    pub(super) fn list(&self, arn: &str) -> Value {
        let lock = self.lock();
        let tags: Vec<Value> = lock
            .get(arn)
            .into_iter()
            .flatten()
            .map(|(k, v)| json!({"key": k, "value": v}))
            .collect();
        json!({"tags": tags})
    }

    /// Forgets a deleted resource's tags.
    pub(super) fn forget(&self, arn: &str) {
        self.lock().remove(arn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn tags_keep_their_order_and_a_key_given_again_takes_its_new_value() {
        let t = Tags::default();
        t.tag("a", tags(&[("k1", "v1"), ("k2", "v2"), ("k1", "v1b")])).unwrap();
        t.tag("a", tags(&[("k3", ""), ("k2", "v2b")])).unwrap();
        assert_eq!(
            t.list("a"),
            json!({"tags": [{"key": "k1", "value": "v1b"}, {"key": "k2", "value": "v2b"}, {"key": "k3", "value": ""}]})
        );
        t.untag("a", &["k2", "nope"]);
        assert_eq!(t.list("a")["tags"].as_array().unwrap().len(), 2);
        assert_eq!(t.list("b"), json!({"tags": []}));
    }

    #[test]
    fn at_most_fifty_tags_and_keys_of_one_to_128_characters() {
        let t = Tags::default();
        let fifty: Vec<(String, String)> =
            (0..50).map(|i| (format!("k{i}"), String::new())).collect();
        t.tag("a", fifty.clone()).unwrap();
        t.tag("a", tags(&[("k0", "again")])).unwrap();
        assert_eq!(t.tag("a", tags(&[("k50", "")])).unwrap_err().kind, "TooManyTags");
        let e = parse(&json!({"tags": [{"key": "", "value": "v"}]}), "tags").unwrap_err();
        assert_eq!(e.kind, "ValidationException");
        assert!(e.message.contains("'tags.1.member.key'"), "{}", e.message);
        let e =
            parse(&json!({"tags": [{"key": "k", "value": "v".repeat(257)}]}), "tags").unwrap_err();
        assert!(e.message.contains("'tags.1.member.value'"), "{}", e.message);
        assert_eq!(parse(&json!({"tags": [{"key": "k"}]}), "tags").unwrap(), tags(&[("k", "")]));
    }
}
