//! JSONPath as the Amazon States Language uses it.
//!
//! A [`Path`] is parsed once and evaluated many times. Simple definite paths
//! (`$.a.b[0]['c d']`) are walked directly; anything else (wildcards, slices,
//! filters, `..`) goes through `serde_json_path` and yields an array of all
//! matches, as AWS does for indefinite paths. `$$…` paths select from the
//! context object instead of the state input.
//!
//! ```
//! use serde_json::json;
//! // a definite path selects one value; an indefinite one, the array of its matches
//! let h = sfn_harness::Harness::from_definition(r#"{"StartAt": "P", "States": {"P": {"Type": "Pass",
//!     "Parameters": {"first.$": "$.items[0].n", "all.$": "$.items[*].n"}, "End": true}}}"#).unwrap();
//! let out = h.run_blocking(json!({"items": [{"n": 1}, {"n": 2}]}));
//! assert_eq!(out.output(), &json!({"first": 1, "all": [1, 2]}));
//! ```

use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// Why a path does not parse, or cannot be applied; each variant's doc
/// shows the smallest input that gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathError {
    /// `a.b`: a path must start with `$`.
    NoDollar(String),
    /// `$.a[`: not valid JSONPath (the reason from the JSONPath parser).
    Invalid { path: String, reason: String },
    /// `$$.a` as a ResultPath: a reference path must start with a single `$`.
    NotReference(String),
    /// `$.a[*]` as a ResultPath: only `.field`, `['field']` and `[index]` steps.
    NotDefinite(String),
    /// ResultPath `$.a.b` on `{"a": 1}`: the step meets a value that is not
    /// an object or array (`found` is its JSON type).
    Unplaceable { path: String, step: String, found: &'static str },
    /// `$` followed by 33 nested `[`: brackets and parentheses nest at most
    /// [`MAX_NESTING`] deep, filters at most [`MAX_FILTER_NESTING`] deep.
    TooDeep { path: String, what: &'static str, limit: usize },
    /// `$..*..*`: at most [`MAX_DESCENDANTS`] descendant segment (`..`),
    /// each of which can multiply the number of matches by the input's size.
    TooManyDescendants(String),
}

/// How deep brackets and parentheses may nest in a path.
pub(super) const MAX_NESTING: usize = 32;
/// How deep filter expressions (`[?(…)]`) may nest in a path: parsing one is
/// exponential in its nesting.
pub(super) const MAX_FILTER_NESTING: usize = 5;
/// How many descendant segments (`..`) a path may have: one selects at most
/// (nesting depth × values) nodes; each more multiplies that again.
pub(super) const MAX_DESCENDANTS: usize = 1;

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::NoDollar(p) => write!(f, "'{p}' is not a JSONPath: it must start with '$'"),
            PathError::Invalid { path, reason } => {
                write!(f, "'{path}' is not a valid JSONPath: {reason}")
            }
            PathError::NotReference(p) => {
                write!(f, "'{p}' is not a reference path: it must start with '$'")
            }
            PathError::NotDefinite(p) => {
                write!(f, "'{p}' is not a reference path: only '.field', ['field'] and [index] steps are allowed")
            }
            PathError::TooDeep { path, what, limit } => {
                write!(
                    f,
                    "'{path}' nests {what} more than {limit} deep, more than sfn-harness evaluates"
                )
            }
            PathError::TooManyDescendants(p) => {
                write!(f, "'{p}' has more than {MAX_DESCENDANTS} descendant segment ('..'): their matches grow as a power of the input's size")
            }
            PathError::Unplaceable { path, step, found } => {
                write!(f, "Unable to apply ResultPath \"{path}\": step \"{step}\" cannot be applied to {found}")
            }
        }
    }
}

impl std::error::Error for PathError {}

/// One step of a simple path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seg {
    Field(String),
    Index(i64),
}

/// Which document a path selects from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Root {
    /// `$`: the state's effective input.
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a variable (set by `Assign`).
    Variable,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Shared, so a reader that selects the same place later (a task
    /// parameter's JSON-text leaf) keeps it without a copy.
    Simple(std::sync::Arc<[Seg]>),
    Query(serde_json_path::JsonPath),
}

/// A parsed JSONPath (`$…`) or context path (`$$…`).
#[derive(Debug, Clone)]
pub(crate) struct Path {
    text: String,
    root: Root,
    /// The variable's name, for [`Root::Variable`].
    variable: Option<String>,
    kind: Kind,
}

