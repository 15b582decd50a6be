//! What a service integration accepts: the checks AWS makes on a task's
//! parameters before it starts the task (nothing is scheduled when they
//! fail; the state fails with `States.Runtime`).

use crate::asl::TaskResource;
use serde_json::Value;

/// Why `params` cannot start a task of `res`, in AWS's words (the list in
/// brackets of its cause), if they cannot.
/// Only the integrations that check read the parameters (building them).
pub(crate) fn check(res: &TaskResource, params: &crate::parameters::Parameters) -> Option<String> {
    // the service first: most tasks are no API Gateway call, and need no
    // look at their resource's name
    if &*res.resource_type != "apigateway" {
        return None;
    }
    match res.resource.split('.').next().unwrap_or_default() {
        "invoke" => api_gateway(params),
        _ => None,
    }
}

/// API Gateway's invoke: Headers and QueryParameters map names to lists of
/// strings; Method is an HTTP method.
fn api_gateway(params: &Value) -> Option<String> {
    let invalid =
        |field: &str| Some(format!("The value of the field '{field}' has an invalid format"));
    for field in ["Headers", "QueryParameters"] {
        match params.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(m))
                if m.values()
                    .all(|v| v.as_array().is_some_and(|a| a.iter().all(Value::is_string))) => {}
            Some(_) => return invalid(field),
        }
    }
    match params.get("Method").and_then(Value::as_str) {
        Some("GET" | "POST" | "PUT" | "DELETE" | "PATCH" | "HEAD" | "OPTIONS") | None => None,
        Some(_) => invalid("Method"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_gateway_headers_are_lists_of_strings() {
        let res = TaskResource { resource_type: "apigateway".into(), resource: "invoke".into() };
        assert_eq!(check(&res, &json!({"Headers": {"h": ["a"]}, "Method": "POST"}).into()), None);
        assert_eq!(
            check(&res, &json!({"Headers": {"h": "a"}}).into()).as_deref(),
            Some("The value of the field 'Headers' has an invalid format")
        );
        assert_eq!(
            check(&res, &json!({"Method": "FETCH"}).into()).as_deref(),
            Some("The value of the field 'Method' has an invalid format")
        );
    }
}
