//! The Choice state and its rules: comparisons (with their `…Path` forms), `Is*` tests,
//! `StringMatches`, `And` / `Or` / `Not`.
//!
//! ```
//! use serde_json::json;
//! // the seed's loop condition: number > 3 ends the loop
//! let h = sfn_harness::Harness::from_definition(r#"{"StartAt": "C", "States": {
//!     "C": {"Type": "Choice", "Choices": [{"Variable": "$.input.number", "NumericGreaterThan": 3, "Next": "Done"}], "Default": "Again"},
//!     "Done": {"Type": "Succeed"}, "Again": {"Type": "Fail", "Error": "Again"}}}"#).unwrap();
//! assert!(h.run_blocking(json!({"input": {"number": 4}})).succeeded());
//! assert_eq!(h.run_blocking(json!({"input": {"number": 3}})).error(), Some("Again"));
//! ```

use super::error::{names, Exn, Failure};
use super::io::{apply_io_path, select, Ctx};
use super::jsonata::{eval, unexpected, States};
use super::{Env, Step};
use crate::asl::{ChoiceBranch, Op, Operand, Query, QueryLanguage, Rule, State};
use crate::history::Payload;
use crate::rng::Rng;
use crate::time::parse_datetime;
use serde_json::Value;
use std::cmp::Ordering;

/// The Choice state: the first matching rule's Next (its Assign and Output
/// applied), else Default (the state's Assign and Output applied), else
/// `States.NoChoiceMatched`.
pub(super) fn run(
    state: &State,
    choices: &[ChoiceBranch],
    default: Option<usize>,
    raw: Payload,
    env: &mut Env<'_>,
) -> Result<Step, Exn> {
    let (exec, vars) = (env.exec.clone(), env.vars.clone());
    let ctx = Ctx::new(&exec, &vars, &state.name, env.now_ms());
    let jsonata = state.ql == QueryLanguage::Jsonata;
    let effective = if jsonata { raw } else { apply_io_path(&state.input_path, raw, &ctx)? };
    let st = States::input(&effective, &ctx);
    let mut matched = None;
    for (i, c) in choices.iter().enumerate() {
        if eval_rule(&c.rule, &effective, &ctx, &mut env.rng)? {
            matched = Some(c);
            env.hit(state.id, super::Hit::Rule(i));
            if let Some(a) = &c.assign {
                env.assign(a, &st)?;
            }
            break;
        }
    }
    // the state's own Assign and Output go with its Default
    if matched.is_none() {
        if let Some(a) = &state.assign {
            env.assign(a, &st)?;
        }
        if default.is_some() {
            env.hit(state.id, super::Hit::Default);
        }
    }
    let Some(next) = matched.map(|c| c.next).or(default) else {
        return Err(Failure::new(names::NO_CHOICE_MATCHED, Some("No Matches!".into())).into());
    };
    let out = if jsonata {
        let q = match matched {
            Some(c) => c.output.as_ref(),
            None => state.output.as_ref(),
        };
        super::jsonata_io::output(q, &effective, &st, &mut env.rng)?
    } else {
        apply_io_path(&state.output_path, effective.clone(), &ctx)?
    };
    Ok(Step::Next(next, out))
}

