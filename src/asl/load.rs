//! Loading a definition from a file: ASL JSON, or the CloudFormation
//! template `cdk synth` writes, with its intrinsic functions (`Fn::Join`,
//! `Ref`, `Fn::GetAtt`, `Fn::ImportValue`, `Fn::Sub`) resolved to plausible
//! values.

use serde_json::{Map, Value};
use std::fmt;

/// Where a definition came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Asl,
    /// A CloudFormation template; the state machine's logical id.
    CloudFormation { logical_id: String },
}

#[derive(Debug, Clone)]
/// Why a definition file could not be read or a state machine found in it.
pub struct LoadError(pub String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

const PARTITION: &str = "aws";
const ACCOUNT: &str = crate::names::DEFAULT_ACCOUNT;

/// Reads a definition: ASL text as it is, or the state machine of a
/// CloudFormation template (`path#LogicalId` picks one of several).
/// Returns the definition text and where it came from.
pub fn load_definition(spec: &str) -> Result<(String, Source), LoadError> {
    let (path, pick) = match spec.rsplit_once('#') {
        Some((p, id)) if !id.contains('/') => (p, Some(id)),
        _ => (spec, None),
    };
    let text = std::fs::read_to_string(path).map_err(|e| LoadError(format!("cannot read {path}: {e}")))?;
    let Ok(v) = serde_json::from_str::<Value>(&text) else {
        return Ok((text, Source::Asl)); // the validator reports the JSON error with its position
    };
    let Some(resources) = v.get("Resources").and_then(Value::as_object) else {
        return Ok((text, Source::Asl));
    };
    let machines: Vec<(&String, &Value)> = resources
        .iter()
        .filter(|(_, r)| r.get("Type").and_then(Value::as_str) == Some("AWS::StepFunctions::StateMachine"))
        .collect();
    let (id, res) = match (pick, machines.as_slice()) {
        (Some(want), _) => machines
            .iter()
            .find(|(id, _)| id.as_str() == want)
            .copied()
            .ok_or_else(|| LoadError(format!("{path} has no state machine '{want}'")))?,
        (None, [one]) => *one,
        (None, []) => return Err(LoadError(format!("{path} is a CloudFormation template without an AWS::StepFunctions::StateMachine"))),
        (None, many) => {
            let ids: Vec<&str> = many.iter().map(|(id, _)| id.as_str()).collect();
            return Err(LoadError(format!("{path} has several state machines ({}); pick one with {path}#LogicalId", ids.join(", "))));
        }
    };
    let props = res.get("Properties").cloned().unwrap_or(Value::Null);
    let subs: Map<String, Value> = props.get("DefinitionSubstitutions").and_then(Value::as_object).cloned().unwrap_or_default();
    let cx = Cx { resources, region: region_of(&v), subs };
    let def = if let Some(d) = props.get("Definition") {
        cx.resolve_obj(d)?
    } else if let Some(d) = props.get("DefinitionString") {
        let s = cx.resolve(d)?;
        let s = s.as_str().ok_or_else(|| LoadError(format!("{id}: DefinitionString does not resolve to a string")))?;
        serde_json::from_str(&cx.substitute(s)).map_err(|e| LoadError(format!("{id}: DefinitionString is not JSON: {e}")))?
    } else {
        return Err(LoadError(format!("{id} has neither Definition nor DefinitionString (DefinitionS3Location is not supported)")));
    };
    let text = serde_json::to_string_pretty(&def).unwrap_or_default();
    Ok((text, Source::CloudFormation { logical_id: id.clone() }))
}

fn region_of(template: &Value) -> String {
    // cdk writes the bootstrap region into some ARNs; fall back to us-east-1
    let s = template.to_string();
    for r in ["ap-northeast-1", "eu-west-1", "us-west-2", "us-east-2", "eu-central-1"] {
        if s.contains(&format!(":{r}:")) {
            return r.to_string();
        }
    }
    "us-east-1".to_string()
}

struct Cx<'a> {
    resources: &'a Map<String, Value>,
    region: String,
    subs: Map<String, Value>,
}

