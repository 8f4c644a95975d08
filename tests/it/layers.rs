//! The layering test: reads every file under `src/` and checks the
//! dependencies between the library's top-level modules against the layer
//! order of docs/architecture.md ("Layers"):
//! - nothing but `app` (the composition root) imports `web`;
//! - `domain` imports no other module of the crate, and neither axum nor sqlx;
//! - the data generator (`generator`, `seed`, `bulk_seed`) stays off the
//!   request path: only the demo seed and the benchmark loader import
//!   `generator`, and no library module imports those two (the `histologe`
//!   command does);
//! - no import cycle between top-level modules outside `web` (a graph walk
//!   over the `crate::<module>` paths, which names every file and line of the
//!   imports that make the cycle).
//!
//! Paths are read from the source text with comments and string literals
//! blanked out, so a doc comment that mentions `crate::web` is not an import.
//! Only `crate::` paths are followed (the code base does not reach other
//! top-level modules through `super::super::`).

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

/// Imports that make a cycle someone is removing right now. Each entry is
/// (file, imported top-level module) and names who removes it; the list is
/// meant to be empty.
const ALLOWED_WHILE_BEING_FIXED: &[(&str, &str, &str)] = &[];

/// One `crate::<module>` path in a file.
#[derive(Debug, Clone)]
struct Import {
    /// The top-level module the file belongs to.
    from: String,
    /// The top-level module it names.
    to: String,
    /// `src/...:line`.
    at: String,
    /// `src/...`.
    file: String,
}

#[test]
fn no_lower_layer_imports_web_and_no_cycle_outside_web() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let modules = top_level_modules(&root.join("src/lib.rs"));
    assert!(
        modules.contains("web") && modules.contains("domain"),
        "src/lib.rs lists its modules as `pub mod name;`: {modules:?}"
    );
    let imports = crate_imports(root, &modules);
    assert!(
        imports.iter().any(|i| i.from == "web" && i.to == "db"),
        "the scan finds the imports it is meant to check"
    );
    assert!(
        imports
            .iter()
            .any(|i| i.from == "seed" && i.to == "generator"),
        "the scan sees the demo seed use the generator"
    );
    let mut failures = Vec::new();

    // Only the composition root sits above the web layer.
    for import in imports.iter().filter(|i| i.to == "web" && i.from != "app") {
        failures.push(format!(
            "{}: `{}` imports `crate::web`: a lower layer must not depend on the web layer \
             (move what it needs down, or the code that needs web up into web)",
            import.at, import.from
        ));
    }

    // The domain is the bottom layer: pure rules.
    for import in imports.iter().filter(|i| i.from == "domain") {
        failures.push(format!(
            "{}: `domain` imports `crate::{}`: the domain depends on nothing else of the crate",
            import.at, import.to
        ));
    }
    for (at, what) in external_uses(root, "src/domain", &["axum", "sqlx"]) {
        failures.push(format!(
            "{at}: `domain` uses `{what}`: the domain knows neither HTTP nor SQL"
        ));
    }

    // The data generator is for `histologe seed` and `bench-data` only.
    let generators = ["generator", "seed", "bulk_seed"];
    for import in imports.iter().filter(|i| {
        generators.contains(&i.to.as_str())
            && !(i.to == "generator" && generators.contains(&i.from.as_str()))
    }) {
        failures.push(format!(
            "{}: `{}` imports `crate::{}`: generated data stays off the request path \
             (only `seed` and `bulk_seed` use `generator`; only the command uses those)",
            import.at, import.from, import.to
        ));
    }

    // No cycle outside web.
    let counted: Vec<&Import> = imports
        .iter()
        .filter(|i| i.from != "web" && i.to != "web")
        .filter(|i| {
            !ALLOWED_WHILE_BEING_FIXED
                .iter()
                .any(|(file, to, _)| i.file == *file && i.to == *to)
        })
        .collect();
    for cycle in cycles(&counted) {
        let mut message = format!(
            "import cycle between top-level modules {}; the imports that make it:",
            cycle.join(" ↔ ")
        );
        for import in counted
            .iter()
            .filter(|i| cycle.contains(&i.from) && cycle.contains(&i.to))
        {
            message.push_str(&format!(
                "\n    {}: {} → {}",
                import.at, import.from, import.to
            ));
        }
        failures.push(message);
    }

    // The allow-list shrinks: an entry whose import is gone is removed.
    for (file, to, who) in ALLOWED_WHILE_BEING_FIXED {
        if !imports.iter().any(|i| i.file == *file && i.to == *to) {
            failures.push(format!(
                "{file} no longer imports `crate::{to}` ({who}): remove its entry from \
                 ALLOWED_WHILE_BEING_FIXED in tests/it/layers.rs"
            ));
        }
    }

    assert!(
        failures.is_empty(),
        "layering (docs/architecture.md, \"Layers\"):\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_scanner_reads_paths_and_skips_comments_and_strings() {
    let modules: BTreeSet<String> = ["db", "web", "queue", "domain"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    let source = r####"//! Mentions crate::web in a doc comment.
use crate::{
    db::{self, reports},
    domain::roles::Role, // crate::queue in a comment
};
/* crate::web in a block /* nested */ comment */
fn f<'a>(x: &'a str) -> char {
    let _ = "crate::web in a string";
    let _ = r#"crate::web in a "raw" string"#;
    let _ = crate::queue::enqueue;
    let _ = format!("{}", $crate::web::x);
    '"'
}
"####;
    let found = paths_in(source, &modules);
    assert_eq!(
        found,
        vec![
            ("db".to_owned(), 3),
            ("domain".to_owned(), 4),
            ("queue".to_owned(), 10)
        ]
    );
}

