//! The repository explains itself: every `docs/<name>.md §<section>` (or
//! `G<n>` gotcha) cited in the code, the tests, the READMEs and the
//! migrations names a document and a section that exist, and no pointer
//! leads out of the repository. Comments are read as text; no server needed.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every text file under `dir` with one of the extensions.
fn files(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, extensions, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e))
        {
            out.push(path);
        }
    }
}

/// A citation found in a file: document name, and the section or gotcha
/// that follows it on the same line, if any.
#[derive(Debug)]
struct Citation {
    doc: String,
    section: Option<String>,
    gotcha: Option<String>,
    at: String,
}

/// Reads `<doc>.md` then an optional ` §1.2` or ` G12` from `rest`.
fn citation(doc: String, rest: &str, at: String) -> Citation {
    let after = rest.trim_start_matches(['\'', 's']);
    let section = after.strip_prefix(" §").map(|s| {
        s.chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect::<String>()
            .trim_end_matches('.')
            .to_owned()
    });
    let gotcha = after.strip_prefix(" G").and_then(|s| {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        (!digits.is_empty()).then(|| format!("G{digits}"))
    });
    Citation {
        doc,
        section: section.filter(|s| !s.is_empty()),
        gotcha,
        at,
    }
}

/// `docs/<name>.md` citations of a line.
fn new_citations(line: &str, at: &str) -> Vec<Citation> {
    let mut out = Vec::new();
    for (i, _) in line.match_indices("docs/") {
        let rest = &line[i + 5..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_' || *c == '-')
            .collect();
        if let Some(after) = rest[name.len()..].strip_prefix(".md")
            && !name.is_empty()
        {
            out.push(citation(format!("{name}.md"), after, at.to_owned()));
        }
    }
    out
}

/// Citations under the documents' first names (`FORM.md §6.7`), which
/// applied migrations keep forever.
fn old_citations(line: &str, at: &str) -> Vec<Citation> {
    let mut out = Vec::new();
    for (old, new) in [
        ("FORM.md", "form.md"),
        ("SCORING.md", "scoring.md"),
        ("CONTRACTS.md", "contracts.md"),
        ("STACK.md", "stack.md"),
        ("ARCHITECTURE.md", "architecture.md"),
        ("PRODUCT.md", "product.md"),
    ] {
        for (i, _) in line.match_indices(old) {
            out.push(citation(
                new.to_owned(),
                &line[i + old.len()..],
                at.to_owned(),
            ));
        }
    }
    out
}

/// Whether a document has a heading for this section (`## 2.`, `### 2.4 `)
/// or this gotcha (`**G12.`).
fn has_section(doc: &str, section: &str) -> bool {
    doc.lines().any(|line| {
        let title = line.trim_start_matches('#');
        title.len() < line.len()
            && title
                .trim_start()
                .strip_prefix(section)
                .is_some_and(|r| r.starts_with(' ') || r.starts_with('.'))
    })
}

#[test]
fn every_document_and_section_cited_in_the_repository_exists() {
    let root = root();
    let mut sources = Vec::new();
    for dir in ["src", "jobs", "tests", "migrations", "docs", "scripts"] {
        files(&root.join(dir), &["rs", "sql", "md", "sh"], &mut sources);
    }
    sources.extend(["README.md", "BENCHMARKS.md"].map(|f| root.join(f)));

    let mut citations = Vec::new();
    for path in &sources {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let in_migrations = path.starts_with(root.join("migrations"));
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", path.display(), n + 1);
            citations.extend(new_citations(line, &at));
            if in_migrations {
                citations.extend(old_citations(line, &at));
            }
        }
    }
    assert!(
        citations.len() > 40,
        "the code cites the docs: {} citations found",
        citations.len()
    );

    let mut missing = Vec::new();
    for c in &citations {
        let Ok(doc) = std::fs::read_to_string(root.join("docs").join(&c.doc)) else {
            missing.push(format!("{}: docs/{} does not exist", c.at, c.doc));
            continue;
        };
        if let Some(section) = &c.section
            && !has_section(&doc, section)
        {
            missing.push(format!("{}: docs/{} has no §{section}", c.at, c.doc));
        }
        if let Some(gotcha) = &c.gotcha
            && !doc.contains(&format!("**{gotcha}."))
        {
            missing.push(format!("{}: docs/{} has no {gotcha}", c.at, c.doc));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn no_pointer_leads_out_of_the_repository() {
    let root = root();
    let mut sources = Vec::new();
    for dir in ["src", "jobs", "tests", "docs"] {
        files(&root.join(dir), &["rs", "md"], &mut sources);
    }
    sources.extend(["README.md", "BENCHMARKS.md"].map(|f| root.join(f)));
    // Built here so that this file does not match itself.
    let outside = ["..", "/shared/"].concat();
    let offenders: Vec<String> = sources
        .iter()
        .filter(|p| {
            std::fs::read_to_string(p)
                .unwrap_or_default()
                .contains(&outside)
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "these files point outside the repository ({outside}): {offenders:?}"
    );
}

#[test]
fn the_section_reader_finds_headings_and_citations() {
    let doc = "# T\n## 2. Q\n### 2.4 Over\n**G12. sentry**\n";
    assert!(has_section(doc, "2") && has_section(doc, "2.4"));
    assert!(!has_section(doc, "2.5") && !has_section(doc, "4"));
    let c = new_citations("see (docs/scoring.md §2.1–2.5) and docs/stack.md G12.", "x");
    assert_eq!(c.len(), 2);
    assert_eq!(c[0].section.as_deref(), Some("2.1"));
    assert_eq!(c[1].gotcha.as_deref(), Some("G12"));
    let c = old_citations("-- categories (FORM.md §6.7), both kept", "x");
    assert_eq!(
        (c[0].doc.as_str(), c[0].section.as_deref()),
        ("form.md", Some("6.7"))
    );
}
