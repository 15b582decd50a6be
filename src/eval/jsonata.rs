//! Evaluating JSONata: the adapter around jsonata-core. It binds `$states`
//! (input, result, errorOutput, context) and the variables an expression
//! reads, adds Step Functions' own functions (`$partition`, `$range`,
//! `$hash`, `$random`, `$uuid`, `$parse`; `$eval` is not available, as on
//! AWS), draws randomness from the execution's seeded generator, reads the
//! virtual clock for `$now` / `$millis`, and turns errors and values JSON
//! cannot hold into `States.QueryEvaluationError` with AWS's causes.
//!
//! ```
//! use serde_json::json;
//! let h = sfn_harness::Harness::from_definition(r#"{"QueryLanguage": "JSONata", "StartAt": "P",
//!     "States": {"P": {"Type": "Pass", "Output": {"sum": "{% $sum($states.input.xs) %}"}, "End": true}}}"#).unwrap();
//! assert_eq!(h.run_blocking(json!({"xs": [1, 2, 3]})).output(), &json!({"sum": 6}));
//! ```

use super::error::Failure;
use super::io::Ctx;
use crate::asl::{Expr, Query, Reads};
use crate::rng::Rng;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::{Map, Value};
use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

/// What `$states` holds for one evaluation.
pub(crate) struct States<'a> {
    /// `$states.input`: the state's raw input.
    pub input: &'a Value,
    /// `$states.result`: a Task's, Map's or Parallel's result (Output, Assign).
    pub result: Option<&'a Value>,
    /// `$states.errorOutput`: what a Catch caught (its Output, Assign).
    pub error_output: Option<&'a Value>,
    /// `$states.context`, and the variables in scope.
    pub ctx: &'a Ctx<'a>,
    /// `$states` as JSONata sees it, made once for all the expressions of
    /// one field (without or with the context object).
    made: [OnceCell<JValue>; 2],
}

