//! A Task's effective parameters, shared by the integration that runs it
//! and the history that records it, without copying the static part of the
//! template they came from.
//!
//! A JSONPath `Parameters` template is mostly static (a cluster, a task
//! definition, network settings) with a few dynamic leaves (the input, the
//! task token). Evaluating it yields only those leaves; the whole JSON value
//! is built the first time someone needs it, and readers that only look a
//! few fields up (the container environment a worker reads) walk the
//! template and the leaves without building it.
//!
//! ```
//! use sfn_harness::{container_env_var, Harness, TaskReply};
//! use serde_json::json;
//! let h = Harness::from_definition(r#"{"StartAt": "T", "States": {"T": {"Type": "Task",
//!     "Resource": "arn:aws:states:::ecs:runTask", "End": true, "Parameters": {"Cluster": "c",
//!     "Overrides": {"ContainerOverrides": [{"Name": "w",
//!         "Environment": [{"Name": "N", "Value.$": "$.n"}]}]}}}}}"#).unwrap()
//!     .on_task("T", |call| {
//!         // a lookup reads the template and the leaf; indexing builds the value
//!         assert_eq!(container_env_var(&call.parameters, Some("w"), "N"), Some("7"));
//!         assert_eq!(call.parameters["Cluster"], "c");
//!         TaskReply::ok(json!({}))
//!     });
//! assert!(h.run_blocking(json!({"n": "7"})).succeeded());
//! ```

use crate::asl::{walk_segments, EnvLayout, EnvValue, Field, Seg, Template};
use serde_json::{Map, Value};
use std::sync::{Arc, OnceLock};

/// A task's effective parameters (after InputPath and Parameters, or
/// Arguments): derefs to the JSON value, built on first use when it came
/// from a template. Cloning shares it.
#[derive(Clone)]
pub struct Parameters(Arc<Inner>);

struct Inner {
    source: Source,
    whole: OnceLock<Arc<Value>>,
}

enum Source {
    /// A value given whole.
    Whole,
    /// A template's dynamic leaves, in the order the template lists them,
    /// and where the template puts the container environment, if it fixes it.
    Templated { template: Arc<Template>, leaves: LeafList, env: Option<Arc<EnvLayout>> },
}

/// A template's leaves: a task's few (its input's text, its token) held
/// inline, in the parameters' one allocation.
pub(crate) type LeafList = smallvec::SmallVec<[Leaf; 2]>;

/// One dynamic leaf: a value of its own, or a large one shared with equal
/// values of the same execution (the same JSON text handed to a container
/// in every turn of a loop is kept once; see `crate::intern`), or the JSON
/// text of a part of the state's input.
#[derive(Debug, Clone)]
pub(crate) enum Leaf {
    Own(Value),
    Shared(Arc<Value>),
    JsonText(JsonText),
}

/// A leaf that is the JSON text of a part of the state's input
/// (`States.JsonToString($.input)`, what a container gets as its `INPUT`):
/// where that part is, so a reader that wants the value
/// (`container_env_json`) reads it in place instead of parsing
/// the text, and the text, rendered the first time someone reads it (a
/// large one is rendered at once, to be kept once per execution).
#[derive(Debug, Clone)]
pub(crate) struct JsonText {
    root: Arc<Value>,
    at: Arc<[Seg]>,
    text: OnceLock<Arc<Value>>,
}

impl JsonText {
    /// The text of the value at `at` in `root` (a path the evaluation
    /// found there: `root` is shared, so it is still there), or, given,
    /// that text already rendered.
    pub(crate) fn new(root: Arc<Value>, at: Arc<[Seg]>, text: Option<Arc<Value>>) -> JsonText {
        JsonText { root, at, text: text.map_or_else(OnceLock::new, OnceLock::from) }
    }

    /// The value the text renders.
    pub(crate) fn value(&self) -> &Value {
        walk_segments(&self.root, &self.at).unwrap_or(&Value::Null)
    }

    fn text(&self) -> &Value {
        self.shared_text()
    }

    fn shared_text(&self) -> &Arc<Value> {
        self.text.get_or_init(|| Arc::new(crate::intrinsics::json_to_string_of(self.value())))
    }
}

impl std::ops::Deref for Leaf {
    type Target = Value;
    fn deref(&self) -> &Value {
        match self {
            Leaf::Own(v) => v,
            Leaf::Shared(v) => v,
            Leaf::JsonText(t) => t.text(),
        }
    }
}

impl Leaf {
    fn to_value(&self) -> Value {
        (**self).clone()
    }

    /// The leaf's value as a shared one (itself, when it is).
    pub(crate) fn into_shared(self) -> Arc<Value> {
        match self {
            Leaf::Own(v) => Arc::new(v),
            Leaf::Shared(v) => v,
            Leaf::JsonText(t) => Arc::clone(t.shared_text()),
        }
    }
}

