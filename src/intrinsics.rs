//! The 18 `States.*` intrinsic functions: one record per function, read by
//! the parser (name, arity) and by evaluation (the function itself).
//!
//! ```text
//! States.Format('{} is {}', $.name, $.n)   on {"name": "n", "n": 4}   gives "n is 4"
//! States.ArrayGetItem($.a, 99)             on {"a": [1]}              fails: States.IntrinsicFailure
//! ```

// every function takes the argument vector so that States.Array can move it
#![allow(clippy::ptr_arg)]

use crate::rng::Rng;
use base64::Engine;
use serde_json::{Map, Value};

/// Why an intrinsic function failed: the cause of `States.IntrinsicFailure`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IntrinsicError(pub String);

/// One intrinsic function.
#[derive(Debug)]
pub(crate) struct Intrinsic {
    /// `States.Format`.
    pub name: &'static str,
    /// The fewest arguments it takes.
    pub min_args: usize,
    /// The most arguments it takes (`usize::MAX`: no bound).
    pub max_args: usize,
    /// The function, on evaluated arguments (it may take them apart).
    pub apply: Fun,
    /// For a function of one argument that only reads it: the same on a
    /// borrowed argument, so a large payload is not copied.
    pub read: Option<Read>,
}

const fn f(name: &'static str, min_args: usize, max_args: usize, apply: Fun) -> Intrinsic {
    Intrinsic { name, min_args, max_args, apply, read: None }
}

/// A function on evaluated arguments.
pub(crate) type Fun = fn(&mut Vec<Value>, &mut Rng) -> Result<Value, IntrinsicError>;

/// A function that only reads its one argument.
pub(crate) type Read = fn(&Value) -> Result<Value, IntrinsicError>;

/// Every intrinsic function.
pub(crate) static INTRINSICS: &[Intrinsic] = &[
    f("States.Format", 1, usize::MAX, format),
    f("States.StringToJson", 1, 1, string_to_json),
    Intrinsic { read: Some(json_text), ..f("States.JsonToString", 1, 1, json_to_string) },
    f("States.Array", 0, usize::MAX, array),
    f("States.ArrayPartition", 2, 2, array_partition),
    f("States.ArrayContains", 2, 2, array_contains),
    f("States.ArrayRange", 3, 3, array_range),
    f("States.ArrayGetItem", 2, 2, array_get_item),
    Intrinsic { read: Some(length), ..f("States.ArrayLength", 1, 1, array_length) },
    f("States.ArrayUnique", 1, 1, array_unique),
    f("States.Base64Encode", 1, 1, base64_encode),
    f("States.Base64Decode", 1, 1, base64_decode),
    f("States.Hash", 2, 2, hash),
    f("States.JsonMerge", 3, 3, json_merge),
    f("States.MathRandom", 2, 3, math_random),
    f("States.MathAdd", 2, 2, math_add),
    f("States.StringSplit", 2, 2, string_split),
    f("States.UUID", 0, 0, uuid),
];

/// The intrinsic function named `name`.
pub(crate) fn find(name: &str) -> Option<&'static Intrinsic> {
    INTRINSICS.iter().find(|f| f.name == name)
}

fn fail(msg: impl Into<String>) -> IntrinsicError {
    IntrinsicError(msg.into())
}

fn take_str(args: &mut [Value], i: usize, f: &str) -> Result<String, IntrinsicError> {
    match std::mem::take(&mut args[i]) {
        Value::String(s) => Ok(s),
        other => Err(fail(format!("{f}: argument {} must be a string, found {other}", i + 1))),
    }
}

fn take_array(args: &mut [Value], i: usize, f: &str) -> Result<Vec<Value>, IntrinsicError> {
    match std::mem::take(&mut args[i]) {
        Value::Array(a) => Ok(a),
        other => Err(fail(format!("{f}: argument {} must be an array, found {other}", i + 1))),
    }
}

