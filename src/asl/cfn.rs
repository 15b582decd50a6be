//! CloudFormation and SAM templates: YAML short-form tags turned into the
//! long form, and intrinsic functions (`Ref`, `Fn::GetAtt`, `Fn::Sub`,
//! `Fn::Join`, `Fn::Select`, `Fn::If`, `Fn::ImportValue`, …) resolved to
//! stable, readable placeholders built from the logical id and the resource
//! type (a `!GetAtt MyFunction.Arn` is a Lambda function ARN named
//! `MyFunction`), unless the user says otherwise (`--substitute`).

use super::load::LoadError;
use crate::arn;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const PARTITION: &str = "aws";
const ACCOUNT: &str = crate::names::DEFAULT_ACCOUNT;

/// YAML (with CloudFormation's short-form tags) as JSON in the long form:
/// `!Ref X` → `{"Ref": "X"}`, `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`,
/// `!Sub s` → `{"Fn::Sub": s}`, any other `!Name v` → `{"Fn::Name": v}`.
pub(crate) fn yaml_to_json(text: &str) -> Result<Value, String> {
    let y: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    Ok(convert(y))
}

fn convert(y: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match y {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(a) => Value::Array(a.into_iter().map(convert).collect()),
        Y::Mapping(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| {
                    let key = match convert(k) {
                        Value::String(s) => s,
                        other => crate::json::to_json_string(&other),
                    };
                    (key, convert(v))
                })
                .collect(),
        ),
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!').to_string();
            let value = convert(t.value);
            match name.as_str() {
                "Ref" | "Condition" => Value::Object(Map::from_iter([(name, value)])),
                "GetAtt" => {
                    let args = match value {
                        Value::String(s) => match s.split_once('.') {
                            Some((id, attr)) => Value::Array(vec![
                                Value::String(id.into()),
                                Value::String(attr.into()),
                            ]),
                            None => Value::Array(vec![Value::String(s)]),
                        },
                        other => other,
                    };
                    Value::Object(Map::from_iter([("Fn::GetAtt".to_string(), args)]))
                }
                _ => Value::Object(Map::from_iter([(format!("Fn::{name}"), value)])),
            }
        }
    }
}

/// Resolves intrinsic functions in one template.
pub(crate) struct Resolver<'a> {
    resources: &'a Map<String, Value>,
    parameters: Map<String, Value>,
    conditions: Map<String, Value>,
    mappings: Map<String, Value>,
    pub region: String,
    /// What the user said a name stands for (`--substitute`): a
    /// substitution key, a logical id or a parameter.
    pub user: &'a BTreeMap<String, String>,
}

