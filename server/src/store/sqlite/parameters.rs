//! A check over this backend's SQL: no query string of several statements leaves a `?NNN` parameter
//! unbound. sqlx 0.8 binds such a string statement by statement, and counts every slot missing from a
//! statement's numbering (`?2` and `?5` used: slots 1, 3 and 4) as a positional parameter taken from the
//! arguments; once that count passes the number of arguments it stops binding, and the later parameters
//! of that statement are NULL. A reply notification's `created_at` was lost so, only when replies came
//! while their message was being sent.

use std::path::Path;

/// The string literals of a Rust source file (plain ones, escapes kept as written).
fn literals(source: &str) -> Vec<(usize, String)> {
    let (mut out, mut chars) = (Vec::new(), source.char_indices().peekable());
    while let Some((at, c)) = chars.next() {
        match c {
            // A comment runs to the end of its line (and may hold quotes).
            '/' if chars.peek().is_some_and(|&(_, next)| next == '/') => {
                chars.by_ref().take_while(|&(_, c)| c != '\n').for_each(drop);
            }
            // A character literal: '"' must not open a string.
            '\'' => {
                let rest = &source[at + 1..];
                let len = if rest.starts_with('\\') { rest[2..].find('\'').map(|i| i + 2) } else { rest.find('\'') };
                if let Some(len) = len.filter(|&len| len <= 4) {
                    for _ in 0..=len {
                        chars.next();
                    }
                }
            }
            '"' => {
                let mut text = String::new();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => {
                            text.push(c);
                            text.extend(chars.next().map(|(_, c)| c));
                        }
                        '"' => break,
                        c => text.push(c),
                    }
                }
                out.push((source[..at].lines().count().max(1), text));
            }
            _ => {}
        }
    }
    out
}

/// The parameters of `sql` that sqlx 0.8 would leave unbound, given as many arguments as its highest
/// `?NNN` (this backend binds exactly those).
fn unbound(sql: &str) -> Vec<usize> {
    let numbers = |statement: &str| -> Vec<usize> {
        let mut found = Vec::new();
        let mut rest = statement;
        while let Some(at) = rest.find('?') {
            rest = &rest[at + 1..];
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if let Ok(n) = rest[..digits].parse() {
                found.push(n);
            }
        }
        found
    };
    let arguments = numbers(sql).into_iter().max().unwrap_or(0);
    let (mut offset, mut lost) = (0, Vec::new());
    for statement in sql.split(';') {
        let used = numbers(statement);
        let Some(&count) = used.iter().max() else { continue };
        let mut positional = offset;
        for slot in 1..=count {
            let argument = if used.contains(&slot) {
                slot
            } else {
                positional += 1;
                positional
            };
            if argument > arguments {
                lost.extend((slot..=count).filter(|s| used.contains(s)));
                break;
            }
        }
        offset = positional;
    }
    lost
}

#[test]
fn the_check_finds_a_statement_that_loses_a_parameter() {
    let bad = "DELETE FROM t WHERE id = ?1; DELETE FROM u WHERE a = ?2 AND b = ?3;
               UPDATE v SET x = ?4 WHERE id = ?2; INSERT INTO w SELECT ?5 FROM v WHERE id = ?2";
    assert_eq!(unbound(bad), [5]);
    assert!(unbound("UPDATE v SET x = ?4 WHERE id = ?2; DELETE FROM t WHERE id = ?1").is_empty());
    let source = "let s = \"a = ?1; b = ?2\"; // \"not ?9; sql\"\nlet c = '\"'; let t = \"x ?3\";";
    let found: Vec<String> = literals(source).into_iter().map(|(_, text)| text).collect();
    assert_eq!(found, ["a = ?1; b = ?2", "x ?3"]);
}

#[test]
fn no_query_of_this_backend_leaves_a_parameter_unbound() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store/sqlite");
    let mut checked = 0;
    let mut faults = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("the backend's sources") {
        let path = entry.expect("a source file").path();
        if path.extension().is_none_or(|e| e != "rs") || path.ends_with("parameters.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("a source file");
        for (line, sql) in literals(&source) {
            if sql.contains(';') && sql.contains('?') {
                checked += 1;
                let lost = unbound(&sql);
                if !lost.is_empty() {
                    faults.push(format!("{}:{line}: ?{lost:?} unbound", path.display()));
                }
            }
        }
    }
    assert!(checked > 10, "only {checked} query strings of several statements found: is the scan right?");
    assert!(faults.is_empty(), "split these queries into one statement each:\n{}", faults.join("\n"));
}
