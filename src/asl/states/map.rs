//! Map: an item processor run per item (inline or distributed), ItemsPath,
//! ItemSelector, tolerated failures and MaxConcurrencyPath.

use super::Fields;
use crate::asl::jsonata::{expr_in, expression_text, Expr, Query};
use crate::asl::lower::Cx;
use crate::asl::lower::{dynamic, jsonata_field, machine, opt_path, opt_str, opt_uint};
use crate::asl::model::StateKind;
use crate::asl::model::{Dynamic, QueryLanguage, StateMachine};
use crate::asl::path::Path;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The Map state: its fields (beyond Type, Comment, QueryLanguage) and lowering.
pub(super) const TYPE: super::StateType = super::StateType { name: "Map", fields: FIELDS, lower };

const FIELDS: &[&str] = &[
    "Next",
    "End",
    "InputPath",
    "OutputPath",
    "ItemsPath",
    "ItemProcessor",
    "Iterator",
    "ItemSelector",
    "Parameters",
    "ItemReader",
    "ResultWriter",
    "ItemBatcher",
    "MaxConcurrency",
    "MaxConcurrencyPath",
    "ToleratedFailurePercentage",
    "ToleratedFailurePercentagePath",
    "ToleratedFailureCount",
    "ToleratedFailureCountPath",
    "ResultPath",
    "ResultSelector",
    "Retry",
    "Catch",
    "Label",
    "Items",
    "Arguments",
    "Assign",
    "Output",
];

/// A Map state: its item processor and how items are found and shaped.
#[derive(Debug, Clone)]
pub(crate) struct MapSpec {
    pub processor: StateMachine,
    /// `ItemsPath` (default `$`).
    pub items_path: Option<Path>,
    /// `Items` (JSONata): the items, an array or an expression (default: the input).
    pub items: Option<Query>,
    /// `ItemSelector` (or the legacy `Parameters`), evaluated per item with
    /// `$$.Map.Item` (`$states.context.Map.Item` in JSONata).
    pub item_selector: Option<Dynamic>,
    /// `ItemProcessor.ProcessorConfig.Mode` DISTRIBUTED: child workflows, recorded as a map run.
    pub distributed: bool,
    pub label: Option<String>,
    /// How many (or what share of) items may fail before the Map fails.
    pub tolerated_count: Option<Amount>,
    pub tolerated_percentage: Option<Amount>,
    /// `ItemReader`: items read from S3 instead of the input.
    pub item_reader: Option<ItemReader>,
    /// `MaxConcurrency`: how many items run at once (0 or absent: all).
    pub max_concurrency: Option<u64>,
    /// `MaxConcurrencyPath`: the same, read from the input.
    pub max_concurrency_path: Option<Path>,
    /// `MaxConcurrency` as a JSONata expression.
    pub max_concurrency_expr: Option<Arc<Expr>>,
    /// `ItemBatcher`: items handed to the processor in batches.
    pub item_batcher: Option<ItemBatcher>,
    /// `ResultWriter`: the results written to S3 instead of returned.
    pub result_writer: Option<ResultWriter>,
}

/// A Map's `ItemBatcher`: each iteration gets `{"Items": [...]}` (with
/// `BatchInput` beside them) of at most so many items and bytes.
#[derive(Debug, Clone)]
pub(crate) struct ItemBatcher {
    /// `MaxItemsPerBatch` (or its Path / expression).
    pub max_items: Option<Amount>,
    /// `MaxInputBytesPerBatch` (or its Path / expression).
    pub max_bytes: Option<Amount>,
    /// `BatchInput`: added to every batch.
    pub batch_input: Option<Dynamic>,
}

/// A Map's `ResultWriter`: where in S3 the results go.
#[derive(Debug, Clone)]
pub(crate) struct ResultWriter {
    /// `Parameters` / `Arguments`: Bucket and Prefix.
    pub parameters: Dynamic,
}

/// A Map's `ItemReader`: where its items come from in S3, and how to read them.
#[derive(Debug, Clone)]
pub(crate) struct ItemReader {
    /// `arn:aws:states:::s3:getObject` or `…:s3:listObjectsV2`.
    pub resource: String,
    /// `Parameters` / `Arguments` (Bucket, Key or Prefix).
    pub parameters: Option<Dynamic>,
    /// `ReaderConfig.InputType`: JSON, JSONL, CSV (getObject).
    pub input_type: Option<String>,
    /// `ReaderConfig.CSVHeaderLocation`: FIRST_ROW (default) or GIVEN.
    pub csv_header_location: Option<String>,
    /// `ReaderConfig.CSVHeaders`, when GIVEN.
    pub csv_headers: Vec<String>,
    /// `ReaderConfig.CSVDelimiter`: COMMA (default), PIPE, SEMICOLON, SPACE, TAB.
    pub csv_delimiter: Option<String>,
    /// `ReaderConfig.MaxItems` (0: all), `MaxItemsPath` or a JSONata expression.
    pub max_items: Option<Amount>,
}

/// A number given literally, by a path or by a JSONata expression
/// (ToleratedFailure*, the ItemBatcher's limits).
#[derive(Debug, Clone)]
pub(crate) enum Amount {
    Literal(f64),
    Path(Path),
    Expr(Arc<Expr>),
}

