//! The local Step Functions API (awsJson1_0, `X-Amz-Target:
//! AWSStepFunctions.*`) over the same library calls as the CLI and the
//! test harness: state machines, executions, histories, task tokens,
//! activities, validation and TestState. Requests are not authenticated.
//!
//! [`Endpoint::handle`] serves one request in process; [`server::serve`]
//! puts it on a socket.

mod activities;
mod config;
mod map_runs;
mod requests;
mod tags;
mod versions;

/// The endpoint on a socket.
pub mod server {
    pub use crate::integrations::http_server::Server;

    /// Binds `addr` (port 0 picks a free one) and serves `endpoint`.
    pub async fn serve(
        endpoint: super::Endpoint,
        addr: std::net::SocketAddr,
    ) -> std::io::Result<Server> {
        let limits = crate::integrations::http_server::Limits {
            header_read_timeout: endpoint.inner.cfg.read_timeout,
            wall: endpoint.inner.cfg.wall.clone(),
            max_connections: endpoint.inner.cfg.max_connections,
            ..Default::default()
        };
        crate::integrations::http_server::serve(std::sync::Arc::new(endpoint), addr, limits).await
    }
}

use crate::asl::{self, Severity, StateMachine};
use crate::eval::{self, Execution, RunConfig, Status};
use crate::failure::{FaultKind, HarnessFault};
use crate::history::{Details, Event};
pub use crate::integrations::aws_json::Caller;
use crate::integrations::aws_json::{error_response, ok_response, SfnApi};
use crate::integrations::ecs_sdk::EcsIntegration;
use crate::integrations::tokens::{handle_callback_op, TokenRegistry};
use crate::integrations::{
    Answer, BoxFuture, Integration, Integrations, Resource, TaskCall, TaskReply,
};
use crate::mock::MockConfig;
use crate::rng::Rng;
use crate::time::Wall;
use activities::Activities;
use config::Configs;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How the endpoint runs executions; every field states its default.
#[derive(Clone)]
pub struct EndpointConfig {
    /// Step Functions Local mock config; `StartExecution` with
    /// `stateMachineArn#TestCase` picks a test case. Default none.
    pub mock_config: Option<MockConfig>,
    /// ECS client for ECS tasks no mock answers. Default none (such tasks fail
    /// with `Harness.NoIntegration`).
    pub ecs: Option<EcsIntegration>,
    /// Real seconds per virtual second of Wait / retry backoff (0 = virtual
    /// time, the default; 1 = real time).
    pub wait_scale: f64,
    /// Default `us-east-1`.
    pub region: String,
    /// Default `123456789012`.
    pub account: String,
    /// How long a callback task without TimeoutSeconds/HeartbeatSeconds
    /// waits for its callback in real time (default 1 hour).
    pub callback_wait: Duration,
    /// Real time: dates on resources, pacing, long polls, callbacks.
    /// Default [`Wall::system`].
    pub wall: Wall,
    /// Mixed with each execution's sequence number to seed its ids, tokens
    /// and random draws (default 0).
    pub seed: u64,
    /// How long a client may take to send a request's headers before its
    /// connection is closed (default 10 s).
    pub read_timeout: Duration,
    /// How many executions are kept; past it the oldest finished ones are
    /// forgotten (default 1,000; running executions are always kept).
    pub max_executions: usize,
    /// Connections kept open at most (default 512); past it the oldest idle
    /// one is closed for a new client.
    pub max_connections: usize,
    /// About how many bytes finished executions may hold (default 256 MiB);
    /// past it the oldest finished ones are forgotten, as past
    /// `max_executions`.
    pub max_retained_bytes: usize,
}

impl Default for EndpointConfig {
    fn default() -> Self {
        EndpointConfig {
            mock_config: None,
            ecs: None,
            wait_scale: 0.0,
            region: crate::names::DEFAULT_REGION.into(),
            account: crate::names::DEFAULT_ACCOUNT.into(),
            callback_wait: Duration::from_secs(3600),
            wall: Wall::system(),
            seed: 0,
            max_executions: 1_000,
            max_connections: 512,
            max_retained_bytes: 256 * 1024 * 1024,
            read_timeout: Duration::from_secs(10),
        }
    }
}

struct Machine {
    arn: String,
    name: String,
    definition: Arc<str>,
    role_arn: String,
    kind: String,
    created: f64,
    /// When the definition, role or a configuration last changed.
    updated: f64,
    configs: Configs,
    sm: Arc<StateMachine>,
    /// Changes with every update that changes something (what a version
    /// is published from).
    revision_id: String,
    revisions: u64,
    published: versions::Published,
}

impl Machine {
    /// The machine as it is now, as an execution or a version keeps it.
    fn revision(&self) -> Revision {
        Revision {
            name: self.name.clone(),
            definition: self.definition.clone(),
            role_arn: self.role_arn.clone(),
            updated: self.updated,
            configs: self.configs.clone(),
            sm: self.sm.clone(),
        }
    }

    /// A new revision id, after a change.
    fn revised(&mut self) {
        self.revisions += 1;
        self.revision_id = revision_id(&self.arn, self.revisions);
    }
}

/// A revision id in AWS's shape (a UUID), stable for the machine and count.
fn revision_id(arn: &str, n: u64) -> String {
    Rng::new(crate::rng::stable_hash(format!("{arn}#{n}").as_bytes())).uuid()
}

/// DescribeStateMachine's answer for `arn` (the machine or a version of it).
fn describe_json(arn: &str, m: &Machine, rev: &Revision, created: f64) -> Value {
    let mut v = json!({
        "stateMachineArn": arn, "name": rev.name, "status": "ACTIVE", "definition": &*rev.definition,
        "roleArn": rev.role_arn, "type": m.kind, "creationDate": created,
        "loggingConfiguration": rev.configs.logging, "tracingConfiguration": rev.configs.tracing,
    });
    if let Some(e) = &rev.configs.encryption {
        v["encryptionConfiguration"] = e.clone();
    }
    v
}

struct ExecRecord {
    arn: String,
    sm_arn: String,
    /// The machine as this execution started it (DescribeStateMachineForExecution).
    machine: Revision,
    /// The version it ran, when started through a version or an alias.
    version_arn: Option<String>,
    /// The alias it was started through.
    alias_arn: Option<String>,
    name: String,
    input: String,
    status: Status,
    start: f64,
    stop: Option<f64>,
    done: Option<Execution>,
    /// The events so far, while it runs.
    live: Arc<Mutex<Vec<crate::history::Event>>>,
    abort: Option<tokio::task::AbortHandle>,
    stop_reason: Option<(Option<String>, Option<String>)>,
    /// About how many bytes it holds, once finished.
    bytes: usize,
    /// The mock-config test case it was started with (`arn#TestCase`).
    test_case: Option<String>,
    redrive_count: u64,
    redrive_date: Option<f64>,
    /// The map run it is a child execution of.
    map_run_arn: Option<String>,
}

