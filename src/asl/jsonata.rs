//! JSONata in a definition: every `{% … %}` string is parsed once, at load,
//! by a kept JSONata implementation (jsonata-core, a port of the reference
//! implementation), into an [`Expr`]; a value that may hold expressions at
//! any depth (Arguments, Output, Assign, ItemSelector) becomes a [`Query`].
//! Evaluation is in `eval/jsonata.rs`.

use super::diagnostic::token;
use super::lower::Cx;
use jsonata_core::ast::AstNode;
use serde_json::Value;
use std::sync::Arc;

/// One JSONata expression of the definition.
pub(crate) struct Expr {
    /// The expression between `{%` and `%}`, trimmed, as AWS quotes it in causes.
    pub text: String,
    /// The field it stands in, as AWS names it in causes and
    /// EvaluationFailed events: `Items`, `Output/FunctionResult`.
    pub field: String,
    pub(crate) ast: AstNode,
    /// What it reads, so an evaluation binds only that.
    pub(crate) reads: Reads,
}

/// What an expression's text reads, outside string literals.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Reads {
    /// The `$names` (`$states` aside): variables, or functions.
    pub names: Vec<String>,
    /// Whether it reads `$states`.
    pub states: bool,
    /// Whether it may read `$states.context` (any use of `$states` other
    /// than `.input`, `.result` or `.errorOutput`).
    pub context: bool,
    /// The field names that follow each `$states` (`$states.input.a.b` →
    /// `["input", "a", "b"]`): all an evaluation needs of `$states` is the
    /// value at the end of each. `None` when one `$states` is followed by
    /// no field name (`$keys($states)`): it needs all of it.
    pub paths: Option<Vec<Vec<String>>>,
    /// The field names of an expression that is only a path into
    /// `$states` (`$states.context.Task.Token`).
    pub only_path: Option<Vec<String>>,
    /// An expression that only compares a path into `$states` with a
    /// literal (`$states.input.n > 3`, `$states.input.s = 'DONE'`).
    pub compare: Option<Compare>,
    /// The field names of `$string($states.PATH)`, if that is all it is.
    pub string_of: Option<Vec<String>>,
    /// For `$string($states.input.PATH)`: `PATH` as a path into the input
    /// (a value's JSON text a reader can read in place).
    pub string_of_input: Option<Arc<[super::Seg]>>,
}

/// `$states.PATH OP LITERAL`, as [`Reads::compare`] holds it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Compare {
    pub path: Vec<String>,
    /// `=`, `!=`, `<`, `<=`, `>`, `>=`.
    pub op: &'static str,
    /// A number or a string (strings only with `=` and `!=`).
    pub literal: Value,
}

/// `$states.a.b OP literal` read from the text, if that is all it is.
fn comparison(text: &str) -> Option<Compare> {
    let rest = text.strip_prefix("$states")?;
    let path = field_names(rest);
    let consumed: usize = path.iter().map(|p| p.len() + 1).sum();
    let after = rest[consumed..].trim_start();
    let op = ["<=", ">=", "!=", "=", "<", ">"].into_iter().find(|o| after.starts_with(o))?;
    let lit = after[op.len()..].trim();
    let literal = if let Some(q) = lit.chars().next().filter(|c| *c == '\'' || *c == '"') {
        let inner = lit.strip_prefix(q)?.strip_suffix(q)?;
        if inner.contains(['\\', '\'', '"']) || !matches!(op, "=" | "!=") {
            return None;
        }
        Value::String(inner.to_string())
    } else {
        let plain = !lit.is_empty()
            && lit.chars().all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | 'E' | '+'))
            && lit.starts_with(|c: char| c.is_ascii_digit() || c == '-');
        let n: f64 = lit.parse().ok().filter(|n: &f64| plain && n.is_finite())?;
        Value::from(n)
    };
    (!path.is_empty()).then_some(Compare { path, op, literal })
}

impl Reads {
    /// Whether `$name` appears.
    pub(crate) fn names(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
}

impl std::fmt::Debug for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{% {} %}} at {}", self.text, self.field)
    }
}

