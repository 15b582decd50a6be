//! Versions and aliases of a state machine: `publish` on Create/Update,
//! PublishStateMachineVersion, ListStateMachineVersions,
//! DeleteStateMachineVersion, Create/Describe/Update/Delete/
//! ListStateMachineAlias, and StartExecution on a version or an alias (an
//! alias routes each execution to one of its versions by weight, drawn from
//! the execution's seed).

use super::{
    err, optional, page, required, with_next, ApiError, ApiResult, Endpoint, Machine, Revision,
    Store,
};
use crate::rng::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A published version: the machine as it was, numbered.
pub(super) struct Version {
    pub arn: String,
    pub created: f64,
    pub description: Option<String>,
    /// The machine's revision it was published from.
    pub revision_id: String,
    pub machine: Revision,
}

/// An alias: a name that routes executions to one or two versions.
pub(super) struct Alias {
    pub arn: String,
    pub name: String,
    pub description: Option<String>,
    pub routing: Vec<(String, u64)>,
    pub created: f64,
    pub updated: f64,
}

/// A machine's versions and aliases.
#[derive(Default)]
pub(super) struct Published {
    pub versions: BTreeMap<u64, Version>,
    /// The last version number given (numbers are never reused).
    pub last: u64,
    pub aliases: BTreeMap<String, Alias>,
}

/// What a StartExecution's `stateMachineArn` names: the machine, one of its
/// versions, or one of its aliases.
pub(super) enum Qualifier {
    Latest,
    Version(u64),
    Alias(String),
}

/// The machine ARN and qualifier of a (possibly qualified) state machine ARN.
pub(super) fn split(arn: &str) -> Result<(String, Qualifier), ApiError> {
    let p: Vec<&str> = arn.split(':').collect();
    if p.len() < 7 || p.len() > 8 || p[0] != "arn" || p[2] != "states" || p[5] != "stateMachine" {
        return Err(err(
            "InvalidArn",
            format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"),
        ));
    }
    let machine = p[..7].join(":");
    Ok(match p.get(7) {
        None => (machine, Qualifier::Latest),
        Some(q) if !q.is_empty() && q.bytes().all(|b| b.is_ascii_digit()) => {
            (machine, Qualifier::Version(q.parse().unwrap_or(0)))
        }
        Some(q) => (machine, Qualifier::Alias(q.to_string())),
    })
}

fn not_found(arn: &str) -> ApiError {
    err("ResourceNotFound", format!("Resource not found: '{arn}'"))
}

/// What an execution of a (possibly qualified) machine ARN runs.
pub(super) struct Resolved<'s> {
    pub machine: &'s Machine,
    pub revision: Revision,
    /// The version it runs, when started through a version or an alias.
    pub version_arn: Option<String>,
    pub alias_arn: Option<String>,
}

/// What an execution of `arn` runs, and the version and alias it ran
/// through; an alias draws its version from `rng`.
pub(super) fn resolve<'s>(
    store: &'s Store,
    arn: &str,
    rng: &mut Rng,
) -> Result<Resolved<'s>, ApiError> {
    let (machine_arn, q) = split(arn)?;
    let m = store.machines.get(&machine_arn).ok_or_else(|| super::no_machine(&machine_arn))?;
    let version = |n: u64| m.published.versions.get(&n).ok_or_else(|| super::no_machine(arn));
    let (revision, version_arn, alias_arn) = match q {
        Qualifier::Latest => (m.revision(), None, None),
        Qualifier::Version(n) => {
            let v = version(n)?;
            (v.machine.clone(), Some(v.arn.clone()), None)
        }
        Qualifier::Alias(name) => {
            let a = m.published.aliases.get(&name).ok_or_else(|| not_found(arn))?;
            let draw = rng.next_u64() % 100;
            let mut acc = 0;
            let chosen = a
                .routing
                .iter()
                .find(|(_, w)| {
                    acc += w;
                    draw < acc
                })
                .or(a.routing.last())
                .map(|(v, _)| v.clone())
                .unwrap_or_default();
            let n = match split(&chosen)?.1 {
                Qualifier::Version(n) => n,
                _ => return Err(not_found(&chosen)),
            };
            (version(n)?.machine.clone(), Some(chosen), Some(a.arn.clone()))
        }
    };
    Ok(Resolved { machine: m, revision, version_arn, alias_arn })
}