fn int(v: &Value, i: usize, f: &str) -> Result<i64, IntrinsicError> {
    match v.as_i64() {
        Some(n) => Ok(n),
        None => match v.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Ok(x as i64),
            _ => Err(fail(format!("{f}: argument {} must be an integer, found {v}", i + 1))),
        },
    }
}

fn format(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    let template = take_str(args, 0, "States.Format")?;
    let mut rest = args.iter().skip(1);
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                match rest.next() {
                    Some(v) => out.push_str(&crate::json::shown(v)),
                    None => {
                        return Err(fail(
                            "States.Format: the template has more {} placeholders than arguments",
                        ))
                    }
                }
            }
            c => out.push(c),
        }
    }
    if rest.next().is_some() {
        return Err(fail("States.Format: more arguments than {} placeholders in the template"));
    }
    Ok(Value::String(out))
}

fn string_to_json(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    let s = take_str(args, 0, "States.StringToJson")?;
    serde_json::from_str(&s)
        .map_err(|e| fail(format!("States.StringToJson: '{s}' is not JSON: {e}")))
}

fn json_to_string(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    json_text(&args[0])
}

fn json_text(v: &Value) -> Result<Value, IntrinsicError> {
    Ok(json_to_string_of(v))
}

/// What `States.JsonToString(v)` gives: `v`'s compact JSON text, as a
/// string value (also what a task parameter that defers it renders).
pub(crate) fn json_to_string_of(v: &Value) -> Value {
    Value::String(crate::json::to_json_string(v))
}

fn array(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    Ok(Value::Array(std::mem::take(args)))
}

fn array_partition(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    let a = take_array(args, 0, "States.ArrayPartition")?;
    let size = int(&args[1], 1, "States.ArrayPartition")?;
    if size <= 0 {
        return Err(fail(format!(
            "States.ArrayPartition: the chunk size must be positive, found {size}"
        )));
    }
    Ok(Value::Array(a.chunks(size as usize).map(|c| Value::Array(c.to_vec())).collect()))
}

fn array_contains(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    let a = take_array(args, 0, "States.ArrayContains")?;
    Ok(Value::Bool(a.contains(&args[1])))
}

fn array_range(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    let f = "States.ArrayRange";
    let (start, end, step) = (int(&args[0], 0, f)?, int(&args[1], 1, f)?, int(&args[2], 2, f)?);
    if step == 0 {
        return Err(fail("States.ArrayRange: the step must not be 0"));
    }
    let mut out = Vec::new();
    let mut x = start;
    while (step > 0 && x <= end) || (step < 0 && x >= end) {
        out.push(Value::from(x));
        if out.len() > 1000 {
            return Err(fail("States.ArrayRange: the range has more than 1000 items"));
        }
        x += step;
    }
    Ok(Value::Array(out))
}

fn array_get_item(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    let mut a = take_array(args, 0, "States.ArrayGetItem")?;
    let i = int(&args[1], 1, "States.ArrayGetItem")?;
    if i < 0 || i as usize >= a.len() {
        return Err(fail(format!(
            "States.ArrayGetItem: index {i} is out of bounds for an array of {}",
            a.len()
        )));
    }
    Ok(a.swap_remove(i as usize))
}

fn array_length(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    length(&args[0])
}

fn length(v: &Value) -> Result<Value, IntrinsicError> {
    match v {
        Value::Array(a) => Ok(Value::from(a.len())),
        other => {
            Err(fail(format!("States.ArrayLength: argument 1 must be an array, found {other}")))
        }
    }
}

fn array_unique(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    let a = take_array(args, 0, "States.ArrayUnique")?;
    let mut out: Vec<Value> = Vec::with_capacity(a.len());
    for v in a {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(Value::Array(out))
}

const MAX_ENCODE: usize = 10_000;

fn base64_encode(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    let s = take_str(args, 0, "States.Base64Encode")?;
    if s.len() > MAX_ENCODE {
        return Err(fail("States.Base64Encode: the input is longer than 10,000 characters"));
    }
    Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(s)))
}