/// A value whose strings may be JSONata expressions, at any depth.
#[derive(Debug, Clone)]
pub(crate) enum Query {
    /// No expression inside: used as it is.
    Literal(Value),
    Expr(Arc<Expr>),
    Object(Vec<(String, Query)>),
    Array(Vec<Query>),
}

/// The expression inside `s` when `s` is `{% … %}`, as AWS requires it
/// (no space before `{%` or after `%}`).
pub(crate) fn expression_text(s: &str) -> Option<&str> {
    s.strip_prefix("{%")?.strip_suffix("%}")
}

/// Parses `s`, which must be a `{% … %}` expression (`None` when it is not
/// one, or does not parse: then `cx` has the problem at `loc`).
pub(crate) fn expr_in(cx: &mut Cx, s: &str, loc: &str, field: &str) -> Option<Arc<Expr>> {
    let Some(inner) = expression_text(s) else {
        cx.schema(loc, format!("'{field}' must be a JSONata expression '{{% … %}}', found '{s}'"));
        return None;
    };
    let text = inner.trim();
    if text.is_empty() {
        cx.schema(loc, "a JSONata expression '{% %}' cannot be empty");
        return None;
    }
    match jsonata_core::parser::parse(text) {
        Ok(ast) => Some(Arc::new(Expr {
            text: text.to_string(),
            field: field.to_string(),
            ast,
            reads: reads(text),
        })),
        Err(e) => {
            cx.schema(loc, format!("invalid JSONata expression '{text}': {e}"));
            None
        }
    }
}

/// A value whose strings may be `{% … %}` expressions (Arguments, Output,
/// Assign, ItemSelector): `field` names it as AWS does in causes.
pub(crate) fn query_in(cx: &mut Cx, v: &Value, loc: &str, field: &str) -> Query {
    if !has_expression(v) {
        return Query::Literal(v.clone());
    }
    match v {
        Value::String(s) => match expr_in(cx, s, loc, field) {
            Some(e) => Query::Expr(e),
            None => Query::Literal(Value::Null),
        },
        Value::Object(m) => Query::Object(
            m.iter()
                .map(|(k, val)| {
                    (
                        k.clone(),
                        query_in(cx, val, &format!("{loc}/{}", token(k)), &format!("{field}/{k}")),
                    )
                })
                .collect(),
        ),
        Value::Array(a) => Query::Array(
            a.iter()
                .enumerate()
                .map(|(i, val)| query_in(cx, val, &format!("{loc}/{i}"), &format!("{field}/{i}")))
                .collect(),
        ),
        other => Query::Literal(other.clone()),
    }
}

/// Whether a `{% … %}` string appears anywhere in `v`.
pub(crate) fn has_expression(v: &Value) -> bool {
    match v {
        Value::String(s) => expression_text(s).is_some(),
        Value::Array(a) => a.iter().any(has_expression),
        Value::Object(m) => m.values().any(has_expression),
        _ => false,
    }
}

/// What an expression's text reads.
pub(crate) fn reads(text: &str) -> Reads {
    let b = text.as_bytes();
    let mut r = Reads { paths: Some(Vec::new()), ..Reads::default() };
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'$' => {
                let start = i + 1;
                let mut end = start;
                while end < b.len()
                    && (b[end].is_ascii_alphanumeric() || b[end] == b'_' || b[end] >= 0x80)
                {
                    end += 1;
                }
                let name = &text[start..end];
                if name == "states" {
                    r.states = true;
                    let rest = &text[end..];
                    let plain = [".input", ".result", ".errorOutput"].iter().any(|f| {
                        rest.strip_prefix(f).is_some_and(|after| {
                            !after.starts_with(|c: char| c.is_alphanumeric() || c == '_')
                        })
                    });
                    r.context |= !plain;
                    let path = field_names(rest);
                    match (&mut r.paths, path.is_empty()) {
                        (Some(paths), false) => paths.push(path),
                        _ => r.paths = None,
                    }
                } else if !name.is_empty() && !r.names(name) {
                    r.names.push(name.to_string());
                }
                i = end.max(i + 1);
            }
            _ => i += 1,
        }
    }
    if let Some([path]) = r.paths.as_deref() {
        if r.names.is_empty() && text == format!("$states.{}", path.join(".")) {
            r.only_path = Some(path.clone());
        }
    }
    if r.names.is_empty() {
        r.compare = comparison(text);
    }
    if let (Some([path]), [name]) = (r.paths.as_deref(), r.names.as_slice()) {
        if name == "string" && text == format!("$string($states.{})", path.join(".")) {
            r.string_of = Some(path.clone());
            if let Some(("input", rest)) = path.split_first().map(|(f, rest)| (f.as_str(), rest)) {
                r.string_of_input =
                    Some(rest.iter().map(|f| super::Seg::Field(f.clone())).collect());
            }
        }
    }
    r
}