#[test]
fn the_graph_walk_names_each_cycle_once() {
    let import = |from: &str, to: &str| Import {
        from: from.to_owned(),
        to: to.to_owned(),
        at: format!("src/{from}.rs:1"),
        file: format!("src/{from}.rs"),
    };
    let imports = [
        import("a", "b"),
        import("b", "c"),
        import("c", "a"),
        import("c", "d"),
        import("d", "e"),
        import("e", "d"),
        import("f", "a"),
    ];
    let refs: Vec<&Import> = imports.iter().collect();
    assert_eq!(
        cycles(&refs),
        vec![
            vec!["a".to_owned(), "b".to_owned(), "c".to_owned()],
            vec!["d".to_owned(), "e".to_owned()]
        ]
    );
    assert!(cycles(&refs[..2]).is_empty());
}

/// The names declared by `pub mod name;` in src/lib.rs.
fn top_level_modules(lib: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(lib).expect("src/lib.rs is readable");
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("pub mod "))
        .filter_map(|rest| rest.strip_suffix(';'))
        .map(str::to_owned)
        .collect()
}

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The top-level module of a file under src/, or None for the crate root
/// and the binaries (which sit above every layer).
fn module_of(relative: &str) -> Option<String> {
    let inside = relative.strip_prefix("src/")?;
    if matches!(inside, "lib.rs" | "main.rs") || inside.starts_with("bin/") {
        return None;
    }
    let first = inside.split('/').next()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

fn crate_imports(root: &Path, modules: &BTreeSet<String>) -> Vec<Import> {
    let mut imports = Vec::new();
    for path in rust_files(&root.join("src")) {
        let relative = relative(root, &path);
        let Some(from) = module_of(&relative) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).expect("a readable source file");
        for (to, line) in paths_in(&text, modules) {
            if to != from {
                imports.push(Import {
                    from: from.clone(),
                    to,
                    at: format!("{relative}:{line}"),
                    file: relative.clone(),
                });
            }
        }
    }
    imports
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .expect("under the manifest directory")
        .to_string_lossy()
        .replace('\\', "/")
}

