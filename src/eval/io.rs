//! Input and output processing: InputPath, Parameters, ResultSelector,
//! ResultPath, OutputPath, and the context object (`$$`).
//!
//! ```
//! use serde_json::json;
//! // InputPath "$.a" then ResultPath "$.r": the result lands beside the raw input.
//! let h = sfn_harness::Harness::from_definition(r#"{"StartAt": "P", "States": {"P": {"Type": "Pass",
//!     "InputPath": "$.a", "ResultPath": "$.r", "End": true}}}"#).unwrap();
//! assert_eq!(h.run_blocking(json!({"a": {"x": 1}})).output(), &json!({"a": {"x": 1}, "r": {"x": 1}}));
//! ```

use super::error::Failure;
use crate::asl::{Arg, Call, IoPath, Path, ResultPath, Root, Seg, Template};
use crate::history::Payload;
use crate::parameters::{JsonText, Leaf, Parameters};
use crate::rng::Rng;
use crate::time::format_timestamp;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::sync::Arc;

/// What `$$` sees: the execution, the state, the task token.
#[derive(Debug, Clone)]
pub(crate) struct ExecInfo {
    pub id: String,
    pub name: String,
    pub input: std::sync::Arc<Value>,
    pub role_arn: String,
    /// Epoch ms; formatted only when `$$.Execution.StartTime` is read.
    pub start_ms: i64,
    pub state_machine_id: String,
    pub state_machine_name: String,
}

/// The context of one state's evaluation.
pub(crate) struct Ctx<'a> {
    pub exec: &'a ExecInfo,
    pub state_name: &'a str,
    pub entered_ms: i64,
    pub retry_count: u32,
    pub token: Option<&'a str>,
    /// Whether the task waits to be answered (`.sync`, `.waitForTaskToken`):
    /// only then does the whole context object show `Task` (a
    /// request-response task's does not, as AWS records it).
    pub callback: bool,
    /// `$$.Map.Item.Index` and `.Value`, while a Map's ItemSelector is evaluated.
    pub map_item: Option<(usize, &'a Value)>,
    /// The variables in scope (`$name`).
    pub vars: &'a super::Vars,
}