/// The `.name.name…` run at the start of `rest` (plain names only: a
/// quoted name, a predicate or a space ends it).
fn field_names(rest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut s = rest;
    while let Some(after) = s.strip_prefix('.') {
        let len = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
        if len == 0 || after.starts_with(|c: char| c.is_ascii_digit()) {
            break;
        }
        out.push(after[..len].to_string());
        s = &after[len..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_know_the_field_names_after_each_states() {
        let r =
            reads("$states.input.a.b + $count($states.context.Task.Token) & $states.result[0].x");
        assert_eq!(
            r.paths,
            Some(vec![
                vec!["input".to_string(), "a".into(), "b".into()],
                vec!["context".into(), "Task".into(), "Token".into()],
                vec!["result".into()],
            ])
        );
        assert_eq!(reads("$keys($states)").paths, None);
        assert_eq!(reads("$states.`odd key`").paths, None);
        assert_eq!(reads("1 + 2").paths, Some(vec![]));
        assert_eq!(
            reads("$states.context.Task.Token").only_path,
            Some(vec!["context".to_string(), "Task".into(), "Token".into()])
        );
        assert_eq!(reads("$states.input.a > 1").only_path, None);
        assert_eq!(reads("$states.input.a[0]").only_path, None);
        let c = reads("$states.input.input.number > 3").compare.unwrap();
        assert_eq!((c.path.len(), c.op, c.literal), (3, ">", serde_json::json!(3.0)));
        assert_eq!(reads("$states.input.s = 'DONE'").compare.unwrap().literal, "DONE");
        for not_one in [
            "$states.input.s < 'a'",
            "$states.input.n > 3 and true",
            "$states.input.n > $x",
            "$states.input.n > 0x1",
            "$states.input.n = 'it''s'",
        ] {
            assert_eq!(reads(not_one).compare, None, "{not_one}");
        }
    }

    #[test]
    fn reads_skip_string_literals_and_tell_the_context_apart() {
        let r = reads("$sum($states.input.a) + $x & '$notme' & \"$nor\" & $states.result");
        assert_eq!(r.names, vec!["sum", "x"]);
        assert!(r.states && !r.context);
        assert!(reads("$states.context.Task.Token").context);
        assert!(reads("$keys($states)").context);
        assert!(reads("$states.inputs").context);
    }

    #[test]
    fn only_whole_braces_are_expressions() {
        assert_eq!(expression_text("{% $x %}"), Some(" $x "));
        assert_eq!(expression_text(" {% $x %}"), None);
        assert_eq!(expression_text("{% $x"), None);
    }

    #[test]
    fn queries_name_their_fields_and_report_parse_errors() {
        let mut cx = Cx { diags: Vec::new() };
        let q = query_in(
            &mut cx,
            &serde_json::json!({"a": {"b": "{% 1 + %}"}, "c": ["{% $x %}"]}),
            "/States/S/Output",
            "Output",
        );
        assert_eq!(cx.diags.len(), 1);
        assert_eq!(cx.diags[0].location, "/States/S/Output/a/b");
        let Query::Object(fields) = q else { panic!() };
        let Query::Array(items) = &fields[1].1 else { panic!() };
        let Query::Expr(e) = &items[0] else { panic!() };
        assert_eq!(e.field, "Output/c/0");
        assert_eq!(e.text, "$x");
    }
}