/// A machine as it was at one time: what an execution runs
/// (DescribeStateMachineForExecution) and what a version holds.
#[derive(Clone)]
struct Revision {
    name: String,
    definition: Arc<str>,
    role_arn: String,
    updated: f64,
    configs: Configs,
    sm: Arc<StateMachine>,
}

#[derive(Default)]
struct Store {
    machines: BTreeMap<String, Machine>,
    executions: BTreeMap<String, ExecRecord>,
    /// execution ARNs in start order
    order: std::collections::VecDeque<String>,
    seq: u64,
    /// About how many bytes the finished executions hold.
    retained: usize,
    /// Distributed Map runs, by ARN.
    map_runs: BTreeMap<String, map_runs::MapRunRecord>,
}

impl Store {
    /// Forgets the oldest finished executions while more than `max` are
    /// kept or they hold more than `max_bytes`.
    /// (The newest finished one stays whatever it holds: a client that just
    /// saw it end can read it.)
    fn forget_finished_past(&mut self, max: usize, max_bytes: usize) {
        let finished = |s: &Store| {
            s.order
                .iter()
                .filter(|a| s.executions.get(*a).is_none_or(|r| r.status != Status::Running))
                .count()
        };
        while self.executions.len() > max || (self.retained > max_bytes && finished(self) > 1) {
            let oldest = self
                .order
                .iter()
                .position(|a| self.executions.get(a).is_none_or(|r| r.status != Status::Running));
            let Some(i) = oldest else { return };
            if let Some(arn) = self.order.remove(i) {
                self.forget(&arn);
            }
        }
    }

    fn forget(&mut self, arn: &str) -> Option<ExecRecord> {
        let r = self.executions.remove(arn)?;
        self.retained = self.retained.saturating_sub(r.bytes);
        self.forget_map_runs_of(arn);
        Some(r)
    }
}

struct Inner {
    cfg: EndpointConfig,
    store: Mutex<Store>,
    tokens: Arc<TokenRegistry>,
    activities: Activities,
    tags: tags::Tags,
    /// What answers tasks no mock answers (ECS, activities), built once.
    fallback: Arc<Fallback>,
}

/// The local Step Functions service.
#[derive(Clone)]
pub struct Endpoint {
    inner: Arc<Inner>,
}

/// An AWS error: `__type` and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub kind: &'static str,
    pub message: String,
}

fn err(kind: &'static str, message: impl Into<String>) -> ApiError {
    ApiError { kind, message: message.into() }
}

type ApiResult = Result<Value, ApiError>;

/// A date as AWS's JSON protocol writes it: epoch seconds, milliseconds as the fraction.
fn epoch_secs(wall: &Wall) -> f64 {
    wall.epoch_ms() as f64 / 1000.0
}

fn required<'a>(req: &'a Value, key: &str) -> Result<&'a str, ApiError> {
    match req.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(err("ValidationException", format!("1 validation error detected: Value at '{key}' failed to satisfy constraint: Member must be a string"))),
        None => Err(err("ValidationException", format!("1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null"))),
    }
}

fn optional<'a>(req: &'a Value, key: &str) -> Option<&'a str> {
    req.get(key).and_then(Value::as_str)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 80
        && !name
            .chars()
            .any(|c| c.is_whitespace() || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c) || c.is_control())
}

fn page<T: Clone>(
    items: &[T],
    req: &Value,
    default_max: usize,
) -> Result<(Vec<T>, Option<String>), ApiError> {
    let max = match req.get("maxResults").and_then(Value::as_u64) {
        None | Some(0) => default_max,
        Some(n) if n <= 1000 => n as usize,
        Some(n) => return Err(err("ValidationException", format!("1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"))),
    };
    let start = match optional(req, "nextToken") {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| err("InvalidToken", format!("Invalid pagination token: {t}")))?,
    };
    if start > items.len() {
        return Err(err("InvalidToken", "Invalid pagination token"));
    }
    let end = (start + max).min(items.len());
    Ok((items[start..end].to_vec(), (end < items.len()).then(|| end.to_string())))
}

impl Endpoint {
    /// An endpoint with no state machines yet.
    pub fn new(cfg: EndpointConfig) -> Endpoint {
        let tokens = Arc::new(TokenRegistry::with_wall(cfg.wall.clone()));
        let activities = Activities::default();
        // ECS workers call back in process, through this endpoint's registry
        let api: Arc<dyn SfnApi> = tokens.clone();
        let ecs = cfg.ecs.clone().map(|e| {
            e.default_sfn_client(|| {
                crate::integrations::sdk::in_process_sfn_client(api, &cfg.region)
            })
        });
        let fallback = Arc::new(Fallback { ecs, activities: activities.clone() });
        Endpoint {
            inner: Arc::new(Inner {
                cfg,
                store: Mutex::new(Store::default()),
                tokens,
                activities,
                tags: tags::Tags::default(),
                fallback,
            }),
        }
    }

