//! Activities: CreateActivity … GetActivityTask. An activity Task state
//! queues its input and token; a worker long-polls GetActivityTask and
//! answers with SendTaskSuccess / SendTaskFailure.

use super::{err, optional, page, required, with_next, ApiResult};
use crate::integrations::{Answer, TaskCall, TaskReply};
use crate::time::Wall;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How long GetActivityTask waits for a task (AWS: 60 s).
const LONG_POLL: Duration = Duration::from_secs(60);

struct Activity {
    arn: String,
    name: String,
    created: f64,
    /// Its encryptionConfiguration, as given (checked by the caller).
    encryption: Option<Value>,
    queue: VecDeque<(String, String)>,
    notify: Arc<Notify>,
}

#[derive(Clone, Default)]
pub(super) struct Activities {
    inner: Arc<Mutex<BTreeMap<String, Activity>>>,
}

impl Activities {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Activity>> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn create(
        &self,
        req: &Value,
        arn_prefix: &str,
        now: f64,
        encryption: Option<Value>,
    ) -> ApiResult {
        let name = required(req, "name")?;
        if !super::valid_name(name) {
            return Err(err("InvalidName", format!("Invalid Name: '{name}'")));
        }
        let arn = format!("{arn_prefix}{name}");
        let mut acts = self.lock();
        let created = acts.get(&arn).map(|a| a.created).unwrap_or(now);
        acts.entry(arn.clone()).or_insert_with(|| Activity {
            arn: arn.clone(),
            name: name.into(),
            created,
            encryption,
            queue: VecDeque::new(),
            notify: Arc::new(Notify::new()),
        });
        Ok(json!({"activityArn": arn, "creationDate": created}))
    }

    /// Whether the activity `arn` exists.
    pub(super) fn exists(&self, arn: &str) -> bool {
        self.lock().contains_key(arn)
    }

    fn arn(req: &Value) -> Result<String, super::ApiError> {
        let arn = required(req, "activityArn")?;
        if !arn.starts_with("arn:") || !arn.contains(":activity:") {
            return Err(err(
                "InvalidArn",
                format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"),
            ));
        }
        Ok(arn.to_string())
    }

    pub(super) fn describe(&self, req: &Value) -> ApiResult {
        let arn = Self::arn(req)?;
        let acts = self.lock();
        let a = acts.get(&arn).ok_or_else(|| {
            err("ActivityDoesNotExist", format!("Activity Does Not Exist: '{arn}'"))
        })?;
        let mut v = json!({"activityArn": a.arn, "name": a.name, "creationDate": a.created});
        if let Some(e) = &a.encryption {
            v["encryptionConfiguration"] = e.clone();
        }
        Ok(v)
    }

    pub(super) fn list(&self, req: &Value) -> ApiResult {
        let all: Vec<Value> = self
            .lock()
            .values()
            .map(|a| json!({"activityArn": a.arn, "name": a.name, "creationDate": a.created}))
            .collect();
        let (items, next) = page(&all, req, 100)?;
        Ok(with_next(json!({"activities": items}), next))
    }

    pub(super) fn delete(&self, req: &Value) -> ApiResult {
        let arn = Self::arn(req)?;
        self.lock().remove(&arn);
        Ok(json!({}))
    }

    pub(super) async fn get_task(
        &self,
        req: &Value,
        tokens: &crate::integrations::tokens::TokenRegistry,
        wall: &Wall,
    ) -> ApiResult {
        let arn = Self::arn(req)?;
        let worker = optional(req, "workerName").unwrap_or("");
        let deadline = wall.now() + LONG_POLL;
        loop {
            let notify = {
                let mut acts = self.lock();
                let a = acts.get_mut(&arn).ok_or_else(|| {
                    err("ActivityDoesNotExist", format!("Activity Does Not Exist: '{arn}'"))
                })?;
                while let Some((token, input)) = a.queue.pop_front() {
                    // the task records ActivityStarted with this worker's name;
                    // a task whose execution was stopped is gone, and skipped
                    if tokens.started(&token, worker).is_ok() {
                        return Ok(json!({"taskToken": token, "input": input}));
                    }
                }
                a.notify.clone()
            };
            if wall.timeout_at(deadline, notify.notified()).await.is_none() {
                return Ok(json!({}));
            }
        }
    }

    /// Queues an activity task; the answer comes through its token.
    pub(super) fn schedule(&self, arn: &str, call: &TaskCall) -> Answer {
        let mut acts = self.lock();
        let Some(a) = acts.get_mut(arn) else {
            return TaskReply::Fail {
                error: Some(crate::names::RUNTIME.into()),
                cause: Some(format!("The activity {arn} does not exist.")),
            }
            .into();
        };
        let Some(token) = call.token.clone() else {
            return TaskReply::Fail {
                error: Some(crate::names::RUNTIME.into()),
                cause: Some("an activity task needs a task token".into()),
            }
            .into();
        };
        a.queue.push_back((token, crate::json::to_json_string(&call.parameters)));
        a.notify.notify_waiters();
        a.notify.notify_one();
        TaskReply::AwaitCallback.into()
    }
}
