//! Parsing of intrinsic function calls (`States.Format('{}', $.a)`).
//!
//! ```
//! use serde_json::json;
//! let h = sfn_harness::Harness::from_definition(r#"{"StartAt": "P", "States": {"P": {"Type": "Pass",
//!     "Parameters": {"next.$": "States.MathAdd($.n, 1)", "msg.$": "States.Format('n is {}', $.n)"}, "End": true}}}"#).unwrap();
//! assert_eq!(h.run_blocking(json!({"n": 4})).output(), &json!({"next": 5, "msg": "n is 4"}));
//! ```

use super::path::{Path, PathError};
use crate::intrinsics::{self, Intrinsic};
use serde_json::Value;
use std::fmt;

/// Why an intrinsic call does not parse; each variant's doc shows the
/// smallest call that gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CallError {
    /// `States.Nope(1)`
    UnknownFunction(String),
    /// `States.UUID`
    ExpectedOpenParen(&'static str),
    /// `States.Array('a' 'b')`
    ExpectedCommaOrClose(&'static str),
    /// `States.UUID(1)`: the function, the arity it takes (as words), the number given.
    Arity { function: &'static str, takes: String, given: usize },
    /// `States.Array(1,`
    UnexpectedEnd,
    /// `States.Array("x")`
    BadArgument(String),
    /// `States.Array('x)`
    UnterminatedString,
    /// `States.UUID() x`
    Trailing { rest: String, call: String },
    /// `States.Array($.a[)`: a path argument that does not parse.
    Path(PathError),
    /// `States.Array(` nested 33 deep: calls nest at most [`MAX_CALL_NESTING`] deep.
    TooDeep,
}

/// How deep intrinsic calls may nest in one another.
pub(super) const MAX_CALL_NESTING: usize = 32;

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::UnknownFunction(name) => write!(f, "'{name}' is not an intrinsic function"),
            CallError::ExpectedOpenParen(name) => write!(f, "expected '(' after {name}"),
            CallError::ExpectedCommaOrClose(name) => {
                write!(f, "expected ',' or ')' in the arguments of {name}")
            }
            CallError::Arity { function, takes, given } => {
                write!(f, "{function} takes {takes} argument(s), {given} given")
            }
            CallError::UnexpectedEnd => f.write_str("unexpected end of the call"),
            CallError::BadArgument(text) => {
                write!(f, "'{text}' is not a valid argument (string literals use single quotes)")
            }
            CallError::UnterminatedString => f.write_str("unterminated string literal"),
            CallError::Trailing { rest, call } => {
                write!(f, "unexpected '{rest}' after the call in '{call}'")
            }
            CallError::Path(e) => e.fmt(f),
            CallError::TooDeep => {
                write!(f, "intrinsic calls nest more than {MAX_CALL_NESTING} deep")
            }
        }
    }
}

impl std::error::Error for CallError {}

/// One argument of an intrinsic call.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Literal(Value),
    Path(Path),
    Call(Call),
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone)]
pub(crate) struct Call {
    /// The function, resolved once.
    pub function: &'static Intrinsic,
    pub args: Vec<Arg>,
}

impl Call {
    /// True when `s` looks like an intrinsic call (so a `.$` value is parsed as one).
    pub(crate) fn looks_like(s: &str) -> bool {
        s.trim_start().starts_with("States.")
    }