    /// The token registry SendTask* calls resolve in.
    pub fn tokens(&self) -> &Arc<TokenRegistry> {
        &self.inner.tokens
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.inner.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The ARN of a resource `caller` creates: in the region its request
    /// was signed for and its access key's account, else the endpoint's.
    fn arn(&self, caller: &Caller, kind: &str, rest: &str) -> String {
        let region = caller.region.as_deref().unwrap_or(&self.inner.cfg.region);
        let account = caller.account.as_deref().unwrap_or(&self.inner.cfg.account);
        crate::arn::states(region, account, kind, rest)
    }

    /// Serves one awsJson1_0 request: `operation` is the part after
    /// `AWSStepFunctions.`; returns the HTTP status and JSON body.
    pub async fn handle(&self, operation: &str, body: &[u8]) -> (u16, Vec<u8>) {
        self.handle_for(operation, body, &Caller::default()).await
    }

    /// [`Endpoint::handle`] for a caller of a known region and account
    /// (what `serve` reads off each request's signature).
    pub async fn handle_for(
        &self,
        operation: &str,
        body: &[u8],
        caller: &Caller,
    ) -> (u16, Vec<u8>) {
        let req: Value = if body.is_empty() {
            json!({})
        } else {
            match serde_json::from_slice(body) {
                Ok(v @ Value::Object(_)) => v,
                Ok(_) => {
                    return error_response(
                        "SerializationException",
                        "the request body must be a JSON object",
                    )
                }
                Err(e) => {
                    return error_response(
                        "SerializationException",
                        &format!("the request body is not JSON: {e}"),
                    )
                }
            }
        };
        if let Err(e) = requests::check(operation, &req) {
            return error_response(e.kind, &e.message);
        }
        if let Some(out) = handle_callback_op(&self.inner.tokens, operation, body) {
            return out;
        }
        let result = match operation {
            "CreateStateMachine" => self.create_state_machine(&req, caller),
            "DescribeStateMachine" => self.describe_state_machine(&req),
            "ListStateMachines" => self.list_state_machines(&req),
            "UpdateStateMachine" => self.update_state_machine(&req),
            "DeleteStateMachine" => self.delete_state_machine(&req),
            "StartExecution" => self.start_execution(&req).map(|(v, _)| v),
            "StartSyncExecution" => self.start_sync_execution(&req).await,
            "DescribeExecution" => self.describe_execution(&req),
            "ListExecutions" => self.list_executions(&req),
            "StopExecution" => self.stop_execution(&req),
            "RedriveExecution" => self.redrive_execution(&req),
            "GetExecutionHistory" => self.get_execution_history(&req),
            "DescribeMapRun" => self.describe_map_run(&req),
            "ListMapRuns" => self.list_map_runs(&req),
            "ValidateStateMachineDefinition" => validate(&req),
            "TestState" => self.test_state(&req).await,
            "CreateActivity" => self.create_activity(&req, caller),
            "DescribeActivity" => self.inner.activities.describe(&req),
            "ListActivities" => self.inner.activities.list(&req),
            "DeleteActivity" => self.inner.activities.delete(&req).inspect(|_| {
                self.inner.tags.forget(optional(&req, "activityArn").unwrap_or_default())
            }),
            "TagResource" => self.tag_resource(&req),
            "UntagResource" => self.untag_resource(&req),
            "ListTagsForResource" => self.list_tags_for_resource(&req),
            "DescribeStateMachineForExecution" => self.describe_state_machine_for_execution(&req),
            "PublishStateMachineVersion" => self.publish_state_machine_version(&req),
            "ListStateMachineVersions" => self.list_state_machine_versions(&req),
            "DeleteStateMachineVersion" => self.delete_state_machine_version(&req),
            "CreateStateMachineAlias" => self.create_state_machine_alias(&req),
            "DescribeStateMachineAlias" => self.describe_state_machine_alias(&req),
            "UpdateStateMachineAlias" => self.update_state_machine_alias(&req),
            "DeleteStateMachineAlias" => self.delete_state_machine_alias(&req),
            "ListStateMachineAliases" => self.list_state_machine_aliases(&req),
            "GetActivityTask" => {
                self.inner.activities.get_task(&req, &self.inner.tokens, &self.inner.cfg.wall).await
            }
            other => Err(err(
                "UnknownOperationException",
                format!("'{other}' is not an operation of AWSStepFunctions served here"),
            )),
        };
        match result {
            Ok(v) => ok_response(&v),
            Err(e) => error_response(e.kind, &e.message),
        }
    }

    fn parse_definition(definition: &str) -> Result<StateMachine, ApiError> {
        asl::parse_str(definition).map_err(|e| {
            let msgs: Vec<String> = e
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.to_string())
                .collect();
            err(
                "InvalidDefinition",
                format!("Invalid State Machine Definition: '{}'", msgs.join("; ")),
            )
        })
    }

    fn create_state_machine(&self, req: &Value, caller: &Caller) -> ApiResult {
        let name = required(req, "name")?;
        let definition = required(req, "definition")?;
        let kind = optional(req, "type").unwrap_or("STANDARD");
        if !valid_name(name) {
            return Err(err("InvalidName", format!("Invalid Name: '{name}'")));
        }
        if kind != "STANDARD" && kind != "EXPRESS" {
            return Err(err("ValidationException", format!("1 validation error detected: Value '{kind}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]")));
        }
        let role_arn = checked_role(required(req, "roleArn")?)?;
        let configs = Configs::default().updated(req)?;
        let tags = tags::parse(req, "tags")?;
        let version_description = versions::version_description(req)?;
        let sm = Self::parse_definition(definition)?;
        let arn = self.arn(caller, "stateMachine", name);
        let mut store = self.store();
        if let Some(m) = store.machines.get(&arn) {
            if &*m.definition == definition && m.role_arn == role_arn && m.configs == configs {
                return Ok(json!({"stateMachineArn": arn, "creationDate": m.created}));
            }
            return Err(err(
                "StateMachineAlreadyExists",
                format!("State Machine Already Exists: '{arn}'"),
            ));
        }
        self.inner.tags.tag(&arn, tags)?;
        let created = epoch_secs(&self.inner.cfg.wall);
        let mut m = Machine {
            arn: arn.clone(),
            name: name.into(),
            definition: definition.into(),
            role_arn: role_arn.into(),
            kind: kind.into(),
            created,
            updated: created,
            configs,
            sm: Arc::new(sm),
            revision_id: revision_id(&arn, 0),
            revisions: 0,
            published: versions::Published::default(),
        };
        let mut out = json!({"stateMachineArn": arn, "creationDate": created});
        if req.get("publish").and_then(Value::as_bool) == Some(true) {
            out["stateMachineVersionArn"] = json!(m.publish(version_description, created).0);
        }
        store.machines.insert(arn.clone(), m);
        Ok(out)
    }

    fn create_activity(&self, req: &Value, caller: &Caller) -> ApiResult {
        let tags = tags::parse(req, "tags")?;
        let encryption = match req.get("encryptionConfiguration") {
            Some(e) => {
                Configs::default().updated(&json!({"encryptionConfiguration": e}))?.encryption
            }
            None => None,
        };
        let created = self.inner.activities.create(
            req,
            &self.arn(caller, "activity", ""),
            epoch_secs(&self.inner.cfg.wall),
            encryption,
        )?;
        let arn = created["activityArn"].as_str().unwrap_or_default();
        self.inner.tags.tag(arn, tags)?;
        Ok(created)
    }

