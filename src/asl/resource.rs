//! Classifying a Task's `Resource` ARN once.

use std::sync::Arc;

/// The service and API a Task event names (`ecs` / `runTask.sync`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TaskResource {
    /// The service (`ecs`).
    pub resource_type: Arc<str>,
    /// The API and pattern (`runTask.sync`).
    pub resource: Arc<str>,
}

/// The service integration pattern of an optimized integration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pattern {
    /// Request-response: the API call's response is the result.
    RequestResponse,
    /// `.sync` / `.sync:2`: run a job and wait for it.
    Sync,
    /// `.waitForTaskToken`: wait for a callback with the task token.
    WaitForTaskToken,
}

/// What a Task state's `Resource` names:
///
/// ```text
/// arn:aws:states:::ecs:runTask.sync          Service { ecs, runTask.sync, Sync }
/// arn:aws:lambda:us-east-1:1:function:f      LambdaFunction
/// arn:aws:states:us-east-1:1:activity:a      Activity
/// ```
#[derive(Debug, Clone)]
pub(crate) enum Resource {
    /// `arn:aws:states:::service:api[.pattern]`: Task* events.
    Service { res: Arc<TaskResource>, pattern: Pattern },
    /// A Lambda function ARN used directly: LambdaFunction* events.
    LambdaFunction(Arc<str>),
    /// An activity ARN: Activity* events.
    Activity(Arc<str>),
}

/// `ecs:runTask.sync` → (`ecs`, `runTask.sync`), as TaskScheduled records
/// them: the API is the last segment (`aws-sdk:s3:getObject` → `aws-sdk:s3`,
/// `getObject`), with its pattern's version (`states:startExecution.sync:2`
/// → `states`, `startExecution.sync:2`).
fn service_and_api(spec: &str) -> (&str, &str) {
    let last = spec.rfind(':');
    let versioned = last.is_some_and(|i| {
        let v = &spec[i + 1..];
        !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
    });
    let cut = match last {
        Some(i) if versioned => spec[..i].rfind(':'),
        other => other,
    };
    match cut {
        Some(i) => (&spec[..i], &spec[i + 1..]),
        None => ("", spec),
    }
}

impl Resource {
    /// Whether this is an ECS service integration (`arn:aws:states:::ecs:…`).
    pub(crate) fn is_ecs(&self) -> bool {
        matches!(self, Resource::Service { res, .. } if &*res.resource_type == "ecs")
    }

    /// Classifies a `Resource` ARN.
    pub(crate) fn parse(arn: &str) -> Resource {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() == 6
            && parts[0] == "arn"
            && parts[2] == "states"
            && parts[3].is_empty()
            && parts[4].is_empty()
        {
            let spec = parts[5];
            let (service, api) = service_and_api(spec);
            let pattern = if api.ends_with(".waitForTaskToken") {
                Pattern::WaitForTaskToken
            } else if api.contains(".sync") {
                Pattern::Sync
            } else {
                Pattern::RequestResponse
            };
            return Resource::Service {
                res: Arc::new(TaskResource {
                    resource_type: Arc::from(service),
                    resource: Arc::from(api),
                }),
                pattern,
            };
        }
        if parts.len() == 6 && parts[2] == "states" && parts[5].starts_with("activity:") {
            return Resource::Activity(Arc::from(arn));
        }
        // Lambda function ARNs, and placeholders, are invoked as functions.
        Resource::LambdaFunction(Arc::from(arn))
    }

    /// A resource left for a test to resolve, as recorded cases write it
    /// (`__tbd__`, `_TBD_`): no ARN; it runs as a Lambda function created
    /// for the test, answered by a handler or a mock.
    pub(crate) fn is_unresolved(s: &str) -> bool {
        s.len() > 2 && s.starts_with('_') && s.ends_with('_')
    }

    /// The ARN a Lambda function resource records: an unresolved one as a
    /// function of the execution's region and account, named after it.
    pub(crate) fn function_arn(arn: &Arc<str>, region: &str, account: &str) -> Arc<str> {
        if Resource::is_unresolved(arn) {
            Arc::from(crate::arn::lambda_function(region, account, arn.trim_matches('_')))
        } else {
            arn.clone()
        }
    }

    pub(crate) fn pattern(&self) -> Pattern {
        match self {
            Resource::Service { pattern, .. } => *pattern,
            _ => Pattern::RequestResponse,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_each_kind_of_arn() {
        let r = Resource::parse("arn:aws:states:::ecs:runTask.sync");
        assert!(
            matches!(&r, Resource::Service { res, pattern: Pattern::Sync } if &*res.resource_type == "ecs" && &*res.resource == "runTask.sync")
        );
        assert!(r.is_ecs());
        for (arn, ty, api) in [
            ("arn:aws:states:::states:startExecution.sync:2", "states", "startExecution.sync:2"),
            ("arn:aws:states:::states:startExecution.sync", "states", "startExecution.sync"),
            ("arn:aws:states:::aws-sdk:s3:getObject", "aws-sdk:s3", "getObject"),
            ("arn:aws:states:::lambda:invoke", "lambda", "invoke"),
        ] {
            let Resource::Service { res, .. } = Resource::parse(arn) else { panic!("{arn}") };
            assert_eq!((&*res.resource_type, &*res.resource), (ty, api), "{arn}");
        }
        assert!(matches!(
            Resource::parse("arn:aws:states:::states:startExecution.sync:2").pattern(),
            Pattern::Sync
        ));
        assert!(matches!(
            Resource::parse("arn:aws:states:::sqs:sendMessage.waitForTaskToken").pattern(),
            Pattern::WaitForTaskToken
        ));
        assert!(matches!(
            Resource::parse("arn:aws:lambda:us-east-1:1:function:f"),
            Resource::LambdaFunction(_)
        ));
        assert!(matches!(
            Resource::parse("arn:aws:states:us-east-1:1:activity:a"),
            Resource::Activity(_)
        ));
    }
}