impl Machine {
    /// Publishes the machine as it is now: a new version, or the latest one
    /// when nothing changed since (as AWS does). Returns the version's ARN
    /// and when it was made.
    pub(super) fn publish(&mut self, description: Option<&str>, now: f64) -> (String, f64) {
        if let Some(v) =
            self.published.versions.values().rev().find(|v| v.revision_id == self.revision_id)
        {
            return (v.arn.clone(), v.created);
        }
        self.published.last += 1;
        let n = self.published.last;
        let arn = format!("{}:{n}", self.arn);
        self.published.versions.insert(
            n,
            Version {
                arn: arn.clone(),
                created: now,
                description: description.map(str::to_string),
                revision_id: self.revision_id.clone(),
                machine: self.revision(),
            },
        );
        (arn, now)
    }
}

/// `versionDescription` is only for a request that publishes.
pub(super) fn version_description(req: &Value) -> Result<Option<&str>, ApiError> {
    let publish = req.get("publish").and_then(Value::as_bool).unwrap_or(false);
    match optional(req, "versionDescription") {
        Some(_) if !publish => Err(err(
            "ValidationException",
            "Version description can only be set when publish is true",
        )),
        d => Ok(d),
    }
}

/// A routing configuration as AWS accepts one: one or two versions of the
/// machine, weights of 0 to 100 adding up to 100.
fn routing(req: &Value, machine: &Machine) -> Result<Vec<(String, u64)>, ApiError> {
    let Some(list) = req.get("routingConfiguration").and_then(Value::as_array) else {
        return Err(err("ValidationException", "1 validation error detected: Value null at 'routingConfiguration' failed to satisfy constraint: Member must not be null"));
    };
    if list.is_empty() || list.len() > 2 {
        return Err(err("ValidationException", format!("1 validation error detected: Value at 'routingConfiguration' failed to satisfy constraint: Member must have length less than or equal to 2 and greater than or equal to 1 (it has {})", list.len())));
    }
    let mut out = Vec::new();
    for r in list {
        let arn = r.get("stateMachineVersionArn").and_then(Value::as_str).unwrap_or_default();
        let weight = r.get("weight").and_then(Value::as_u64).filter(|w| *w <= 100).ok_or_else(|| {
            err("ValidationException", "1 validation error detected: Value at 'routingConfiguration.member.weight' failed to satisfy constraint: Member must have value less than or equal to 100 and greater than or equal to 0")
        })?;
        let (of, q) = split(arn)?;
        let Qualifier::Version(n) = q else {
            return Err(err(
                "ValidationException",
                format!("Routing configuration must contain state machine version ARNs: '{arn}'"),
            ));
        };
        if of != machine.arn {
            return Err(err(
                "ValidationException",
                format!("Routing configuration must contain versions of {}: '{arn}'", machine.arn),
            ));
        }
        if !machine.published.versions.contains_key(&n) {
            return Err(not_found(arn));
        }
        if out.iter().any(|(a, _)| a == arn) {
            return Err(err(
                "ValidationException",
                format!("Routing configuration must contain distinct versions: '{arn}' twice"),
            ));
        }
        out.push((arn.to_string(), weight));
    }
    let total: u64 = out.iter().map(|(_, w)| w).sum();
    if total != 100 {
        return Err(err(
            "ValidationException",
            format!("Sum of routing configuration weights must equal 100 (it is {total})"),
        ));
    }
    Ok(out)
}

