//! Payload templates (Parameters, ResultSelector, ItemSelector, Assign in
//! JSONPath mode): keys ending in `.$` hold a path or an intrinsic call,
//! compiled once into a [`Template`] whose static parts are kept as they are.

use super::diagnostic::{code, token};
use super::intrinsic::Call;
use super::lower::Cx;
use super::path::Path;
use serde_json::{Map, Value};

/// A payload template (Parameters, ResultSelector): `.$` keys evaluated.
#[derive(Debug, Clone)]
pub(crate) enum Template {
    Literal(Value),
    /// An object with some dynamic fields: `skeleton` holds the static
    /// fields and a placeholder for each dynamic one, in order, so an
    /// evaluation clones it and fills the `dynamic` slots.
    Object {
        skeleton: serde_json::Map<String, Value>,
        dynamic: Vec<(String, Template)>,
        /// The leaves (paths, intrinsic calls, expressions) `dynamic` holds
        /// at any depth, in order: what an evaluation walks (not the tree).
        flat: Box<[FlatLeaf]>,
    },
    /// An array with some dynamic items; `flat` as for an object.
    Array {
        items: Vec<Template>,
        flat: Box<[FlatLeaf]>,
    },
    Path(Path),
    Call(Call),
    /// A JSONata expression: a leaf of a JSONata `Arguments` laid out as a
    /// template (see [`Template::of_query`]).
    Expr(std::sync::Arc<super::jsonata::Expr>),
}

/// A leaf of a template (a path, an intrinsic call or an expression), and
/// the field it is the value of when it is a path (its error names it).
#[derive(Debug, Clone)]
pub(crate) struct FlatLeaf {
    pub field: Option<Box<str>>,
    pub leaf: Template,
}

/// A field of an object template (see [`Template::field`]).
pub(crate) enum Field<'a> {
    /// A dynamic field, and the offset of its first leaf.
    Dynamic(&'a Template, usize),
    Static(&'a Value),
}

impl Template {
    /// How many dynamic leaves (paths, intrinsic calls, JSONata
    /// expressions) it has: how many values its evaluation yields before
    /// they are placed.
    pub(crate) fn leaf_count(&self) -> usize {
        match self {
            Template::Literal(_) => 0,
            Template::Path(_) | Template::Call(_) | Template::Expr(_) => 1,
            Template::Object { flat, .. } | Template::Array { flat, .. } => flat.len(),
        }
    }

    /// Field `key` of an object template's `skeleton` and `dynamic` fields,
    /// as its readers find it: a dynamic field first, with the offset of its
    /// first leaf among the object's leaves, else the skeleton's.
    pub(crate) fn field<'a>(
        skeleton: &'a Map<String, Value>,
        dynamic: &'a [(String, Template)],
        key: &str,
    ) -> Option<Field<'a>> {
        let mut at = 0;
        for (k, sub) in dynamic {
            if k == key {
                return Some(Field::Dynamic(sub, at));
            }
            at += sub.leaf_count();
        }
        crate::json::field(skeleton, key).map(Field::Static)
    }

    /// An array template's items, each with the offset of its first leaf
    /// among the array's leaves.
    pub(crate) fn with_offsets(items: &[Template]) -> impl Iterator<Item = (&Template, usize)> {
        items.iter().scan(0, |at, t| {
            let item = (t, *at);
            *at += t.leaf_count();
            Some(item)
        })
    }

    /// An array template, its leaves listed.
    fn array(items: Vec<Template>) -> Template {
        let mut flat = Vec::new();
        for t in &items {
            t.flatten_into(None, &mut flat);
        }
        Template::Array { items, flat: flat.into() }
    }

    /// An object template, its leaves listed.
    fn object(skeleton: Map<String, Value>, dynamic: Vec<(String, Template)>) -> Template {
        let mut flat = Vec::new();
        for (k, t) in &dynamic {
            t.flatten_into(Some(k), &mut flat);
        }
        Template::Object { skeleton, dynamic, flat: flat.into() }
    }

    /// This template's leaves, in order, onto `out`; `field` is the
    /// object field it is the value of.
    fn flatten_into(&self, field: Option<&str>, out: &mut Vec<FlatLeaf>) {
        match self {
            Template::Literal(_) => {}
            Template::Path(_) => {
                out.push(FlatLeaf { field: field.map(Into::into), leaf: self.clone() })
            }
            Template::Call(_) | Template::Expr(_) => {
                out.push(FlatLeaf { field: None, leaf: self.clone() })
            }
            Template::Object { flat, .. } | Template::Array { flat, .. } => {
                out.extend(flat.iter().cloned())
            }
        }
    }

    /// A JSONata value (`Arguments`) laid out as a template: its literal
    /// parts static, its expressions the leaves, in the order the query
    /// evaluates them.
    pub(crate) fn of_query(q: &super::jsonata::Query) -> Template {
        use super::jsonata::Query;
        match q {
            Query::Literal(v) => Template::Literal(v.clone()),
            Query::Expr(e) => Template::Expr(e.clone()),
            Query::Array(items) => Template::array(items.iter().map(Template::of_query).collect()),
            Query::Object(fields) => {
                let mut skeleton = Map::new();
                let mut dynamic = Vec::new();
                for (k, sub) in fields {
                    match sub {
                        Query::Literal(v) => {
                            skeleton.insert(k.clone(), v.clone());
                        }
                        other => {
                            skeleton.insert(k.clone(), Value::Null);
                            dynamic.push((k.clone(), Template::of_query(other)));
                        }
                    }
                }
                Template::object(skeleton, dynamic)
            }
        }
    }
}