impl Path {
    /// Parses a path; the error says what is wrong with it.
    pub(crate) fn parse(text: &str) -> Result<Path, PathError> {
        let mut variable = None;
        let (root, rest) = if let Some(r) = text.strip_prefix("$$") {
            (Root::Context, r)
        } else if let Some(r) = text.strip_prefix('$') {
            let name_len = r.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(r.len());
            if name_len > 0 && !r.starts_with(|c: char| c.is_ascii_digit()) {
                variable = Some(r[..name_len].to_string());
                (Root::Variable, &r[name_len..])
            } else {
                (Root::Input, r)
            }
        } else {
            return Err(PathError::NoDollar(text.to_string()));
        };
        let kind = match parse_simple(rest) {
            Some(segs) => Kind::Simple(segs.into()),
            None => {
                check_work(text)?;
                let rfc = to_rfc9535(rest);
                let q = serde_json_path::JsonPath::parse(&rfc).map_err(|e| PathError::Invalid {
                    path: text.to_string(),
                    reason: e.message().to_string(),
                })?;
                Kind::Query(q)
            }
        };
        Ok(Path { text: text.to_string(), root, variable, kind })
    }

    /// The path as written.
    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn root(&self) -> Root {
        self.root
    }

    /// The variable a `$name…` path reads.
    pub(crate) fn variable(&self) -> Option<&str> {
        self.variable.as_deref()
    }

    /// The segments of a simple (definite) path, `None` for a query.
    pub(crate) fn segments(&self) -> Option<&[Seg]> {
        match &self.kind {
            Kind::Simple(s) => Some(s),
            Kind::Query(_) => None,
        }
    }

    /// The segments of a simple path, shared (see [`Path::segments`]).
    pub(crate) fn shared_segments(&self) -> Option<&std::sync::Arc<[Seg]>> {
        match &self.kind {
            Kind::Simple(s) => Some(s),
            Kind::Query(_) => None,
        }
    }

    /// Selects from `doc`. A definite path that matches nothing gives `None`;
    /// an indefinite one gives the array of its matches (possibly empty).
    pub(crate) fn select<'a>(&self, doc: &'a Value) -> Option<Cow<'a, Value>> {
        match &self.kind {
            Kind::Simple(segs) => walk(doc, segs).map(Cow::Borrowed),
            Kind::Query(q) => {
                let nodes = q.query(doc).all();
                Some(Cow::Owned(Value::Array(nodes.into_iter().cloned().collect())))
            }
        }
    }

    /// The path in the bracket form AWS uses in "No results for path" causes.
    pub(crate) fn bracketed(&self) -> String {
        let mut s = String::from("$");
        match &self.kind {
            Kind::Simple(segs) => {
                for seg in segs.iter() {
                    match seg {
                        Seg::Field(f) => s.push_str(&format!("['{f}']")),
                        Seg::Index(i) => s.push_str(&format!("[{i}]")),
                    }
                }
            }
            Kind::Query(_) => return self.text.clone(),
        }
        s
    }
}

/// The value at `segs` (a simple path's segments) in `v`.
pub(crate) fn walk<'a>(mut v: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    for seg in segs {
        v = match (seg, v) {
            (Seg::Field(f), Value::Object(m)) => crate::json::field(m, f)?,
            (Seg::Index(i), Value::Array(a)) => {
                let idx = if *i < 0 { a.len() as i64 + *i } else { *i };
                if idx < 0 {
                    return None;
                }
                a.get(idx as usize)?
            }
            _ => return None,
        };
    }
    Some(v)
}

/// A reference path: a simple path used to place a value (ResultPath).
#[derive(Debug, Clone)]
pub(crate) struct ReferencePath {
    text: String,
    segs: Vec<Seg>,
}

impl ReferencePath {
    /// Parses a reference path (a definite path into the state input).
    pub(crate) fn parse(text: &str) -> Result<ReferencePath, PathError> {
        let rest = text
            .strip_prefix('$')
            .filter(|r| !r.starts_with('$'))
            .ok_or_else(|| PathError::NotReference(text.to_string()))?;
        let segs = parse_simple(rest).ok_or_else(|| PathError::NotDefinite(text.to_string()))?;
        Ok(ReferencePath { text: text.to_string(), segs })
    }

    /// Places `value` into `target` at this path, creating objects on the
    /// way. Fails when a step meets a value that is not an object/array.
    pub(crate) fn assign(&self, target: Value, value: Value) -> Result<Value, PathError> {
        let mut target = target;
        place(&mut target, &self.segs, value).map_err(|(step, found)| PathError::Unplaceable {
            path: self.text.clone(),
            step,
            found,
        })?;
        Ok(target)
    }
}