impl Parameters {
    /// Parameters given as a whole value.
    pub(crate) fn whole(v: Arc<Value>) -> Parameters {
        Parameters(Arc::new(Inner { source: Source::Whole, whole: OnceLock::from(v) }))
    }

    /// The parameters `template` gives with these dynamic leaves (see
    /// [`Template::leaf_count`]); `env` is the template's [`EnvLayout`].
    pub(crate) fn templated(
        template: Arc<Template>,
        leaves: LeafList,
        env: Option<Arc<EnvLayout>>,
    ) -> Parameters {
        debug_assert_eq!(template.leaf_count(), leaves.len());
        let source = Source::Templated { template, leaves, env };
        Parameters(Arc::new(Inner { source, whole: OnceLock::new() }))
    }

    /// The whole value, shared.
    pub fn shared(&self) -> Arc<Value> {
        self.built().clone()
    }

    /// The whole value, built on first use (a value given whole is set at
    /// construction).
    fn built(&self) -> &Arc<Value> {
        self.0.whole.get_or_init(|| match &self.0.source {
            Source::Whole => Arc::new(Value::Null),
            Source::Templated { template, leaves, .. } => {
                Arc::new(fill(template, &mut leaves.iter().map(Leaf::to_value)))
            }
        })
    }

    /// A reader's view that does not build the value: the template and its
    /// leaves (built or not, so a JSON-text leaf is still read in place).
    pub(crate) fn node(&self) -> Node<'_> {
        match (&self.0.source, self.0.whole.get()) {
            (Source::Templated { template, leaves, .. }, _) => Node::of(template, leaves),
            (Source::Whole, Some(v)) => Node::plain(v),
            (Source::Whole, None) => Node::plain(&Value::Null),
        }
    }

    /// The container environment's variables, in order, as `(container,
    /// name, value)`, when the template laid them out; `None`: walk
    /// [`Parameters::node`] instead.
    fn env_vars(&self) -> Option<impl Iterator<Item = (Option<&str>, &str, Node<'_>)>> {
        let Source::Templated { leaves, env: Some(env), .. } = &self.0.source else {
            return None;
        };
        Some(env.vars.iter().map(move |v| {
            let value = match &v.value {
                EnvValue::Leaf(i) => leaves.get(*i).map_or(Node::plain(&Value::Null), Node::leaf),
                EnvValue::Literal(x) => Node::plain(x),
            };
            (v.container.as_deref(), v.name.as_str(), value)
        }))
    }
}

impl std::ops::Deref for Parameters {
    type Target = Value;
    fn deref(&self) -> &Value {
        self.built()
    }
}

impl AsRef<Value> for Parameters {
    fn as_ref(&self) -> &Value {
        self
    }
}

impl std::fmt::Debug for Parameters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq for Parameters {
    fn eq(&self, other: &Parameters) -> bool {
        **self == **other
    }
}

impl From<Value> for Parameters {
    fn from(v: Value) -> Parameters {
        Parameters::whole(Arc::new(v))
    }
}

impl From<Arc<Value>> for Parameters {
    fn from(v: Arc<Value>) -> Parameters {
        Parameters::whole(v)
    }
}

/// The value `t` gives with these leaves, taken in order: its skeleton with
/// each dynamic slot filled.
pub(crate) fn fill(t: &Template, leaves: &mut impl Iterator<Item = Value>) -> Value {
    match t {
        Template::Literal(v) => v.clone(),
        Template::Path(_) | Template::Call(_) | Template::Expr(_) => {
            leaves.next().unwrap_or(Value::Null)
        }
        Template::Object { skeleton, dynamic, .. } => fill_object(skeleton, dynamic, leaves),
        Template::Array { items, .. } => fill_array(items, leaves),
    }
}

/// An object template's value: the skeleton with each dynamic slot filled.
fn fill_object(
    skeleton: &Map<String, Value>,
    dynamic: &[(String, Template)],
    leaves: &mut impl Iterator<Item = Value>,
) -> Value {
    let mut m = skeleton.clone();
    for (k, sub) in dynamic {
        let v = fill(sub, leaves);
        if let Some(slot) = m.get_mut(k.as_str()) {
            *slot = v;
        }
    }
    Value::Object(m)
}

/// An array template's value.
fn fill_array(items: &[Template], leaves: &mut impl Iterator<Item = Value>) -> Value {
    Value::Array(items.iter().map(|i| fill(i, leaves)).collect())
}

/// A read-only view of a JSON value that may still be a template with its
/// leaves: what the readers of [`Parameters`] walk. (Public only to the
/// sealed trait; not reachable from outside the crate.)
#[derive(Clone, Copy)]
pub struct Node<'a>(Shape<'a>);