impl<'a> Ctx<'a> {
    /// The context of the state `state_name` entered at `entered_ms`: first
    /// attempt, no task token, no Map item.
    pub(crate) fn new(
        exec: &'a ExecInfo,
        vars: &'a super::Vars,
        state_name: &'a str,
        entered_ms: i64,
    ) -> Ctx<'a> {
        Ctx {
            exec,
            state_name,
            entered_ms,
            retry_count: 0,
            token: None,
            callback: false,
            map_item: None,
            vars,
        }
    }

    /// `$$.State.RetryCount` and `$$.Task.Token` of a task attempt.
    pub(crate) fn attempt(mut self, retry_count: u32, token: &'a str) -> Ctx<'a> {
        self.retry_count = retry_count;
        self.token = Some(token);
        self
    }

    /// A waiting task's context: the whole object shows `Task.Token`.
    pub(crate) fn callback(mut self, callback: bool) -> Ctx<'a> {
        self.callback = callback;
        self
    }

    /// `$$.Map.Item` while a Map's ItemSelector is evaluated.
    pub(crate) fn map_item(mut self, index: usize, value: &'a Value) -> Ctx<'a> {
        self.map_item = Some((index, value));
        self
    }

    /// The context object as a JSON value.
    pub(crate) fn object(&self) -> Value {
        let mut v = json!({
            "Execution": {
                "Id": self.exec.id,
                "Input": *self.exec.input,
                "Name": self.exec.name,
                "RoleArn": self.exec.role_arn,
                "StartTime": format_timestamp(self.exec.start_ms),
                "RedriveCount": 0,
            },
            "State": {
                "EnteredTime": format_timestamp(self.entered_ms),
                "Name": self.state_name,
                "RetryCount": self.retry_count,
            },
            "StateMachine": {"Id": self.exec.state_machine_id, "Name": self.exec.state_machine_name},
        });
        if let (Some(t), true) = (self.token, self.callback) {
            v["Task"] = json!({"Token": t});
        }
        if let Some((i, item)) = self.map_item {
            v["Map"] = json!({"Item": {"Index": i, "Value": item}});
        }
        v
    }

    /// The context object, or only the part of it on the way to `path`
    /// when that is one of the common leaves (`Task.Token`, `State.Name`, …).
    pub(crate) fn object_at(&self, path: &[String]) -> Value {
        if let [a, b, ..] = path {
            if let Some(leaf) = self.leaf(a, b) {
                let mut inner = Map::new();
                inner.insert(b.clone(), leaf);
                let mut outer = Map::new();
                outer.insert(a.clone(), Value::Object(inner));
                return Value::Object(outer);
            }
        }
        self.object()
    }

    /// A common leaf of the context object, without building the object.
    pub(crate) fn leaf(&self, a: &str, b: &str) -> Option<Value> {
        match (a, b) {
            ("Task", "Token") if self.callback => self.token.map(|t| Value::String(t.to_string())),
            ("State", "Name") => Some(Value::String(self.state_name.to_string())),
            ("State", "RetryCount") => Some(Value::from(self.retry_count)),
            ("Execution", "Id") => Some(Value::String(self.exec.id.clone())),
            ("Execution", "Name") => Some(Value::String(self.exec.name.clone())),
            _ => None,
        }
    }

    /// Selects a `$$` path, without building the whole object for the common leaves.
    fn select(&self, path: &Path) -> Option<Value> {
        if let Some([Seg::Field(a), Seg::Field(b)]) = path.segments() {
            // `$$.Task.Token` reads the attempt's token even where the whole
            // object shows no Task (a request-response task)
            let leaf = match (a.as_str(), b.as_str()) {
                ("Task", "Token") => self.token.map(|t| Value::String(t.to_string())),
                (a, b) => self.leaf(a, b),
            };
            if leaf.is_some() {
                return leaf;
            }
        }
        let obj = self.object();
        path.select(&obj).map(Cow::into_owned)
    }
}

/// Evaluates a path against the input or the context; `None` when it matches nothing.
pub(crate) fn select<'v>(path: &Path, input: &'v Value, ctx: &Ctx) -> Option<Cow<'v, Value>> {
    match path.root() {
        Root::Input => path.select(input),
        Root::Context => ctx.select(path).map(Cow::Owned),
        Root::Variable => {
            let v = ctx.vars.get(path.variable()?)?;
            path.select(v).map(|c| Cow::Owned(c.into_owned()))
        }
    }
}

/// The AWS cause for a path that matches nothing in InputPath/OutputPath/…Path fields.
pub(crate) fn no_results(path: &Path) -> Failure {
    Failure::runtime(format!(
        "Invalid path '{}' : No results for path: {}",
        path.as_str(),
        path.bracketed()
    ))
}

/// Applies InputPath or OutputPath; `$` shares the value, no copy.
pub(crate) fn apply_io_path(p: &IoPath, v: Payload, ctx: &Ctx) -> Result<Payload, Failure> {
    match p {
        IoPath::Whole => Ok(v),
        IoPath::Null => Ok(Arc::new(Value::Object(Map::new()))),
        IoPath::Path(path) => match select(path, &v, ctx) {
            Some(c) => Ok(Arc::new(c.into_owned())),
            None => Err(no_results(path)),
        },
    }
}

/// Evaluates a payload template (Parameters, ResultSelector).
pub(crate) fn eval_template(
    t: &Template,
    input: &Value,
    ctx: &Ctx,
    rng: &mut Rng,
) -> Result<Value, Failure> {
    if let Template::Literal(v) = t {
        return Ok(v.clone());
    }
    let leaves = template_leaves(t, input, ctx, rng)?;
    Ok(crate::parameters::fill(t, &mut leaves.into_iter()))
}