    /// The state machine or activity `resourceArn` names (tags are kept on those).
    fn taggable(&self, req: &Value) -> Result<String, ApiError> {
        let arn = required(req, "resourceArn")?;
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() < 7 || parts[0] != "arn" || parts[2] != "states" {
            return Err(err("InvalidArn", format!("Invalid Arn: '{arn}'")));
        }
        let exists = match parts[5] {
            "stateMachine" if parts.len() == 7 => self.store().machines.contains_key(arn),
            "activity" if parts.len() == 7 => self.inner.activities.exists(arn),
            _ => false,
        };
        if !exists {
            return Err(err("ResourceNotFound", format!("Resource not found: '{arn}'")));
        }
        Ok(arn.to_string())
    }

    fn tag_resource(&self, req: &Value) -> ApiResult {
        let arn = self.taggable(req)?;
        self.inner.tags.tag(&arn, tags::parse(req, "tags")?)?;
        Ok(json!({}))
    }

    fn untag_resource(&self, req: &Value) -> ApiResult {
        let arn = self.taggable(req)?;
        let keys: Vec<&str> = req
            .get("tagKeys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        self.inner.tags.untag(&arn, &keys);
        Ok(json!({}))
    }

    fn list_tags_for_resource(&self, req: &Value) -> ApiResult {
        let arn = self.taggable(req)?;
        Ok(self.inner.tags.list(&arn))
    }

    fn describe_state_machine_for_execution(&self, req: &Value) -> ApiResult {
        let arn = Self::execution_arn(req)?;
        let store = self.store();
        let r = store.executions.get(&arn).ok_or_else(|| no_execution(&arn))?;
        let m = &r.machine;
        let mut v = json!({
            "stateMachineArn": r.sm_arn, "name": m.name, "definition": &*m.definition,
            "roleArn": m.role_arn, "updateDate": m.updated,
            "loggingConfiguration": m.configs.logging, "tracingConfiguration": m.configs.tracing,
        });
        if let Some(e) = &m.configs.encryption {
            v["encryptionConfiguration"] = e.clone();
        }
        Ok(v)
    }

    /// `stateMachineArn` without its `#TestCase` suffix.
    fn machine_arn(req: &Value) -> Result<String, ApiError> {
        let arn = required(req, "stateMachineArn")?;
        checked_arn(arn.split('#').next().unwrap_or(arn), "stateMachine", 7)
    }

    fn describe_state_machine(&self, req: &Value) -> ApiResult {
        let full = required(req, "stateMachineArn")?;
        if let (_, versions::Qualifier::Version(_)) = versions::split(full)? {
            return self.describe_version(full);
        }
        let arn = Self::machine_arn(req)?;
        let store = self.store();
        let m = store.machines.get(&arn).ok_or_else(|| no_machine(&arn))?;
        let mut v = describe_json(&m.arn, m, &m.revision(), m.created);
        v["revisionId"] = json!(m.revision_id);
        Ok(v)
    }

    fn list_state_machines(&self, req: &Value) -> ApiResult {
        let store = self.store();
        let all: Vec<Value> = store
            .machines
            .values()
            .map(|m| json!({"stateMachineArn": m.arn, "name": m.name, "type": m.kind, "creationDate": m.created}))
            .collect();
        let (items, next) = page(&all, req, 100)?;
        Ok(with_next(json!({"stateMachines": items}), next))
    }

    fn update_state_machine(&self, req: &Value) -> ApiResult {
        let arn = Self::machine_arn(req)?;
        let definition = optional(req, "definition");
        let role = optional(req, "roleArn").map(checked_role).transpose()?;
        if definition.is_none() && role.is_none() && !Configs::in_request(req) {
            return Err(err(
                "MissingRequiredParameter",
                "Either the definition, the roleArn, the loggingConfiguration, the tracingConfiguration or the encryptionConfiguration must be specified",
            ));
        }
        let version_description = versions::version_description(req)?;
        let sm = definition.map(Self::parse_definition).transpose()?;
        let mut store = self.store();
        let m = store.machines.get_mut(&arn).ok_or_else(|| no_machine(&arn))?;
        let configs = m.configs.clone().updated(req)?;
        let changed = definition.is_some_and(|d| d != &*m.definition)
            || role.is_some_and(|r| r != m.role_arn)
            || configs != m.configs;
        if let (Some(d), Some(sm)) = (definition, sm) {
            m.definition = d.into();
            m.sm = Arc::new(sm);
        }
        if let Some(r) = role {
            m.role_arn = r.to_string();
        }
        m.configs = configs;
        m.updated = epoch_secs(&self.inner.cfg.wall);
        if changed {
            m.revised();
        }
        let mut out = json!({"updateDate": m.updated, "revisionId": m.revision_id});
        if req.get("publish").and_then(Value::as_bool) == Some(true) {
            let now = m.updated;
            out["stateMachineVersionArn"] = json!(m.publish(version_description, now).0);
        }
        Ok(out)
    }

    /// Deletes the machine and its executions (running ones are stopped, as
    /// AWS terminates them), so a new machine of the same name starts afresh.
    fn delete_state_machine(&self, req: &Value) -> ApiResult {
        let arn = Self::machine_arn(req)?;
        let mut store = self.store();
        store.machines.remove(&arn);
        self.inner.tags.forget(&arn);
        let gone: std::collections::HashSet<String> =
            store.executions.values().filter(|r| r.sm_arn == arn).map(|r| r.arn.clone()).collect();
        for exec in &gone {
            if let Some(mut r) = store.forget(exec) {
                if let Some(h) = r.abort.take() {
                    h.abort();
                }
            }
        }
        store.order.retain(|a| !gone.contains(a));
        Ok(json!({}))
    }

    /// The integrations of one execution: a mock test case, ECS, activities.
    fn integrations(
        &self,
        machine: &Machine,
        test_case: Option<&str>,
    ) -> Result<Integrations, ApiError> {
        let mut ints = Integrations::new();
        ints.set_tokens(self.inner.tokens.clone());
        ints.callback_wait = self.inner.cfg.callback_wait;
        if let Some(tc) = test_case {
            let cfg = self.inner.cfg.mock_config.as_ref().ok_or_else(|| err("ValidationException", format!("test case '{tc}' requested but the endpoint has no mock config (--mock-config)")))?;
            let states = cfg
                .test_case(Some(&machine.name), tc)
                .or_else(|_| cfg.test_case(None, tc))
                .map_err(|e| err("ValidationException", e.to_string()))?;
            for (state, resp) in states {
                ints.insert(state, resp);
            }
        }
        ints.set_fallback(self.inner.fallback.clone());
        Ok(ints)
    }

    /// The settings of the execution numbered `seq`: its seed mixes `seq`
    /// into the endpoint's, so no two executions share ids or task tokens.
    fn run_config(
        &self,
        machine: &Machine,
        rev: &Revision,
        name: &str,
        start_ms: i64,
        seq: u64,
    ) -> RunConfig {
        let mut cfg = RunConfig {
            seed: Rng::new(self.inner.cfg.seed ^ seq.wrapping_mul(0x9E37_79B9_7F4A_7C15))
                .next_u64(),
            start_ms,
            // an execution runs in its machine's region and account
            region: Arc::from(machine.arn.split(':').nth(3).unwrap_or(&self.inner.cfg.region)),
            account: Arc::from(machine.arn.split(':').nth(4).unwrap_or(&self.inner.cfg.account)),
            state_machine_name: machine.name.clone(),
            execution_name: Some(name.to_string()),
            wall: self.inner.cfg.wall.clone(),
            role_arn: Some(rev.role_arn.clone()),
            ..RunConfig::default()
        };
        if self.inner.cfg.wait_scale > 0.0 {
            let scale = self.inner.cfg.wait_scale;
            let wall = self.inner.cfg.wall.clone();
            cfg.pacer = Some(eval::Pacer::new(move |ms| {
                let wall = wall.clone();
                Box::pin(async move {
                    wall.sleep(Duration::from_secs_f64(ms as f64 / 1000.0 * scale)).await
                })
            }));
        }
        cfg
    }

    /// Starts an execution; returns the response and the spawned run.
    fn start_execution(
        &self,
        req: &Value,
    ) -> Result<(Value, tokio::task::JoinHandle<()>), ApiError> {
        // Longer than a screen: the operation's checks in the order AWS applies them, then the start.
        let full = required(req, "stateMachineArn")?;
        let (qualified, test_case) = match full.split_once('#') {
            Some((a, tc)) => (a, Some(tc.to_string())),
            None => (full, None),
        };
        let arn = versions::split(qualified)?.0;
        let input_text = optional(req, "input").unwrap_or("{}").to_string();
        let input: Value = serde_json::from_str(&input_text)
            .map_err(|e| err("InvalidExecutionInput", format!("Invalid execution input: {e}")))?;
        let mut store = self.store();
        store.seq += 1;
        let seq = store.seq;
        let (exec_name, sm, ints, cfg, at_start, version_arn, alias_arn) = {
            // an alias routes by weight, drawn from this execution's own seed
            let mut draw = Rng::new(self.inner.cfg.seed ^ seq.wrapping_mul(0xD1B5_4A32_D192_ED03));
            let versions::Resolved { machine: m, revision: rev, version_arn, alias_arn } =
                versions::resolve(&store, qualified, &mut draw)?;
            let name = optional(req, "name").map(str::to_string).unwrap_or_else(|| {
                format!("{:08x}-{:04x}-4000-8000-{:012x}", seq, seq & 0xffff, seq)
            });
            if !valid_name(&name) {
                return Err(err("InvalidName", format!("Invalid Name: '{name}'")));
            }
            let start_ms = self.inner.cfg.wall.epoch_ms();
            (
                name.clone(),
                rev.sm.clone(),
                self.integrations(m, test_case.as_deref())?,
                self.run_config(m, &rev, &name, start_ms, seq),
                rev,
                version_arn,
                alias_arn,
            )
        };
        // the execution's ARN: its machine's, of kind execution, with its name
        let exec_arn = crate::arn::execution_of(&arn, &exec_name);
        if let Some(existing) = store.executions.get(&exec_arn) {
            if existing.status == Status::Running && existing.input == input_text {
                return Ok((
                    json!({"executionArn": exec_arn, "startDate": existing.start}),
                    tokio::spawn(async {}),
                ));
            }
            return Err(err(
                "ExecutionAlreadyExists",
                format!("Execution Already Exists: '{exec_arn}'"),
            ));
        }
        let start = cfg.start_ms as f64 / 1000.0;
        // ExecutionStarted is there as soon as StartExecution returns, as on AWS
        let input = Arc::new(input);
        let live = Arc::new(Mutex::new(vec![eval::started_event(&cfg, input.clone())]));
        let mut cfg = cfg;
        cfg.live_history = Some(live.clone());
        let handle = self.spawn_run(exec_arn.clone(), sm, input, ints, cfg);
        store.executions.insert(
            exec_arn.clone(),
            ExecRecord {
                arn: exec_arn.clone(),
                sm_arn: arn,
                machine: at_start,
                version_arn,
                alias_arn,
                name: exec_name,
                input: input_text,
                status: Status::Running,
                start,
                stop: None,
                done: None,
                live,
                abort: Some(handle.abort_handle()),
                stop_reason: None,
                bytes: 0,
                test_case,
                redrive_count: 0,
                redrive_date: None,
                map_run_arn: None,
            },
        );
        store.order.push_back(exec_arn.clone());
        store
            .forget_finished_past(self.inner.cfg.max_executions, self.inner.cfg.max_retained_bytes);
        Ok((json!({"executionArn": exec_arn, "startDate": start}), handle))
    }

    /// Runs an execution (a start or a redrive) in the background; when it
    /// ends, its record gets the result.
    fn spawn_run(
        &self,
        exec_arn: String,
        sm: Arc<StateMachine>,
        input: Arc<Value>,
        ints: Integrations,
        cfg: RunConfig,
    ) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        let arn_for_task = exec_arn.clone();
        tokio::spawn(async move {
            let outcome = eval::catch_panic(eval::execute(&sm, input, &ints, &cfg)).await;
            let bytes = outcome.as_ref().map_or(0, |e| e.history.retained_bytes());
            let mut store = this.store();
            let mut kept = 0;
            let mut runs = (Vec::new(), None);
            if let Some(rec) = store.executions.get_mut(&arn_for_task) {
                if rec.status == Status::Running {
                    match outcome {
                        Ok(mut exec) => {
                            runs = (std::mem::take(&mut exec.map_runs), Some(rec.machine.clone()));
                            rec.status = exec.status();
                            rec.stop = Some(exec.stop_ms as f64 / 1000.0);
                            rec.done = Some(exec);
                            // the history is the execution's now: drop the copy readers had
                            *rec.live.lock().unwrap_or_else(|e| e.into_inner()) = Vec::new();
                            rec.bytes = bytes;
                            kept = bytes;
                        }
                        // never a lost execution: a harness bug fails it, with the reason
                        Err(panic) => {
                            rec.status = Status::Failed;
                            rec.stop = Some(epoch_secs(&this.inner.cfg.wall));
                            rec.stop_reason = Some((
                                Some(crate::names::HARNESS_INTERNAL_ERROR.into()),
                                Some(panic),
                            ));
                        }
                    }
                }
            }
            store.retained += kept;
            if let (runs, Some(machine)) = runs {
                map_runs::keep(&mut store, &arn_for_task, runs, &machine);
            }
            let limits = (this.inner.cfg.max_executions, this.inner.cfg.max_retained_bytes);
            store.forget_finished_past(limits.0, limits.1);
        })
    }

