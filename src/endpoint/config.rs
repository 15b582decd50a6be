//! A state machine's configurations (loggingConfiguration,
//! tracingConfiguration, encryptionConfiguration), checked as the API
//! reference says and kept, so DescribeStateMachine returns them with AWS's
//! defaults (logging OFF, tracing disabled; an encryption configuration
//! only where one was given).

use super::{err, ApiError};
use serde_json::{json, Value};

/// The three configurations of a state machine, as given or defaulted.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Configs {
    pub logging: Value,
    pub tracing: Value,
    /// Only when given (AWS-owned keys otherwise).
    pub encryption: Option<Value>,
}

impl Default for Configs {
    fn default() -> Configs {
        Configs {
            logging: json!({"level": "OFF", "includeExecutionData": false}),
            tracing: json!({"enabled": false}),
            encryption: None,
        }
    }
}

impl Configs {
    /// `base` with the configurations a request gives replaced.
    pub(super) fn updated(mut self, req: &Value) -> Result<Configs, ApiError> {
        if let Some(v) = req.get("loggingConfiguration") {
            self.logging = logging(v)?;
        }
        if let Some(v) = req.get("tracingConfiguration") {
            self.tracing = tracing(v)?;
        }
        if let Some(v) = req.get("encryptionConfiguration") {
            self.encryption = Some(encryption(v)?);
        }
        Ok(self)
    }

    /// Whether a request gives any configuration.
    pub(super) fn in_request(req: &Value) -> bool {
        ["loggingConfiguration", "tracingConfiguration", "encryptionConfiguration"]
            .iter()
            .any(|k| req.get(k).is_some())
    }
}

fn validation(at: &str, constraint: &str) -> ApiError {
    err(
        "ValidationException",
        format!("1 validation error detected: Value at '{at}' failed to satisfy constraint: {constraint}"),
    )
}

fn logging(v: &Value) -> Result<Value, ApiError> {
    const AT: &str = "loggingConfiguration";
    let level = match v.get("level") {
        None => "OFF",
        Some(Value::String(l)) if ["ALL", "ERROR", "FATAL", "OFF"].contains(&l.as_str()) => l,
        Some(_) => {
            return Err(validation(
                &format!("{AT}.level"),
                "Member must satisfy enum value set: [ALL, ERROR, FATAL, OFF]",
            ))
        }
    };
    let include = match v.get("includeExecutionData") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(validation(
                &format!("{AT}.includeExecutionData"),
                "Member must be a boolean",
            ))
        }
    };
    let destinations = match v.get("destinations") {
        None => Vec::new(),
        Some(Value::Array(d)) => d.clone(),
        Some(_) => return Err(validation(&format!("{AT}.destinations"), "Member must be a list")),
    };
    for (i, d) in destinations.iter().enumerate() {
        let arn = d.pointer("/cloudWatchLogsLogGroup/logGroupArn").and_then(Value::as_str);
        if !arn.is_some_and(|a| (1..=256).contains(&a.len()) && a.starts_with("arn:")) {
            return Err(err(
                "InvalidLoggingConfiguration",
                format!("Invalid Logging Configuration: destinations[{i}] needs cloudWatchLogsLogGroup.logGroupArn, the ARN of a CloudWatch Logs log group"),
            ));
        }
    }
    if level != "OFF" && destinations.is_empty() {
        return Err(err(
            "InvalidLoggingConfiguration",
            format!("Invalid Logging Configuration: a log group destination is required for level {level}"),
        ));
    }
    let mut out = json!({"level": level, "includeExecutionData": include});
    if !destinations.is_empty() {
        out["destinations"] = Value::Array(destinations);
    }
    Ok(out)
}

fn tracing(v: &Value) -> Result<Value, ApiError> {
    match v.get("enabled") {
        None => Ok(json!({"enabled": false})),
        Some(Value::Bool(b)) => Ok(json!({"enabled": b})),
        Some(_) => Err(validation("tracingConfiguration.enabled", "Member must be a boolean")),
    }
}