#[derive(Clone, Copy)]
enum Shape<'a> {
    Plain(&'a Value),
    /// A leaf as it is (a JSON-text leaf is read as text only if asked).
    Leaf(&'a Leaf),
    Object {
        skeleton: &'a Map<String, Value>,
        dynamic: &'a [(String, Template)],
        leaves: &'a [Leaf],
    },
    Array {
        items: &'a [Template],
        leaves: &'a [Leaf],
    },
}

impl<'a> Node<'a> {
    pub(crate) fn plain(v: &'a Value) -> Node<'a> {
        Node(Shape::Plain(v))
    }

    pub(crate) fn leaf(l: &'a Leaf) -> Node<'a> {
        Node(Shape::Leaf(l))
    }

    fn of(t: &'a Template, leaves: &'a [Leaf]) -> Node<'a> {
        Node(match t {
            Template::Literal(v) => Shape::Plain(v),
            Template::Path(_) | Template::Call(_) | Template::Expr(_) => {
                leaves.first().map_or(Shape::Plain(&Value::Null), Shape::Leaf)
            }
            Template::Object { skeleton, dynamic, .. } => {
                Shape::Object { skeleton, dynamic, leaves }
            }
            Template::Array { items, .. } => Shape::Array { items, leaves },
        })
    }

    /// The shape with a leaf read as its value.
    fn shape(self) -> Shape<'a> {
        match self.0 {
            Shape::Leaf(l) => Shape::Plain(l),
            other => other,
        }
    }

    /// The field `key` of an object.
    pub(crate) fn get(self, key: &str) -> Option<Node<'a>> {
        match self.shape() {
            Shape::Plain(v) => crate::json::get(v, key).map(Node::plain),
            Shape::Object { skeleton, dynamic, leaves } => Template::field(skeleton, dynamic, key)
                .map(|f| match f {
                    Field::Dynamic(sub, at) => {
                        Node::of(sub, leaves.get(at..at + sub.leaf_count()).unwrap_or_default())
                    }
                    Field::Static(v) => Node::plain(v),
                }),
            Shape::Array { .. } | Shape::Leaf(_) => None,
        }
    }

    /// The elements of an array (none for anything else).
    pub(crate) fn items(self) -> impl Iterator<Item = Node<'a>> {
        let (plain, templated, leaves): (&[Value], &[Template], &[Leaf]) = match self.shape() {
            Shape::Plain(Value::Array(a)) => (a, &[], &[]),
            Shape::Array { items, leaves } => (&[], items, leaves),
            _ => (&[], &[], &[]),
        };
        plain.iter().map(Node::plain).chain(
            Template::with_offsets(templated).map(|(t, at)| {
                Node::of(t, leaves.get(at..at + t.leaf_count()).unwrap_or_default())
            }),
        )
    }

    /// The string, if this is one.
    pub(crate) fn as_str(self) -> Option<&'a str> {
        match self.shape() {
            Shape::Plain(v) => v.as_str(),
            _ => None,
        }
    }

    /// The value, built.
    pub(crate) fn to_value(self) -> Value {
        match self.shape() {
            Shape::Plain(v) => v.clone(),
            // `shape` reads a leaf as its value
            Shape::Leaf(l) => (**l).clone(),
            Shape::Object { skeleton, dynamic, leaves } => {
                fill_object(skeleton, dynamic, &mut leaves.iter().map(Leaf::to_value))
            }
            Shape::Array { items, leaves } => {
                fill_array(items, &mut leaves.iter().map(Leaf::to_value))
            }
        }
    }

    /// The value a reader gets that parses this string as JSON (a
    /// worker's `json.loads`): a JSON-text leaf's value read in place, a
    /// string parsed, anything else (shown as JSON text) as it is.
    pub(crate) fn json(self) -> Result<std::borrow::Cow<'a, Value>, serde_json::Error> {
        use std::borrow::Cow;
        match self.0 {
            Shape::Leaf(Leaf::JsonText(t)) => Ok(Cow::Borrowed(t.value())),
            _ => match self.shape() {
                Shape::Plain(Value::String(s)) => serde_json::from_str(s).map(Cow::Owned),
                Shape::Plain(v) => Ok(Cow::Borrowed(v)),
                _ => Ok(Cow::Owned(self.to_value())),
            },
        }
    }

    /// The value as AWS quotes it (`crate::json::shown`): a string as it
    /// is, anything else as compact JSON.
    pub(crate) fn shown(self) -> std::borrow::Cow<'a, str> {
        match self.as_str() {
            Some(s) => std::borrow::Cow::Borrowed(s),
            None => std::borrow::Cow::Owned(crate::json::shown(&self.to_value())),
        }
    }
}

/// What the parameter readers (`container_env_var`, …) take: a
/// JSON value, or a task's [`Parameters`] (read without building them).
pub trait ParametersSource: sealed::Sealed {}

