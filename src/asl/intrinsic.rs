//! Parsing of intrinsic function calls (`States.Format('{}', $.a)`).
//!
//! ```
//! use sfn_harness::asl::{Arg, Call};
//! let call = Call::parse("States.MathAdd($.n, 1)").unwrap();
//! assert_eq!(call.name, "States.MathAdd");
//! assert!(matches!(call.args[1], Arg::Literal(_)));
//! ```

use super::path::Path;
use serde_json::Value;

/// The names of the 18 intrinsic functions, with their arity bounds.
pub const INTRINSICS: &[(&str, usize, usize)] = &[
    ("States.Format", 1, usize::MAX),
    ("States.StringToJson", 1, 1),
    ("States.JsonToString", 1, 1),
    ("States.Array", 0, usize::MAX),
    ("States.ArrayPartition", 2, 2),
    ("States.ArrayContains", 2, 2),
    ("States.ArrayRange", 3, 3),
    ("States.ArrayGetItem", 2, 2),
    ("States.ArrayLength", 1, 1),
    ("States.ArrayUnique", 1, 1),
    ("States.Base64Encode", 1, 1),
    ("States.Base64Decode", 1, 1),
    ("States.Hash", 2, 2),
    ("States.JsonMerge", 3, 3),
    ("States.MathRandom", 2, 3),
    ("States.MathAdd", 2, 2),
    ("States.StringSplit", 2, 2),
    ("States.UUID", 0, 0),
];

/// One argument of an intrinsic call.
#[derive(Debug, Clone)]
pub enum Arg {
    Literal(Value),
    Path(Path),
    Call(Call),
}

/// A parsed intrinsic function call.
#[derive(Debug, Clone)]
pub struct Call {
    pub name: String,
    pub args: Vec<Arg>,
}

impl Call {
    /// True when `s` looks like an intrinsic call (so a `.$` value is parsed as one).
    pub fn looks_like(s: &str) -> bool {
        s.trim_start().starts_with("States.")
    }

    pub fn parse(s: &str) -> Result<Call, String> {
        let mut p = Parser { s: s.as_bytes(), src: s, i: 0 };
        let call = p.call()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("unexpected '{}' after the call in '{s}'", &s[p.i..]));
        }
        Ok(call)
    }
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn call(&mut self) -> Result<Call, String> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'.') {
            self.i += 1;
        }
        let name = &self.src[start..self.i];
        let Some(&(_, min, max)) = INTRINSICS.iter().find(|(n, _, _)| *n == name) else {
            return Err(format!("'{name}' is not an intrinsic function"));
        };
        self.ws();
        if self.s.get(self.i) != Some(&b'(') {
            return Err(format!("expected '(' after {name}"));
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
                    _ => return Err(format!("expected ',' or ')' in the arguments of {name}")),
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
            return Err(format!("{name} takes {want} argument(s), {} given", args.len()));
        }
        Ok(Call { name: name.to_string(), args })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        self.ws();
        match self.s.get(self.i) {
            None => Err("unexpected end of the call".into()),
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
                Path::parse(text).map(Arg::Path)
            }
            Some(b'S') => self.call().map(Arg::Call),
            Some(_) => {
                let start = self.i;
                while self.i < self.s.len() && !matches!(self.s[self.i], b',' | b')') {
                    self.i += 1;
                }
                let text = self.src[start..self.i].trim();
                match serde_json::from_str::<Value>(text) {
                    Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => Ok(Arg::Literal(v)),
                    _ => Err(format!("'{text}' is not a valid argument (string literals use single quotes)")),
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
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
        Err("unterminated string literal".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_calls_and_literals() {
        let c = Call::parse("States.Format('a {} \\'b\\'', States.MathAdd($.x[0], -1), true, null)").unwrap();
        assert_eq!(c.args.len(), 4);
        match &c.args[0] {
            Arg::Literal(Value::String(s)) => assert_eq!(s, "a {} 'b'"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(&c.args[1], Arg::Call(inner) if inner.name == "States.MathAdd"));
    }

    #[test]
    fn rejects_bad_calls() {
        assert!(Call::parse("States.Nope(1)").is_err());
        assert!(Call::parse("States.UUID(1)").is_err());
        assert!(Call::parse("States.Format('x'").is_err());
        assert!(Call::parse("States.Format(\"x\")").is_err());
    }
}