/// Uses of the given external crates (`axum::`, `sqlx::`) under `dir`.
fn external_uses(root: &Path, dir: &str, crates: &[&str]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for path in rust_files(&root.join(dir)) {
        let text = blank_comments_and_strings(
            &std::fs::read_to_string(&path).expect("a readable source file"),
        );
        for (number, line) in text.lines().enumerate() {
            for name in crates {
                let needle = format!("{name}::");
                let used = line.match_indices(&needle).any(|(at, _)| {
                    !line[..at]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
                });
                if used {
                    found.push((
                        format!("{}:{}", relative(root, &path), number + 1),
                        (*name).to_owned(),
                    ));
                }
            }
        }
    }
    found
}

/// The top-level modules named by `crate::module` and `crate::{a, b::c}`
/// paths in a source text, with their 1-based line.
fn paths_in(source: &str, modules: &BTreeSet<String>) -> Vec<(String, usize)> {
    let code: Vec<char> = blank_comments_and_strings(source).chars().collect();
    let mut found = Vec::new();
    let line_at = |at: usize| code[..at].iter().filter(|c| **c == '\n').count() + 1;
    let keyword: Vec<char> = "crate::".chars().collect();
    let mut i = 0;
    while i + keyword.len() <= code.len() {
        let starts_path = code[i..i + keyword.len()] == keyword[..]
            && (i == 0 || !(is_ident(code[i - 1]) || code[i - 1] == '$' || code[i - 1] == ':'));
        if !starts_path {
            i += 1;
            continue;
        }
        let mut j = skip_spaces(&code, i + keyword.len());
        if code.get(j) == Some(&'{') {
            // A group: the first segment of each comma-separated item at
            // depth one.
            let mut depth = 1;
            let mut at_item_start = true;
            j += 1;
            while j < code.len() && depth > 0 {
                let c = code[j];
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => at_item_start = true,
                    c if depth == 1 && at_item_start && is_ident(c) => {
                        let (name, end) = ident(&code, j);
                        if modules.contains(&name) {
                            found.push((name, line_at(j)));
                        }
                        at_item_start = false;
                        j = end;
                        continue;
                    }
                    _ => {}
                }
                j += 1;
            }
            i = j;
        } else {
            let (name, end) = ident(&code, j);
            if modules.contains(&name) {
                found.push((name, line_at(i)));
            }
            i = end.max(i + 1);
        }
    }
    found
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn skip_spaces(code: &[char], mut at: usize) -> usize {
    while code.get(at).is_some_and(|c| c.is_whitespace()) {
        at += 1;
    }
    at
}

fn ident(code: &[char], start: usize) -> (String, usize) {
    let mut end = start;
    while code.get(end).is_some_and(|c| is_ident(*c)) {
        end += 1;
    }
    (code[start..end].iter().collect(), end)
}