pub(crate) fn template_in(cx: &mut Cx, v: &Value, loc: &str) -> Template {
    if is_static(v) {
        if let Value::Object(m) = v {
            for (k, val) in m {
                no_dollar_warning(cx, k, val, &format!("{loc}/{}", token(k)));
            }
        }
        return Template::Literal(v.clone());
    }
    match v {
        Value::Object(m) => {
            let mut skeleton = Map::new();
            let mut dynamic = Vec::new();
            for (k, val) in m {
                let kloc = format!("{loc}/{}", token(k));
                if let Some(base) = k.strip_suffix(".$") {
                    skeleton.insert(base.to_string(), Value::Null);
                    dynamic.push((base.to_string(), dynamic_field(cx, val, &kloc, k)));
                } else if is_static(val) {
                    no_dollar_warning(cx, k, val, &kloc);
                    skeleton.insert(k.clone(), val.clone());
                } else {
                    skeleton.insert(k.clone(), Value::Null);
                    dynamic.push((k.clone(), template_in(cx, val, &kloc)));
                }
            }
            Template::object(skeleton, dynamic)
        }
        Value::Array(a) => Template::array(
            a.iter()
                .enumerate()
                .map(|(i, val)| template_in(cx, val, &format!("{loc}/{i}")))
                .collect(),
        ),
        other => Template::Literal(other.clone()),
    }
}

pub(crate) fn no_dollar_warning(cx: &mut Cx, k: &str, val: &Value, loc: &str) {
    if let Value::String(s) = val {
        if s.starts_with("$.") || s.starts_with("$$.") || (Call::looks_like(s) && s.ends_with(')'))
        {
            cx.warn(code::NO_DOLLAR, loc, format!("'{k}' holds '{s}', which looks like a path or intrinsic call; did you mean '{k}.$'?"));
        }
    }
}

pub(crate) fn dynamic_field(cx: &mut Cx, v: &Value, loc: &str, key: &str) -> Template {
    let Some(s) = v.as_str() else {
        cx.schema(
            loc,
            format!("the value of '{key}' must be a path or an intrinsic function call string"),
        );
        return Template::Literal(Value::Null);
    };
    if Call::looks_like(s) {
        match Call::parse(s) {
            Ok(c) => Template::Call(c),
            Err(e) => {
                cx.schema(loc, format!("invalid intrinsic function call in '{key}': {e}"));
                Template::Literal(Value::Null)
            }
        }
    } else {
        match Path::parse(s) {
            Ok(p) => Template::Path(p),
            Err(e) => {
                cx.schema(loc, format!("invalid path in '{key}': {e}"));
                Template::Literal(Value::Null)
            }
        }
    }
}

pub(crate) fn is_static(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.iter().all(|(k, v)| !k.ends_with(".$") && is_static(v)),
        Value::Array(a) => a.iter().all(is_static),
        _ => true,
    }
}
