//! The state graph as a picture: Mermaid, Graphviz DOT, or one
//! self-contained HTML page (an inline SVG, no script, no network), nested
//! Map and Parallel machines drawn inside their state, and what an execution
//! or a test suite covered marked.

use super::coverage::{covered, items};
use super::Harness;
use crate::asl::{Edge, State, StateKind, StateMachine};
use crate::eval::Execution;
use std::collections::BTreeSet;
use std::fmt::Write;

/// The picture's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    /// A Mermaid `flowchart` (GitHub and most Markdown viewers draw it).
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// One HTML page with the graph as an inline SVG.
    Html,
}

impl std::str::FromStr for GraphFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mermaid" => Ok(GraphFormat::Mermaid),
            "dot" => Ok(GraphFormat::Dot),
            "html" => Ok(GraphFormat::Html),
            _ => Err(format!("unknown graph format '{s}': mermaid, dot or html")),
        }
    }
}

/// Fill and stroke of a state that ran, and of one that did not.
const RAN: (&str, &str) = ("#c8e6c9", "#2e7d32");
const NOT_RAN: (&str, &str) = ("#eeeeee", "#9e9e9e");
/// A state when nothing is marked.
const PLAIN: (&str, &str) = ("#e3f2fd", "#1565c0");

/// Where a state goes, drawn: (target index, label, dashed).
fn edges(s: &State) -> Vec<(usize, String, bool)> {
    let label = |e: Edge| match e {
        Edge::Next => (String::new(), false),
        Edge::Rule(i) => (format!("rule {i}"), false),
        Edge::Default => ("Default".into(), true),
        Edge::Catch(i) => (format!("catch {}", s.catch[i].error_equals.join(", ")), true),
    };
    s.edges()
        .into_iter()
        .map(|(e, to)| {
            let (text, dashed) = label(e);
            (to, text, dashed)
        })
        .collect()
}

impl Harness {
    /// The state graph, with what `marked` (coverage items, see
    /// [`Harness::coverage`]) says ran; nothing is marked when it is empty.
    pub fn graph(&self, format: GraphFormat, marked: &BTreeSet<String>) -> String {
        let name = &self.config.state_machine_name;
        match format {
            GraphFormat::Mermaid => mermaid(&self.sm, marked),
            GraphFormat::Dot => dot(&self.sm, marked),
            GraphFormat::Html => html(&self.sm, name, marked),
        }
    }

    /// [`Harness::graph`] with the states `exec` ran marked.
    pub fn graph_of(&self, format: GraphFormat, exec: &Execution) -> String {
        self.graph(format, &covered(exec))
    }
}

fn status(s: &State, marked: &BTreeSet<String>) -> Option<bool> {
    (!marked.is_empty()).then(|| marked.contains(&format!("state:{}", s.name)))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn mermaid(sm: &StateMachine, marked: &BTreeSet<String>) -> String {
    let mut out = String::from("flowchart TD\n");
    out.push_str(&format!(
        "  classDef ran fill:{},stroke:{};\n  classDef notran fill:{},stroke:{};\n",
        RAN.0, RAN.1, NOT_RAN.0, NOT_RAN.1
    ));
    mermaid_machine(sm, marked, "  ", &mut out, "start");
    out
}

fn mermaid_machine(
    sm: &StateMachine,
    marked: &BTreeSet<String>,
    indent: &str,
    out: &mut String,
    start_id: &str,
) {
    let _ = writeln!(out, "{indent}{start_id}(( )) --> s{}", sm.states[sm.start_at].id);
    for s in &sm.states {
        let label = format!("{}<br/><small>{}</small>", escape(&s.name), s.type_name());
        let nested = s.kind.nested();
        if nested.is_empty() {
            let shape = if matches!(s.kind, StateKind::Choice { .. }) {
                format!("{{\"{label}\"}}")
            } else {
                format!("[\"{label}\"]")
            };
            let _ = writeln!(out, "{indent}s{}{shape}", s.id);
        } else {
            let _ = writeln!(out, "{indent}subgraph s{}[\"{label}\"]", s.id);
            let _ = writeln!(out, "{indent}  direction TB");
            for (i, m) in nested.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "{indent}  subgraph s{}_{i}[\"{}\"]",
                    s.id,
                    if nested.len() > 1 { format!("branch {i}") } else { "each item".into() }
                );
                mermaid_machine(
                    m,
                    marked,
                    &format!("{indent}    "),
                    out,
                    &format!("start{}_{i}", s.id),
                );
                let _ = writeln!(out, "{indent}  end");
            }
            let _ = writeln!(out, "{indent}end");
        }
        if let Some(ran) = status(s, marked) {
            let _ =
                writeln!(out, "{indent}class s{} {};", s.id, if ran { "ran" } else { "notran" });
        }
    }
    for s in &sm.states {
        for (to, label, dashed) in edges(s) {
            let arrow = if dashed { "-.->" } else { "-->" };
            let label =
                if label.is_empty() { String::new() } else { format!("|\"{}\"|", escape(&label)) };
            let _ = writeln!(out, "{indent}s{} {arrow}{label} s{}", s.id, sm.states[to].id);
        }
    }
}

