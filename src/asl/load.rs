//! Loading a definition from a file: ASL (JSON or YAML), or the state
//! machine of a CloudFormation or SAM template (JSON or YAML: what `cdk
//! synth` writes, a SAM `template.yaml` with `DefinitionUri` and
//! `DefinitionSubstitutions`), intrinsic functions resolved (`cfn.rs`) and
//! `${Name}` placeholders substituted.

use super::{cfn, mutant};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// Where a definition came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Asl,
    /// A CloudFormation template; the state machine's logical id.
    CloudFormation {
        logical_id: String,
    },
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

/// State machine resource types and where each keeps its definition.
const MACHINE_TYPES: [&str; 2] =
    ["AWS::StepFunctions::StateMachine", "AWS::Serverless::StateMachine"];

/// Reads a definition: ASL (JSON or YAML) as it is, or the state machine of
/// a CloudFormation or SAM template in JSON or YAML (`path#LogicalId` picks
/// one of several). Returns the definition as JSON text and where it came
/// from.
#[cfg(test)]
pub(super) fn load_definition(spec: &str) -> Result<(String, Source), LoadError> {
    load_definition_with(spec, &BTreeMap::new())
}

/// [`load_definition`], with what `${Name}` placeholders and template
/// references stand for (`--substitute NAME=VALUE`): a
/// DefinitionSubstitutions key, a placeholder of a bare ASL file, or a
/// logical id (its `Ref` / `Fn::GetAtt`).
pub(crate) fn load_definition_with(
    spec: &str,
    user: &BTreeMap<String, String>,
) -> Result<(String, Source), LoadError> {
    let (path, pick) = match spec.rsplit_once('#') {
        Some((p, id)) if !id.contains('/') => (p, Some(id)),
        _ => (spec, None),
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| LoadError(format!("cannot read {path}: {e}")))?;
    let mutated = |v: Value| mutant::for_file(path, None, v).map_err(LoadError);
    let v = match parse_json_or_yaml(&text) {
        Parsed::Json(v) | Parsed::Yaml(v) if v.get("Resources").is_some() => v,
        Parsed::Json(v) if !user.is_empty() || mutant::any_active() => {
            return Ok((pretty(&mutated(substitute(&v, user))?), Source::Asl))
        }
        // plain JSON ASL as written: the validator reports positions and duplicate names
        Parsed::Json(_) | Parsed::NotJson => return Ok((text, Source::Asl)),
        Parsed::Yaml(v) => return Ok((pretty(&mutated(substitute(&v, user))?), Source::Asl)),
        Parsed::Neither(e) => {
            return Err(LoadError(format!("{path} is neither JSON nor YAML: {e}")))
        }
    };
    let base = std::path::Path::new(path).parent().unwrap_or(std::path::Path::new("."));
    let (id, def) = template_machine(&v, path, pick, base, user)?;
    let def = mutant::for_file(path, Some(&id), def).map_err(LoadError)?;
    Ok((pretty(&def), Source::CloudFormation { logical_id: id }))
}

enum Parsed {
    Json(Value),
    Yaml(Value),
    /// Text that looks like JSON but is not: left to the validator.
    NotJson,
    Neither(String),
}