    async fn start_sync_execution(&self, req: &Value) -> ApiResult {
        let arn = Self::machine_arn(req)?;
        if self.store().machines.get(&arn).is_some_and(|m| m.kind != "EXPRESS") {
            return Err(err("StateMachineTypeNotSupported", format!("This operation is not supported by this type of state machine: '{arn}' is a STANDARD state machine")));
        }
        let (started, handle) = self.start_execution(req)?;
        let _ = handle.await;
        let arn = started["executionArn"].as_str().unwrap_or_default().to_string();
        let mut v = self.describe_execution(&json!({"executionArn": arn}))?;
        if let Some(m) = v.as_object_mut() {
            for k in ["redriveCount", "redriveDate", "redriveStatus", "redriveStatusReason"] {
                m.remove(k);
            }
        }
        Ok(v)
    }

    fn execution_arn(req: &Value) -> Result<String, ApiError> {
        checked_arn(required(req, "executionArn")?, "execution", 8)
    }

    fn describe_execution(&self, req: &Value) -> ApiResult {
        let arn = Self::execution_arn(req)?;
        let store = self.store();
        let r = store.executions.get(&arn).ok_or_else(|| no_execution(&arn))?;
        let mut m = Map::new();
        m.insert("executionArn".into(), json!(r.arn));
        m.insert("stateMachineArn".into(), json!(r.sm_arn));
        m.insert("name".into(), json!(r.name));
        m.insert("status".into(), json!(r.status.as_str()));
        m.insert("startDate".into(), json!(r.start));
        m.insert("input".into(), json!(r.input));
        m.insert("inputDetails".into(), json!({"included": true}));
        m.insert("redriveCount".into(), json!(r.redrive_count));
        if let Some(d) = r.redrive_date {
            m.insert("redriveDate".into(), json!(d));
        }
        let kind = store.machines.get(&r.sm_arn).map(|m| m.kind.as_str());
        match redrivable(r.status, kind) {
            Ok(()) => {
                m.insert("redriveStatus".into(), json!("REDRIVABLE"));
            }
            Err(why) => {
                m.insert("redriveStatus".into(), json!("NOT_REDRIVABLE"));
                m.insert("redriveStatusReason".into(), json!(why));
            }
        }
        if let Some(v) = &r.version_arn {
            m.insert("stateMachineVersionArn".into(), json!(v));
        }
        if let Some(a) = &r.alias_arn {
            m.insert("stateMachineAliasArn".into(), json!(a));
        }
        if let Some(s) = r.stop {
            m.insert("stopDate".into(), json!(s));
        }
        if let Some(e) = &r.done {
            if let Some(o) = e.output_payload().map(|o| &**o) {
                m.insert("output".into(), json!(crate::json::to_json_string(o)));
                m.insert("outputDetails".into(), json!({"included": true}));
            }
            if let Some(x) = &e.error() {
                m.insert("error".into(), json!(x));
            }
            if let Some(x) = &e.cause() {
                m.insert("cause".into(), json!(x));
            }
        }
        if let Some((e, c)) = &r.stop_reason {
            if let Some(e) = e {
                m.insert("error".into(), json!(e));
            }
            if let Some(c) = c {
                m.insert("cause".into(), json!(c));
            }
        }
        Ok(Value::Object(m))
    }