fn dot(sm: &StateMachine, marked: &BTreeSet<String>) -> String {
    let mut out = String::from("digraph StateMachine {\n  compound=true;\n  node [shape=box, style=\"rounded,filled\", fontname=\"sans-serif\"];\n");
    dot_machine(sm, marked, "  ", &mut out);
    out.push_str("}\n");
    out
}

fn dot_machine(sm: &StateMachine, marked: &BTreeSet<String>, indent: &str, out: &mut String) {
    for s in &sm.states {
        let (fill, stroke) = match status(s, marked) {
            Some(true) => RAN,
            Some(false) => NOT_RAN,
            None => PLAIN,
        };
        let shape = if matches!(s.kind, StateKind::Choice { .. }) { ", shape=diamond" } else { "" };
        let node = format!(
            "s{} [label=\"{}\\n({})\", fillcolor=\"{fill}\", color=\"{stroke}\"{shape}];",
            s.id,
            s.name.replace('"', "\\\""),
            s.type_name()
        );
        let nested = s.kind.nested();
        if nested.is_empty() {
            let _ = writeln!(out, "{indent}{node}");
            continue;
        }
        let _ = writeln!(
            out,
            "{indent}subgraph cluster_s{} {{\n{indent}  label=\"{}\";\n{indent}  {node}",
            s.id,
            s.name.replace('"', "\\\"")
        );
        for m in nested {
            let _ = writeln!(
                out,
                "{indent}  subgraph cluster_s{}_{} {{\n{indent}    label=\"\";",
                s.id, m.states[m.start_at].id
            );
            dot_machine(m, marked, &format!("{indent}    "), out);
            let _ = writeln!(out, "{indent}  }}");
            let _ = writeln!(
                out,
                "{indent}  s{} -> s{} [style=dotted];",
                s.id, m.states[m.start_at].id
            );
        }
        let _ = writeln!(out, "{indent}}}");
    }
    for s in &sm.states {
        for (to, label, dashed) in edges(s) {
            let style = if dashed { ", style=dashed" } else { "" };
            let _ = writeln!(
                out,
                "{indent}s{} -> s{} [label=\"{}\"{style}];",
                s.id,
                sm.states[to].id,
                label.replace('"', "\\\"")
            );
        }
    }
}

/// A laid-out machine: its size and its SVG elements, placed at the origin.
struct Block {
    w: f64,
    h: f64,
    svg: String,
}

const NODE_W: f64 = 190.0;
const NODE_H: f64 = 46.0;
const GAP_X: f64 = 26.0;
const GAP_Y: f64 = 44.0;
const PAD: f64 = 14.0;
const HEADER: f64 = 30.0;