impl Cx<'_> {
    fn resolve_obj(&self, v: &Value) -> Result<Value, LoadError> {
        match v {
            Value::Object(m) if m.len() == 1 && m.keys().next().is_some_and(|k| k == "Ref" || k.starts_with("Fn::")) => self.resolve(v),
            Value::Object(m) => m.iter().map(|(k, v)| Ok((k.clone(), self.resolve_obj(v)?))).collect::<Result<Map<_, _>, _>>().map(Value::Object),
            Value::Array(a) => a.iter().map(|v| self.resolve_obj(v)).collect::<Result<Vec<_>, _>>().map(Value::Array),
            Value::String(s) => Ok(Value::String(self.substitute(s))),
            other => Ok(other.clone()),
        }
    }

    fn substitute(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (k, v) in &self.subs {
            if let Ok(Value::String(r)) = self.resolve(v) {
                out = out.replace(&format!("${{{k}}}"), &r);
            }
        }
        out
    }

    fn reference(&self, name: &str) -> String {
        match name {
            "AWS::Partition" => PARTITION.into(),
            "AWS::Region" => self.region.clone(),
            "AWS::AccountId" => ACCOUNT.into(),
            "AWS::URLSuffix" => "amazonaws.com".into(),
            "AWS::StackName" => "Stack".into(),
            other => other.to_string(),
        }
    }

    fn get_att(&self, id: &str, attr: &str) -> String {
        let ty = self.resources.get(id).and_then(|r| r.get("Type")).and_then(Value::as_str).unwrap_or("");
        let (r, a) = (&self.region, ACCOUNT);
        match (ty, attr) {
            ("AWS::ECS::Cluster", "Arn") => format!("arn:aws:ecs:{r}:{a}:cluster/{id}"),
            ("AWS::Lambda::Function", "Arn") => format!("arn:aws:lambda:{r}:{a}:function:{id}"),
            ("AWS::IAM::Role", "Arn") => format!("arn:aws:iam::{a}:role/{id}"),
            ("AWS::ECS::TaskDefinition", "Arn") => format!("arn:aws:ecs:{r}:{a}:task-definition/{id}:1"),
            ("AWS::SQS::Queue", "Arn") => format!("arn:aws:sqs:{r}:{a}:{id}"),
            ("AWS::SQS::Queue", "QueueUrl") => format!("https://sqs.{r}.amazonaws.com/{a}/{id}"),
            ("AWS::SNS::Topic", "TopicArn") => format!("arn:aws:sns:{r}:{a}:{id}"),
            ("AWS::EC2::SecurityGroup", "GroupId") => format!("sg-{}", hex_of(id)),
            (_, "Arn") => format!("arn:aws:{}:{r}:{a}:{id}", service_of(ty)),
            _ => format!("{id}.{attr}"),
        }
    }

    fn resolve(&self, v: &Value) -> Result<Value, LoadError> {
        // Longer than a screen: one arm per CloudFormation intrinsic function, read as a table.
        let Value::Object(m) = v else { return Ok(v.clone()) };
        if let Some(Value::String(name)) = m.get("Ref") {
            return Ok(Value::String(self.reference(name)));
        }
        if let Some(args) = m.get("Fn::GetAtt") {
            let (id, attr) = match args {
                Value::Array(a) if a.len() == 2 => (a[0].as_str().unwrap_or(""), a[1].as_str().unwrap_or("")),
                Value::String(s) => s.split_once('.').unwrap_or((s, "Arn")),
                _ => return Err(LoadError("Fn::GetAtt needs [LogicalId, Attribute]".into())),
            };
            return Ok(Value::String(self.get_att(id, attr)));
        }
        if let Some(name) = m.get("Fn::ImportValue") {
            let name = self.resolve(name)?;
            let name = name.as_str().unwrap_or_default();
            let plausible = if name.to_lowercase().contains("subnet") { format!("subnet-{}", hex_of(name)) } else { name.to_string() };
            return Ok(Value::String(plausible));
        }
        if let Some(Value::Array(args)) = m.get("Fn::Join") {
            let sep = args.first().and_then(Value::as_str).unwrap_or("");
            let parts = args.get(1).and_then(Value::as_array).ok_or_else(|| LoadError("Fn::Join needs [separator, [parts]]".into()))?;
            let mut out = Vec::new();
            for p in parts {
                match self.resolve(p)? {
                    Value::String(s) => out.push(s),
                    other => out.push(other.to_string()),
                }
            }
            return Ok(Value::String(out.join(sep)));
        }
        if let Some(sub) = m.get("Fn::Sub") {
            let (template, vars) = match sub {
                Value::String(s) => (s.clone(), Map::new()),
                Value::Array(a) => (a.first().and_then(Value::as_str).unwrap_or("").to_string(), a.get(1).and_then(Value::as_object).cloned().unwrap_or_default()),
                _ => return Err(LoadError("Fn::Sub needs a string or [string, {vars}]".into())),
            };
            let mut out = String::new();
            let mut rest = template.as_str();
            while let Some(start) = rest.find("${") {
                out.push_str(&rest[..start]);
                let end = rest[start..].find('}').map(|e| start + e).ok_or_else(|| LoadError("unterminated ${ in Fn::Sub".into()))?;
                let name = &rest[start + 2..end];
                let val = match vars.get(name) {
                    Some(v) => match self.resolve(v)? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    },
                    None => match name.split_once('.') {
                        Some((id, attr)) if !name.starts_with("AWS::") => self.get_att(id, attr),
                        _ => self.reference(name),
                    },
                };
                out.push_str(&val);
                rest = &rest[end + 1..];
            }
            out.push_str(rest);
            return Ok(Value::String(out));
        }
        Ok(v.clone())
    }
}

fn service_of(ty: &str) -> String {
    ty.split("::").nth(1).unwrap_or("service").to_lowercase()
}

fn hex_of(s: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
    }
    format!("{:017x}", h)[..17].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_seed_template() {
        let (text, src) = load_definition("fixtures/seed/StepFunctionsStack.template.json").unwrap();
        assert!(matches!(src, Source::CloudFormation { .. }));
        let sm = crate::asl::parse_str(&text).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["States"]["FargateTask"]["Resource"], "arn:aws:states:::ecs:runTask.sync");
        assert!(v["States"]["FargateTask"]["Parameters"]["Cluster"].as_str().unwrap().starts_with("arn:aws:ecs:"));
        assert_eq!(sm.states.len(), 4);
    }

    #[test]
    fn plain_asl_passes_through() {
        let (_, src) = load_definition("fixtures/seed/state-machine.asl.json").unwrap();
        assert_eq!(src, Source::Asl);
        assert!(load_definition("fixtures/nope.json").is_err());
    }
}