    /// Parses a call, checking the function's name and arity.
    pub(crate) fn parse(s: &str) -> Result<Call, CallError> {
        let mut p = Parser { s: s.as_bytes(), src: s, i: 0, depth: 0 };
        let call = p.call()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(CallError::Trailing { rest: s[p.i..].to_string(), call: s.to_string() });
        }
        Ok(call)
    }

    /// The function's name (`States.Format`).
    pub(crate) fn name(&self) -> &'static str {
        self.function.name
    }

    /// For `States.JsonToString` of a simple path into the input
    /// (`States.JsonToString($.input)`): that path's segments. Such a call's
    /// value is the JSON text of a part of the input, which a reader that
    /// wants the value can read in place instead of parsing the text.
    pub(crate) fn json_text_of_input(&self) -> Option<&std::sync::Arc<[super::Seg]>> {
        match self.args.as_slice() {
            [Arg::Path(p)] if self.function.name == "States.JsonToString" => {
                (p.root() == super::Root::Input).then(|| p.shared_segments()).flatten()
            }
            _ => None,
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    /// How many calls enclose the one being parsed.
    depth: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn call(&mut self) -> Result<Call, CallError> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'.')
        {
            self.i += 1;
        }
        let name = &self.src[start..self.i];
        let Some(function) = intrinsics::find(name) else {
            return Err(CallError::UnknownFunction(name.to_string()));
        };
        let (name, min, max) = (function.name, function.min_args, function.max_args);
        self.ws();
        if self.s.get(self.i) != Some(&b'(') {
            return Err(CallError::ExpectedOpenParen(name));
        }
        self.i += 1;
        let mut args = Vec::new();
        self.ws();
        if self.s.get(self.i) == Some(&b')') {
            self.i += 1;
        } else {
            loop {
                args.push(self.arg()?);
                self.ws();
                match self.s.get(self.i) {
                    Some(b',') => self.i += 1,
                    Some(b')') => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(CallError::ExpectedCommaOrClose(name)),
                }
            }
        }
        if args.len() < min || args.len() > max {
            let want = if min == max {
                format!("{min}")
            } else if max == usize::MAX {
                format!("at least {min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(CallError::Arity { function: name, takes: want, given: args.len() });
        }
        Ok(Call { function, args })
    }

    fn arg(&mut self) -> Result<Arg, CallError> {
        self.ws();
        match self.s.get(self.i) {
            None => Err(CallError::UnexpectedEnd),
            Some(b'\'') => self.string().map(|s| Arg::Literal(Value::String(s))),
            Some(b'$') => {
                let start = self.i;
                let mut depth = 0i32;
                let mut quote = false;
                while self.i < self.s.len() {
                    let c = self.s[self.i];
                    if quote {
                        if c == b'\'' {
                            quote = false;
                        }
                    } else if c == b'\'' {
                        quote = true;
                    } else if c == b'[' || c == b'(' {
                        depth += 1;
                    } else if c == b']' || (c == b')' && depth > 0) {
                        depth -= 1;
                    } else if depth == 0 && (c == b',' || c == b')') {
                        break;
                    }
                    self.i += 1;
                }
                let text = self.src[start..self.i].trim();
                Path::parse(text).map(Arg::Path).map_err(CallError::Path)
            }
            Some(b'S') => {
                self.depth += 1;
                if self.depth >= MAX_CALL_NESTING {
                    return Err(CallError::TooDeep);
                }
                let call = self.call().map(Arg::Call);
                self.depth -= 1;
                call
            }
            Some(_) => {
                let start = self.i;
                while self.i < self.s.len() && !matches!(self.s[self.i], b',' | b')') {
                    self.i += 1;
                }
                let text = self.src[start..self.i].trim();
                match serde_json::from_str::<Value>(text) {
                    Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => {
                        Ok(Arg::Literal(v))
                    }
                    _ => Err(CallError::BadArgument(text.to_string())),
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, CallError> {
        self.i += 1;
        let mut out = String::new();
        let rest = &self.src[self.i..];
        let mut chars = rest.char_indices();
        while let Some((off, c)) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some((_, e)) => {
                        // keep `\{` `\}` escaped for States.Format, unescape the rest
                        if e == '{' || e == '}' {
                            out.push('\\');
                        }
                        out.push(e)
                    }
                    None => break,
                },
                '\'' => {
                    self.i += off + 1;
                    return Ok(out);
                }
                c => out.push(c),
            }
        }
        Err(CallError::UnterminatedString)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_calls_and_literals() {
        let c =
            Call::parse("States.Format('a {} \\'b\\'', States.MathAdd($.x[0], -1), true, null)")
                .unwrap();
        assert_eq!(c.args.len(), 4);
        match &c.args[0] {
            Arg::Literal(Value::String(s)) => assert_eq!(s, "a {} 'b'"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(&c.args[1], Arg::Call(inner) if inner.name() == "States.MathAdd"));
    }

    #[test]
    fn rejects_bad_calls() {
        assert!(Call::parse("States.Format('x'").is_err());
    }

    #[test]
    fn each_error_from_its_smallest_call() {
        let fails = |s: &str| Call::parse(s).unwrap_err();
        assert_eq!(fails("States.Nope(1)"), CallError::UnknownFunction("States.Nope".into()));
        assert_eq!(fails("States.UUID"), CallError::ExpectedOpenParen("States.UUID"));
        assert_eq!(fails("States.Array('a' 'b')"), CallError::ExpectedCommaOrClose("States.Array"));
        assert_eq!(
            fails("States.UUID(1)"),
            CallError::Arity { function: "States.UUID", takes: "0".into(), given: 1 }
        );
        assert_eq!(fails("States.Array(1,"), CallError::UnexpectedEnd);
        assert_eq!(fails("States.Array(\"x\")"), CallError::BadArgument("\"x\"".into()));
        assert_eq!(fails("States.Array('x)"), CallError::UnterminatedString);
        assert_eq!(
            fails("States.UUID() x"),
            CallError::Trailing { rest: "x".into(), call: "States.UUID() x".into() }
        );
        assert!(matches!(fails("States.Array($.a[)"), CallError::Path(_)));
        let nested = |n: usize| format!("{}1{}", "States.Array(".repeat(n), ")".repeat(n));
        assert!(Call::parse(&nested(MAX_CALL_NESTING)).is_ok());
        assert_eq!(fails(&nested(MAX_CALL_NESTING + 1)), CallError::TooDeep);
        assert_eq!(fails(&nested(3700)), CallError::TooDeep);
        assert_eq!(fails("States.UUID(1)").to_string(), "States.UUID takes 0 argument(s), 1 given");
    }
}