/// A Task's Parameters: the template's dynamic leaves, evaluated; the
/// static part stays shared with the template until someone needs it whole.
/// `keep` keeps each leaf (a large one shared with the execution's equal
/// payloads, see [`super::leaf_in`]). `root`, when given, is `input` as the
/// history shares it: a `States.JsonToString` of a path into it then keeps
/// where that part is, rendering its text only when read (see
/// [`JsonText`]).
pub(crate) fn eval_parameters(
    t: &Arc<Template>,
    env: Option<&Arc<crate::asl::EnvLayout>>,
    input: &Value,
    root: Option<&Payload>,
    ctx: &Ctx,
    rng: &mut Rng,
    keep: impl FnMut(Value) -> Leaf,
) -> Result<Parameters, Failure> {
    let leaves = crate::parameters::LeafList::with_capacity(t.leaf_count());
    let mut sink = ParameterLeaves { leaves, root, keep };
    collect_leaves(t, input, ctx, rng, &mut sink)?;
    Ok(Parameters::templated(t.clone(), sink.leaves, env.cloned()))
}

/// Where a template's leaves go, in the order the template lists them.
trait Leaves {
    fn value(&mut self, v: Value);
    /// `States.JsonToString` of `v`, found at `at` in the input.
    fn json_text(&mut self, v: &Value, at: &Arc<[Seg]>);
}

impl Leaves for Vec<Value> {
    fn value(&mut self, v: Value) {
        self.push(v);
    }
    fn json_text(&mut self, v: &Value, _: &Arc<[Seg]>) {
        self.push(crate::intrinsics::json_to_string_of(v));
    }
}

/// A Task's parameters' leaves.
struct ParameterLeaves<'r, F> {
    leaves: crate::parameters::LeafList,
    root: Option<&'r Payload>,
    keep: F,
}

impl<F: FnMut(Value) -> Leaf> Leaves for ParameterLeaves<'_, F> {
    fn value(&mut self, v: Value) {
        self.leaves.push((self.keep)(v));
    }
    fn json_text(&mut self, v: &Value, at: &Arc<[Seg]>) {
        let render = || crate::intrinsics::json_to_string_of(v);
        let Some(root) = self.root else {
            let text = (self.keep)(render());
            return self.leaves.push(text);
        };
        // a large text is rendered now, to be kept once per execution
        let text = super::kept_once(v).then(|| (self.keep)(render()).into_shared());
        self.leaves.push(Leaf::JsonText(JsonText::new(root.clone(), at.clone(), text)));
    }
}

/// The values of a template's paths and intrinsic calls, in the order the
/// template lists them (what [`crate::parameters::fill`] takes); the first
/// that fails fails the template.
fn template_leaves(
    t: &Template,
    input: &Value,
    ctx: &Ctx,
    rng: &mut Rng,
) -> Result<Vec<Value>, Failure> {
    let mut leaves = Vec::with_capacity(t.leaf_count());
    collect_leaves(t, input, ctx, rng, &mut leaves)?;
    Ok(leaves)
}

fn collect_leaves(
    t: &Template,
    input: &Value,
    ctx: &Ctx,
    rng: &mut Rng,
    out: &mut impl Leaves,
) -> Result<(), Failure> {
    match t {
        Template::Literal(_) => Ok(()),
        // a container's leaves are listed at load: no walk of the tree
        Template::Object { flat, .. } | Template::Array { flat, .. } => {
            for f in flat.iter() {
                collect_leaf(&f.leaf, f.field.as_deref(), input, ctx, rng, out)?;
            }
            Ok(())
        }
        leaf => collect_leaf(leaf, None, input, ctx, rng, out),
    }
}

