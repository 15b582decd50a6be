//! The architecture the README describes, kept true by reading the source:
//! dependencies point one way (a module uses only modules of lower layers),
//! and real time is read in one place (`src/time/wall.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may use modules of lower layers only.
const LAYERS: &[&[&str]] = &[
    // leaves: names, JSON text, the seeded generator, time
    &["names", "json", "rng", "time", "arn", "hash"],
    // intrinsic functions; Docker containers (know nothing of ASL); typed
    // failures; equal large payloads stored once; the ECS shapes of a
    // simulated task
    &["intrinsics", "container", "failure", "intern", "ecs"],
    // WHAT a state machine is
    &["asl"],
    // a Task's parameters: a template's leaves, built into JSON when read
    &["parameters"],
    // events in GetExecutionHistory's shape
    &["history"],
    // what a Task calls
    &["integrations"],
    // mock configs (know nothing of ASL); models of workers
    &["mock", "workers"],
    // HOW it runs
    &["eval"],
    // what users, the endpoint and the conformance runner build on eval
    &["testing", "conformance", "endpoint"],
    // the command line
    &["cli"],
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to (`src/eval/task.rs` → `eval`);
/// `None` for `lib.rs` and `main.rs`.
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src()).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    match first.strip_suffix(".rs") {
        Some("lib" | "main") => None,
        Some(m) => Some(m.to_string()),
        None => Some(first),
    }
}

/// What a name used as `crate::NAME` stands for: a module, or an item that
/// `lib.rs` re-exports (mapped to the modules it comes from).
fn root_names() -> BTreeMap<String, BTreeSet<String>> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut facade: Option<String> = None;
    let mut statement = String::new();
    for line in lib.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("pub mod ").and_then(|r| r.strip_suffix(" {")) {
            facade = Some(rest.to_string());
            continue;
        }
        if line.starts_with('}') {
            facade = None;
        }
        if t.starts_with("pub use ") || !statement.is_empty() {
            statement.push_str(t);
            statement.push(' ');
            if !t.ends_with(';') {
                continue;
            }
            let body =
                statement.trim_start_matches("pub use ").trim_start_matches("crate::").to_string();
            statement.clear();
            let source = body.split("::").next().unwrap().to_string();
            match &facade {
                Some(f) => {
                    names.entry(f.clone()).or_default().insert(source);
                }
                None => {
                    let items = body.split("::").last().unwrap().trim_end_matches(';');
                    for item in items.trim_matches(|c| c == '{' || c == '}' || c == ' ').split(',')
                    {
                        let item = item.trim().trim_matches(|c| c == '{' || c == '}');
                        if !item.is_empty() {
                            names.entry(item.to_string()).or_default().insert(source.clone());
                        }
                    }
                }
            }
        }
    }
    names
}

/// `crate::NAME` references in `text`, outside line comments.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") && !code.starts_with("///") && !code.starts_with("//!") {
            continue;
        }
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            let before = rest[..i].chars().last();
            let after = &rest[i + "crate::".len()..];
            let name: String =
                after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            // `$crate::` in a macro names the crate from outside
            if before != Some('$') && !name.is_empty() {
                out.insert(name);
            }
            rest = after;
        }
    }
    out
}