fn parse_json_or_yaml(text: &str) -> Parsed {
    let t = text.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        return match serde_json::from_str(text) {
            Ok(v) => Parsed::Json(v),
            Err(_) => Parsed::NotJson,
        };
    }
    match cfn::yaml_to_json(text) {
        Ok(v @ Value::Object(_)) => Parsed::Yaml(v),
        Ok(_) => Parsed::NotJson,
        Err(e) => Parsed::Neither(e),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// The chosen state machine of a template: its logical id and definition,
/// intrinsic functions resolved and substitutions made.
fn template_machine(
    v: &Value,
    path: &str,
    pick: Option<&str>,
    base: &std::path::Path,
    user: &BTreeMap<String, String>,
) -> Result<(String, Value), LoadError> {
    let resources = v
        .get("Resources")
        .and_then(Value::as_object)
        .ok_or_else(|| LoadError(format!("{path}: 'Resources' is not an object")))?;
    let machines: Vec<(&String, &Value)> = resources
        .iter()
        .filter(|(_, r)| {
            r.get("Type").and_then(Value::as_str).is_some_and(|t| MACHINE_TYPES.contains(&t))
        })
        .collect();
    let (id, res) = match (pick, machines.as_slice()) {
        (Some(want), _) => machines.iter().find(|(id, _)| id.as_str() == want).copied().ok_or_else(|| {
            let ids: Vec<&str> = machines.iter().map(|(id, _)| id.as_str()).collect();
            LoadError(format!("{path} has no state machine '{want}' (it has: {})", if ids.is_empty() { "none".into() } else { ids.join(", ") }))
        })?,
        (None, [one]) => *one,
        (None, []) => return Err(LoadError(format!("{path} is a template without an AWS::StepFunctions::StateMachine or AWS::Serverless::StateMachine"))),
        (None, many) => {
            let ids: Vec<&str> = many.iter().map(|(id, _)| id.as_str()).collect();
            return Err(LoadError(format!("{path} has several state machines ({}); pick one with {path}#LogicalId", ids.join(", "))));
        }
    };
    let cx = cfn::Resolver::new(v, user);
    let props = res.get("Properties").cloned().unwrap_or(Value::Null);
    // DefinitionSubstitutions, resolved; what the user said wins
    let mut subs: BTreeMap<String, String> = BTreeMap::new();
    if let Some(m) = props.get("DefinitionSubstitutions").and_then(Value::as_object) {
        for (k, val) in m {
            subs.insert(
                k.clone(),
                cx.resolve_str(val)
                    .map_err(|e| LoadError(format!("{id}: DefinitionSubstitutions/{k}: {e}")))?,
            );
        }
    }
    subs.extend(user.iter().map(|(k, v)| (k.clone(), v.clone())));
    let def = if let Some(d) = props.get("Definition") {
        cx.resolve_all(d).map_err(|e| LoadError(format!("{id}: Definition: {e}")))?
    } else if let Some(d) = props.get("DefinitionString") {
        let s = cx.resolve_str(d).map_err(|e| LoadError(format!("{id}: DefinitionString: {e}")))?;
        serde_json::from_str(&s)
            .map_err(|e| LoadError(format!("{id}: DefinitionString is not JSON: {e}")))?
    } else if let Some(uri) = props.get("DefinitionUri") {
        let Value::String(rel) = uri else {
            return Err(LoadError(format!(
                "{id}: DefinitionUri points to S3 ({}); pass the definition file itself (sfn-harness run FILE.asl.json) or a template whose DefinitionUri is a local path",
                crate::json::to_json_string(uri)
            )));
        };
        if rel.starts_with("s3://") {
            return Err(LoadError(format!("{id}: DefinitionUri {rel} is in S3; pass the definition file itself, or a template whose DefinitionUri is a local path")));
        }
        let file = base.join(rel);
        let text = std::fs::read_to_string(&file)
            .map_err(|e| LoadError(format!("{id}: DefinitionUri {}: {e}", file.display())))?;
        match parse_json_or_yaml(&text) {
            Parsed::Json(d) | Parsed::Yaml(d) => d,
            Parsed::NotJson => {
                return Err(LoadError(format!(
                    "{id}: DefinitionUri {} is not valid JSON",
                    file.display()
                )))
            }
            Parsed::Neither(e) => {
                return Err(LoadError(format!(
                    "{id}: DefinitionUri {} is neither JSON nor YAML: {e}",
                    file.display()
                )))
            }
        }
    } else if props.get("DefinitionS3Location").is_some() {
        return Err(LoadError(format!("{id}: DefinitionS3Location is in S3; pass the definition file itself (sfn-harness run FILE.asl.json)")));
    } else {
        return Err(LoadError(format!(
            "{id} has no Definition, DefinitionString or DefinitionUri"
        )));
    };
    Ok((id.clone(), substitute(&def, &subs)))
}

/// A container an `AWS::ECS::TaskDefinition` of a template declares.
#[cfg(any(feature = "cli", test))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TemplateContainer {
    /// The task definition's logical id.
    pub task_definition: String,
    /// The container's name (what ContainerOverrides name).
    pub name: String,
    /// Its image, resolved (a CDK asset is an ECR URI ending in the asset's hash).
    pub image: String,
}