/// Levels by breadth-first distance from the start (unreachable states last).
fn levels(sm: &StateMachine) -> Vec<Vec<usize>> {
    let mut level = vec![usize::MAX; sm.states.len()];
    let mut queue = std::collections::VecDeque::from([sm.start_at]);
    level[sm.start_at] = 0;
    while let Some(i) = queue.pop_front() {
        for (to, _, _) in edges(&sm.states[i]) {
            if level[to] == usize::MAX {
                level[to] = level[i] + 1;
                queue.push_back(to);
            }
        }
    }
    let deepest = level.iter().filter(|l| **l != usize::MAX).max().copied().unwrap_or(0);
    let mut rows = vec![Vec::new(); deepest + 2];
    for (i, l) in level.iter().enumerate() {
        rows[if *l == usize::MAX { deepest + 1 } else { *l }].push(i);
    }
    rows.retain(|r| !r.is_empty());
    rows
}

fn layout(sm: &StateMachine, marked: &BTreeSet<String>) -> Block {
    // each state's own drawing first (nested machines inside it)
    let inner: Vec<Block> = sm.states.iter().map(|s| state_block(s, marked)).collect();
    let rows = levels(sm);
    let width = rows
        .iter()
        .map(|r| {
            r.iter().map(|i| inner[*i].w).sum::<f64>() + GAP_X * (r.len().saturating_sub(1)) as f64
        })
        .fold(NODE_W, f64::max);
    let mut boxes = vec![(0.0, 0.0, 0.0, 0.0); sm.states.len()];
    let mut svg = String::new();
    let mut y = PAD + 16.0;
    for r in &rows {
        let row_w =
            r.iter().map(|i| inner[*i].w).sum::<f64>() + GAP_X * (r.len().saturating_sub(1)) as f64;
        let row_h = r.iter().map(|i| inner[*i].h).fold(0.0, f64::max);
        let mut x = PAD + (width - row_w) / 2.0;
        for i in r {
            let b = &inner[*i];
            boxes[*i] = (x, y, b.w, b.h);
            let _ = write!(svg, "<g transform=\"translate({x:.1},{y:.1})\">{}</g>", b.svg);
            x += b.w + GAP_X;
        }
        y += row_h + GAP_Y;
    }
    // edges under the boxes' labels: drawn after, thin
    let mut lines = String::new();
    let (sx, sy, sw, _) = boxes[sm.start_at];
    let _ = write!(lines, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"6\" fill=\"#424242\"/><line x1=\"{0:.1}\" y1=\"{:.1}\" x2=\"{0:.1}\" y2=\"{sy:.1}\" stroke=\"#424242\" marker-end=\"url(#arrow)\"/>", sx + sw / 2.0, sy - 12.0, sy - 6.0);
    for (i, s) in sm.states.iter().enumerate() {
        for (to, label, dashed) in edges(s) {
            let (ax, ay, aw, ah) = boxes[i];
            let (bx, by, bw, bh) = boxes[to];
            let ran =
                status(s, marked) == Some(true) && status(&sm.states[to], marked) == Some(true);
            let color = if ran { RAN.1 } else { "#757575" };
            let dash = if dashed { " stroke-dasharray=\"5,4\"" } else { "" };
            let path = if by > ay {
                format!("M{:.1},{:.1} L{:.1},{:.1}", ax + aw / 2.0, ay + ah, bx + bw / 2.0, by)
            } else {
                // back to an earlier row: around the right side
                let side = (ax + aw).max(bx + bw) + 18.0;
                format!(
                    "M{:.1},{:.1} C{side:.1},{:.1} {side:.1},{:.1} {:.1},{:.1}",
                    ax + aw,
                    ay + ah / 2.0,
                    ay + ah / 2.0,
                    by + bh / 2.0,
                    bx + bw,
                    by + bh / 2.0
                )
            };
            let _ = write!(lines, "<path d=\"{path}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1.6\"{dash} marker-end=\"url(#arrow)\"><title>{}</title></path>", escape(&label));
            if !label.is_empty() && by > ay {
                let _ = write!(
                    lines,
                    "<text x=\"{:.1}\" y=\"{:.1}\" class=\"edge\">{}</text>",
                    (ax + aw / 2.0 + bx + bw / 2.0) / 2.0 + 4.0,
                    (ay + ah + by) / 2.0,
                    escape(&label)
                );
            }
        }
    }
    Block { w: width + 2.0 * PAD + 40.0, h: y - GAP_Y + PAD, svg: lines + &svg }
}