#[test]
fn dependencies_point_one_way() {
    let layer: BTreeMap<&str, usize> =
        LAYERS.iter().enumerate().flat_map(|(i, l)| l.iter().map(move |m| (*m, i))).collect();
    let roots = root_names();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let Some(module) = module_of(&file) else { continue };
        let Some(&own) = layer.get(module.as_str()) else {
            panic!(
                "{} is in no layer of tests/architecture.rs: place its module there",
                file.display()
            );
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for name in crate_refs(&text) {
            let targets: BTreeSet<String> = if layer.contains_key(name.as_str()) {
                BTreeSet::from([name.clone()])
            } else {
                // a re-export of lib.rs, or an item lib.rs defines (BoxFuture, the macro support)
                roots.get(&name).cloned().unwrap_or_default()
            };
            for target in targets {
                if target == module || target == "__private" {
                    continue;
                }
                match layer.get(target.as_str()) {
                    Some(&l) if l < own => {}
                    _ => wrong.push(format!("{} uses crate::{name} ({target})", file.display())),
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "modules that use a module of their own or a higher layer:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_layer_table_finds_the_modules_it_names() {
    let roots = root_names();
    assert!(roots["Harness"].contains("testing"), "{roots:?}");
    assert!(roots["containers"].contains("container"), "{roots:?}");
    assert!(crate_refs("use crate::eval::x; // crate::cli\n$crate::__private").contains("eval"));
    assert!(!crate_refs("// crate::cli").contains("cli"));
}

/// Calls that read the system clock, sleep or set a timer.
const REAL_TIME: &[&str] = &[
    "Instant::now",
    "SystemTime",
    "UNIX_EPOCH",
    "tokio::time::sleep",
    "tokio::time::timeout",
    "thread::sleep",
    ".elapsed()",
    "wait_timeout",
];

/// A line's code: without its comment and the contents of its string
/// literals (a message may name `exec.elapsed()`).
fn code_of(line: &str) -> String {
    let mut out = String::new();
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if in_string {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => {
                    in_string = false;
                    out.push('"');
                }
                _ => escaped = false,
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push('"');
            }
            '/' if chars.peek() == Some(&'/') => break,
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn code_of_leaves_out_comments_and_strings() {
    assert_eq!(code_of(r#"let t = Instant::now(); // SystemTime"#), "let t = Instant::now(); ");
    assert_eq!(
        code_of(r#"f("x.elapsed() \" y", "http://a") + z.elapsed()"#),
        r#"f("", "") + z.elapsed()"#
    );
}

/// What the interpreter (`src/asl`, `src/eval`) may not even name: it runs
/// on virtual time, and holds real time only as `time::RealInstant`s a
/// `Wall` gave it.
const REAL_TIME_TYPES: &[&str] = &["tokio::time", "std::time::Instant", "SystemTime", "Instant::"];

/// `file:line: text` of each line under `dirs` (but in `home`) that `hit`
/// says breaks a rule.
fn offending(dirs: &[PathBuf], home: Option<&Path>, hit: impl Fn(&str) -> bool) -> Vec<String> {
    let mut files = Vec::new();
    for dir in dirs {
        rust_files(dir, &mut files);
    }
    let mut found = Vec::new();
    for file in files.into_iter().filter(|f| Some(f.as_path()) != home) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if hit(line) {
                found.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
            }
        }
    }
    found
}

#[test]
fn the_interpreter_names_no_real_time() {
    let found = offending(&[src().join("asl"), src().join("eval")], None, |line| {
        let code = code_of(line);
        REAL_TIME_TYPES.iter().any(|t| code.contains(t)) || code.contains("use tokio::time")
    });
    assert!(
        found.is_empty(),
        "real time named in the interpreter (use time::Wall):\n{}",
        found.join("\n")
    );
}

/// ARNs are built in `src/arn.rs` (and read there: `arn::state_machine_name`).
#[test]
fn arns_are_built_in_one_place() {
    let found = offending(&[src()], Some(&src().join("arn.rs")), |line| {
        line.contains("format!(\"arn:") || line.contains(":stateMachine:\", 1)")
    });
    assert!(found.is_empty(), "ARNs built outside src/arn.rs:\n{}", found.join("\n"));
}

#[test]
fn real_time_is_read_in_one_place() {
    let found = offending(&[src()], Some(&src().join("time").join("wall.rs")), |line| {
        let code = code_of(line);
        REAL_TIME.iter().any(|call| code.contains(call))
    });
    assert!(
        found.is_empty(),
        "real time outside src/time/wall.rs (use time::Wall):\n{}",
        found.join("\n")
    );
}