impl<'a> States<'a> {
    /// `$states.input` only (Arguments, Items, Condition, …).
    pub(crate) fn input(input: &'a Value, ctx: &'a Ctx<'a>) -> States<'a> {
        States { input, result: None, error_output: None, ctx, made: Default::default() }
    }

    /// With `$states.result` (Output and Assign after a result).
    pub(crate) fn with_result(mut self, result: &'a Value) -> States<'a> {
        self.result = Some(result);
        self
    }

    /// With `$states.errorOutput` (a catcher's Output and Assign).
    pub(crate) fn with_error(mut self, error: &'a Value) -> States<'a> {
        self.error_output = Some(error);
        self
    }

    /// `$states` with only what `paths` reach (see `Reads::paths`): objects
    /// on the way hold only the keys the paths name; the value at the end
    /// of each path, or where a path meets anything but an object, is whole.
    /// Evaluating the expression on it gives what it gives on all of
    /// `$states`, without converting what it never reads.
    fn pruned(&self, paths: &[Vec<String>]) -> JValue {
        let mut out = Map::new();
        for path in paths {
            let Some((root, rest)) = path.split_first() else { continue };
            let whole: Option<Value>;
            let from: Option<&Value> = match root.as_str() {
                "input" => Some(self.input),
                "result" => self.result,
                "errorOutput" => self.error_output,
                "context" => {
                    whole = Some(self.ctx.object_at(rest));
                    whole.as_ref()
                }
                _ => None,
            };
            if let Some(v) = from {
                let slot = out.entry(root.clone()).or_insert(Value::Null);
                graft(slot, v, rest);
            }
        }
        JValue::from(Value::Object(out))
    }

    /// The value at `path` in `$states.input` / `.result` / `.errorOutput`,
    /// when every step is an object's key.
    fn at(&self, path: &[String]) -> Option<&Value> {
        let (root, rest) = path.split_first()?;
        let mut v = match root.as_str() {
            "input" => self.input,
            "result" => self.result?,
            "errorOutput" => self.error_output?,
            _ => return None,
        };
        for key in rest {
            v = v.as_object()?.get(key)?;
        }
        Some(v)
    }

    /// The value at `path` in `$states` (through objects, or a common leaf
    /// of the context) when it is one JSONata gives back unchanged (a
    /// string, a boolean, null, an integer a double holds exactly): an
    /// expression that is only this path evaluates to it. `None`: evaluate it.
    fn scalar_at(&self, path: &[String]) -> Option<Value> {
        let v = match path {
            [root, a, b] if root == "context" => self.ctx.leaf(a, b)?,
            _ => self.at(path)?.clone(),
        };
        (!matches!(v, Value::Array(_) | Value::Object(_)) && exact(&v)).then_some(v)
    }

    /// [`States::at`] when JSONata would see exactly that value: made of
    /// strings, booleans, nulls and integers a double holds exactly.
    fn exact_at(&self, path: &[String]) -> Option<&Value> {
        self.at(path).filter(|v| exact(v))
    }

    /// A comparison of a path's number with a number, or of its string
    /// with a string (`=`, `!=`), as JSONata makes it; `None` for anything
    /// else (a missing value, other types): evaluate it.
    fn compare(&self, c: &crate::asl::Compare) -> Option<bool> {
        match (self.at(&c.path)?, &c.literal) {
            (Value::Number(a), Value::Number(b)) => {
                let (a, b) = (a.as_f64()?, b.as_f64()?);
                Some(match c.op {
                    "=" => a == b,
                    "!=" => a != b,
                    "<" => a < b,
                    "<=" => a <= b,
                    ">" => a > b,
                    _ => a >= b,
                })
            }
            (Value::String(a), Value::String(b)) => match c.op {
                "=" => Some(a == b),
                "!=" => Some(a != b),
                _ => None,
            },
            _ => None,
        }
    }

    /// `$states`; the context object only when the expression may read it.
    fn value(&self, context: bool) -> JValue {
        self.made[usize::from(context)]
            .get_or_init(|| {
                let mut m = Map::new();
                m.insert("input".into(), self.input.clone());
                if let Some(r) = self.result {
                    m.insert("result".into(), r.clone());
                }
                if let Some(e) = self.error_output {
                    m.insert("errorOutput".into(), e.clone());
                }
                if context {
                    m.insert("context".into(), self.ctx.object());
                }
                JValue::from(Value::Object(m))
            })
            .clone()
    }
}

/// Whether JSONata sees exactly `v` (and gives it back unchanged): it is
/// made of strings, booleans, nulls and integers a double holds exactly.
fn exact(v: &Value) -> bool {
    match v {
        Value::String(_) | Value::Bool(_) | Value::Null => true,
        Value::Number(n) => n.as_i64().is_some_and(|i| i.abs() < 1 << 53),
        Value::Array(a) => a.iter().all(exact),
        Value::Object(m) => m.values().all(exact),
    }
}

/// Copies into `slot` what `path` reaches of `v`: through objects, only the
/// keys named; the rest whole. Paths graft into the same tree.
fn graft(slot: &mut Value, v: &Value, path: &[String]) {
    match (v, path.split_first()) {
        (Value::Object(m), Some((key, rest))) => {
            if !slot.is_object() {
                if !slot.is_null() {
                    return; // a shorter path took it whole already
                }
                *slot = Value::Object(Map::new());
            }
            let Some(inner) = m.get(key) else { return };
            if let Value::Object(s) = slot {
                let sub = s.entry(key.clone()).or_insert(Value::Null);
                graft(sub, inner, rest);
            }
        }
        // the end of the path, or not an object: all of it
        _ => *slot = v.clone(),
    }
}

/// Evaluates a value whose strings may be expressions; every expression
/// must give a JSON value.
pub(crate) fn eval_query(q: &Query, st: &States, rng: &mut Rng) -> Result<Value, Failure> {
    match q {
        Query::Literal(v) => Ok(v.clone()),
        Query::Expr(e) => eval(e, st, rng),
        Query::Object(fields) => {
            let mut m = Map::with_capacity(fields.len());
            for (k, sub) in fields {
                m.insert(k.clone(), eval_query(sub, st, rng)?);
            }
            Ok(Value::Object(m))
        }
        Query::Array(items) => {
            items.iter().map(|i| eval_query(i, st, rng)).collect::<Result<_, _>>().map(Value::Array)
        }
    }
}

/// For `$string($states.input.PATH)` (see `Reads::string_of_input`) of a
/// value that is no string and that JSONata sees exactly: that value, and
/// where it is in `input`. Its result is that value's JSON text, what
/// `States.JsonToString` gives, so it can be a JSON-text leaf.
pub(crate) fn string_of_input<'v, 'e>(
    e: &'e Expr,
    input: &'v Value,
) -> Option<(&'v Value, &'e std::sync::Arc<[crate::asl::Seg]>)> {
    let at = e.reads.string_of_input.as_ref()?;
    let v = crate::asl::walk_segments(input, at)?;
    (!v.is_string() && exact(v)).then_some((v, at))
}

/// Evaluates one expression to a JSON value.
pub(crate) fn eval(e: &Expr, st: &States, rng: &mut Rng) -> Result<Value, Failure> {
    if let Some(v) = e.reads.only_path.as_deref().and_then(|p| st.scalar_at(p)) {
        return Ok(v);
    }
    if let Some(b) = e.reads.compare.as_ref().and_then(|c| st.compare(c)) {
        return Ok(Value::Bool(b));
    }
    if let Some(v) = e.reads.string_of.as_deref().and_then(|p| st.exact_at(p)) {
        // $string: a string as it is, anything else as compact JSON text
        return Ok(Value::String(match v {
            Value::String(s) => s.clone(),
            other => crate::json::to_json_string(other),
        }));
    }
    let shown = |what: &str| {
        format!("The JSONata expression '{}' specified for the field '{}' {what}", e.text, e.field)
    };
    let mut context = Context::new();
    if e.reads.states {
        let states = match &e.reads.paths {
            Some(paths) => st.pruned(paths),
            None => st.value(e.reads.context),
        };
        context.bind("states".into(), states);
    }
    for name in &e.reads.names {
        if let Some(v) = st.ctx.vars.get(name) {
            context.bind(name.clone(), JValue::from(v.clone()));
        }
    }
    let drawn = Rc::new(RefCell::new(std::mem::replace(rng, Rng::new(0))));
    let mut ev = Evaluator::with_options(context, bounds());
    functions(&mut ev, &e.reads, &drawn, st.ctx.entered_ms);
    let out = ev.evaluate(&e.ast, &JValue::Null);
    drop(ev);
    *rng = Rc::try_unwrap(drawn).map(RefCell::into_inner).unwrap_or_else(|rc| rc.borrow().clone());
    match out {
        Ok(v) if v.is_undefined() => {
            Err(Failure::query(&e.field, shown("returned nothing (undefined).")))
        }
        Ok(v) => to_json(&v)
            .ok_or_else(|| Failure::query(&e.field, shown("returned an unsupported result type."))),
        Err(err) => Err(Failure::query(
            &e.field,
            shown(&format!("threw an error during evaluation. {}", message(&err))),
        )),
    }
}

/// How far one evaluation may go: a runaway expression (an endless tail
/// recursion, a sequence of billions) fails with JSONata's own error (D1012,
/// D2015) instead of holding the execution, or a server, forever.
fn bounds() -> EvaluatorOptions {
    EvaluatorOptions {
        timeout_ms: Some(MAX_EVALUATION_MS),
        max_sequence_length: Some(MAX_SEQUENCE),
        ..EvaluatorOptions::default()
    }
}

/// The longest one expression may evaluate, in milliseconds.
pub(super) const MAX_EVALUATION_MS: u64 = 10_000;
/// The most items a sequence an expression builds may hold.
pub(super) const MAX_SEQUENCE: usize = 10_000_000;

/// A JSONata error as the reference implementation words it
/// (`T1006: Attempted to invoke a non-function`, without the name).
fn message(err: &EvaluatorError) -> String {
    let m = err.message();
    match (err.code(), m.rsplit_once(": $")) {
        (Some("T1006"), Some((head, _))) => head.to_string(),
        _ => m.to_string(),
    }
}

/// A JSONata value as JSON: `None` for a function or a regex, which JSON
/// cannot hold; undefined members of arrays and objects are left out.
pub(crate) fn to_json(v: &JValue) -> Option<Value> {
    Some(match v {
        JValue::Null => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => number(*n),
        JValue::String(s) => Value::String(s.to_string()),
        JValue::Array(a) => Value::Array(
            a.iter().filter(|i| !i.is_undefined()).map(to_json).collect::<Option<_>>()?,
        ),
        JValue::Object(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, val) in m.iter() {
                if !val.is_undefined() {
                    out.insert(k.clone(), to_json(val)?);
                }
            }
            Value::Object(out)
        }
        _ => return None,
    })
}

/// A JSONata number as JSON: whole numbers as integers (`7`, not `7.0`).
fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null)
    }
}