fn place(slot: &mut Value, segs: &[Seg], value: Value) -> Result<(), (String, &'static str)> {
    let Some((seg, rest)) = segs.split_first() else {
        *slot = value;
        return Ok(());
    };
    match (seg, slot) {
        (Seg::Field(f), Value::Object(m)) => {
            let child = m.entry(f.clone()).or_insert_with(|| Value::Object(Default::default()));
            place(child, rest, value)
        }
        (Seg::Index(i), Value::Array(a)) if *i >= 0 && (*i as usize) < a.len() => {
            place(&mut a[*i as usize], rest, value)
        }
        (Seg::Field(f), other) => Err((f.clone(), type_name(other))),
        (Seg::Index(i), other) => Err((i.to_string(), type_name(other))),
    }
}

pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses `.a.b[0]['c']…` (after the `$`), or `None` when the path needs a query engine.
/// Refuses paths whose parsing or evaluation would take unbounded stack,
/// time or memory: nesting past [`MAX_NESTING`] or [`MAX_FILTER_NESTING`],
/// more than [`MAX_DESCENDANTS`] descendant segments. Quoted text is skipped.
fn check_work(text: &str) -> Result<(), PathError> {
    let too_deep = |what, limit| PathError::TooDeep { path: text.to_string(), what, limit };
    // open brackets and parentheses; `true` marks a filter's bracket
    let mut open: Vec<bool> = Vec::new();
    let mut filters = 0usize;
    let mut descendants = 0usize;
    let mut quote: Option<char> = None;
    let mut prev = '\0';
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[' | '(') => {
                open.push(false);
                if open.len() > MAX_NESTING {
                    return Err(too_deep("brackets and parentheses", MAX_NESTING));
                }
            }
            // a filter: its bracket is a filter frame
            (None, '?') => {
                if let Some(frame @ false) = open.last_mut() {
                    *frame = true;
                    filters += 1;
                    if filters > MAX_FILTER_NESTING {
                        return Err(too_deep("filters", MAX_FILTER_NESTING));
                    }
                }
            }
            // closing a filter's bracket ends the filter
            (None, ']' | ')') if open.pop() == Some(true) => filters -= 1,
            (None, '.') if prev == '.' => {
                descendants += 1;
                if descendants > MAX_DESCENDANTS {
                    return Err(PathError::TooManyDescendants(text.to_string()));
                }
                prev = '\0';
                continue;
            }
            _ => {}
        }
        prev = c;
    }
    Ok(())
}

fn parse_simple(mut s: &str) -> Option<Vec<Seg>> {
    let mut segs = Vec::new();
    while !s.is_empty() {
        if let Some(r) = s.strip_prefix('.') {
            if r.starts_with('.') || r.starts_with('*') || r.is_empty() {
                return None;
            }
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() || name.contains(['*', '?', '(', ')', '@', ' ', ',', ']', '\'', '"'])
            {
                return None;
            }
            segs.push(Seg::Field(name.to_string()));
            s = &r[end..];
        } else if let Some(r) = s.strip_prefix('[') {
            let close = find_close(r)?;
            let inner = r[..close].trim();
            s = &r[close + 1..];
            if let Some(q) = quoted(inner) {
                segs.push(Seg::Field(q));
            } else if let Ok(i) = inner.parse::<i64>() {
                segs.push(Seg::Index(i));
            } else {
                return None;
            }
        } else {
            return None;
        }
    }
    Some(segs)
}

fn find_close(r: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut esc = false;
    for (i, c) in r.char_indices() {
        if let Some(q) = quote {
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == q {
                quote = None;
            }
        } else if c == '\'' || c == '"' {
            quote = Some(c);
        } else if c == ']' {
            return Some(i);
        }
    }
    None
}

fn quoted(inner: &str) -> Option<String> {
    let q = inner.chars().next()?;
    if (q == '\'' || q == '"') && inner.len() >= 2 && inner.ends_with(q) {
        let body = &inner[1..inner.len() - 1];
        if body.contains(q) && !body.contains('\\') {
            return None;
        }
        Some(body.replace(&format!("\\{q}"), &q.to_string()))
    } else {
        None
    }
}