fn encryption(v: &Value) -> Result<Value, ApiError> {
    const AT: &str = "encryptionConfiguration";
    let invalid = |m: &str| {
        err("InvalidEncryptionConfiguration", format!("Invalid Encryption Configuration: {m}"))
    };
    let ty = match v.get("type").and_then(Value::as_str) {
        Some(t @ ("AWS_OWNED_KEY" | "CUSTOMER_MANAGED_KMS_KEY")) => t,
        Some(_) => {
            return Err(validation(
                &format!("{AT}.type"),
                "Member must satisfy enum value set: [AWS_OWNED_KEY, CUSTOMER_MANAGED_KMS_KEY]",
            ))
        }
        None => return Err(validation(&format!("{AT}.type"), "Member must not be null")),
    };
    let key =
        match v.get("kmsKeyId") {
            None => None,
            Some(Value::String(k)) if (1..=2048).contains(&k.len()) => Some(k.clone()),
            Some(_) => return Err(validation(
                &format!("{AT}.kmsKeyId"),
                "Member must have length less than or equal to 2048 and greater than or equal to 1",
            )),
        };
    let reuse = match v.get("kmsDataKeyReusePeriodSeconds") {
        None => None,
        Some(n) => match n.as_i64() {
            Some(s) if (60..=900).contains(&s) => Some(s),
            _ => return Err(validation(
                &format!("{AT}.kmsDataKeyReusePeriodSeconds"),
                "Member must have value less than or equal to 900 and greater than or equal to 60",
            )),
        },
    };
    match (ty, &key) {
        ("CUSTOMER_MANAGED_KMS_KEY", None) => {
            return Err(invalid("kmsKeyId is required when type is CUSTOMER_MANAGED_KMS_KEY"))
        }
        ("AWS_OWNED_KEY", Some(_)) => {
            return Err(invalid("kmsKeyId applies only to type CUSTOMER_MANAGED_KMS_KEY"))
        }
        ("AWS_OWNED_KEY", None) if reuse.is_some() => {
            return Err(invalid(
                "kmsDataKeyReusePeriodSeconds applies only to type CUSTOMER_MANAGED_KMS_KEY",
            ))
        }
        _ => {}
    }
    let mut out = json!({"type": ty});
    if let Some(k) = key {
        out["kmsKeyId"] = json!(k);
        out["kmsDataKeyReusePeriodSeconds"] = json!(reuse.unwrap_or(300));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(req: Value) -> &'static str {
        Configs::default().updated(&req).unwrap_err().kind
    }

    #[test]
    fn configurations_are_checked_and_defaulted_as_aws_does() {
        let c = Configs::default()
            .updated(&json!({"tracingConfiguration": {"enabled": true}}))
            .unwrap();
        assert_eq!(c.tracing, json!({"enabled": true}));
        assert_eq!(c.logging, json!({"level": "OFF", "includeExecutionData": false}));
        let lg = "arn:aws:logs:us-east-1:123456789012:log-group:/sfn:*";
        let c = Configs::default()
            .updated(&json!({"loggingConfiguration": {"level": "ALL", "includeExecutionData": true,
                "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": lg}}]}}))
            .unwrap();
        assert_eq!(c.logging["destinations"][0]["cloudWatchLogsLogGroup"]["logGroupArn"], lg);
        let c = Configs::default()
            .updated(&json!({"encryptionConfiguration": {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": "alias/k"}}))
            .unwrap();
        assert_eq!(c.encryption.unwrap()["kmsDataKeyReusePeriodSeconds"], 300);

        assert_eq!(kind(json!({"loggingConfiguration": {"level": "LOUD"}})), "ValidationException");
        assert_eq!(
            kind(json!({"loggingConfiguration": {"level": "ERROR"}})),
            "InvalidLoggingConfiguration"
        );
        assert_eq!(
            kind(json!({"tracingConfiguration": {"enabled": "yes"}})),
            "ValidationException"
        );
        assert_eq!(
            kind(json!({"encryptionConfiguration": {"type": "CUSTOMER_MANAGED_KMS_KEY"}})),
            "InvalidEncryptionConfiguration"
        );
        assert_eq!(
            kind(json!({"encryptionConfiguration": {"type": "AWS_OWNED_KEY", "kmsKeyId": "k"}})),
            "InvalidEncryptionConfiguration"
        );
        assert_eq!(
            kind(
                json!({"encryptionConfiguration": {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": "k", "kmsDataKeyReusePeriodSeconds": 30}})
            ),
            "ValidationException"
        );
        assert_eq!(kind(json!({"encryptionConfiguration": {}})), "ValidationException");
    }
}