type Drawn = Rc<RefCell<Rng>>;

fn fail(msg: impl Into<String>) -> EvaluatorError {
    EvaluatorError::EvaluationError(msg.into())
}

fn json_args(args: &[JValue]) -> Result<Vec<Value>, EvaluatorError> {
    args.iter()
        .map(|a| to_json(a).ok_or_else(|| fail("a function cannot be an argument here")))
        .collect()
}

/// Runs an intrinsic of the same meaning (`States.ArrayPartition` for
/// `$partition`, …) on JSONata arguments.
fn intrinsic(name: &str, args: &[JValue], rng: &mut Rng) -> Result<JValue, EvaluatorError> {
    let f = crate::intrinsics::find(name).ok_or_else(|| fail(format!("no intrinsic {name}")))?;
    let mut a = json_args(args)?;
    let v = (f.apply)(&mut a, rng).map_err(|e| fail(e.0))?;
    Ok(JValue::from(v))
}

/// Step Functions' own functions, and the impure built-ins made
/// deterministic: randomness from the seeded generator, time from the
/// virtual clock (`now_ms`, when the state was entered).
/// Only the functions the expression names are registered.
fn functions(ev: &mut Evaluator, reads: &Reads, drawn: &Drawn, now_ms: i64) {
    let plain: [(&str, &'static str); 3] = [
        ("partition", "States.ArrayPartition"),
        ("hash", "States.Hash"),
        ("parse", "States.StringToJson"),
    ];
    for (name, states_name) in plain.into_iter().filter(|(n, _)| reads.names(n)) {
        let d = drawn.clone();
        let _ = ev.register_fn(name, move |args: &[JValue]| {
            intrinsic(states_name, args, &mut d.borrow_mut())
        });
    }
    if reads.names("range") {
        let d = drawn.clone();
        let _ = ev.register_fn("range", move |args: &[JValue]| {
            // a sequence: one number is that number, as AWS gives it
            let v = intrinsic("States.ArrayRange", args, &mut d.borrow_mut())?;
            Ok(match v.as_array() {
                Some(items) => JValue::sequence(items.clone()),
                None => v,
            })
        });
    }
    if reads.names("uuid") {
        let d = drawn.clone();
        let _ = ev.register_fn("uuid", move |_: &[JValue]| Ok(JValue::from(d.borrow_mut().uuid())));
    }
    if reads.names("random") {
        let d = drawn.clone();
        let _ = ev.register_fn_override("random", move |args: &[JValue]| {
            Ok(JValue::from_f64(match args.first().and_then(to_json) {
                // a seed gives the same number every time
                Some(seed) => {
                    Rng::new(crate::rng::stable_hash(seed.to_string().as_bytes())).next_f64()
                }
                None => d.borrow_mut().next_f64(),
            }))
        });
    }
    if reads.names("now") {
        let _ = ev.register_fn_override("now", move |_: &[JValue]| {
            Ok(JValue::from(crate::time::format_timestamp(now_ms)))
        });
    }
    if reads.names("millis") {
        let _ = ev.register_fn_override("millis", move |_: &[JValue]| Ok(JValue::from_i64(now_ms)));
    }
    if reads.names("pad") {
        let _ = ev.register_fn_override("pad", pad);
    }
    if reads.names("eval") {
        let _ = ev.register_fn_override("eval", |_: &[JValue]| {
            Err(fail("T1006: Attempted to invoke a non-function"))
        });
    }
}

/// `$pad(str, width[, char])` as JSONata defines it, but refusing a width
/// no payload could hold: one call must not ask for gigabytes.
fn pad(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let Some(s) = args.first().and_then(JValue::as_str) else {
        return match args.first() {
            None | Some(JValue::Undefined) => Ok(JValue::Undefined),
            Some(_) => {
                Err(fail("T0410: Argument 1 of function \"pad\" does not match function signature"))
            }
        };
    };
    let width = args
        .get(1)
        .and_then(JValue::as_f64)
        .ok_or_else(|| {
            fail("T0410: Argument 2 of function \"pad\" does not match function signature")
        })?
        .trunc();
    if width.abs() > crate::eval::MAX_PAYLOAD_BYTES as f64 {
        return Err(fail(format!(
            "D3080: $pad width {width} is larger than a payload can hold ({} characters)",
            crate::eval::MAX_PAYLOAD_BYTES
        )));
    }
    let fill = args.get(2).and_then(JValue::as_str).filter(|c| !c.is_empty()).unwrap_or(" ");
    let missing = (width.abs() as usize).saturating_sub(s.chars().count());
    let padding: String = fill.chars().cycle().take(missing).collect();
    Ok(JValue::from(if width < 0.0 { padding + s } else { format!("{s}{padding}") }))
}

/// A value of the wrong type for its field, in AWS's words.
pub(crate) fn unexpected(e: &Expr, expected: &str, v: &Value) -> Failure {
    Failure::query(
        &e.field,
        format!(
            "The JSONata expression '{}' specified for the field '{}' returned an unexpected result type. Expected '{expected}', but was '{}' for value: {}",
            e.text,
            e.field,
            type_name(v),
            crate::json::to_json_string(v)
        ),
    )
}

/// A JSON value's type, as AWS names it in causes.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Evaluates an expression that must give a non-negative whole number
/// (Seconds, TimeoutSeconds, MaxConcurrency, ToleratedFailureCount).
pub(crate) fn eval_count(e: &Expr, st: &States, rng: &mut Rng) -> Result<u64, Failure> {
    let v = eval(e, st, rng)?;
    match v.as_f64() {
        Some(n) if n >= 0.0 && n.fract() == 0.0 => Ok(n as u64),
        _ => Err(unexpected(e, "integer", &v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The fast paths (a lone path, a comparison with a literal, `$states`
    /// pruned to what is read) give what the evaluator gives on all of it.
    #[test]
    fn the_fast_paths_agree_with_the_evaluator() {
        let exec = crate::eval::ExecInfo {
            id: "arn:aws:states:us-east-1:1:execution:m:e".into(),
            name: "e".into(),
            input: std::sync::Arc::new(json!({})),
            role_arn: "arn:aws:iam::1:role/r".into(),
            start_ms: 0,
            state_machine_id: "arn:aws:states:us-east-1:1:stateMachine:m".into(),
            state_machine_name: "m".into(),
        };
        let vars = crate::eval::Vars::new();
        let ctx = Ctx::new(&exec, &vars, "S", 0);
        let inputs = [
            json!({"n": 4, "s": "DONE", "f": 1.5, "big": 9007199254740993u64, "a": [1, 5], "o": {"k": null, "t": true}}),
            json!({"q": "a \"q\" \\ \n\t\u{1} é \u{2028} 😀 </b>", "z": {"b": 1, "a": [true, null, "x", -3]}, "s": ""}),
            json!({"n": "4", "s": 7, "a": {"k": 1}}),
            json!([{"n": 1}, {"n": 9}]),
            json!(null),
        ];
        let exprs = [
            "$states.input.n",
            "$states.input.s",
            "$states.input.f",
            "$states.input.big",
            "$states.input.a",
            "$states.input.o.k",
            "$states.input.o.t",
            "$states.input.missing",
            "$states.input.n > 3",
            "$states.input.n <= 4",
            "$states.input.n = 4",
            "$states.input.n != 4",
            "$states.input.s = 'DONE'",
            "$states.input.s != \"DONE\"",
            "$states.input.f >= 1.5",
            "$states.input.a > 3",
            "$states.input.o.k = 1",
            "$states.input.a.k + $states.input.n",
            "$string($states.input.o)",
            "$count($states.input.a) & $states.input.s",
        ];
        for input in &inputs {
            for text in exprs {
                let ast = jsonata_core::parser::parse(text).unwrap();
                let reads = crate::asl::jsonata_reads(text);
                let fast = Expr { text: text.into(), field: "F".into(), ast: ast.clone(), reads };
                let mut slow_reads = crate::asl::jsonata_reads(text);
                (slow_reads.paths, slow_reads.only_path, slow_reads.compare) = (None, None, None);
                slow_reads.string_of = None;
                let slow = Expr { text: text.into(), field: "F".into(), ast, reads: slow_reads };
                let st = States::input(input, &ctx);
                let (a, b) =
                    (eval(&fast, &st, &mut Rng::new(1)), eval(&slow, &st, &mut Rng::new(1)));
                assert_eq!(
                    a.as_ref().map_err(|f| f.error.clone()),
                    b.as_ref().map_err(|f| f.error.clone()),
                    "{text} on {input}"
                );
            }
        }
    }
}
