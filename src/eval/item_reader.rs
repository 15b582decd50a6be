//! A distributed Map's ItemReader: the items of an S3 object (JSON, JSON
//! Lines, CSV) or the objects under a prefix (ListObjectsV2), from the S3
//! objects the test provides (`Harness::s3_object`), with AWS's errors.

use super::error::{names, Exn, Failure, FaultKind, HarnessFault};
use super::io::{eval_dynamic, select, Ctx};
use super::Env;
use crate::asl::{Amount, ItemReader};
use serde_json::{json, Map, Value};

fn failed(cause: impl Into<String>) -> Failure {
    Failure::new(names::ITEM_READER_FAILED, Some(cause.into()))
}

/// The items `r` reads for a Map whose effective input is `input`.
pub(super) fn read(
    r: &ItemReader,
    input: &Value,
    ctx: &Ctx,
    env: &mut Env<'_>,
) -> Result<Vec<Value>, Exn> {
    let params = match &r.parameters {
        Some(d) => eval_dynamic(d, input, ctx, &mut env.rng)?,
        None => json!({}),
    };
    let bucket = params.get("Bucket").and_then(Value::as_str).unwrap_or_default().to_string();
    let max = match &r.max_items {
        None => 0,
        Some(Amount::Path(p)) => select(p, input, ctx)
            .and_then(|v| super::map::number(&v, true))
            .filter(|n| *n >= 0.0)
            .map(|n| n as u64)
            .ok_or_else(|| {
                Failure::runtime(format!(
                    "The MaxItemsPath field refers to a value that is not a positive integer: {}",
                    p.as_str()
                ))
            })?,
        Some(a) => {
            super::map::amount(a, "MaxItems", "integer", input, ctx, &mut env.rng)?.max(0.0) as u64
        }
    };
    let objects = env.tasks.s3_objects();
    let mut items = if r.resource.ends_with(":listObjectsV2") {
        let prefix = params.get("Prefix").and_then(Value::as_str).unwrap_or_default();
        let start = format!("{bucket}/{prefix}");
        objects
            .range(start.clone()..)
            .take_while(|(k, _)| k.starts_with(&start))
            .map(|(k, body)| {
                use md5::Digest;
                let key = &k[bucket.len() + 1..];
                json!({
                    "Etag": format!("\"{:x}\"", md5::Md5::digest(body.as_bytes())),
                    "Key": key,
                    "LastModified": crate::time::format_timestamp(env.exec.start_ms),
                    "Size": body.len(),
                    "StorageClass": "STANDARD",
                })
            })
            .collect()
    } else {
        let key = params.get("Key").and_then(Value::as_str).unwrap_or_default();
        let path = format!("{bucket}/{key}");
        let Some(body) = objects.get(&path) else {
            // a problem of the test: no Retry or Catch of the definition absorbs it
            return Err(HarnessFault::new(
                FaultKind::NoS3Object,
                format!("the Map state '{}' reads s3://{path}, which the test does not provide: add it with Harness::s3_object (sfn-harness run: --s3-object s3://{path}=FILE)", ctx.state_name),
            )
            .into());
        };
        let input_type = r.input_type.as_deref().unwrap_or("JSON");
        if !matches!(input_type, "JSON" | "JSONL" | "CSV") {
            let msg = format!("the Map state '{}' reads InputType {input_type}, which sfn-harness does not read yet (JSON, JSONL and CSV it does)", ctx.state_name);
            return Err(HarnessFault::new(FaultKind::Unsupported, msg).into());
        }
        parse(r, body)?
    };
    if max > 0 {
        items.truncate(max as usize);
    }
    Ok(items)
}

/// An object's items by the reader's InputType.
fn parse(r: &ItemReader, body: &str) -> Result<Vec<Value>, Failure> {
    match r.input_type.as_deref().unwrap_or("JSON") {
        "JSON" => match serde_json::from_str::<Value>(body) {
            Ok(Value::Array(a)) => Ok(a),
            Ok(_) => Err(failed("Attempting to map over non-iterable node.")),
            Err(e) => Err(failed(format!("The object is not valid JSON: {e}"))),
        },
        "JSONL" => body
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l)
                    .map_err(|e| failed(format!("A line of the object is not valid JSON: {e}")))
            })
            .collect(),
        _ => csv(r, body),
    }
}

/// CSV rows as objects keyed by the headers (the first row, or the given
/// ones); fields past the headers are dropped, missing ones are empty.
fn csv(r: &ItemReader, body: &str) -> Result<Vec<Value>, Failure> {
    let delimiter = match r.csv_delimiter.as_deref().unwrap_or("COMMA") {
        "PIPE" => '|',
        "SEMICOLON" => ';',
        "SPACE" => ' ',
        "TAB" => '\t',
        _ => ',',
    };
    let mut rows = body.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect::<Vec<_>>();
    if rows.last() == Some(&"") {
        rows.pop();
    }
    let mut rows = rows.into_iter().map(|l| split_fields(l, delimiter));
    let headers: Vec<String> = if r.csv_header_location.as_deref() == Some("GIVEN") {
        r.csv_headers.clone()
    } else {
        rows.next().unwrap_or_default()
    };
    let mut seen = std::collections::HashSet::new();
    if !headers.iter().all(|h| seen.insert(h)) {
        return Err(failed("CSV headers cannot contain duplicates."));
    }
    Ok(rows
        .map(|fields| {
            let m: Map<String, Value> = headers
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    (h.clone(), Value::String(fields.get(i).cloned().unwrap_or_default()))
                })
                .collect();
            Value::Object(m)
        })
        .collect())
}

/// One CSV line's fields (double quotes group, `""` is a quote).
fn split_fields(line: &str, delimiter: char) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().expect("one field at least").push('"');
            }
            '"' => quoted = !quoted,
            c if c == delimiter && !quoted => fields.push(String::new()),
            c => fields.last_mut().expect("one field at least").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(config: Value) -> ItemReader {
        let text = |k: &str| config.get(k).and_then(Value::as_str).map(str::to_string);
        ItemReader {
            resource: "arn:aws:states:::s3:getObject".into(),
            parameters: None,
            input_type: text("InputType"),
            csv_header_location: text("CSVHeaderLocation"),
            csv_headers: config
                .get("CSVHeaders")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            csv_delimiter: None,
            max_items: None,
        }
    }

    #[test]
    fn csv_rows_follow_the_headers() {
        let r = reader(json!({"InputType": "CSV"}));
        assert_eq!(
            csv(&r, "a,b\n1,2,3\n,\n\"x,y\",\"q\"\"\"\n").unwrap(),
            vec![
                json!({"a": "1", "b": "2"}),
                json!({"a": "", "b": ""}),
                json!({"a": "x,y", "b": "q\""})
            ]
        );
        let given = reader(
            json!({"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["H", "H"]}),
        );
        assert_eq!(
            csv(&given, "1,2\n").unwrap_err().cause.as_deref(),
            Some("CSV headers cannot contain duplicates.")
        );
    }

    #[test]
    fn json_must_be_an_array_and_jsonl_is_one_value_a_line() {
        let r = reader(json!({"InputType": "JSON"}));
        assert_eq!(
            parse(&r, r#"{"a": 1}"#).unwrap_err().cause.as_deref(),
            Some("Attempting to map over non-iterable node.")
        );
        let l = reader(json!({"InputType": "JSONL"}));
        assert_eq!(parse(&l, "{\"a\":1}\n\n[2]\n").unwrap(), vec![json!({"a": 1}), json!([2])]);
    }
}