pub(crate) mod sealed {
    /// The view a source gives.
    pub trait Sealed {
        fn node(&self) -> super::Node<'_>;

        /// Each `(Name, Value)` of the container environment overrides of
        /// `container` (`None`: of every container), in order.
        fn for_each_env_var<'a>(
            &'a self,
            container: Option<&str>,
            each: &mut dyn FnMut(&'a str, super::Node<'a>),
        ) {
            super::walk_env_vars(self.node(), container, each)
        }
    }
}

/// [`sealed::Sealed::for_each_env_var`] by walking a view.
fn walk_env_vars<'a>(
    parameters: Node<'a>,
    container: Option<&str>,
    each: &mut dyn FnMut(&'a str, Node<'a>),
) {
    let overrides = parameters.get("Overrides").and_then(|o| o.get("ContainerOverrides"));
    for o in overrides.into_iter().flat_map(Node::items) {
        if container.is_some() && o.get("Name").and_then(Node::as_str) != container {
            continue;
        }
        for e in o.get("Environment").into_iter().flat_map(Node::items) {
            if let (Some(k), Some(v)) = (e.get("Name").and_then(Node::as_str), e.get("Value")) {
                each(k, v);
            }
        }
    }
}

impl ParametersSource for Value {}
impl sealed::Sealed for Value {
    fn node(&self) -> Node<'_> {
        Node::plain(self)
    }
}
impl ParametersSource for Arc<Value> {}
impl sealed::Sealed for Arc<Value> {
    fn node(&self) -> Node<'_> {
        Node::plain(self)
    }
}
impl ParametersSource for Parameters {}
impl sealed::Sealed for Parameters {
    fn node(&self) -> Node<'_> {
        Parameters::node(self)
    }

    fn for_each_env_var<'a>(
        &'a self,
        container: Option<&str>,
        each: &mut dyn FnMut(&'a str, Node<'a>),
    ) {
        let Some(vars) = self.env_vars() else {
            return walk_env_vars(self.node(), container, each);
        };
        for (c, name, value) in vars {
            if container.is_none() || c == container {
                each(name, value);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    /// The template a Pass state's `Parameters` `v` lowers to.
    pub(crate) fn template(v: Value) -> Template {
        let sm = crate::asl::parse_value(&json!({"StartAt": "S", "States": {"S": {"Type": "Pass",
            "End": true, "Parameters": v}}}))
        .unwrap();
        (**sm.states[0].parameters.as_ref().unwrap()).clone()
    }

    #[test]
    fn a_view_reads_what_the_built_value_holds() {
        let t = Arc::new(template(
            json!({"a": 1, "b.$": "$.x", "c": {"d.$": "$.y", "e": [1, {"f.$": "$.z"}]},
            "g": [{"h": "i"}, {"j.$": "$.w"}], "b": "overwritten?"}),
        ));
        let shared = Arc::new(json!({"k": 2}));
        let leaves = vec![
            Leaf::Own(json!("X")),
            Leaf::Shared(shared.clone()),
            Leaf::Own(json!(3)),
            Leaf::Own(json!("W")),
        ];
        let p = Parameters::templated(t, leaves.into(), None);
        // read through the view before the value exists
        let n = p.node();
        assert_eq!(n.get("b").and_then(Node::as_str), Some("X"));
        assert_eq!(n.get("c").unwrap().get("d").unwrap().to_value(), json!({"k": 2}));
        let e: Vec<Value> =
            n.get("c").unwrap().get("e").unwrap().items().map(Node::to_value).collect();
        assert_eq!(e, vec![json!(1), json!({"f": 3})]);
        let g: Vec<Value> = n.get("g").unwrap().items().map(Node::to_value).collect();
        assert_eq!(g, vec![json!({"h": "i"}), json!({"j": "W"})]);
        assert_eq!(n.get("a").unwrap().to_value(), json!(1));
        assert!(n.get("nope").is_none());
        assert_eq!(n.to_value(), *p);
        assert_eq!(
            *p,
            json!({"a": 1, "b": "X", "c": {"d": {"k": 2}, "e": [1, {"f": 3}]}, "g": [{"h": "i"}, {"j": "W"}]})
        );
        // and after
        assert_eq!(p.node().get("b").and_then(Node::as_str), Some("X"));
        assert!(Arc::ptr_eq(&p.shared(), &p.shared()));
    }

    #[test]
    fn the_seed_task_lays_its_environment_out() {
        let sm =
            crate::asl::parse_str(include_str!("../fixtures/seed/state-machine.asl.json")).unwrap();
        let task = sm.states.iter().find(|s| &*s.name == "FargateTask").unwrap();
        let names: Vec<&str> =
            task.env_layout.as_ref().unwrap().vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["INPUT", "TOKEN"]);
    }
}