/// One leaf's value (a path, an intrinsic call, an expression); `field`
/// is the object field a path is the value of, as its error names it.
fn collect_leaf(
    t: &Template,
    field: Option<&str>,
    input: &Value,
    ctx: &Ctx,
    rng: &mut Rng,
    out: &mut impl Leaves,
) -> Result<(), Failure> {
    match t {
        Template::Path(p) => {
            let v = select(p, input, ctx).map(Cow::into_owned).ok_or_else(|| match field {
                Some(k) => Failure::runtime(format!(
                    "The JSONPath '{}' specified for the field '{k}.$' could not be found in the input '{}'",
                    p.as_str(),
                    crate::json::to_json_string(input)
                )),
                None => no_results(p),
            })?;
            out.value(v)
        }
        Template::Call(c) => match c.json_text_of_input() {
            Some(at) => out.json_text(&*call_arg(c, &c.args[0], input, ctx, rng)?, at),
            None => out.value(eval_call(c, input, ctx, rng)?),
        },
        Template::Expr(e) => match super::jsonata::string_of_input(e, input) {
            Some((v, at)) => out.json_text(v, at),
            None => {
                out.value(super::jsonata::eval(e, &super::jsonata::States::input(input, ctx), rng)?)
            }
        },
        // not a leaf (a flattened list holds none of these)
        other => collect_leaves(other, input, ctx, rng, out)?,
    }
    Ok(())
}

/// Evaluates a value given in either language (ItemSelector, BatchInput,
/// ResultWriter and ItemReader parameters) on `input`: a JSONPath template
/// with `$` = `input`, or a JSONata query with `$states.input` = `input`.
pub(crate) fn eval_dynamic(
    d: &crate::asl::Dynamic,
    input: &Value,
    ctx: &Ctx,
    rng: &mut Rng,
) -> Result<Value, Failure> {
    match d {
        crate::asl::Dynamic::JsonPath(t) => eval_template(t, input, ctx, rng),
        crate::asl::Dynamic::Jsonata(q) => {
            super::jsonata::eval_query(q, &super::jsonata::States::input(input, ctx), rng)
        }
    }
}

/// Evaluates an intrinsic function call.
pub(crate) fn eval_call(
    c: &Call,
    input: &Value,
    ctx: &Ctx,
    rng: &mut Rng,
) -> Result<Value, Failure> {
    // a function that only reads its one argument needs no copy of it
    if let ([only], Some(read)) = (c.args.as_slice(), c.function.read) {
        let v = call_arg(c, only, input, ctx, rng)?;
        return read(v.as_ref()).map_err(|e| Failure::intrinsic(e.0));
    }
    let mut args = Vec::with_capacity(c.args.len());
    for a in &c.args {
        args.push(call_arg(c, a, input, ctx, rng)?.into_owned());
    }
    (c.function.apply)(&mut args, rng).map_err(|e| Failure::intrinsic(e.0))
}

fn call_arg<'v>(
    c: &Call,
    a: &'v Arg,
    input: &'v Value,
    ctx: &Ctx,
    rng: &mut Rng,
) -> Result<Cow<'v, Value>, Failure> {
    match a {
        Arg::Literal(v) => Ok(Cow::Borrowed(v)),
        Arg::Path(p) => select(p, input, ctx).ok_or_else(|| {
            Failure::runtime(format!(
                "The JSONPath '{}' specified for the field '{}' could not be found in the input '{}'",
                p.as_str(),
                c.name(),
                crate::json::to_json_string(input)
            ))
        }),
        Arg::Call(inner) => eval_call(inner, input, ctx, rng).map(Cow::Owned),
    }
}

/// Applies ResultPath: combines the state's raw input with its result.
pub(crate) fn apply_result_path(
    rp: &ResultPath,
    raw_input: Payload,
    result: Payload,
) -> Result<Payload, Failure> {
    match rp {
        ResultPath::Replace => Ok(result),
        ResultPath::Discard => Ok(raw_input),
        ResultPath::Path(p) => {
            let target = Arc::unwrap_or_clone(raw_input);
            let text = crate::json::to_json_string(&target);
            p.assign(target, Arc::unwrap_or_clone(result))
                .map(Arc::new)
                .map_err(|e| Failure::result_path(format!("{e}; the input is '{text}'")))
        }
    }
}