fn lower(cx: &mut Cx, f: &Fields) -> Option<StateKind> {
    let (obj, loc, ql) = (f.obj, f.loc, f.ql);
    let key = if obj.contains_key("ItemProcessor") { "ItemProcessor" } else { "Iterator" };
    let Some(sub) = obj.get(key) else {
        cx.schema(loc, "a Map state needs 'ItemProcessor'");
        return None;
    };
    let processor = machine(cx, sub, &format!("{loc}/{key}"), ql, false)?;
    let selector_key = if obj.contains_key("ItemSelector") { "ItemSelector" } else { "Parameters" };
    let item_selector = obj
        .get(selector_key)
        .map(|t| dynamic(cx, t, &format!("{loc}/{selector_key}"), selector_key, ql));
    let items = jsonata_field(cx, obj, "Items", loc, ql);
    let max_concurrency_expr = match obj.get("MaxConcurrency") {
        Some(Value::String(s)) if ql == QueryLanguage::Jsonata => {
            expr_in(cx, s, &format!("{loc}/MaxConcurrency"), "MaxConcurrency")
        }
        _ => None,
    };
    let distributed =
        sub.pointer("/ProcessorConfig/Mode").and_then(Value::as_str) == Some("DISTRIBUTED");
    let item_reader =
        obj.get("ItemReader").and_then(|r| item_reader(cx, r, &format!("{loc}/ItemReader"), ql));
    Some(StateKind::Map(Box::new(MapSpec {
        processor,
        item_reader,
        items,
        items_path: opt_path(cx, obj, "ItemsPath", loc),
        item_selector,
        distributed,
        label: opt_str(cx, obj, "Label", loc),
        tolerated_count: amount(cx, obj, "ToleratedFailureCount", loc, ql),
        tolerated_percentage: amount(cx, obj, "ToleratedFailurePercentage", loc, ql),
        max_concurrency: if max_concurrency_expr.is_some() {
            None
        } else {
            opt_uint(cx, obj, "MaxConcurrency", loc)
        },
        max_concurrency_path: opt_path(cx, obj, "MaxConcurrencyPath", loc),
        max_concurrency_expr,
        item_batcher: obj
            .get("ItemBatcher")
            .and_then(|b| item_batcher(cx, b, &format!("{loc}/ItemBatcher"), ql)),
        result_writer: obj
            .get("ResultWriter")
            .and_then(|w| result_writer(cx, w, &format!("{loc}/ResultWriter"), ql)),
    })))
}

fn item_reader(cx: &mut Cx, v: &Value, loc: &str, ql: QueryLanguage) -> Option<ItemReader> {
    let Some(obj) = v.as_object() else {
        cx.schema(loc, "'ItemReader' must be an object");
        return None;
    };
    let Some(resource) = obj.get("Resource").and_then(Value::as_str) else {
        cx.schema(loc, "an ItemReader needs a 'Resource'");
        return None;
    };
    let key = if obj.contains_key("Arguments") { "Arguments" } else { "Parameters" };
    let parameters = obj.get(key).map(|t| dynamic(cx, t, &format!("{loc}/{key}"), key, ql));
    let config = obj.get("ReaderConfig").and_then(Value::as_object).cloned().unwrap_or_default();
    let rloc = format!("{loc}/ReaderConfig");
    let text = |k: &str| config.get(k).and_then(Value::as_str).map(str::to_string);
    Some(ItemReader {
        resource: resource.to_string(),
        parameters,
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
        csv_delimiter: text("CSVDelimiter"),
        max_items: amount(cx, &config, "MaxItems", &rloc, ql),
    })
}

fn item_batcher(cx: &mut Cx, v: &Value, loc: &str, ql: QueryLanguage) -> Option<ItemBatcher> {
    let Some(obj) = v.as_object() else {
        cx.schema(loc, "'ItemBatcher' must be an object");
        return None;
    };
    Some(ItemBatcher {
        max_items: amount(cx, obj, "MaxItemsPerBatch", loc, ql),
        max_bytes: amount(cx, obj, "MaxInputBytesPerBatch", loc, ql),
        batch_input: obj
            .get("BatchInput")
            .map(|b| dynamic(cx, b, &format!("{loc}/BatchInput"), "BatchInput", ql)),
    })
}

fn result_writer(cx: &mut Cx, v: &Value, loc: &str, ql: QueryLanguage) -> Option<ResultWriter> {
    let Some(obj) = v.as_object() else {
        cx.schema(loc, "'ResultWriter' must be an object");
        return None;
    };
    let key = if obj.contains_key("Arguments") { "Arguments" } else { "Parameters" };
    let Some(p) = obj.get(key) else {
        cx.schema(loc, "a ResultWriter needs 'Parameters' (Bucket and Prefix)");
        return None;
    };
    Some(ResultWriter { parameters: dynamic(cx, p, &format!("{loc}/{key}"), key, ql) })
}

/// A number given literally (`key`), by path (`keyPath`) or by a JSONata
/// expression.
fn amount(
    cx: &mut Cx,
    obj: &Map<String, Value>,
    key: &str,
    loc: &str,
    ql: QueryLanguage,
) -> Option<Amount> {
    if let Some(v) = obj.get(key) {
        return match v.as_f64() {
            Some(n) => Some(Amount::Literal(n)),
            None if ql == QueryLanguage::Jsonata
                && v.as_str().and_then(expression_text).is_some() =>
            {
                expr_in(cx, v.as_str().unwrap_or_default(), &format!("{loc}/{key}"), key)
                    .map(Amount::Expr)
            }
            None => {
                cx.schema(&format!("{loc}/{key}"), format!("'{key}' must be a number, found {v}"));
                None
            }
        };
    }
    opt_path(cx, obj, &format!("{key}Path"), loc).map(Amount::Path)
}
