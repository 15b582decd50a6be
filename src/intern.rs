//! Equal large payloads of one execution stored once.
//!
//! A loop over a big document (a polling loop whose status call answers
//! the same record until the job is done, a worker that hands its input
//! back, a container that gets the same JSON text in every iteration)
//! produces a fresh copy of that document on every turn, and the history
//! keeps every turn: 25,000 events over a 50 KB payload would hold
//! thousands of copies. An execution's [`Interner`] keeps one: a large
//! value equal to one it has seen is replaced by the shared one, and the
//! copy is dropped at once.
//!
//! Equal means equal as JSON text, byte for byte: members in the same
//! order, numbers in the same form (`1` is not `1.0`), so a shared value
//! renders exactly as the copy it replaces would have.

use crate::hash::{FastHasher, FastMap, FastSet};
use serde_json::Value;
use std::hash::Hasher;
use std::sync::Arc;

/// Values whose JSON text is surely shorter than this are not worth
/// comparing: callers keep them as they are.
pub(crate) const MIN_SHARED_BYTES: usize = 1024;

/// Candidates kept per hash: values that collide beyond that are kept as
/// they are (a hostile input cannot make interning quadratic).
const MAX_PER_HASH: usize = 4;

/// The large values an execution has seen, by content.
#[derive(Default, Clone)]
pub(crate) struct Interner {
    by_hash: FastMap<u64, Vec<Arc<Value>>>,
    /// The addresses of the values held: one of them passed again (a
    /// task's result that is also its state's output) is found unhashed.
    held: FastSet<usize>,
}

impl Interner {
    /// `v`, or the equal value seen before when there is one.
    pub(crate) fn share(&mut self, v: Arc<Value>) -> Arc<Value> {
        if self.held.contains(&(Arc::as_ptr(&v) as usize)) {
            return v;
        }
        let candidates = self.by_hash.entry(content_hash(&v)).or_default();
        if let Some(seen) = candidates.iter().find(|c| same(c, &v)) {
            return seen.clone();
        }
        if candidates.len() < MAX_PER_HASH {
            candidates.push(v.clone());
            self.held.insert(Arc::as_ptr(&v) as usize);
        }
        v
    }

    /// How many distinct values it holds.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_hash.values().map(Vec::len).sum()
    }
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Interner({} hashes)", self.by_hash.len())
    }
}

fn content_hash(v: &Value) -> u64 {
    fn walk(v: &Value, h: &mut FastHasher) {
        match v {
            Value::Null => h.write_u8(0),
            Value::Bool(b) => h.write_u8(1 + *b as u8),
            Value::Number(n) => {
                h.write_u8(3);
                match (n.as_u64(), n.as_i64()) {
                    (Some(u), _) => h.write_u64(u),
                    (None, Some(i)) => h.write_u64(i as u64),
                    _ => h.write_u64(n.as_f64().unwrap_or(0.0).to_bits()),
                }
            }
            Value::String(s) => {
                h.write_u8(4);
                h.write_usize(s.len());
                h.write(s.as_bytes());
            }
            Value::Array(a) => {
                h.write_u8(5);
                h.write_usize(a.len());
                a.iter().for_each(|x| walk(x, h));
            }
            Value::Object(m) => {
                h.write_u8(6);
                h.write_usize(m.len());
                for (k, x) in m {
                    h.write_usize(k.len());
                    h.write(k.as_bytes());
                    walk(x, h);
                }
            }
        }
    }
    let mut h = FastHasher::default();
    walk(v, &mut h);
    h.finish()
}

/// Equal as JSON text: members in order, numbers in the same form.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        // a float by its bits (0.0 and -0.0 are two texts), an integer by value
        (Value::Number(x), Value::Number(y)) => match (x.is_f64(), y.is_f64()) {
            (true, true) => x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits),
            (false, false) => x == y,
            _ => false,
        },
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((kp, p), (kq, q))| kp == kq && same(p, q))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn big(extra: Value) -> Value {
        json!({"blob": "x".repeat(2000), "extra": extra})
    }

    #[test]
    fn an_equal_large_value_is_the_one_seen_before() {
        let mut i = Interner::default();
        let a = i.share(Arc::new(big(json!(1))));
        let b = i.share(Arc::new(big(json!(1))));
        assert!(Arc::ptr_eq(&a, &b));
        assert!(Arc::ptr_eq(&i.share(a.clone()), &a));
        assert_eq!(i.len(), 1);
    }

    #[test]
    fn values_that_render_differently_stay_apart() {
        let mut i = Interner::default();
        let one = i.share(Arc::new(big(json!(1))));
        for other in [big(json!(1.0)), big(json!(2)), big(json!("1")), big(json!(-0.0))] {
            let o = i.share(Arc::new(other.clone()));
            assert!(!Arc::ptr_eq(&one, &o), "{other}");
            assert_eq!(*o, other);
        }
        // the same members in another order are another text
        let ab = i.share(Arc::new(json!({"a": "x".repeat(2000), "b": 1})));
        let ba = i.share(Arc::new(json!({"b": 1, "a": "x".repeat(2000)})));
        assert!(!Arc::ptr_eq(&ab, &ba));
        assert_eq!(
            crate::json::to_json_string(&ba),
            format!(r#"{{"b":1,"a":"{}"}}"#, "x".repeat(2000))
        );
        // 0.0 and -0.0 are two texts too
        let z = i.share(Arc::new(big(json!(0.0))));
        let nz = i.share(Arc::new(big(json!(-0.0))));
        assert!(!Arc::ptr_eq(&z, &nz));
    }

    #[test]
    fn a_full_bucket_keeps_new_values_as_they_are() {
        let mut i = Interner::default();
        let first: Vec<_> =
            (0..MAX_PER_HASH + 2).map(|n| i.share(Arc::new(big(json!(n))))).collect();
        assert!(i.len() <= first.len());
        for (n, v) in first.iter().enumerate() {
            assert_eq!(**v, big(json!(n)));
        }
    }

    fn json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            (-3i64..3).prop_map(Value::from),
            prop_oneof![Just(0.0), Just(-0.0), Just(1.0), Just(0.5)].prop_map(Value::from),
            "[ab]{0,2}".prop_map(Value::from),
            (0usize..3).prop_map(|n| Value::from("y".repeat(400 * n))),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(("[ab]", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        // what is shared renders exactly as what it replaces, and a large
        // value with the same text as one seen is that one
        #[test]
        fn sharing_keeps_the_json_text(a in json(), b in json()) {
            let mut i = Interner::default();
            let (ta, tb) = (crate::json::to_json_string(&a), crate::json::to_json_string(&b));
            let sa = i.share(Arc::new(a));
            let sb = i.share(Arc::new(b));
            proptest::prop_assert_eq!(crate::json::to_json_string(&sb), tb.clone());
            if Arc::ptr_eq(&sa, &sb) {
                proptest::prop_assert_eq!(&ta, &tb);
            } else {
                proptest::prop_assert!(ta != tb);
            }
        }
    }
}