/// One state: a box, or for a Map or Parallel a frame around its machines.
fn state_block(s: &State, marked: &BTreeSet<String>) -> Block {
    let (fill, stroke) = match status(s, marked) {
        Some(true) => RAN,
        Some(false) => NOT_RAN,
        None => PLAIN,
    };
    let label = format!(
        "<text x=\"12\" y=\"19\" class=\"name\">{}</text><text x=\"12\" y=\"36\" class=\"type\">{}</text>",
        escape(&s.name),
        s.type_name()
    );
    let nested = s.kind.nested();
    if nested.is_empty() {
        let svg = format!("<rect class=\"state\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"9\" fill=\"{fill}\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>{label}");
        return Block { w: NODE_W, h: NODE_H, svg };
    }
    let parts: Vec<Block> = nested.iter().map(|m| layout(m, marked)).collect();
    let w = (parts.iter().map(|p| p.w).sum::<f64>() + GAP_X * (parts.len() - 1) as f64 + 2.0 * PAD)
        .max(NODE_W);
    let h = HEADER + 10.0 + parts.iter().map(|p| p.h).fold(0.0, f64::max) + PAD;
    let mut svg = format!("<rect class=\"state\" width=\"{w:.1}\" height=\"{h:.1}\" rx=\"11\" fill=\"{fill}\" fill-opacity=\"0.45\" stroke=\"{stroke}\" stroke-width=\"1.5\"/>{label}");
    let mut x = PAD;
    for p in &parts {
        let _ = write!(svg, "<g transform=\"translate({x:.1},{:.1})\"><rect width=\"{:.1}\" height=\"{:.1}\" rx=\"8\" fill=\"#ffffff\" fill-opacity=\"0.7\" stroke=\"#bdbdbd\" stroke-dasharray=\"4,3\"/>{}</g>", HEADER + 10.0, p.w, p.h, p.svg);
        x += p.w + GAP_X;
    }
    Block { w, h, svg }
}

fn html(sm: &StateMachine, name: &str, marked: &BTreeSet<String>) -> String {
    let b = layout(sm, marked);
    let legend = if marked.is_empty() {
        String::new()
    } else {
        let total = items(sm).iter().filter(|i| i.starts_with("state:")).count();
        let ran = marked.iter().filter(|i| i.starts_with("state:")).count();
        format!(
            "<p class=\"legend\"><span style=\"background:{}\">ran</span> <span style=\"background:{}\">did not run</span> — {ran} of {total} states</p>",
            RAN.0, NOT_RAN.0
        )
    };
    format!(
        r##"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 24px; background: #fff; color: #212121; }}
h1 {{ font-size: 20px; margin: 0 0 8px; }}
.legend span {{ padding: 2px 8px; border-radius: 4px; border: 1px solid #bdbdbd; }}
svg text.name {{ font-size: 14px; font-weight: 600; }}
svg text.type {{ font-size: 11px; fill: #616161; }}
svg text.edge {{ font-size: 10px; fill: #616161; }}
</style></head>
<body><h1>{title}</h1>{legend}
<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0}" height="{h:.0}" viewBox="0 0 {w:.0} {h:.0}">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#616161"/></marker></defs>
{svg}
</svg></body></html>
"##,
        title = escape(name),
        w = b.w,
        h = b.h,
        svg = b.svg
    )
}