    fn list_executions(&self, req: &Value) -> ApiResult {
        let by_run = match (optional(req, "stateMachineArn"), optional(req, "mapRunArn")) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(err(
                    "ValidationException",
                    "Exactly one of stateMachineArn and mapRunArn must be given",
                ))
            }
            (None, Some(run)) => Some(self.map_run_children(run)?),
            (Some(_), None) => None,
        };
        let full = optional(req, "stateMachineArn").unwrap_or_default();
        let (arn, q) = match by_run {
            Some(_) => (String::new(), versions::Qualifier::Latest),
            None => versions::split(full)?,
        };
        let through = |r: &ExecRecord| match &q {
            versions::Qualifier::Latest => true,
            versions::Qualifier::Version(_) => r.version_arn.as_deref() == Some(full),
            versions::Qualifier::Alias(_) => r.alias_arn.as_deref() == Some(full),
        };
        let filter = optional(req, "statusFilter");
        let store = self.store();
        if by_run.is_none() && !store.machines.contains_key(&arn) {
            return Err(no_machine(&arn));
        }
        let arns: Vec<&String> = match &by_run {
            Some(children) => children.iter().collect(),
            None => store.order.iter().rev().collect(),
        };
        let all: Vec<&ExecRecord> = arns
            .into_iter()
            .filter_map(|a| store.executions.get(a))
            .filter(|r| {
                (by_run.is_some() || (r.sm_arn == arn && through(r)))
                    && filter.is_none_or(|f| f == r.status.as_str())
                    && match optional(req, "redriveFilter") {
                        Some("REDRIVEN") => r.redrive_count > 0,
                        Some("NOT_REDRIVEN") => r.redrive_count == 0,
                        _ => true,
                    }
            })
            .collect();
        // only the page is rendered
        let (records, next) = page(&all, req, 100)?;
        let items: Vec<Value> = records
            .iter()
            .map(|r| {
                let mut v = json!({"executionArn": r.arn, "stateMachineArn": r.sm_arn, "name": r.name, "status": r.status.as_str(), "startDate": r.start, "redriveCount": r.redrive_count});
                if let Some(run) = &r.map_run_arn {
                    v["mapRunArn"] = json!(run);
                }
                if let Some(d) = r.redrive_date {
                    v["redriveDate"] = json!(d);
                }
                if let Some(s) = r.stop {
                    v["stopDate"] = json!(s);
                }
                v
            })
            .collect();
        Ok(with_next(json!({"executions": items}), next))
    }

    fn stop_execution(&self, req: &Value) -> ApiResult {
        let arn = Self::execution_arn(req)?;
        let mut store = self.store();
        let r = store.executions.get_mut(&arn).ok_or_else(|| no_execution(&arn))?;
        let stop = epoch_secs(&self.inner.cfg.wall);
        if r.status == Status::Running {
            if let Some(h) = r.abort.take() {
                h.abort();
            }
            r.status = Status::Aborted;
            r.stop = Some(stop);
            r.stop_reason = Some((
                optional(req, "error").map(str::to_string),
                optional(req, "cause").map(str::to_string),
            ));
        }
        Ok(json!({"stopDate": r.stop.unwrap_or(stop)}))
    }

    /// RedriveExecution: the execution goes on from the state that did not
    /// succeed, with the same ARN, definition, role and test case.
    fn redrive_execution(&self, req: &Value) -> ApiResult {
        let arn = Self::execution_arn(req)?;
        let now_ms = self.inner.cfg.wall.epoch_ms();
        let mut store = self.store();
        store.seq += 1;
        let seq = store.seq;
        let r = store.executions.get(&arn).ok_or_else(|| no_execution(&arn))?;
        let m = store.machines.get(&r.sm_arn).ok_or_else(|| no_execution(&arn))?;
        redrivable(r.status, Some(&m.kind)).map_err(|why| err("ExecutionNotRedrivable", why))?;
        let events = recorded_events(r);
        let invocations = r.done.as_ref().map(|e| e.invocations.clone()).unwrap_or_default();
        let resume = eval::Resume::from_events(
            crate::history::History::from_events(events.clone()),
            r.status,
            &invocations,
            r.redrive_count + 1,
            &arn,
        )
        .map_err(|e| err("ExecutionNotRedrivable", e.0))?;
        let ints = self.integrations(m, r.test_case.as_deref())?;
        let mut cfg = self.run_config(m, &r.machine, &r.name, now_ms, seq);
        cfg.resume = Some(Arc::new(resume));
        let live = Arc::new(Mutex::new(events));
        cfg.live_history = Some(live.clone());
        let (sm, input) =
            (r.machine.sm.clone(), Arc::new(serde_json::from_str(&r.input).unwrap_or(Value::Null)));
        let handle = self.spawn_run(arn.clone(), sm, input, ints, cfg);
        let now = now_ms as f64 / 1000.0;
        let r = store.executions.get_mut(&arn).ok_or_else(|| no_execution(&arn))?;
        let freed = r.bytes;
        r.status = Status::Running;
        r.stop = None;
        r.done = None;
        r.bytes = 0;
        r.live = live;
        r.abort = Some(handle.abort_handle());
        r.stop_reason = None;
        r.redrive_count += 1;
        r.redrive_date = Some(now);
        store.retained = store.retained.saturating_sub(freed);
        Ok(json!({"redriveDate": now}))
    }

    fn get_execution_history(&self, req: &Value) -> ApiResult {
        let arn = Self::execution_arn(req)?;
        let data = req.get("includeExecutionData").and_then(Value::as_bool).unwrap_or(true);
        let reverse = req.get("reverseOrder").and_then(Value::as_bool).unwrap_or(false);
        let store = self.store();
        let r = store.executions.get(&arn).ok_or_else(|| no_execution(&arn))?;
        let live;
        // a finished history, or the live copy of a running or aborted one
        // and its closing event
        let (events, aborted) = match &r.done {
            Some(e) => (Recorded::Done(e.history.events()), None),
            None => {
                // still running, or aborted: the events written so far
                live = r.live.lock().unwrap_or_else(|e| e.into_inner());
                let aborted = aborted_event(r, live.len());
                (Recorded::Live(&live[..]), aborted)
            }
        };
        let at = |i: usize| events.get(i).or(aborted.as_ref());
        // page over positions; only the page's events are rendered
        let mut positions: Vec<usize> = (0..events.len() + aborted.is_some() as usize).collect();
        if reverse {
            positions.reverse();
        }
        let (positions, next) = page(&positions, req, 100)?;
        let items: Vec<Value> =
            positions.iter().filter_map(|&i| at(i)).map(|e| e.to_json(data)).collect();
        Ok(with_next(json!({"events": items}), next))
    }

    async fn test_state(&self, req: &Value) -> ApiResult {
        // Longer than a screen: TestState's request fields read and checked in AWS's order, then one run.
        let definition = required(req, "definition")?;
        let state: Value = serde_json::from_str(definition)
            .map_err(|e| err("InvalidDefinition", format!("Invalid State Definition: {e}")))?;
        let input: Value = serde_json::from_str(optional(req, "input").unwrap_or("{}"))
            .map_err(|e| err("InvalidExecutionInput", format!("Invalid input: {e}")))?;
        // the state alone, its Next/End replaced so it validates as a machine
        let mut single = state.clone();
        let next = single.get("Next").and_then(Value::as_str).map(str::to_string);
        if let Some(m) = single.as_object_mut() {
            if m.contains_key("Next") {
                m.remove("Next");
                m.insert("End".into(), json!(true));
            }
            if let Some(Value::Array(catchers)) = m.get_mut("Catch") {
                for c in catchers {
                    c["Next"] = json!("__next__");
                }
            }
        }
        let mut states = json!({"State": single});
        if single.get("Catch").is_some() {
            states["__next__"] = json!({"Type": "Succeed"});
        }
        let machine = json!({"StartAt": "State", "States": states});
        let sm = asl::parse_value(&machine).map_err(|e| err("InvalidDefinition", e.to_string()))?;
        let mut ints = Integrations::new();
        ints.set_tokens(self.inner.tokens.clone());
        if let Some(mock) = req.get("mock") {
            let reply = if let Some(r) = mock.get("result").and_then(Value::as_str) {
                TaskReply::Succeed(serde_json::from_str(r).map_err(|e| {
                    err("ValidationException", format!("mock.result is not JSON: {e}"))
                })?)
            } else if let Some(e) = mock.get("errorOutput") {
                TaskReply::Fail {
                    error: Some(e.get("error").and_then(Value::as_str).unwrap_or("").into()),
                    cause: e.get("cause").and_then(Value::as_str).map(str::to_string),
                }
            } else {
                return Err(err("ValidationException", "mock needs 'result' or 'errorOutput'"));
            };
            ints.insert(
                "State",
                Arc::new(crate::integrations::Handler(move |_: &TaskCall| reply.clone())),
            );
        }
        let exec = eval::execute(&sm, Arc::new(input), &ints, &RunConfig::default()).await;
        let mut out = Map::new();
        let caught = exec.history.events().iter().any(|e| matches!(&e.details, crate::history::Details::StateEntered { name, .. } if &**name == "__next__"));
        let status = match exec.status() {
            Status::Succeeded if caught => "CAUGHT_ERROR",
            Status::Succeeded => "SUCCEEDED",
            _ => "FAILED",
        };
        out.insert("status".into(), json!(status));
        if let Some(o) = exec.output_payload().map(|o| &**o) {
            out.insert("output".into(), json!(crate::json::to_json_string(o)));
        }
        if let Some(e) = &exec.error() {
            out.insert("error".into(), json!(e));
        }
        if let Some(c) = &exec.cause() {
            out.insert("cause".into(), json!(c));
        }
        if status == "SUCCEEDED" {
            if let Some(n) = next {
                out.insert("nextState".into(), json!(n));
            }
        }
        Ok(Value::Object(out))
    }
}