fn base64_decode(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    let s = take_str(args, 0, "States.Base64Decode")?;
    if s.len() > MAX_ENCODE {
        return Err(fail("States.Base64Decode: the input is longer than 10,000 characters"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&s)
        .map_err(|e| fail(format!("States.Base64Decode: '{s}' is not base64: {e}")))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| fail("States.Base64Decode: the decoded bytes are not UTF-8"))
}

fn hash(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    use sha2::Digest;
    let data = crate::json::shown(&args[0]);
    let alg = take_str(args, 1, "States.Hash")?;
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let out = match alg.as_str() {
        "MD5" => hex(&md5::Md5::digest(data.as_bytes())),
        "SHA-1" => hex(&sha1::Sha1::digest(data.as_bytes())),
        "SHA-256" => hex(&sha2::Sha256::digest(data.as_bytes())),
        "SHA-384" => hex(&sha2::Sha384::digest(data.as_bytes())),
        "SHA-512" => hex(&sha2::Sha512::digest(data.as_bytes())),
        other => {
            return Err(fail(format!(
                "States.Hash: '{other}' is not an algorithm (MD5, SHA-1, SHA-256, SHA-384, SHA-512)"
            )))
        }
    };
    Ok(Value::String(out))
}

fn json_merge(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    if args[2] != Value::Bool(false) {
        return Err(fail("States.JsonMerge: only shallow merges (false) are supported"));
    }
    let (Value::Object(a), Value::Object(b)) =
        (std::mem::take(&mut args[0]), std::mem::take(&mut args[1]))
    else {
        return Err(fail("States.JsonMerge: both arguments must be JSON objects"));
    };
    let mut out: Map<String, Value> = a;
    for (k, v) in b {
        out.insert(k, v);
    }
    Ok(Value::Object(out))
}

fn math_random(args: &mut Vec<Value>, rng: &mut Rng) -> Result<Value, IntrinsicError> {
    let f = "States.MathRandom";
    let lo =
        args[0].as_f64().ok_or_else(|| fail(format!("{f}: the start must be a number")))?.trunc()
            as i64;
    let hi = args[1].as_f64().ok_or_else(|| fail(format!("{f}: the end must be a number")))?.trunc()
        as i64;
    if hi < lo {
        return Err(fail(format!("{f}: the end ({hi}) is smaller than the start ({lo})")));
    }
    let span = (hi - lo) as u64 + 1;
    let draw = match args.get(2) {
        Some(seed) => Rng::new(int(seed, 2, f)? as u64).next_u64(),
        None => rng.next_u64(),
    };
    Ok(Value::from(lo + (draw % span) as i64))
}

fn math_add(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    // AWS takes any numbers and truncates them to integers (recorded: 59 + 4.3 = 63)
    let truncated = |i: usize| match args[i].as_f64() {
        Some(x) if x.abs() < 9.0e15 => Ok(x.trunc() as i64),
        _ => Err(fail(format!(
            "States.MathAdd: argument {} must be a number, found {}",
            i + 1,
            args[i]
        ))),
    };
    let (a, b) = (truncated(0)?, truncated(1)?);
    a.checked_add(b).map(Value::from).ok_or_else(|| fail("States.MathAdd: the sum overflows"))
}

fn string_split(args: &mut Vec<Value>, _: &mut Rng) -> Result<Value, IntrinsicError> {
    let s = take_str(args, 0, "States.StringSplit")?;
    let d = take_str(args, 1, "States.StringSplit")?;
    Ok(Value::Array(
        s.split(|c| d.contains(c))
            .filter(|p| !p.is_empty())
            .map(|p| Value::String(p.to_string()))
            .collect(),
    ))
}

fn uuid(_: &mut Vec<Value>, rng: &mut Rng) -> Result<Value, IntrinsicError> {
    Ok(Value::String(rng.uuid()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply(name: &str, mut args: Vec<Value>, rng: &mut Rng) -> Result<Value, IntrinsicError> {
        (find(name).unwrap().apply)(&mut args, rng)
    }

    fn gives(name: &str, args: Value, want: Value) {
        let args = args.as_array().unwrap().clone();
        assert_eq!(apply(name, args.clone(), &mut Rng::new(1)).unwrap(), want, "{name}");
        if let (Some(read), [only]) = (find(name).unwrap().read, args.as_slice()) {
            assert_eq!(read(only).unwrap(), want, "{name} by reference");
        }
    }

    fn fails(name: &str, args: Value) {
        let args = args.as_array().unwrap().clone();
        apply(name, args, &mut Rng::new(1)).unwrap_err();
    }

    #[test]
    fn every_function_has_one_record() {
        assert_eq!(INTRINSICS.len(), 18);
        for f in INTRINSICS {
            assert!(f.min_args <= f.max_args, "{}", f.name);
            assert!(std::ptr::eq(find(f.name).unwrap(), f), "{} is registered twice", f.name);
        }
    }

    #[test]
    fn table() {
        gives("States.Format", json!(["a {} b {}", "x", [1]]), json!("a x b [1]"));
        gives("States.Format", json!(["\\{}{}", 1]), json!("{}1"));
        gives("States.StringToJson", json!(["{\"a\":1}"]), json!({"a": 1}));
        gives("States.JsonToString", json!([{"number": 0}]), json!("{\"number\":0}"));
        gives("States.Array", json!([1, "a"]), json!([1, "a"]));
        gives("States.ArrayPartition", json!([[1, 2, 3], 2]), json!([[1, 2], [3]]));
        gives("States.ArrayContains", json!([[1, [2]], [2]]), json!(true));
        gives("States.ArrayRange", json!([1, 9, 2]), json!([1, 3, 5, 7, 9]));
        gives("States.ArrayGetItem", json!([[1, 2, 3], 1]), json!(2));
        gives("States.ArrayLength", json!([[1, 2, 3]]), json!(3));
        gives("States.ArrayUnique", json!([[1, 2, 1, 3, 2]]), json!([1, 2, 3]));
        gives("States.Base64Encode", json!(["Data to encode"]), json!("RGF0YSB0byBlbmNvZGU="));
        gives("States.Base64Decode", json!(["RGF0YSB0byBlbmNvZGU="]), json!("Data to encode"));
        gives(
            "States.Hash",
            json!(["input data", "SHA-1"]),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7"),
        );
        gives(
            "States.JsonMerge",
            json!([{"a": 1, "b": 2}, {"b": 3}, false]),
            json!({"a": 1, "b": 3}),
        );
        gives("States.MathAdd", json!([111, -1]), json!(110));
        gives("States.StringSplit", json!([", , ,", ","]), json!([" ", " "]));
        let r = apply("States.MathRandom", vec![json!(1), json!(3)], &mut Rng::new(1)).unwrap();
        assert!((1..=3).contains(&r.as_i64().unwrap()));
        let u = apply("States.UUID", vec![], &mut Rng::new(1)).unwrap();
        assert_eq!(u.as_str().unwrap().len(), 36);
    }

    #[test]
    fn failures() {
        fails("States.Format", json!(["{} {}", 1]));
        fails("States.ArrayGetItem", json!([[1], 5]));
        fails("States.ArrayPartition", json!([[1], 0]));
        fails("States.StringToJson", json!(["{"]));
        fails("States.Hash", json!(["x", "CRC"]));
        fails("States.MathAdd", json!(["1", 1]));
        gives("States.MathAdd", json!([59, 4.3]), json!(63));
        fails("States.JsonMerge", json!([{}, {}, true]));
    }
}
