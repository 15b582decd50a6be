//! ARNs, built and read in one place: `arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE`.

/// `arn:aws:{service}:{region}:{account}:{resource}` (region and account
/// empty for global services: `arn:aws:iam::…`, `arn:aws:s3:::…`).
pub(crate) fn of(service: &str, region: &str, account: &str, resource: &str) -> String {
    join(&["arn:aws:", service, ":", region, ":", account, ":", resource])
}

/// The parts, end to end, in one allocation (every execution formats a few ARNs).
fn join(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        s.push_str(p);
    }
    s
}

/// A Step Functions resource: `arn:aws:states:R:A:{kind}:{rest}`
/// (`stateMachine`, `execution`, `activity`, `mapRun`, …).
pub(crate) fn states(region: &str, account: &str, kind: &str, rest: &str) -> String {
    join(&["arn:aws:states:", region, ":", account, ":", kind, ":", rest])
}

/// `arn:aws:states:R:A:stateMachine:NAME`.
pub(crate) fn state_machine(region: &str, account: &str, name: &str) -> String {
    states(region, account, "stateMachine", name)
}

/// The execution `name` of the state machine with ARN `machine` (a version
/// or alias suffix kept, as AWS keeps it): `…:execution:MACHINE:NAME`.
pub(crate) fn execution_of(machine: &str, name: &str) -> String {
    match after_field(machine, ":stateMachine:") {
        Some((head, tail)) => join(&[head, ":execution:", tail, ":", name]),
        None => join(&[machine, ":", name]),
    }
}

/// `s` split around the first `sep` (which starts with `:`), found by
/// looking only at colons: what `str::split_once` gives, without setting a
/// substring searcher up for a string this short (every execution splits
/// its machine's ARN).
fn after_field<'a>(s: &'a str, sep: &str) -> Option<(&'a str, &'a str)> {
    debug_assert!(sep.starts_with(':'));
    let at = s.bytes().enumerate().find_map(|(i, b)| {
        (b == b':' && s.as_bytes()[i..].starts_with(sep.as_bytes())).then_some(i)
    })?;
    Some((&s[..at], &s[at + sep.len()..]))
}

/// The state machine name an ARN names (`…:stateMachine:NAME`,
/// `…:stateMachine:NAME:version`, or an alias); the text itself when it is
/// no state machine ARN.
pub(crate) fn state_machine_name(arn: &str) -> &str {
    after_field(arn, ":stateMachine:").and_then(|(_, r)| r.split(':').next()).unwrap_or(arn)
}

/// An IAM role: `arn:aws:iam::A:role/NAME`.
pub(crate) fn role(account: &str, name: &str) -> String {
    join(&["arn:aws:iam::", account, ":role/", name])
}

/// A Lambda function: `arn:aws:lambda:R:A:function:NAME`.
pub(crate) fn lambda_function(region: &str, account: &str, name: &str) -> String {
    of("lambda", region, account, &format!("function:{name}"))
}

/// An ECS resource: `arn:aws:ecs:R:A:{resource}` (`cluster/…`, `task/…`).
pub(crate) fn ecs(region: &str, account: &str, resource: &str) -> String {
    of("ecs", region, account, resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_read_back() {
        let m = state_machine("us-east-1", "1", "m");
        assert_eq!(m, "arn:aws:states:us-east-1:1:stateMachine:m");
        assert_eq!(execution_of(&m, "e"), "arn:aws:states:us-east-1:1:execution:m:e");
        assert_eq!(state_machine_name(&format!("{m}:3")), "m");
        assert_eq!(state_machine_name("plain"), "plain");
        assert_eq!(role("1", "r"), "arn:aws:iam::1:role/r");
        assert_eq!(states("r", "a", "mapRun", "m/l:id"), "arn:aws:states:r:a:mapRun:m/l:id");
        assert_eq!(execution_of("x", "e"), "x:e");
        assert_eq!(
            execution_of("a:stateMachine:m:stateMachine:n", "e"),
            "a:execution:m:stateMachine:n:e"
        );
        assert_eq!(state_machine_name("a:stateMachine:"), "");
        assert_eq!(state_machine_name(":stateMachine"), ":stateMachine");
        assert_eq!(of("s3", "", "", "b/k"), "arn:aws:s3:::b/k");
    }
}
