//! Proptest strategies over what a scenario can vary: interleavings, seeds,
//! failure schedules and inputs shaped like an example.

use super::schedule::{Schedule, Scheduled};
use proptest::prelude::*;
use serde_json::Value;

/// Interleaving seeds (see [`Harness::interleaving`](crate::Harness::interleaving)):
/// shrinking goes toward 0, the natural order.
pub fn interleavings() -> impl Strategy<Value = u64> {
    proptest::num::u64::ANY
}

/// Seeds of ids, tokens and random draws (see [`Harness::seed`](crate::Harness::seed)).
pub fn seeds() -> impl Strategy<Value = u64> {
    proptest::num::u64::ANY
}

/// Failure schedules of up to `max_len` invocations: mostly successes, and
/// failures with an error from `errors`, timeouts and silences. Shrinking
/// removes invocations and turns failures into successes, so a failing
/// property ends at the smallest schedule that still fails it.
pub fn schedules(errors: &[&str], max_len: usize) -> impl Strategy<Value = Schedule> {
    let errors: Vec<String> = if errors.is_empty() {
        vec!["States.TaskFailed".to_string()]
    } else {
        errors.iter().map(|e| e.to_string()).collect()
    };
    let one = prop_oneof![
        6 => Just(Scheduled::Succeed),
        2 => proptest::sample::select(errors).prop_map(Scheduled::Fail),
        1 => Just(Scheduled::TimeOut),
        1 => Just(Scheduled::Silence),
    ];
    proptest::collection::vec(one, 0..=max_len).prop_map(Schedule)
}

/// JSON values shaped like `example`: the same keys, numbers and strings
/// varied (integers stay integers), arrays of 0 to twice the example's
/// length built from its first element.
pub fn inputs_like(example: &Value) -> BoxedStrategy<Value> {
    match example {
        Value::Null => Just(Value::Null).boxed(),
        Value::Bool(_) => any::<bool>().prop_map(Value::Bool).boxed(),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            (-1000i64..1000).prop_map(Value::from).boxed()
        }
        Value::Number(_) => (-1000.0f64..1000.0).prop_map(Value::from).boxed(),
        Value::String(_) => "[a-z0-9 ]{0,12}".prop_map(Value::String).boxed(),
        Value::Array(a) => match a.first() {
            None => Just(Value::Array(Vec::new())).boxed(),
            Some(first) => proptest::collection::vec(inputs_like(first), 0..=(2 * a.len()).max(1))
                .prop_map(Value::Array)
                .boxed(),
        },
        Value::Object(m) => {
            let fields: Vec<(String, BoxedStrategy<Value>)> =
                m.iter().map(|(k, v)| (k.clone(), inputs_like(v))).collect();
            let keys: Vec<String> = fields.iter().map(|(k, _)| k.clone()).collect();
            let values: Vec<BoxedStrategy<Value>> = fields.into_iter().map(|(_, s)| s).collect();
            values.prop_map(move |vs| Value::Object(keys.iter().cloned().zip(vs).collect())).boxed()
        }
    }
}
