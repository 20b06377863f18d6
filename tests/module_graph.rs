//! The dependency arrows between `src/` modules point one way: no import cycles.
//!
//! Reads every `src/**/*.rs` as text and collects the modules each one names through
//! `crate::…` and `super::…` paths (in `use` lines and inline paths alike). Unit-test code is
//! left out (`tests.rs` files, and everything from a `#[cfg(test)]` line at the start of a line
//! on), since a test may reach anywhere. Two graphs must be acyclic:
//!
//! * top-level modules (`auth`, `config`, `http`, …): `auth → config → auth` is a cycle;
//! * modules inside one parent (`http::api`, `http::ws`; `view::images`, `view::experiment`):
//!   a parent using its children, and children using their parent's shared items, are the
//!   usual shape of a Rust module and not counted; siblings must not use each other both ways.
//!
//! A cycle fails with every module on it named, so the message says what to untangle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path such as `["http", "ws"]`; the crate root is `[]`.
type ModPath = Vec<String>;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir` with the module path it defines.
fn modules(dir: &Path, prefix: &ModPath, out: &mut Vec<(ModPath, PathBuf)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        if path.is_dir() {
            let mut child = prefix.clone();
            child.push(stem);
            modules(&path, &child, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let module = match stem.as_str() {
                "lib" | "main" if prefix.is_empty() => prefix.clone(),
                "mod" => prefix.clone(),
                // Unit tests kept in their own file (`exec/tests.rs`) may reach anywhere.
                "tests" => continue,
                _ => {
                    let mut m = prefix.clone();
                    m.push(stem);
                    m
                }
            };
            out.push((module, path));
        }
    }
}

/// The code of a file without its unit tests and comments.
fn code_without_tests(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        if line.starts_with("#[cfg(test)]") {
            break;
        }
        let line = line.split("//").next().unwrap_or_default();
        code.push_str(line);
        code.push('\n');
    }
    code
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths named after `keyword::` in `code` (`crate::a::b` gives `[a, b]`; a brace group
/// `crate::{a::b, c}` gives `[a, b]` and `[c]`).
fn paths_after(code: &str, keyword: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let needle = format!("{keyword}::");
    let mut rest = code;
    while let Some(at) = rest.find(&needle) {
        let before_ok = rest[..at].chars().last().is_none_or(|c| !is_ident(c));
        rest = &rest[at + needle.len()..];
        if !before_ok {
            continue;
        }
        found.extend(parse_tree(rest));
    }
    found
}

/// Parses a use-tree at the start of `s`: `a::b::c`, or `{x::y, z}`, or `a::{...}`.
fn parse_tree(s: &str) -> Vec<Vec<String>> {
    let s = s.trim_start();
    if let Some(inner) = s.strip_prefix('{') {
        // Split the group at its top-level commas.
        let mut depth = 0;
        let mut parts = Vec::new();
        let mut start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    parts.push(&inner[start..i]);
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return parts.into_iter().flat_map(parse_tree).collect();
    }
    let ident: String = s.chars().take_while(|c| is_ident(*c)).collect();
    if ident.is_empty() || ident == "self" {
        return vec![Vec::new()];
    }
    let after = &s[ident.len()..];
    match after.strip_prefix("::") {
        Some(tail) => parse_tree(tail)
            .into_iter()
            .map(|mut p| {
                p.insert(0, ident.clone());
                p
            })
            .collect(),
        None => vec![vec![ident]],
    }
}

/// The longest module among `known` that `path` starts with.
fn resolve(path: &[String], known: &BTreeSet<ModPath>) -> Option<ModPath> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| known.contains(p))
}

/// Module-to-module arrows, from `crate::` and `super::` paths.
fn arrows() -> BTreeMap<ModPath, BTreeSet<ModPath>> {
    let mut files = Vec::new();
    modules(&src_dir(), &Vec::new(), &mut files);
    assert!(files.len() > 20, "expected the crate's modules under src/");
    let known: BTreeSet<ModPath> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut graph: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (module, path) in &files {
        let text = std::fs::read_to_string(path).expect("source file");
        let code = code_without_tests(&text);
        let mut targets = Vec::new();
        for p in paths_after(&code, "crate") {
            targets.extend(resolve(&p, &known));
        }
        // `super::x` from `a::b` (file a/b.rs) names `a::x`.
        let parent: ModPath = module[..module.len().saturating_sub(1)].to_vec();
        for p in paths_after(&code, "super") {
            let full: ModPath = parent.iter().cloned().chain(p).collect();
            targets.extend(resolve(&full, &known).or(Some(parent.clone())));
        }
        let entry = graph.entry(module.clone()).or_default();
        entry.extend(targets.into_iter().filter(|t| t != module));
    }
    graph
}

/// Cycles (strongly connected components of more than one node) of a graph.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: order by finish time, then walk the reversed graph.
    let nodes: BTreeSet<&String> = graph
        .keys()
        .chain(graph.values().flat_map(|v| v.iter()))
        .collect();
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    fn visit<'a>(
        n: &'a String,
        g: &'a BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<&'a String>,
        order: &mut Vec<&'a String>,
    ) {
        if !seen.insert(n) {
            return;
        }
        for m in g.get(n).into_iter().flatten() {
            visit(m, g, seen, order);
        }
        order.push(n);
    }
    for n in &nodes {
        visit(n, graph, &mut seen, &mut order);
    }
    let mut reversed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in graph {
        for to in tos {
            reversed.entry(to.clone()).or_default().insert(from.clone());
        }
    }
    let mut assigned = BTreeSet::new();
    let mut components = Vec::new();
    for n in order.into_iter().rev() {
        if assigned.contains(n) {
            continue;
        }
        let mut component = Vec::new();
        let mut stack = vec![n.clone()];
        while let Some(m) = stack.pop() {
            if !assigned.insert(m.clone()) {
                continue;
            }
            stack.extend(reversed.get(&m).into_iter().flatten().cloned());
            component.push(m);
        }
        if component.len() > 1 {
            component.sort();
            components.push(component);
        }
    }
    components
}

fn describe(cycles: &[Vec<String>]) -> String {
    cycles
        .iter()
        .map(|c| c.join(" ↔ "))
        .collect::<Vec<_>>()
        .join("; ")
}

#[test]
fn top_level_modules_have_no_import_cycle() {
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in arrows() {
        let Some(from) = from.first().cloned() else {
            continue; // the crate root declares every module
        };
        for to in tos {
            if let Some(to) = to.first().cloned()
                && to != from
            {
                top.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    assert!(
        top.len() > 8,
        "expected arrows between top-level modules: {top:?}"
    );
    let found = cycles(&top);
    assert!(
        found.is_empty(),
        "import cycles between top-level modules: {}",
        describe(&found)
    );
}

#[test]
fn sibling_modules_have_no_import_cycle() {
    let mut siblings: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in arrows() {
        for to in tos {
            let ancestor = from.starts_with(&to) || to.starts_with(&from);
            if !ancestor && from.len() > 1 && to.len() > 1 && from[..1] == to[..1] {
                siblings
                    .entry(from.join("::"))
                    .or_default()
                    .insert(to.join("::"));
            }
        }
    }
    let found = cycles(&siblings);
    assert!(
        found.is_empty(),
        "import cycles between modules of one parent: {}",
        describe(&found)
    );
}

#[test]
fn the_checker_finds_a_cycle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(cycles(&graph), vec![vec!["a", "b", "c"]]);
    assert_eq!(
        parse_tree("{a::b, c::{d, e}, self}"),
        vec![
            vec!["a", "b"],
            vec!["c", "d"],
            vec!["c", "e"],
            Vec::<&str>::new()
        ]
    );
}