fn routing_json(routing: &[(String, u64)]) -> Value {
    Value::Array(
        routing.iter().map(|(v, w)| json!({"stateMachineVersionArn": v, "weight": w})).collect(),
    )
}

impl Endpoint {
    pub(super) fn publish_state_machine_version(&self, req: &Value) -> ApiResult {
        let arn = super::checked_arn(required(req, "stateMachineArn")?, "stateMachine", 7)?;
        let now = super::epoch_secs(&self.inner.cfg.wall);
        let mut store = self.store();
        let m = store.machines.get_mut(&arn).ok_or_else(|| super::no_machine(&arn))?;
        if let Some(rev) = optional(req, "revisionId") {
            if rev != m.revision_id {
                return Err(err("ConflictException", format!("Failed to publish the State Machine version for revision {rev}. The current State Machine revision is {}.", m.revision_id)));
            }
        }
        let (version, created) = m.publish(optional(req, "description"), now);
        Ok(json!({"stateMachineVersionArn": version, "creationDate": created}))
    }

    pub(super) fn list_state_machine_versions(&self, req: &Value) -> ApiResult {
        let arn = super::checked_arn(required(req, "stateMachineArn")?, "stateMachine", 7)?;
        let store = self.store();
        let m = store.machines.get(&arn).ok_or_else(|| super::no_machine(&arn))?;
        let all: Vec<Value> = m
            .published
            .versions
            .values()
            .rev()
            .map(|v| json!({"stateMachineVersionArn": v.arn, "creationDate": v.created}))
            .collect();
        let (items, next) = page(&all, req, 100)?;
        Ok(with_next(json!({"stateMachineVersions": items}), next))
    }

    pub(super) fn delete_state_machine_version(&self, req: &Value) -> ApiResult {
        let arn = required(req, "stateMachineVersionArn")?;
        let (machine, q) = split(arn)?;
        let Qualifier::Version(n) = q else {
            return Err(err("ValidationException", format!("Invalid version ARN: '{arn}'")));
        };
        let mut store = self.store();
        let Some(m) = store.machines.get_mut(&machine) else { return Ok(json!({})) };
        let referencing: Vec<&str> = m
            .published
            .aliases
            .values()
            .filter(|a| a.routing.iter().any(|(v, _)| v == arn))
            .map(|a| a.arn.as_str())
            .collect();
        if !referencing.is_empty() {
            return Err(err("ConflictException", format!("Version to be deleted must not be referenced by an alias. Current list of aliases referencing this version: [{}]", referencing.join(", "))));
        }
        m.published.versions.remove(&n);
        Ok(json!({}))
    }

    /// DescribeStateMachine of a version ARN.
    pub(super) fn describe_version(&self, arn: &str) -> ApiResult {
        let (machine, q) = split(arn)?;
        let Qualifier::Version(n) = q else { return Err(super::no_machine(arn)) };
        let store = self.store();
        let m = store.machines.get(&machine).ok_or_else(|| super::no_machine(arn))?;
        let v = m.published.versions.get(&n).ok_or_else(|| super::no_machine(arn))?;
        let mut out = super::describe_json(&v.arn, m, &v.machine, v.created);
        out["revisionId"] = json!(v.revision_id);
        if let Some(d) = &v.description {
            out["description"] = json!(d);
        }
        Ok(out)
    }

    fn alias_arn(req: &Value) -> Result<(String, String), ApiError> {
        let arn = required(req, "stateMachineAliasArn")?;
        match split(arn)? {
            (machine, Qualifier::Alias(name)) => Ok((machine, name)),
            _ => Err(err("InvalidArn", format!("Invalid Arn: '{arn}'"))),
        }
    }