/// A Step Functions ARN of `resource` type with `parts` colon-separated parts, or InvalidArn.
fn checked_arn(arn: &str, resource: &str, parts: usize) -> Result<String, ApiError> {
    let p: Vec<&str> = arn.split(':').collect();
    if p.len() != parts || p[0] != "arn" || p[2] != "states" || p[5] != resource {
        return Err(err(
            "InvalidArn",
            format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"),
        ));
    }
    Ok(arn.to_string())
}

/// Whether an execution of this status (of a machine of this type) can be
/// redriven; else why not, in AWS's words.
fn redrivable(status: Status, kind: Option<&str>) -> Result<(), String> {
    if kind == Some("EXPRESS") {
        return Err("Execution is of an EXPRESS state machine and cannot be redriven".into());
    }
    match status {
        Status::Failed | Status::TimedOut | Status::Aborted => Ok(()),
        other => Err(format!("Execution is {} and cannot be redriven", other.as_str())),
    }
}

/// The events of an execution as GetExecutionHistory reads them: its
/// history when it ended, else the live copy written so far.
enum Recorded<'a> {
    Done(crate::history::Events<'a>),
    Live(&'a [Event]),
}

impl<'a> Recorded<'a> {
    fn len(&self) -> usize {
        match self {
            Recorded::Done(e) => e.len(),
            Recorded::Live(e) => e.len(),
        }
    }

    fn get(&self, i: usize) -> Option<&'a Event> {
        match self {
            Recorded::Done(e) => e.get(i),
            Recorded::Live(e) => e.get(i),
        }
    }
}