impl<'a> Resolver<'a> {
    pub(super) fn new(template: &'a Value, user: &'a BTreeMap<String, String>) -> Resolver<'a> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        let resources = template
            .get("Resources")
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new));
        let obj = |k: &str| template.get(k).and_then(Value::as_object).cloned().unwrap_or_default();
        Resolver {
            resources,
            parameters: obj("Parameters"),
            conditions: obj("Conditions"),
            mappings: obj("Mappings"),
            region: region_of(template),
            user,
        }
    }

    /// Resolves every intrinsic function inside `v`.
    pub(super) fn resolve_all(&self, v: &Value) -> Result<Value, LoadError> {
        match v {
            Value::Object(m)
                if m.len() == 1
                    && m.keys().next().is_some_and(|k| k == "Ref" || k.starts_with("Fn::")) =>
            {
                self.resolve(v)
            }
            Value::Object(m) => m
                .iter()
                .map(|(k, v)| Ok((k.clone(), self.resolve_all(v)?)))
                .collect::<Result<Map<_, _>, _>>()
                .map(Value::Object),
            Value::Array(a) => a
                .iter()
                .map(|v| self.resolve_all(v))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array),
            other => Ok(other.clone()),
        }
    }

    /// A value resolved to a string (numbers and the like as JSON text).
    pub(super) fn resolve_str(&self, v: &Value) -> Result<String, LoadError> {
        Ok(match self.resolve(v)? {
            Value::String(s) => s,
            other => crate::json::to_json_string(&other),
        })
    }

    /// What `Ref name` gives: a pseudo parameter, a parameter's value (what
    /// the user said, else its Default; a list for `List<…>` and
    /// `CommaDelimitedList` parameters), or a resource's physical id (a
    /// name, a URL or an ARN, by type).
    fn reference(&self, name: &str) -> Result<Value, LoadError> {
        if let Some(p) = self.parameters.get(name) {
            let ty = p.get("Type").and_then(Value::as_str).unwrap_or("String");
            let value = match (self.user.get(name), p.get("Default")) {
                (Some(v), _) => v.clone(),
                (None, Some(Value::String(s))) => s.clone(),
                (None, Some(other)) => crate::json::to_json_string(other),
                (None, None) => {
                    return Err(LoadError(format!(
                        "template parameter '{name}' ({ty}) has no Default: say what it stands for with --substitute {name}=VALUE (Harness::substitute(\"{name}\", …))"
                    )))
                }
            };
            return Ok(if ty.starts_with("List<") || ty == "CommaDelimitedList" {
                Value::Array(
                    value.split(',').map(|v| Value::String(v.trim().to_string())).collect(),
                )
            } else {
                Value::String(value)
            });
        }
        Ok(Value::String(self.reference_str(name)))
    }

    /// What `Ref name` gives for a name that is no parameter.
    fn reference_str(&self, name: &str) -> String {
        if let Some(v) = self.user.get(name) {
            return v.clone();
        }
        let (r, a) = (&self.region, ACCOUNT);
        match name {
            "AWS::Partition" => return PARTITION.into(),
            "AWS::Region" => return r.clone(),
            "AWS::AccountId" => return a.into(),
            "AWS::URLSuffix" => return "amazonaws.com".into(),
            "AWS::StackName" => return "Stack".into(),
            "AWS::StackId" => {
                const STACK: &str = "stack/Stack/00000000-0000-0000-0000-000000000000";
                return arn::of("cloudformation", r, a, STACK);
            }
            "AWS::NoValue" => return String::new(),
            _ => {}
        }
        let ty = self.resource_type(name);
        match ty {
            "AWS::SQS::Queue" => format!("https://sqs.{r}.amazonaws.com/{a}/{name}"),
            "AWS::SNS::Topic"
            | "AWS::Serverless::StateMachine"
            | "AWS::StepFunctions::StateMachine"
            | "AWS::StepFunctions::Activity"
            | "AWS::ECS::TaskDefinition" => self.get_att(name, "Arn"),
            "AWS::S3::Bucket" => name.to_lowercase(),
            _ => name.to_string(),
        }
    }

    fn resource_type(&self, id: &str) -> &str {
        self.resources.get(id).and_then(|r| r.get("Type")).and_then(Value::as_str).unwrap_or("")
    }

    /// What `Fn::GetAtt [id, attr]` gives: an ARN (or URL, name) of the
    /// resource's type, named after its logical id.
    fn get_att(&self, id: &str, attr: &str) -> String {
        if let Some(v) = self.user.get(&format!("{id}.{attr}")).or_else(|| self.user.get(id)) {
            return v.clone();
        }
        let ty = self.resource_type(id);
        let (r, a) = (&self.region, ACCOUNT);
        match (ty, attr) {
            ("AWS::ECS::Cluster", "Arn") => arn::ecs(r, a, &format!("cluster/{id}")),
            ("AWS::Lambda::Function" | "AWS::Serverless::Function", "Arn") => {
                arn::lambda_function(r, a, id)
            }
            ("AWS::IAM::Role", "Arn") => arn::role(a, id),
            ("AWS::ECS::TaskDefinition", "Arn" | "TaskDefinitionArn") => {
                arn::ecs(r, a, &format!("task-definition/{id}:1"))
            }
            ("AWS::SQS::Queue", "Arn") => arn::of("sqs", r, a, id),
            ("AWS::SQS::Queue", "QueueUrl") => format!("https://sqs.{r}.amazonaws.com/{a}/{id}"),
            ("AWS::SQS::Queue", "QueueName") => id.to_string(),
            ("AWS::SNS::Topic", "TopicArn" | "Arn") => arn::of("sns", r, a, id),
            ("AWS::DynamoDB::Table" | "AWS::Serverless::SimpleTable", "Arn") => {
                arn::of("dynamodb", r, a, &format!("table/{id}"))
            }
            ("AWS::S3::Bucket", "Arn") => arn::of("s3", "", "", &id.to_lowercase()),
            ("AWS::Events::EventBus", "Arn") => arn::of("events", r, a, &format!("event-bus/{id}")),
            ("AWS::Events::EventBus", "Name") => id.to_string(),
            ("AWS::StepFunctions::StateMachine" | "AWS::Serverless::StateMachine", "Arn") => {
                arn::state_machine(r, a, id)
            }
            ("AWS::StepFunctions::StateMachine" | "AWS::Serverless::StateMachine", "Name") => {
                id.to_string()
            }
            ("AWS::StepFunctions::Activity", "Arn") => arn::states(r, a, "activity", id),
            ("AWS::EC2::SecurityGroup", "GroupId") => format!("sg-{}", hex_of(id)),
            ("AWS::EC2::Subnet", "SubnetId") => format!("subnet-{}", hex_of(id)),
            (_, "Arn") => arn::of(&service_of(ty), r, a, id),
            (_, "Name") => id.to_string(),
            _ => format!("{id}.{attr}"),
        }
    }

    /// Resolves one intrinsic function call (`v` itself when it is none).
    pub(super) fn resolve(&self, v: &Value) -> Result<Value, LoadError> {
        // Longer than a screen: one arm per CloudFormation intrinsic function, read as a table.
        let Value::Object(m) = v else { return Ok(v.clone()) };
        let Some((name, args)) = m.iter().next().filter(|_| m.len() == 1) else {
            return self.resolve_all(v);
        };
        let err = |msg: &str| LoadError(format!("{name}: {msg}"));
        Ok(match name.as_str() {
            "Ref" => self.reference(args.as_str().ok_or_else(|| err("needs a logical id"))?)?,
            "Fn::GetAtt" => {
                let (id, attr) = match args {
                    Value::Array(a) if a.len() == 2 => {
                        (self.resolve_str(&a[0])?, self.resolve_str(&a[1])?)
                    }
                    Value::Array(a) if a.len() == 1 => {
                        (self.resolve_str(&a[0])?, "Arn".to_string())
                    }
                    Value::String(s) => s
                        .split_once('.')
                        .map(|(a, b)| (a.to_string(), b.to_string()))
                        .unwrap_or((s.clone(), "Arn".into())),
                    _ => return Err(err("needs [LogicalId, Attribute]")),
                };
                Value::String(self.get_att(&id, &attr))
            }
            "Fn::ImportValue" => {
                let name = self.resolve_str(args)?;
                match self.user.get(&name) {
                    Some(v) => Value::String(v.clone()),
                    None if name.to_lowercase().contains("subnet") => {
                        Value::String(format!("subnet-{}", hex_of(&name)))
                    }
                    None => Value::String(name),
                }
            }
            "Fn::Join" => {
                let sep = args.get(0).and_then(Value::as_str).unwrap_or("");
                let parts = match args.get(1).map(|p| self.resolve(p)).transpose()? {
                    Some(Value::Array(p)) => p,
                    _ => return Err(err("needs [separator, [parts]]")),
                };
                let parts: Result<Vec<String>, LoadError> =
                    parts.iter().map(|p| self.resolve_str(p)).collect();
                Value::String(parts?.join(sep))
            }
            "Fn::Select" => {
                let i = args
                    .get(0)
                    .map(|i| self.resolve_str(i))
                    .transpose()?
                    .and_then(|i| i.parse::<usize>().ok())
                    .ok_or_else(|| err("needs [index, list]"))?;
                match args.get(1).map(|l| self.resolve(l)).transpose()? {
                    Some(Value::Array(l)) => {
                        self.resolve(l.get(i).ok_or_else(|| err("index out of range"))?)?
                    }
                    _ => return Err(err("needs [index, list]")),
                }
            }
            "Fn::Split" => {
                let sep = args
                    .get(0)
                    .and_then(Value::as_str)
                    .ok_or_else(|| err("needs [separator, string]"))?;
                let s =
                    self.resolve_str(args.get(1).ok_or_else(|| err("needs [separator, string]"))?)?;
                Value::Array(s.split(sep).map(|p| Value::String(p.to_string())).collect())
            }
            "Fn::GetAZs" => Value::Array(
                ["a", "b", "c"]
                    .iter()
                    .map(|z| Value::String(format!("{}{z}", self.region)))
                    .collect(),
            ),
            "Fn::Base64" => {
                use base64::Engine;
                Value::String(
                    base64::engine::general_purpose::STANDARD.encode(self.resolve_str(args)?),
                )
            }
            "Fn::If" => {
                let (cond, yes, no) = match args.as_array().map(Vec::as_slice) {
                    Some([c, y, n]) => (c.as_str().unwrap_or(""), y, n),
                    _ => return Err(err("needs [condition, value if true, value if false]")),
                };
                self.resolve(if self.condition(cond)? { yes } else { no })?
            }
            "Fn::Sub" => Value::String(self.sub(args)?),
            "Fn::FindInMap" => {
                let keys: Vec<String> = args
                    .as_array()
                    .map(|a| a.iter().map(|k| self.resolve_str(k)).collect::<Result<_, _>>())
                    .transpose()?
                    .unwrap_or_default();
                match keys.as_slice() {
                    [map, top, second] => self
                        .mappings
                        .get(map)
                        .and_then(|m| m.get(top))
                        .and_then(|t| t.get(second))
                        .cloned()
                        .ok_or_else(|| err(&format!("no {map}.{top}.{second} in Mappings")))?,
                    _ => return Err(err("needs [MapName, TopLevelKey, SecondLevelKey]")),
                }
            }
            _ => self.resolve_all(v)?,
        })
    }

    /// A condition's value (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`,
    /// `Condition`), with parameters at their defaults.
    fn condition(&self, name: &str) -> Result<bool, LoadError> {
        let Some(c) = self.conditions.get(name) else {
            return Err(LoadError(format!("Fn::If: no condition '{name}' in the template")));
        };
        self.truth(c, 0)
    }

    fn truth(&self, c: &Value, depth: usize) -> Result<bool, LoadError> {
        if depth > 32 {
            return Err(LoadError("conditions nest too deep".into()));
        }
        let Some((k, a)) = c.as_object().and_then(|m| m.iter().next()) else {
            return Ok(c.as_bool().unwrap_or(false));
        };
        let list = || a.as_array().cloned().unwrap_or_default();
        Ok(match k.as_str() {
            "Fn::Equals" => {
                let l = list();
                l.len() == 2 && self.resolve_str(&l[0])? == self.resolve_str(&l[1])?
            }
            "Fn::Not" => !self.truth(list().first().unwrap_or(&Value::Bool(false)), depth + 1)?,
            "Fn::And" => list()
                .iter()
                .map(|x| self.truth(x, depth + 1))
                .collect::<Result<Vec<_>, _>>()?
                .iter()
                .all(|b| *b),
            "Fn::Or" => list()
                .iter()
                .map(|x| self.truth(x, depth + 1))
                .collect::<Result<Vec<_>, _>>()?
                .iter()
                .any(|b| *b),
            "Condition" => match a.as_str().and_then(|n| self.conditions.get(n)) {
                Some(inner) => self.truth(inner, depth + 1)?,
                None => false,
            },
            _ => false,
        })
    }

    /// `Fn::Sub`: `${Name}`, `${Id.Attr}`, `${!Literal}`, with its own variables.
    fn sub(&self, args: &Value) -> Result<String, LoadError> {
        let (template, vars) = match args {
            Value::String(s) => (s.clone(), Map::new()),
            Value::Array(a) => (
                a.first().and_then(Value::as_str).unwrap_or("").to_string(),
                a.get(1).and_then(Value::as_object).cloned().unwrap_or_default(),
            ),
            _ => return Err(LoadError("Fn::Sub needs a string or [string, {vars}]".into())),
        };
        let mut out = String::new();
        let mut rest = template.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let end = rest[start..]
                .find('}')
                .map(|e| start + e)
                .ok_or_else(|| LoadError("unterminated ${ in Fn::Sub".into()))?;
            let name = &rest[start + 2..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str(&format!("${{{literal}}}"));
            } else {
                let val = match vars.get(name) {
                    Some(v) => self.resolve_str(v)?,
                    None => match name.split_once('.') {
                        Some((id, attr)) if !name.starts_with("AWS::") => self.get_att(id, attr),
                        _ => match self.reference(name)? {
                            Value::String(s) => s,
                            // a list parameter in a string: its items, as CloudFormation joins them
                            other => other
                                .as_array()
                                .map(|a| {
                                    a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(",")
                                })
                                .unwrap_or_default(),
                        },
                    },
                };
                out.push_str(&val);
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The template's region, as far as its ARNs tell (else us-east-1).
fn region_of(template: &Value) -> String {
    let s = template.to_string();
    for r in ["ap-northeast-1", "eu-west-1", "us-west-2", "us-east-2", "eu-central-1"] {
        if s.contains(&format!(":{r}:")) {
            return r.to_string();
        }
    }
    "us-east-1".to_string()
}

fn service_of(ty: &str) -> String {
    ty.split("::").nth(1).unwrap_or("service").to_lowercase()
}

/// 17 hex digits derived from `s` (resource ids that look like AWS's).
pub(crate) fn hex_of(s: &str) -> String {
    format!("{:017x}", crate::rng::stable_hash(s.as_bytes()))[..17].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_form_tags_become_the_long_form() {
        let v = yaml_to_json("a: !Ref X\nb: !GetAtt F.Arn\nc: !Sub '${X}-1'\nd: !Join ['-', [a, !Ref Y]]\ne: !If [C, 1, 2]\n").unwrap();
        assert_eq!(
            v,
            json!({"a": {"Ref": "X"}, "b": {"Fn::GetAtt": ["F", "Arn"]}, "c": {"Fn::Sub": "${X}-1"}, "d": {"Fn::Join": ["-", ["a", {"Ref": "Y"}]]}, "e": {"Fn::If": ["C", 1, 2]}})
        );
    }

    #[test]
    fn references_become_readable_placeholders_the_user_can_override() {
        let t = json!({"Resources": {
            "Fn": {"Type": "AWS::Serverless::Function"}, "Q": {"Type": "AWS::SQS::Queue"}, "T": {"Type": "AWS::DynamoDB::Table"}},
            "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
            "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}}});
        let none = BTreeMap::new();
        let r = Resolver::new(&t, &none);
        let get = |v: Value| r.resolve(&v).unwrap();
        assert_eq!(
            get(json!({"Fn::GetAtt": ["Fn", "Arn"]})),
            json!("arn:aws:lambda:us-east-1:123456789012:function:Fn")
        );
        assert_eq!(
            get(json!({"Ref": "Q"})),
            json!("https://sqs.us-east-1.amazonaws.com/123456789012/Q")
        );
        assert_eq!(
            get(json!({"Fn::GetAtt": ["T", "Arn"]})),
            json!("arn:aws:dynamodb:us-east-1:123456789012:table/T")
        );
        assert_eq!(
            get(json!({"Fn::Sub": "${Stage}-${Fn.Arn}-${!Keep}"})),
            json!("dev-arn:aws:lambda:us-east-1:123456789012:function:Fn-${Keep}")
        );
        assert_eq!(get(json!({"Fn::If": ["IsProd", "p", "np"]})), json!("np"));
        assert_eq!(get(json!({"Fn::Select": [1, ["a", "b"]]})), json!("b"));
        let user = BTreeMap::from([(
            "Fn".to_string(),
            "arn:aws:lambda:eu-west-1:1:function:real".to_string(),
        )]);
        let r = Resolver::new(&t, &user);
        assert_eq!(
            r.resolve(&json!({"Fn::GetAtt": ["Fn", "Arn"]})).unwrap(),
            json!("arn:aws:lambda:eu-west-1:1:function:real")
        );
    }
}