/// The source with comments and string and char literals replaced by
/// spaces (newlines kept, so that line numbers stay right).
fn blank_comments_and_strings(source: &str) -> String {
    let code: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |out: &mut String, part: &[char]| {
        out.extend(part.iter().map(|c| if *c == '\n' { '\n' } else { ' ' }));
    };
    let mut i = 0;
    while i < code.len() {
        let c = code[i];
        let next = code.get(i + 1).copied();
        let after_ident = i > 0 && is_ident(code[i - 1]);
        if c == '/' && next == Some('/') {
            let end = code[i..]
                .iter()
                .position(|c| *c == '\n')
                .map_or(code.len(), |p| i + p);
            blank(&mut out, &code[i..end]);
            i = end;
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            let mut end = i;
            while end < code.len() {
                if code[end] == '/' && code.get(end + 1) == Some(&'*') {
                    depth += 1;
                    end += 2;
                } else if code[end] == '*' && code.get(end + 1) == Some(&'/') {
                    depth -= 1;
                    end += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    end += 1;
                }
            }
            blank(&mut out, &code[i..end.min(code.len())]);
            i = end;
        } else if let Some(end) = raw_string_end(&code, i).filter(|_| !after_ident) {
            blank(&mut out, &code[i..end]);
            i = end;
        } else if c == '"' {
            let mut end = i + 1;
            while end < code.len() && code[end] != '"' {
                end += if code[end] == '\\' { 2 } else { 1 };
            }
            let end = (end + 1).min(code.len());
            blank(&mut out, &code[i..end]);
            i = end;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}'), else a lifetime.
            let end = if next == Some('\\') {
                code[i + 2..]
                    .iter()
                    .position(|c| *c == '\'')
                    .map(|p| i + 2 + p + 1)
            } else if code.get(i + 2) == Some(&'\'') {
                Some(i + 3)
            } else {
                None
            };
            match end {
                Some(end) => {
                    blank(&mut out, &code[i..end]);
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The end of a raw string (`r"…"`, `r#"…"#`, `br"…"`) starting at `at`.
fn raw_string_end(code: &[char], at: usize) -> Option<usize> {
    let mut i = at;
    if code.get(i) == Some(&'b') || code.get(i) == Some(&'c') {
        i += 1;
    }
    if code.get(i) != Some(&'r') {
        return None;
    }
    i += 1;
    let hashes = code[i..].iter().take_while(|c| **c == '#').count();
    i += hashes;
    if code.get(i) != Some(&'"') {
        return None;
    }
    let closing: Vec<char> = std::iter::once('"')
        .chain(std::iter::repeat_n('#', hashes))
        .collect();
    (i + 1..=code.len().saturating_sub(closing.len()))
        .find(|&end| code[end..end + closing.len()] == closing[..])
        .map(|end| end + closing.len())
}

/// The strongly connected components of more than one module (Tarjan), each
/// sorted, in order of their first module.
fn cycles(imports: &[&Import]) -> Vec<Vec<String>> {
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for import in imports {
        graph
            .entry(&import.from)
            .or_default()
            .insert(import.to.as_str());
        graph.entry(&import.to).or_default();
    }
    struct Walk<'a> {
        graph: &'a BTreeMap<&'a str, BTreeSet<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, node: &'a str) {
            let n = self.index.len();
            self.index.insert(node, n);
            self.low.insert(node, n);
            self.stack.push(node);
            self.on_stack.insert(node);
            for &next in &self.graph[node] {
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut component = Vec::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    component.push(member.to_owned());
                    if member == node {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        graph: &graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for &node in graph.keys() {
        if !walk.index.contains_key(node) {
            walk.visit(node);
        }
    }
    walk.found.sort();
    walk.found
}

/// The stored codes of the case states are spelled once, in their enums
/// (`domain::case::status`): SQL binds the enum, so a renamed code cannot
/// leave a query behind. This guards against a literal coming back.
#[test]
fn no_sql_spells_a_case_state_code() {
    let codes = [
        "need_validation",
        "refused",
        "closed",
        "nouveau",
        "en_cours",
        "refuse",
        "ferme",
        "planned",
        "cancelled",
        "not_done",
    ];
    let mut found = Vec::new();
    let mut files = rust_files(Path::new("src"));
    files.extend(
        std::fs::read_dir("src/db/sql")
            .expect("src/db/sql is readable")
            .map(|entry| entry.expect("a directory entry").path()),
    );
    for file in files {
        let is_sql = file.extension().is_some_and(|e| e == "sql");
        let text = std::fs::read_to_string(&file).expect("source file");
        for (number, line) in text.lines().enumerate() {
            let code_part = if is_sql {
                line.split("--").next().unwrap_or_default()
            } else {
                line.split("//").next().unwrap_or_default()
            };
            for code in codes {
                if code_part.contains(&format!("'{code}'")) {
                    found.push(format!("{}:{}: '{code}'", file.display(), number + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "bind the state's enum instead:\n{}",
        found.join("\n")
    );
}