/// Every event of an execution as GetExecutionHistory gives them: its
/// history when it ended, else the events so far (and, when it was
/// stopped, ExecutionAborted).
fn recorded_events(r: &ExecRecord) -> Vec<Event> {
    if let Some(e) = &r.done {
        return e.history.events().to_vec();
    }
    let mut events = r.live.lock().unwrap_or_else(|e| e.into_inner()).clone();
    events.extend(aborted_event(r, events.len()));
    events
}

/// The ExecutionAborted event a stopped execution ends with, after its
/// `written` events (StopExecution records none; readers see it).
fn aborted_event(r: &ExecRecord, written: usize) -> Option<Event> {
    (r.status == Status::Aborted).then(|| {
        let (error, cause) = r.stop_reason.clone().unwrap_or_default();
        let id = written as u64 + 1;
        Event {
            id,
            previous_event_id: id - 1,
            timestamp_ms: (r.stop.unwrap_or_default() * 1000.0).round() as i64,
            details: Details::ExecutionAborted { error, cause },
            fiber: 0,
        }
    })
}

/// A role ARN as AWS accepts one: `arn:PARTITION:iam::ACCOUNT:role/NAME`.
fn checked_role(arn: &str) -> Result<&str, ApiError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam", "", account, role]
            if !account.is_empty() && role.strip_prefix("role/").is_some_and(|n| !n.is_empty()) =>
        {
            Ok(arn)
        }
        _ => Err(err("InvalidArn", format!("Invalid Role Arn: '{arn}'"))),
    }
}

fn no_machine(arn: &str) -> ApiError {
    err("StateMachineDoesNotExist", format!("State Machine Does Not Exist: '{arn}'"))
}

fn no_execution(arn: &str) -> ApiError {
    err("ExecutionDoesNotExist", format!("Execution Does Not Exist: '{arn}'"))
}

fn with_next(mut v: Value, next: Option<String>) -> Value {
    if let Some(n) = next {
        v["nextToken"] = json!(n);
    }
    v
}

fn validate(req: &Value) -> ApiResult {
    let definition = required(req, "definition")?;
    let diags = asl::validate(definition);
    let errors = diags.iter().any(|d| d.severity == Severity::Error);
    Ok(json!({
        "result": if errors { "FAIL" } else { "OK" },
        "diagnostics": diags.iter().map(|d| json!({"severity": d.severity, "code": d.code, "message": d.message, "location": d.location})).collect::<Vec<_>>(),
        "truncated": false,
    }))
}

/// Answers tasks no mock answers: ECS through the configured client,
/// activities through GetActivityTask.
struct Fallback {
    ecs: Option<EcsIntegration>,
    activities: Activities,
}

impl Integration for Fallback {
    fn call<'a>(&'a self, call: &'a TaskCall) -> BoxFuture<'a, Result<Answer, HarnessFault>> {
        Box::pin(async move {
            match Resource::parse(&call.resource) {
                Resource::Activity(arn) => Ok(self.activities.schedule(&arn, call)),
                r if r.is_ecs() && self.ecs.is_some() => match &self.ecs {
                    Some(e) => e.call(call).await,
                    None => unreachable!(),
                },
                _ => Err(HarnessFault::new(
                    FaultKind::NoIntegration,
                    format!(
                        "Task state '{}' ({}) has no mocked response: start the execution with stateMachineArn#TestCase and a --mock-config, or give --ecs-endpoint for ECS tasks",
                        call.state_name, call.resource
                    ),
                )),
            }
        })
    }

    /// Activity workers and ECS clients of `serve`: real time.
    fn real_time(&self) -> bool {
        true
    }
}

impl SfnApi for Endpoint {
    fn handle(&self, op: &str, body: &[u8]) -> BoxFuture<'static, (u16, Vec<u8>)> {
        self.handle_as(op, body, &Caller::default())
    }

    fn handle_as(
        &self,
        op: &str,
        body: &[u8],
        caller: &Caller,
    ) -> BoxFuture<'static, (u16, Vec<u8>)> {
        let this = self.clone();
        let (op, body, caller) = (op.to_string(), body.to_vec(), caller.clone());
        Box::pin(async move { this.handle_for(&op, &body, &caller).await })
    }
}