/// The containers the template at `spec` declares (none for an ASL file).
#[cfg(any(feature = "cli", test))]
pub(crate) fn template_containers(spec: &str) -> Result<Vec<TemplateContainer>, LoadError> {
    let path = spec.rsplit_once('#').map_or(spec, |(p, _)| p);
    let text =
        std::fs::read_to_string(path).map_err(|e| LoadError(format!("cannot read {path}: {e}")))?;
    let v = match parse_json_or_yaml(&text) {
        Parsed::Json(v) | Parsed::Yaml(v) => v,
        _ => return Ok(Vec::new()),
    };
    let none = BTreeMap::new();
    let cx = cfn::Resolver::new(&v, &none);
    let mut out = Vec::new();
    for (id, r) in v.get("Resources").and_then(Value::as_object).into_iter().flatten() {
        if r.get("Type").and_then(Value::as_str) != Some("AWS::ECS::TaskDefinition") {
            continue;
        }
        for c in r
            .pointer("/Properties/ContainerDefinitions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(name) = c.get("Name").and_then(Value::as_str) else { continue };
            let image = c.get("Image").map(|i| cx.resolve_str(i)).transpose()?.unwrap_or_default();
            out.push(TemplateContainer {
                task_definition: id.clone(),
                name: name.to_string(),
                image,
            });
        }
    }
    Ok(out)
}

/// `${Name}` in every string of `v` replaced by what `subs` says it is
/// (placeholders nothing fills stay, for the validator to name).
pub(crate) fn substitute_placeholders(v: &Value, subs: &BTreeMap<String, String>) -> Value {
    substitute(v, subs)
}

fn substitute(v: &Value, subs: &BTreeMap<String, String>) -> Value {
    match v {
        Value::String(s) if s.contains("${") => {
            let mut out = s.clone();
            for (k, val) in subs {
                out = out.replace(&format!("${{{k}}}"), val);
            }
            Value::String(out)
        }
        Value::Object(m) => Value::Object(
            m.iter().map(|(k, x)| (k.clone(), substitute(x, subs))).collect::<Map<_, _>>(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, subs)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_seed_template() {
        let (text, src) =
            load_definition("fixtures/seed/StepFunctionsStack.template.json").unwrap();
        assert!(matches!(src, Source::CloudFormation { .. }));
        let sm = crate::asl::parse_str(&text).unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["States"]["FargateTask"]["Resource"], "arn:aws:states:::ecs:runTask.sync");
        assert!(v["States"]["FargateTask"]["Parameters"]["Cluster"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:ecs:"));
        assert_eq!(sm.states.len(), 4);
    }

    #[test]
    fn task_definitions_tell_the_containers() {
        let found = template_containers("fixtures/seed/StepFunctionsStack.template.json").unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].name, "python-container");
        assert!(
            found[0].image.contains("container-assets") && found[0].image.contains("amazonaws.com"),
            "{}",
            found[0].image
        );
        let sam = template_containers("fixtures/seed-sam/template.yaml").unwrap();
        assert_eq!(sam[0].name, "python-container");
        assert_eq!(sam[0].image, "123456789012.dkr.ecr.us-east-1.amazonaws.com/seed-worker:latest");
        assert!(template_containers("fixtures/seed/state-machine.asl.json").unwrap().is_empty());
    }

    #[test]
    fn plain_asl_passes_through() {
        let (_, src) = load_definition("fixtures/seed/state-machine.asl.json").unwrap();
        assert_eq!(src, Source::Asl);
        assert!(load_definition("fixtures/nope.json").is_err());
    }
}