/// Evaluates a rule against the state's effective input.
pub(crate) fn eval_rule(
    rule: &Rule,
    input: &Value,
    ctx: &Ctx,
    rng: &mut Rng,
) -> Result<bool, Failure> {
    match rule {
        Rule::And(rs) => {
            for r in rs {
                if !eval_rule(r, input, ctx, rng)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Rule::Or(rs) => {
            for r in rs {
                if eval_rule(r, input, ctx, rng)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Rule::Not(r) => Ok(!eval_rule(r, input, ctx, rng)?),
        Rule::Condition(Query::Expr(e)) => match eval(e, &States::input(input, ctx), rng)? {
            Value::Bool(b) => Ok(b),
            other => Err(unexpected(e, "boolean", &other)),
        },
        Rule::Condition(q) => Ok(matches!(q, Query::Literal(Value::Bool(true)))),
        Rule::Compare { variable, op, operand } => {
            let var = select(variable, input, ctx);
            if *op == Op::IsPresent {
                return Ok(var.is_some() == (operand_bool(operand)));
            }
            let Some(var) = var else {
                return Err(Failure::runtime(format!(
                    "Invalid path '{}': The choice state's condition path references an invalid value.",
                    variable.as_str()
                )));
            };
            let rhs = match operand {
                Operand::Value(v) => std::borrow::Cow::Borrowed(v),
                Operand::Path(p) => select(p, input, ctx).ok_or_else(|| {
                    Failure::runtime(format!(
                        "Invalid path '{}': The choice state's condition path references an invalid value.",
                        p.as_str()
                    ))
                })?,
            };
            Ok(compare(*op, &var, &rhs))
        }
    }
}

fn operand_bool(o: &Operand) -> bool {
    matches!(o, Operand::Value(Value::Bool(true)))
}

/// One comparison; mismatched types compare false, as on AWS.
pub(crate) fn compare(op: Op, var: &Value, rhs: &Value) -> bool {
    use Op::*;
    let want = rhs.as_bool() == Some(true);
    match op {
        IsNull => var.is_null() == want,
        IsNumeric => var.is_number() == want,
        IsString => var.is_string() == want,
        IsBoolean => var.is_boolean() == want,
        IsTimestamp => var.as_str().and_then(parse_datetime).is_some() == want,
        IsPresent => true,
        StringEquals
        | StringLessThan
        | StringGreaterThan
        | StringLessThanEquals
        | StringGreaterThanEquals => match (var.as_str(), rhs.as_str()) {
            (Some(a), Some(b)) => ordered(op, a.cmp(b)),
            _ => false,
        },
        StringMatches => match (var.as_str(), rhs.as_str()) {
            (Some(a), Some(p)) => glob(p, a),
            _ => false,
        },
        NumericEquals
        | NumericLessThan
        | NumericGreaterThan
        | NumericLessThanEquals
        | NumericGreaterThanEquals => match (var.as_f64(), rhs.as_f64()) {
            (Some(a), Some(b)) => a.partial_cmp(&b).map(|o| ordered(op, o)).unwrap_or(false),
            _ => false,
        },
        BooleanEquals => match (var.as_bool(), rhs.as_bool()) {
            (Some(a), Some(b)) => a == b,
            _ => false,
        },
        TimestampEquals
        | TimestampLessThan
        | TimestampGreaterThan
        | TimestampLessThanEquals
        | TimestampGreaterThanEquals => match (var.as_str(), rhs.as_str()) {
            (Some(a), Some(b)) => match (parse_datetime(a), parse_datetime(b)) {
                (Some(x), Some(y)) => ordered(op, x.cmp(&y)),
                (None, None) if op == TimestampEquals => a == b,
                _ => false,
            },
            _ => false,
        },
    }
}

fn ordered(op: Op, o: Ordering) -> bool {
    use Op::*;
    match op {
        StringEquals | NumericEquals | TimestampEquals => o == Ordering::Equal,
        StringLessThan | NumericLessThan | TimestampLessThan => o == Ordering::Less,
        StringGreaterThan | NumericGreaterThan | TimestampGreaterThan => o == Ordering::Greater,
        StringLessThanEquals | NumericLessThanEquals | TimestampLessThanEquals => {
            o != Ordering::Greater
        }
        StringGreaterThanEquals | NumericGreaterThanEquals | TimestampGreaterThanEquals => {
            o != Ordering::Less
        }
        _ => false,
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
pub(crate) fn glob(pattern: &str, s: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Ch(char),
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => toks.push(Tok::Ch(it.next().unwrap_or('\\'))),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Ch(c)),
        }
    }
    let s: Vec<char> = s.chars().collect();
    // classic two-pointer wildcard match with backtracking to the last star
    let (mut p, mut i, mut star, mut mark) = (0usize, 0usize, None, 0usize);
    while i < s.len() {
        if p < toks.len() && toks[p] == Tok::Ch(s[i]) {
            p += 1;
            i += 1;
        } else if p < toks.len() && toks[p] == Tok::Star {
            star = Some(p);
            mark = i;
            p += 1;
        } else if let Some(sp) = star {
            p = sp + 1;
            mark += 1;
            i = mark;
        } else {
            return false;
        }
    }
    while p < toks.len() && toks[p] == Tok::Star {
        p += 1;
    }
    p == toks.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use Op::*;

    #[test]
    fn comparisons_table() {
        let rows: &[(Op, Value, Value, bool)] = &[
            (NumericGreaterThan, json!(4), json!(3), true),
            (NumericGreaterThan, json!(3), json!(3), false),
            (NumericEquals, json!(1), json!(1.0), true),
            (NumericEquals, json!("1"), json!(1), false),
            (NumericLessThanEquals, json!(-1), json!(0), true),
            (StringEquals, json!("a"), json!("a"), true),
            (StringLessThan, json!("a"), json!("b"), true),
            (StringGreaterThanEquals, json!("b"), json!("b"), true),
            (BooleanEquals, json!(true), json!(true), true),
            (BooleanEquals, json!(1), json!(true), false),
            (
                TimestampEquals,
                json!("2016-03-14T01:59:00Z"),
                json!("2016-03-14T02:59:00+01:00"),
                true,
            ),
            (TimestampLessThan, json!("2016-03-14T01:59:00Z"), json!("2016-03-14T01:59:01Z"), true),
            (TimestampEquals, json!("date"), json!("date"), true),
            (IsNull, json!(null), json!(true), true),
            (IsNumeric, json!("1"), json!(false), true),
            (IsString, json!(1.1), json!(true), false),
            (IsBoolean, json!(false), json!(true), true),
            (IsTimestamp, json!("2012-10-09T19:00:55"), json!(true), false),
            (IsTimestamp, json!("2012-10-09T19:00:55Z"), json!(true), true),
            (StringMatches, json!("log-2024.txt"), json!("log-*.txt"), true),
            (StringMatches, json!("a*b"), json!("a\\*b"), true),
            (StringMatches, json!("axb"), json!("a\\*b"), false),
        ];
        for (op, var, rhs, want) in rows {
            assert_eq!(compare(*op, var, rhs), *want, "{op:?} {var} {rhs}");
        }
    }

    #[test]
    fn glob_backtracks() {
        assert!(glob("*a*b", "xxaxxb"));
        assert!(glob("*", ""));
        assert!(!glob("a*c", "abcd"));
    }
}