/// Rewrites Jayway-style dotted names (`.a-b`) into RFC 9535 brackets so
/// serde_json_path accepts them; brackets are left as they are.
fn to_rfc9535(rest: &str) -> String {
    let mut out = String::from("$");
    let b = rest.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'[' => {
                let close = find_close(&rest[i + 1..]).map(|c| i + 1 + c).unwrap_or(b.len() - 1);
                out.push_str(&rest[i..=close]);
                i = close + 1;
            }
            b'.' => {
                let dots = if rest[i..].starts_with("..") { 2 } else { 1 };
                let start = i + dots;
                let end = rest[start..].find(['.', '[']).map(|e| start + e).unwrap_or(b.len());
                let name = &rest[start..end];
                out.push_str(if dots == 2 { ".." } else { "" });
                if name == "*" {
                    out.push_str(if dots == 2 { "*" } else { ".*" });
                } else if !name.is_empty() {
                    out.push_str(&format!("['{}']", name.replace('\'', "\\'")));
                }
                i = end;
            }
            _ => {
                out.push(b[i] as char);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gives(path: &str, doc: Value, want: Option<Value>) {
        let p = Path::parse(path).unwrap();
        assert_eq!(p.select(&doc).map(Cow::into_owned), want, "{path}");
    }

    #[test]
    fn paths_select_like_aws() {
        gives("$", json!({"a": 1}), Some(json!({"a": 1})));
        gives("$.a.b", json!({"a": {"b": 2}}), Some(json!(2)));
        gives("$.a-b", json!({"a-b": 2}), Some(json!(2)));
        gives("$['a b'][1]", json!({"a b": [1, 2]}), Some(json!(2)));
        gives("$.a[-1]", json!({"a": [1, 2]}), Some(json!(2)));
        gives("$.missing", json!({"a": 1}), None);
        gives("$.a[*]", json!({"a": [1, 2]}), Some(json!([1, 2])));
        gives("$.a[1:]", json!({"a": [1, 2, 3]}), Some(json!([2, 3])));
        gives("$..n", json!({"a": {"n": 1}}), Some(json!([1])));
        gives("$.a[?(@.x > 1)].x", json!({"a": [{"x": 1}, {"x": 3}]}), Some(json!([3])));
    }

    #[test]
    fn bad_paths_are_rejected() {
        assert!(Path::parse("a.b").is_err());
        assert!(Path::parse("$.a[").is_err());
        assert!(ReferencePath::parse("$.a[*]").is_err());
    }

    #[test]
    fn reference_paths_assign() {
        let r = ReferencePath::parse("$.a.b").unwrap();
        assert_eq!(r.assign(json!({"x": 1}), json!(2)).unwrap(), json!({"x": 1, "a": {"b": 2}}));
        assert!(r.assign(json!({"a": 1}), json!(2)).is_err());
        assert_eq!(
            ReferencePath::parse("$").unwrap().assign(json!(1), json!(2)).unwrap(),
            json!(2)
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        /// Arbitrary text parses as a path, reference path or intrinsic call,
        /// or says why; it never panics.
        #[test]
        fn paths_and_calls_parse_or_say_why(s in "[$@.a-z0-9\\[\\]'*?():,é -]{0,24}") {
            use crate::asl::Call;
            let doc = json!({"a": [1, {"b": 2}]});
            let _ = Path::parse(&s).map(|p| p.select(&doc).map(|c| c.into_owned()));
            let _ = ReferencePath::parse(&s).map(|p| p.assign(json!({"a": 1}), json!(2)));
            let _ = Call::parse(&format!("States.Format({s})"));
            let _ = Call::parse(&s);
        }
    }

    #[test]
    fn work_limits_hold_before_parsing() {
        let nested =
            |open: &str, close: &str, n: usize| format!("$.a{}{}", open.repeat(n), close.repeat(n));
        assert!(matches!(Path::parse(&nested("[", "]", 1000)), Err(PathError::TooDeep { .. })));
        assert!(matches!(
            Path::parse(&format!("$.a[?({}@.b{})]", "(".repeat(1000), ")".repeat(1000))),
            Err(PathError::TooDeep { .. })
        ));
        let filters = |n: usize| format!("$.a{}{}", "[?(@.b".repeat(n), ")]".repeat(n));
        assert!(Path::parse(&filters(MAX_FILTER_NESTING)).is_ok());
        assert!(matches!(
            Path::parse(&filters(MAX_FILTER_NESTING + 1)),
            Err(PathError::TooDeep { what: "filters", .. })
        ));
        assert!(matches!(Path::parse(&filters(20)), Err(PathError::TooDeep { .. })));
        assert!(Path::parse("$..a").is_ok());
        assert!(matches!(Path::parse("$..a..b"), Err(PathError::TooManyDescendants(_))));
        // quoted text does not count
        assert!(Path::parse("$['..(((((((((((((((((((((((((((((((((((..']").is_ok());
    }
}
