//! Where a Task's template puts the container environment, laid out at
//! load: RunTask's `Overrides.ContainerOverrides[].Environment[]`, each
//! variable with its container's name and where its value comes from (a
//! leaf of the template's evaluation, or a literal). A reader of the
//! environment (the worker a test models reads `INPUT` and `TOKEN` in every
//! turn) then finds a variable without walking the template.
//!
//! Only a layout that the template fixes is laid out: where a container's
//! or a variable's name, the list of overrides or of variables, or a value
//! with leaves inside it is dynamic, there is none, and readers walk the
//! parameters instead.

use super::template::{Field, Template};
use serde_json::{Map, Value};

/// The environment variables a template sets, in its order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EnvLayout {
    pub vars: Vec<EnvVar>,
}

/// One `{"Name": …, "Value": …}` of an `Environment`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EnvVar {
    /// The `Name` of its container override (`None`: it has no string
    /// `Name`, so no named container gets it).
    pub container: Option<String>,
    pub name: String,
    pub value: EnvValue,
}

/// Where a variable's value comes from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EnvValue {
    /// The evaluation's leaf of this index (see [`Template::leaf_count`]).
    Leaf(usize),
    Literal(Value),
}

/// A place in a template, leaves numbered from `base`.
#[derive(Clone, Copy)]
enum At<'a> {
    Value(&'a Value),
    Leaf(usize),
    Object { skeleton: &'a Map<String, Value>, dynamic: &'a [(String, Template)], base: usize },
    Array { items: &'a [Template], base: usize },
}

/// What the layout cannot say statically.
struct Dynamic;

impl<'a> At<'a> {
    fn of(t: &'a Template, base: usize) -> At<'a> {
        match t {
            Template::Literal(v) => At::Value(v),
            Template::Path(_) | Template::Call(_) | Template::Expr(_) => At::Leaf(base),
            Template::Object { skeleton, dynamic, .. } => At::Object { skeleton, dynamic, base },
            Template::Array { items, .. } => At::Array { items, base },
        }
    }

    /// Field `key`, as a reader of the parameters finds it (dynamic fields
    /// first, then the skeleton's).
    fn get(self, key: &str) -> Result<Option<At<'a>>, Dynamic> {
        match self {
            At::Value(v) => Ok(crate::json::get(v, key).map(At::Value)),
            At::Leaf(_) => Err(Dynamic),
            At::Object { skeleton, dynamic, base } => Ok(Template::field(skeleton, dynamic, key)
                .map(|f| match f {
                    Field::Dynamic(sub, at) => At::of(sub, base + at),
                    Field::Static(v) => At::Value(v),
                })),
            At::Array { .. } => Ok(None),
        }
    }

    /// The items of an array (none for anything else).
    fn items(self) -> Result<Vec<At<'a>>, Dynamic> {
        match self {
            At::Value(Value::Array(a)) => Ok(a.iter().map(At::Value).collect()),
            At::Value(_) | At::Object { .. } => Ok(Vec::new()),
            At::Leaf(_) => Err(Dynamic),
            At::Array { items, base } => {
                Ok(Template::with_offsets(items).map(|(t, at)| At::of(t, base + at)).collect())
            }
        }
    }

    /// The string this is, if it is one.
    fn as_str(self) -> Result<Option<&'a str>, Dynamic> {
        match self {
            At::Value(v) => Ok(v.as_str()),
            At::Leaf(_) => Err(Dynamic),
            At::Object { .. } | At::Array { .. } => Ok(None),
        }
    }
}

impl EnvLayout {
    /// The layout of `t`'s container environment, if `t` fixes it.
    pub(crate) fn of(t: &Template) -> Option<EnvLayout> {
        let overrides = |root: At<'_>| -> Result<Vec<EnvVar>, Dynamic> {
            let mut vars = Vec::new();
            let list = match root.get("Overrides")? {
                Some(o) => o.get("ContainerOverrides")?,
                None => None,
            };
            let Some(list) = list else { return Ok(vars) };
            for o in list.items()? {
                let container = match o.get("Name")? {
                    Some(n) => n.as_str()?.map(str::to_string),
                    None => None,
                };
                let Some(env) = o.get("Environment")? else { continue };
                for e in env.items()? {
                    let name = match e.get("Name")? {
                        Some(n) => n.as_str()?,
                        None => None,
                    };
                    let (Some(name), Some(value)) = (name, e.get("Value")?) else { continue };
                    let value = match value {
                        At::Value(v) => EnvValue::Literal(v.clone()),
                        At::Leaf(i) => EnvValue::Leaf(i),
                        At::Object { .. } | At::Array { .. } => return Err(Dynamic),
                    };
                    vars.push(EnvVar { container: container.clone(), name: name.into(), value });
                }
            }
            Ok(vars)
        };
        overrides(At::of(t, 0)).ok().map(|vars| EnvLayout { vars })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn layout(parameters: Value) -> Option<EnvLayout> {
        let sm = crate::asl::parse_value(&json!({"StartAt": "S", "States": {"S": {"Type": "Pass",
            "End": true, "Parameters": parameters}}}))
        .unwrap();
        EnvLayout::of(sm.states[0].parameters.as_ref().unwrap())
    }

    fn var(container: Option<&str>, name: &str, value: EnvValue) -> EnvVar {
        EnvVar { container: container.map(str::to_string), name: name.into(), value }
    }

    #[test]
    fn a_fixed_environment_is_laid_out_with_its_leaves_numbered() {
        let got = layout(json!({"Cluster.$": "$.c", "Overrides": {"ContainerOverrides": [
            {"Name": "a", "Environment": [{"Name": "X", "Value.$": "$.x"}, {"Name": "Y", "Value": "y"}]},
            {"Environment": [{"Name": "Z", "Value.$": "$$.Task.Token"}, {"Value": "no name"}]}]}}));
        assert_eq!(
            got.unwrap().vars,
            vec![
                var(Some("a"), "X", EnvValue::Leaf(1)),
                var(Some("a"), "Y", EnvValue::Literal(json!("y"))),
                var(None, "Z", EnvValue::Leaf(2)),
            ]
        );
        assert_eq!(layout(json!({"Cluster": "c"})).unwrap().vars, vec![]);
    }

    #[test]
    fn a_dynamic_name_or_list_has_no_layout() {
        for p in [
            json!({"Overrides.$": "$.o"}),
            json!({"Overrides": {"ContainerOverrides.$": "$.o"}}),
            json!({"Overrides": {"ContainerOverrides": [{"Name.$": "$.n", "Environment": []}]}}),
            json!({"Overrides": {"ContainerOverrides": [{"Name": "a", "Environment.$": "$.e"}]}}),
            json!({"Overrides": {"ContainerOverrides": [{"Name": "a",
                "Environment": [{"Name.$": "$.n", "Value": "v"}]}]}}),
            json!({"Overrides": {"ContainerOverrides": [{"Name": "a",
                "Environment": [{"Name": "N", "Value": {"k.$": "$.v"}}]}]}}),
        ] {
            assert_eq!(layout(p.clone()), None, "{p}");
        }
    }
}