    pub(super) fn create_state_machine_alias(&self, req: &Value) -> ApiResult {
        let name = required(req, "name")?;
        if !super::valid_name(name) || name.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err("ValidationException", format!("Invalid alias name: '{name}' (1 to 80 characters of a state machine name, not only digits)")));
        }
        let first = req
            .pointer("/routingConfiguration/0/stateMachineVersionArn")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let (machine, _) = split(first)?;
        let now = super::epoch_secs(&self.inner.cfg.wall);
        let mut store = self.store();
        let m = store.machines.get_mut(&machine).ok_or_else(|| not_found(&machine))?;
        let routing = routing(req, m)?;
        let arn = format!("{}:{name}", m.arn);
        let description = optional(req, "description").map(str::to_string);
        if let Some(a) = m.published.aliases.get(name) {
            if a.routing == routing && a.description == description {
                return Ok(json!({"stateMachineAliasArn": a.arn, "creationDate": a.created}));
            }
            return Err(err("ConflictException", format!("Failed to create alias because an alias with the same name and a different routing configuration already exists: '{arn}'")));
        }
        m.published.aliases.insert(
            name.to_string(),
            Alias {
                arn: arn.clone(),
                name: name.to_string(),
                description,
                routing,
                created: now,
                updated: now,
            },
        );
        Ok(json!({"stateMachineAliasArn": arn, "creationDate": now}))
    }

    pub(super) fn describe_state_machine_alias(&self, req: &Value) -> ApiResult {
        let (machine, name) = Self::alias_arn(req)?;
        let store = self.store();
        let a = store
            .machines
            .get(&machine)
            .and_then(|m| m.published.aliases.get(&name))
            .ok_or_else(|| not_found(&format!("{machine}:{name}")))?;
        let mut out = json!({
            "stateMachineAliasArn": a.arn, "name": a.name, "routingConfiguration": routing_json(&a.routing),
            "creationDate": a.created, "updateDate": a.updated,
        });
        if let Some(d) = &a.description {
            out["description"] = json!(d);
        }
        Ok(out)
    }

    pub(super) fn update_state_machine_alias(&self, req: &Value) -> ApiResult {
        let (machine, name) = Self::alias_arn(req)?;
        if req.get("routingConfiguration").is_none() && req.get("description").is_none() {
            return Err(err(
                "ValidationException",
                "Either the description or the routingConfiguration must be specified",
            ));
        }
        let now = super::epoch_secs(&self.inner.cfg.wall);
        let mut store = self.store();
        let m = store.machines.get_mut(&machine).ok_or_else(|| not_found(&machine))?;
        let routing = req.get("routingConfiguration").map(|_| routing(req, m)).transpose()?;
        let a = m
            .published
            .aliases
            .get_mut(&name)
            .ok_or_else(|| not_found(&format!("{machine}:{name}")))?;
        if let Some(r) = routing {
            a.routing = r;
        }
        if let Some(d) = optional(req, "description") {
            a.description = Some(d.to_string());
        }
        a.updated = now;
        Ok(json!({"updateDate": now}))
    }

    pub(super) fn delete_state_machine_alias(&self, req: &Value) -> ApiResult {
        let (machine, name) = Self::alias_arn(req)?;
        let mut store = self.store();
        if let Some(m) = store.machines.get_mut(&machine) {
            m.published.aliases.remove(&name);
        }
        Ok(json!({}))
    }

    pub(super) fn list_state_machine_aliases(&self, req: &Value) -> ApiResult {
        let arn = required(req, "stateMachineArn")?;
        let (machine, q) = split(arn)?;
        let store = self.store();
        let m = store.machines.get(&machine).ok_or_else(|| not_found(arn))?;
        let all: Vec<Value> = m
            .published
            .aliases
            .values()
            .filter(|a| match &q {
                Qualifier::Version(_) => a.routing.iter().any(|(v, _)| v == arn),
                _ => true,
            })
            .map(|a| json!({"stateMachineAliasArn": a.arn, "creationDate": a.created}))
            .collect();
        let (items, next) = page(&all, req, 100)?;
        Ok(with_next(json!({"stateMachineAliases": items}), next))
    }
}