/// OutputPath, then the transition.
pub(crate) fn finish(
    state: &crate::asl::State,
    combined: Payload,
    ctx: &Ctx,
) -> Result<super::Step, super::error::Exn> {
    let out = apply_io_path(&state.output_path, combined, ctx)?;
    Ok(match state.next {
        Some(n) => super::Step::Next(n, out),
        None => super::Step::End(out),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::ReferencePath;

    fn exec() -> ExecInfo {
        ExecInfo {
            id: "arn:aws:states:us-east-1:123456789012:execution:sm:e".into(),
            name: "e".into(),
            input: Arc::new(json!({"in": 1})),
            role_arn: "role".into(),
            start_ms: 0,
            state_machine_id: "arn:sm".into(),
            state_machine_name: "sm".into(),
        }
    }

    #[test]
    fn templates_evaluate_paths_context_and_intrinsics() {
        let e = exec();
        let vars = Default::default();
        let ctx = Ctx::new(&e, &vars, "S", 0).attempt(2, "tok");
        let sm = crate::asl::parse_value(&json!({"StartAt": "S", "States": {"S": {"Type": "Pass", "End": true,
            "Parameters": {"a.$": "$.x", "t.$": "$$.Task.Token", "n.$": "$$.State.RetryCount",
                "i.$": "$$.Execution.Input.in", "s.$": "States.JsonToString($.x)", "lit": [{"v.$": "$.x"}]}}}}))
        .unwrap();
        let t = sm.states[0].parameters.as_ref().unwrap();
        let got = eval_template(t, &json!({"x": {"k": 1}}), &ctx, &mut Rng::new(0)).unwrap();
        assert_eq!(
            got,
            json!({"a": {"k": 1}, "t": "tok", "n": 2, "i": 1, "s": "{\"k\":1}", "lit": [{"v": {"k": 1}}]})
        );
        let err = eval_template(t, &json!({}), &ctx, &mut Rng::new(0)).unwrap_err();
        assert_eq!(
            err.cause.unwrap(),
            "The JSONPath '$.x' specified for the field 'a.$' could not be found in the input '{}'"
        );
    }

    #[test]
    fn a_templates_leaves_listed_at_load_fill_it_in_order_and_fail_as_the_tree_would() {
        let e = exec();
        let vars = Default::default();
        let ctx = Ctx::new(&e, &vars, "S", 0);
        let sm = crate::asl::parse_value(&json!({"StartAt": "S", "States": {"S": {"Type": "Pass", "End": true,
            "Parameters": {"first.$": "$.a", "deep": {"mid": [1, {"x.$": "$.b", "y": 2}, ["$.c-literal", {"z.$": "$.c"}]],
                "lit": {"k": "v"}}, "arr": [{"p.$": "$.a"}], "last.$": "States.Format('{}', $.b)"}}}}))
        .unwrap();
        let t = sm.states[0].parameters.as_ref().unwrap();
        assert_eq!(t.leaf_count(), 5);
        let input = json!({"a": "A", "b": "B", "c": "C"});
        let got = eval_template(t, &input, &ctx, &mut Rng::new(0)).unwrap();
        assert_eq!(
            got,
            json!({"first": "A", "deep": {"mid": [1, {"x": "B", "y": 2}, ["$.c-literal", {"z": "C"}]],
                "lit": {"k": "v"}}, "arr": [{"p": "A"}], "last": "B"})
        );
        // a missing path names the field it is the value of, at any depth
        let err =
            eval_template(t, &json!({"a": "A", "b": "B"}), &ctx, &mut Rng::new(0)).unwrap_err();
        assert_eq!(
            err.cause.unwrap(),
            r#"The JSONPath '$.c' specified for the field 'z.$' could not be found in the input '{"a":"A","b":"B"}'"#
        );
    }

    #[test]
    fn jsonata_arguments_laid_out_as_a_template_give_what_the_query_gives() {
        let e = exec();
        let vars = Default::default();
        let ctx = Ctx::new(&e, &vars, "T", 0).attempt(0, "tok").callback(true);
        let sm = crate::asl::parse_value(&json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true,
            "Arguments": {"lit": {"deep": [1, 2]}, "a": "{% $states.input.x %}",
                "nested": {"s": "{% $string($states.input) %}", "l": ["x", "{% $states.context.Task.Token %}", {"n": "{% 1 + 2 %}"}]},
                "z": "{% $states.input.x.k * 10 %}"}}}}))
        .unwrap();
        let st = &sm.states[0];
        let input = json!({"x": {"k": 4}});
        let want = super::super::jsonata::eval_query(
            st.arguments.as_ref().unwrap(),
            &super::super::jsonata::States::input(&input, &ctx),
            &mut Rng::new(0),
        )
        .unwrap();
        let t = st.arguments_template.as_ref().unwrap();
        let got =
            eval_parameters(t, None, &input, None, &ctx, &mut Rng::new(0), Leaf::Own).unwrap();
        assert_eq!(*got, want);
        // and a failing expression fails the same way
        let bad = json!({"x": "str"});
        let st_in = super::super::jsonata::States::input(&bad, &ctx);
        let want = super::super::jsonata::eval_query(
            st.arguments.as_ref().unwrap(),
            &st_in,
            &mut Rng::new(0),
        )
        .unwrap_err();
        let got =
            eval_parameters(t, None, &bad, None, &ctx, &mut Rng::new(0), Leaf::Own).unwrap_err();
        assert_eq!((got.error, got.cause), (want.error, want.cause));
    }

    #[test]
    fn a_json_text_of_the_input_is_kept_in_place_and_reads_as_the_text_parses() {
        use crate::parameters::Node;
        let e = exec();
        let vars = Default::default();
        let ctx = Ctx::new(&e, &vars, "T", 0).attempt(0, "tok");
        let t = Arc::new(crate::parameters::tests::template(
            json!({"Overrides": {"ContainerOverrides": [
            {"Name": "c", "Environment": [{"Name": "INPUT", "Value.$": "States.JsonToString($.input)"},
                {"Name": "WHOLE", "Value.$": "States.JsonToString($)"},
                {"Name": "CTX", "Value.$": "States.JsonToString($$.Task.Token)"}]}]},
            "Also.$": "States.JsonToString($.input.list[1])"}),
        ));
        let layout = crate::asl::EnvLayout::of(&t).map(Arc::new);
        for big in [false, true] {
            let text = if big { "é\"".repeat(2_000) } else { "é\"".into() };
            let root: Payload = Arc::new(json!({"input": {"n": 1.5, "list": [0, {"s": text}]}}));
            let mut kept = 0;
            let eager =
                eval_parameters(&t, None, &root, None, &ctx, &mut Rng::new(0), Leaf::Own).unwrap();
            let mut keep = |v| {
                kept += 1;
                Leaf::Own(v)
            };
            let got = eval_parameters(
                &t,
                layout.as_ref(),
                &root,
                Some(&root),
                &ctx,
                &mut Rng::new(0),
                &mut keep,
            )
            .unwrap();
            // the CTX leaf is rendered (no place in the input); a large text is
            // rendered at once, to be kept once per execution
            assert_eq!(kept, if big { 4 } else { 1 }, "big: {big}");
            assert_eq!(*got, *eager);
            let [input, whole, context] = crate::integrations::container_env_nodes(
                &got,
                Some("c"),
                ["INPUT", "WHOLE", "CTX"],
            );
            let read = input.map(Node::json).unwrap().unwrap();
            assert!(matches!(read, Cow::Borrowed(v) if std::ptr::eq(v, &root["input"])));
            assert!(
                matches!(whole.map(Node::json).unwrap().unwrap(), Cow::Borrowed(v) if std::ptr::eq(v, &*root))
            );
            assert_eq!(*context.map(Node::json).unwrap().unwrap(), json!("tok"));
            let parsed: Value = serde_json::from_str(input.unwrap().as_str().unwrap()).unwrap();
            assert_eq!(parsed, root["input"]);
            assert_eq!(
                got.node().get("Also").unwrap().json().unwrap().into_owned(),
                root["input"]["list"][1]
            );
        }
        // a path that matches nothing fails as the eager call does
        let bad: Payload = Arc::new(json!({"other": 1}));
        let want =
            eval_parameters(&t, None, &bad, None, &ctx, &mut Rng::new(0), Leaf::Own).unwrap_err();
        let got = eval_parameters(&t, None, &bad, Some(&bad), &ctx, &mut Rng::new(0), Leaf::Own)
            .unwrap_err();
        assert_eq!((got.error, got.cause), (want.error, want.cause));
    }

    #[test]
    fn a_jsonata_string_of_the_input_is_kept_in_place_when_it_is_json_text() {
        use crate::parameters::Node;
        let e = exec();
        let vars = Default::default();
        let ctx = Ctx::new(&e, &vars, "T", 0).attempt(0, "tok").callback(true);
        let sm = crate::asl::parse_value(
            &json!({"QueryLanguage": "JSONata", "StartAt": "T", "States": {"T": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "End": true,
            "Arguments": {"s": "{% $string($states.input.x) %}"}}}}),
        )
        .unwrap();
        let t = sm.states[0].arguments_template.as_ref().unwrap();
        // an exact value is read in place; a float (JSONata's own number
        // text) or a string (given as it is, not as JSON) is evaluated
        for (x, in_place) in [
            (json!({"k": [1, "é", null, true]}), true),
            (json!({"k": 1.5}), false),
            (json!("plain"), false),
        ] {
            let root: Payload = Arc::new(json!({"x": x}));
            let want = super::super::jsonata::eval_query(
                sm.states[0].arguments.as_ref().unwrap(),
                &super::super::jsonata::States::input(&root, &ctx),
                &mut Rng::new(0),
            )
            .unwrap();
            let got =
                eval_parameters(t, None, &root, Some(&root), &ctx, &mut Rng::new(0), Leaf::Own)
                    .unwrap();
            assert_eq!(*got, want, "{x}");
            let read = got.node().get("s").map(Node::json).unwrap();
            match (read, in_place) {
                (Ok(Cow::Borrowed(v)), true) => assert!(std::ptr::eq(v, &root["x"])),
                (Ok(Cow::Owned(v)), false) => assert_eq!(
                    v,
                    serde_json::from_str::<Value>(want["s"].as_str().unwrap()).unwrap()
                ),
                (Err(_), false) => assert_eq!(x, json!("plain")),
                (other, _) => panic!("{x}: {other:?}"),
            }
        }
    }

    #[test]
    fn result_path_places_or_fails() {
        let rp = ResultPath::Path(ReferencePath::parse("$.r").unwrap());
        let a = |v: Value| Arc::new(v);
        assert_eq!(
            *apply_result_path(&rp, a(json!({"a": 1})), a(json!(2))).unwrap(),
            json!({"a": 1, "r": 2})
        );
        let err = apply_result_path(&rp, a(json!("str")), a(json!(2))).unwrap_err();
        assert_eq!(err.error.as_deref(), Some("States.ResultPathMatchFailure"));
        assert_eq!(
            *apply_result_path(&ResultPath::Discard, a(json!(1)), a(json!(2))).unwrap(),
            json!(1)
        );
    }
}
