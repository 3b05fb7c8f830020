//! Imports between the files of a crate run one way: no file of a workspace crate is part of an
//! import circle with other files of the same crate (docs/architecture.md).
//!
//! For every workspace member with a `src/` directory (and the root package), the test maps each
//! source file to its module by following the `mod` declarations from the crate roots (`lib.rs`,
//! `main.rs`, `bin/*.rs`; a binary is a tree of its own, so a binary using the library is no
//! circle). A file F imports a file G when F names an item of G by a path: `use crate::...`,
//! `use super::...`, `use self::...`, a `use` or inline path starting with a child module's name,
//! and inline paths such as `crate::a::b::x` or `super::x` in code, grouped `use` trees included.
//! A path belongs to the file of its longest prefix that is a module (`crate::a::Thing` belongs to
//! the file of `a`). A re-export `pub use child::X` is an import of the child by the parent.
//! Comments, string literals, `#[cfg(test)]` items (such as `mod tests { ... }`) and test-only
//! child files (`#[cfg(test)] mod tests;`) are not looked at. `mod x;` is a declaration, not an
//! import. The crate root only declares and re-exports: imports from it are not counted, imports
//! of it are, and a name the root re-exports (`crate::ApiError` for `pub use error::ApiError`)
//! is followed to the file it comes from, so a circle cannot hide behind the root's facade.
//!
//! Circles that exist today are listed in [`ALLOWED`]. The test fails when a file is in a circle
//! that is not listed, and when a listed file is no longer in any circle: the list only shrinks.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Files allowed to be part of an import circle, per crate directory (relative to the workspace
/// root). Empty: no crate has one. Never add a file; break the circle instead.
const ALLOWED: &[(&str, &[&str])] = &[];

// ---------------------------------------------------------------------------------------------
// Lexing: Rust source to identifiers and punctuation, without comments and literals.

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// An identifier or keyword (`$crate` included, raw identifiers without `r#`).
    Ident(String),
    /// `::`
    PathSep,
    /// Any other punctuation character.
    Punct(char),
    /// A string, character or number literal (its content is not kept).
    Literal,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    line: usize,
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Skips a quoted string body whose opening quote is at `chars[i]`; returns the index after the
/// closing quote.
fn skip_quoted(chars: &[char], mut i: usize, line: &mut usize) -> usize {
    i += 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            c => {
                if c == '\n' {
                    *line += 1;
                }
                i += 1;
            }
        }
    }
    i
}

/// Skips a raw string `r#*"..."#*` whose `r` is at `chars[i]`, if there is one there.
fn skip_raw(chars: &[char], i: usize, line: &mut usize) -> Option<usize> {
    let mut j = i + 1;
    let mut hashes = 0;
    while chars.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if chars.get(j) != Some(&'"') {
        return None;
    }
    j += 1;
    while j < chars.len() {
        if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
            return Some(j + 1 + hashes);
        }
        if chars[j] == '\n' {
            *line += 1;
        }
        j += 1;
    }
    Some(j)
}

fn lex(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' {
            let start = line;
            i = skip_quoted(&chars, i, &mut line);
            tokens.push(Token {
                tok: Tok::Literal,
                line: start,
            });
        } else if c == '\'' {
            // A character literal or a lifetime / label.
            if next == Some('\\') {
                // Past the backslash and the escaped character (`'\''`, `'\\'`, `'\u{..}'`).
                let mut j = i + 3;
                while j < chars.len() && chars[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                tokens.push(Token {
                    tok: Tok::Literal,
                    line,
                });
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                tokens.push(Token {
                    tok: Tok::Literal,
                    line,
                });
            } else {
                i += 1;
                while i < chars.len() && is_ident_continue(chars[i]) {
                    i += 1;
                }
            }
        } else if c.is_ascii_digit() {
            while i < chars.len() && is_ident_continue(chars[i]) {
                i += 1;
            }
            tokens.push(Token {
                tok: Tok::Literal,
                line,
            });
        } else if is_ident_start(c) {
            let start = line;
            // String-like literals with a prefix: r"..", r#".."#, b"..", br"..", c"..", b'x'.
            let raw_at = match (c, next) {
                ('r', _) => Some(i),
                ('b' | 'c', Some('r')) => Some(i + 1),
                _ => None,
            };
            if let Some(end) = raw_at.and_then(|r| skip_raw(&chars, r, &mut line)) {
                i = end;
                tokens.push(Token {
                    tok: Tok::Literal,
                    line: start,
                });
                continue;
            }
            if matches!(c, 'b' | 'c') && next == Some('"') {
                i = skip_quoted(&chars, i + 1, &mut line);
                tokens.push(Token {
                    tok: Tok::Literal,
                    line: start,
                });
                continue;
            }
            if c == 'b' && next == Some('\'') {
                let mut k = i + 2;
                if chars.get(k) == Some(&'\\') {
                    k += 1;
                }
                k += 1;
                while k < chars.len() && chars[k] != '\'' {
                    k += 1;
                }
                i = k + 1;
                tokens.push(Token {
                    tok: Tok::Literal,
                    line: start,
                });
                continue;
            }
            // A raw identifier `r#name`.
            if c == 'r' && next == Some('#') && chars.get(i + 2).is_some_and(|&d| is_ident_start(d))
            {
                i += 2;
            }
            let begin = i;
            while i < chars.len() && is_ident_continue(chars[i]) {
                i += 1;
            }
            let word: String = chars[begin..i].iter().collect();
            tokens.push(Token {
                tok: Tok::Ident(word),
                line: start,
            });
        } else if c == '$' && next.is_some_and(is_ident_start) {
            let begin = i;
            i += 1;
            while i < chars.len() && is_ident_continue(chars[i]) {
                i += 1;
            }
            let word: String = chars[begin..i].iter().collect();
            tokens.push(Token {
                tok: Tok::Ident(word),
                line,
            });
        } else if c == ':' && next == Some(':') {
            tokens.push(Token {
                tok: Tok::PathSep,
                line,
            });
            i += 2;
        } else {
            tokens.push(Token {
                tok: Tok::Punct(c),
                line,
            });
            i += 1;
        }
    }
    tokens
}

// ---------------------------------------------------------------------------------------------
// Parsing: the module declarations and the paths of one file.

/// A `mod NAME;` or `mod NAME { ... }` declaration.
#[derive(Debug, Clone)]
struct ModDecl {
    /// The inline modules of the file this declaration sits in.
    within: Vec<String>,
    name: String,
    /// `None` for an inline module; for a module in its own file, the `#[path]` value if any.
    file: Option<Option<String>>,
}

/// A path naming an item, as written.
#[derive(Debug, Clone)]
struct PathRef {
    within: Vec<String>,
    segments: Vec<String>,
    line: usize,
    /// For a `use`, the name it binds (`as` alias or last segment); `None` for a glob or a path
    /// in code.
    binds: Option<String>,
}

#[derive(Debug, Default)]
struct Parsed {
    mods: Vec<ModDecl>,
    paths: Vec<PathRef>,
}

fn ident(tokens: &[Token], i: usize) -> Option<&str> {
    match tokens.get(i).map(|t| &t.tok) {
        Some(Tok::Ident(word)) => Some(word),
        _ => None,
    }
}

fn punct(tokens: &[Token], i: usize, c: char) -> bool {
    tokens.get(i).map(|t| &t.tok) == Some(&Tok::Punct(c))
}

fn path_sep(tokens: &[Token], i: usize) -> bool {
    tokens.get(i).map(|t| &t.tok) == Some(&Tok::PathSep)
}

/// The index after the bracket group opening at `i` (`(`, `[` or `{`).
fn skip_group(tokens: &[Token], i: usize) -> usize {
    let mut depth = 0usize;
    let mut j = i;
    while j < tokens.len() {
        match tokens[j].tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return j + 1;
                }
            }
            _ => {}
        }
        j += 1;
    }
    j
}

/// The index after the item starting at `i`: up to a `;` outside brackets, or through the first
/// brace block.
fn skip_item(tokens: &[Token], mut i: usize) -> usize {
    while i < tokens.len() {
        match tokens[i].tok {
            Tok::Punct(';') => return i + 1,
            Tok::Punct('{') => return skip_group(tokens, i),
            Tok::Punct('(' | '[') => i = skip_group(tokens, i),
            _ => i += 1,
        }
    }
    i
}

/// Whether the attribute starting at `i` (`#` `[`) is exactly `#[cfg(test)]`.
fn is_cfg_test(tokens: &[Token], i: usize) -> bool {
    let want = [
        Tok::Punct('#'),
        Tok::Punct('['),
        Tok::Ident("cfg".into()),
        Tok::Punct('('),
        Tok::Ident("test".into()),
        Tok::Punct(')'),
        Tok::Punct(']'),
    ];
    want.iter()
        .enumerate()
        .all(|(k, tok)| tokens.get(i + k).map(|t| &t.tok) == Some(tok))
}

/// The value of a `#[path = "..."]` attribute starting at `i`, read from the source line.
fn path_attribute(tokens: &[Token], i: usize, source: &str) -> Option<String> {
    if !(punct(tokens, i, '#') && punct(tokens, i + 1, '[') && ident(tokens, i + 2) == Some("path"))
    {
        return None;
    }
    let line = source.lines().nth(tokens[i].line - 1)?;
    let start = line.find('"')? + 1;
    let end = start + line[start..].find('"')?;
    Some(line[start..end].to_owned())
}

/// Expands the `use` tree starting at `i` into full paths; returns the index after it.
fn use_tree(
    tokens: &[Token],
    mut i: usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, Option<String>)>,
) -> usize {
    let mut path = prefix.to_vec();
    let mut glob = false;
    loop {
        match tokens.get(i).map(|t| &t.tok) {
            Some(Tok::Ident(word)) if word == "self" && !path.is_empty() => {
                i += 1;
            }
            Some(Tok::Ident(word)) => {
                path.push(word.clone());
                i += 1;
            }
            Some(Tok::Punct('*')) => {
                glob = true;
                i += 1;
            }
            Some(Tok::Punct('{')) => {
                i += 1;
                loop {
                    if punct(tokens, i, '}') {
                        return i + 1;
                    }
                    if i >= tokens.len() {
                        return i;
                    }
                    i = use_tree(tokens, i, &path, out);
                    if punct(tokens, i, ',') {
                        i += 1;
                    }
                }
            }
            _ => return i,
        }
        if path_sep(tokens, i) {
            i += 1;
            continue;
        }
        let mut binds = path.last().cloned().filter(|_| !glob);
        if ident(tokens, i) == Some("as") {
            binds = ident(tokens, i + 1).map(str::to_owned);
            i += 2;
        }
        if !path.is_empty() {
            out.push((path, binds));
        }
        return i;
    }
}

fn parse(source: &str) -> Parsed {
    let tokens = lex(source);
    let mut parsed = Parsed::default();
    if punct(&tokens, 0, '#') && punct(&tokens, 1, '!') {
        let mut inner = tokens[0..].to_vec();
        inner.remove(1);
        if is_cfg_test(&inner, 0) {
            return parsed;
        }
    }
    // `#[path = ".."]` values, by the index of the `mod` keyword they apply to.
    let mut path_attrs: HashMap<usize, String> = HashMap::new();
    let mut k = 0;
    while k < tokens.len() {
        if let Some(value) = path_attribute(&tokens, k, source) {
            let mut j = skip_group(&tokens, k + 1);
            while punct(&tokens, j, '#') && punct(&tokens, j + 1, '[') {
                j = skip_group(&tokens, j + 1);
            }
            if ident(&tokens, j) == Some("pub") {
                j += 1;
                if punct(&tokens, j, '(') {
                    j = skip_group(&tokens, j);
                }
            }
            if ident(&tokens, j) == Some("mod") {
                path_attrs.insert(j, value);
            }
        }
        k += 1;
    }
    // Inline modules we are inside, with the brace depth at which each closes.
    let mut stack: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let within = |stack: &[(String, usize)]| stack.iter().map(|(n, _)| n.clone()).collect();
    while i < tokens.len() {
        if punct(&tokens, i, '#') && punct(&tokens, i + 1, '[') {
            if is_cfg_test(&tokens, i) {
                let mut j = skip_group(&tokens, i + 1);
                while punct(&tokens, j, '#') && punct(&tokens, j + 1, '[') {
                    j = skip_group(&tokens, j + 1);
                }
                i = skip_item(&tokens, j);
                continue;
            }
            i = skip_group(&tokens, i + 1);
            continue;
        }
        if punct(&tokens, i, '#') && punct(&tokens, i + 1, '!') && punct(&tokens, i + 2, '[') {
            i = skip_group(&tokens, i + 2);
            continue;
        }
        match &tokens[i].tok {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                depth = depth.saturating_sub(1);
                if stack.last().is_some_and(|(_, d)| *d == depth) {
                    stack.pop();
                }
                i += 1;
            }
            Tok::Ident(word) if word == "mod" && ident(&tokens, i + 1).is_some() => {
                let name = ident(&tokens, i + 1).unwrap_or_default().to_owned();
                if punct(&tokens, i + 2, ';') {
                    parsed.mods.push(ModDecl {
                        within: within(&stack),
                        name,
                        file: Some(path_attrs.get(&i).cloned()),
                    });
                    i += 3;
                } else if punct(&tokens, i + 2, '{') {
                    parsed.mods.push(ModDecl {
                        within: within(&stack),
                        name: name.clone(),
                        file: None,
                    });
                    stack.push((name, depth));
                    depth += 1;
                    i += 3;
                } else {
                    i += 1;
                }
            }
            Tok::Ident(word) if word == "use" => {
                let line = tokens[i].line;
                let mut paths = Vec::new();
                let mut j = i + 1;
                if path_sep(&tokens, j) {
                    // `use ::name` names another crate.
                    i = skip_item(&tokens, j);
                    continue;
                }
                j = use_tree(&tokens, j, &[], &mut paths);
                for (segments, binds) in paths {
                    parsed.paths.push(PathRef {
                        within: within(&stack),
                        segments,
                        line,
                        binds,
                    });
                }
                i = j.max(i + 1);
            }
            // A path starts at an identifier followed by `::`, not after `::` or `.` (a method
            // call with a turbofish, `.parse::<u64>()`).
            Tok::Ident(first)
                if path_sep(&tokens, i + 1)
                    && !(i > 0 && (path_sep(&tokens, i - 1) || punct(&tokens, i - 1, '.'))) =>
            {
                // `pub(in crate::a)` is a visibility, not an import.
                let visibility = i >= 3
                    && ident(&tokens, i - 1) == Some("in")
                    && punct(&tokens, i - 2, '(')
                    && ident(&tokens, i - 3) == Some("pub");
                let line = tokens[i].line;
                let mut segments = vec![first.clone()];
                let mut j = i + 1;
                while path_sep(&tokens, j) {
                    match ident(&tokens, j + 1) {
                        Some(word) => {
                            segments.push(word.to_owned());
                            j += 2;
                        }
                        None => break,
                    }
                }
                if !visibility {
                    parsed.paths.push(PathRef {
                        within: within(&stack),
                        segments,
                        line,
                        binds: None,
                    });
                }
                i = j;
            }
            _ => i += 1,
        }
    }
    parsed
}

// ---------------------------------------------------------------------------------------------
// The graph of one crate.

/// Why file `from` imports file `to`: the first place it does.
#[derive(Debug, Clone)]
struct Edge {
    line: usize,
    path: String,
}

#[derive(Debug, Default)]
struct Graph {
    /// Every file of the crate that belongs to a module tree (test-only files excluded).
    files: BTreeSet<String>,
    /// `from -> to -> first import`.
    edges: BTreeMap<String, BTreeMap<String, Edge>>,
}

/// The directory in which the children of `file` live, and whether it is a crate root or
/// `mod.rs` (children beside it) or not (children in a directory named after it).
fn child_dir(file: &str, is_root: bool) -> String {
    let (dir, name) = match file.rsplit_once('/') {
        Some((dir, name)) => (format!("{dir}/"), name),
        None => (String::new(), file),
    };
    if is_root || name == "mod.rs" {
        dir
    } else {
        format!("{dir}{}/", name.trim_end_matches(".rs"))
    }
}

fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "." | "" => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The crate roots among `files` (paths relative to `src/`).
fn roots(files: &BTreeMap<String, String>) -> Vec<String> {
    files
        .keys()
        .filter(|f| {
            *f == "lib.rs"
                || *f == "main.rs"
                || (f.starts_with("bin/") && f.matches('/').count() == 1)
                || (f.starts_with("bin/") && f.ends_with("/main.rs") && f.matches('/').count() == 2)
        })
        .cloned()
        .collect()
}

/// Builds the import graph of one crate from its source files (paths relative to `src/`).
fn graph(files: &BTreeMap<String, String>) -> Graph {
    let mut graph = Graph::default();
    let parsed: HashMap<&String, Parsed> = files.iter().map(|(f, s)| (f, parse(s))).collect();
    for root in roots(files) {
        // Module path -> file, for this tree; inline modules map to the file holding them.
        let mut modules: HashMap<Vec<String>, String> = HashMap::new();
        // File -> its module path.
        let mut tree: Vec<(String, Vec<String>)> = Vec::new();
        let mut queue = VecDeque::from([(root.clone(), Vec::<String>::new())]);
        while let Some((file, module)) = queue.pop_front() {
            if tree.iter().any(|(f, _)| *f == file) {
                continue;
            }
            let Some(p) = parsed.get(&file) else { continue };
            modules.insert(module.clone(), file.clone());
            tree.push((file.clone(), module.clone()));
            let dir = child_dir(&file, file == root);
            for decl in &p.mods {
                let mut path = module.clone();
                path.extend(decl.within.iter().cloned());
                path.push(decl.name.clone());
                match &decl.file {
                    None => {
                        modules.insert(path, file.clone());
                    }
                    Some(attr) => {
                        let inline_dir: String =
                            decl.within.iter().map(|w| format!("{w}/")).collect();
                        let child = match attr {
                            Some(p) => normalize(&format!("{}{inline_dir}{p}", file_dir(&file))),
                            None => {
                                let base = format!("{dir}{inline_dir}{}", decl.name);
                                let flat = format!("{base}.rs");
                                if files.contains_key(&flat) {
                                    flat
                                } else {
                                    format!("{base}/mod.rs")
                                }
                            }
                        };
                        queue.push_back((child, path));
                    }
                }
            }
        }
        // Names the crate root brings in with `use` (re-exports included), and the paths they
        // stand for: `crate::ApiError` is the `ApiError` of `error` when the root says
        // `pub use error::ApiError`.
        let mut root_names: HashMap<String, Vec<String>> = HashMap::new();
        for r in parsed[&root].paths.iter().filter(|r| r.within.is_empty()) {
            let Some(name) = &r.binds else { continue };
            if let Some(path) = absolute(&modules, &[], &r.segments, &HashMap::new()) {
                root_names.insert(name.clone(), path);
            }
        }
        for (file, module) in &tree {
            graph.files.insert(file.clone());
            if *file == root {
                continue;
            }
            for r in &parsed[file].paths {
                let mut here = module.clone();
                here.extend(r.within.iter().cloned());
                let Some(target) = resolve(&modules, &here, &r.segments, &root_names) else {
                    continue;
                };
                if target != *file {
                    graph
                        .edges
                        .entry(file.clone())
                        .or_default()
                        .entry(target)
                        .or_insert(Edge {
                            line: r.line,
                            path: r.segments.join("::"),
                        });
                }
            }
        }
    }
    graph
}

fn file_dir(file: &str) -> String {
    match file.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/"),
        None => String::new(),
    }
}

/// The file a path written in module `here` names an item of, if it names one of this crate.
fn resolve(
    modules: &HashMap<Vec<String>, String>,
    here: &[String],
    segments: &[String],
    root_names: &HashMap<String, Vec<String>>,
) -> Option<String> {
    let absolute = absolute(modules, here, segments, root_names)?;
    (0..=absolute.len())
        .rev()
        .find_map(|n| modules.get(&absolute[..n]).cloned())
}

/// The path from the crate root that a path written in module `here` stands for, if it names an
/// item of this crate. A name the crate root imports or re-exports is followed to where it
/// comes from.
fn absolute(
    modules: &HashMap<Vec<String>, String>,
    here: &[String],
    segments: &[String],
    root_names: &HashMap<String, Vec<String>>,
) -> Option<Vec<String>> {
    let first = segments.first()?.as_str();
    let absolute: Vec<String> = match first {
        "crate" | "$crate" => segments[1..].to_vec(),
        "self" => here.iter().chain(&segments[1..]).cloned().collect(),
        "super" => {
            let up = segments.iter().take_while(|s| *s == "super").count();
            if up > here.len() {
                return None;
            }
            here[..here.len() - up]
                .iter()
                .chain(&segments[up..])
                .cloned()
                .collect()
        }
        _ => {
            let mut child = here.to_vec();
            child.push(first.to_owned());
            if !modules.contains_key(&child) {
                return None;
            }
            here.iter().chain(segments).cloned().collect()
        }
    };
    match absolute.split_first() {
        Some((name, rest)) if !modules.contains_key(&absolute[..1]) => match root_names.get(name) {
            Some(path) => Some(path.iter().chain(rest).cloned().collect()),
            None => Some(absolute),
        },
        _ => Some(absolute),
    }
}

/// The files that are in an import circle with other files: strongly connected components of more
/// than one file (Tarjan's algorithm).
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a Graph,
        index: HashMap<&'a str, usize>,
        low: HashMap<&'a str, usize>,
        on_stack: BTreeSet<&'a str>,
        stack: Vec<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        if let Some(targets) = s.graph.edges.get(v) {
            for w in targets.keys() {
                let w = w.as_str();
                if !s.index.contains_key(w) {
                    visit(s, w);
                    let low = s.low[v].min(s.low[w]);
                    s.low.insert(v, low);
                } else if s.on_stack.contains(w) {
                    let low = s.low[v].min(s.index[w]);
                    s.low.insert(v, low);
                }
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: HashMap::new(),
        low: HashMap::new(),
        on_stack: BTreeSet::new(),
        stack: Vec::new(),
        next: 0,
        found: Vec::new(),
    };
    let nodes: BTreeSet<&str> = graph
        .files
        .iter()
        .map(String::as_str)
        .chain(graph.edges.keys().map(String::as_str))
        .collect();
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found.sort();
    s.found
}

/// A shortest circle through `start`, as `file:line (path) -> file ... -> start`.
fn shortest_circle(graph: &Graph, start: &str) -> String {
    let mut came_from: HashMap<&str, &str> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    let mut end = None;
    'search: while let Some(v) = queue.pop_front() {
        for w in graph.edges.get(v).into_iter().flat_map(|t| t.keys()) {
            if w == start {
                end = Some(v);
                break 'search;
            }
            if !came_from.contains_key(w.as_str()) {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    let Some(mut v) = end else {
        return start.to_owned();
    };
    let mut chain = vec![start];
    while v != start {
        chain.push(v);
        v = came_from[v];
    }
    chain.push(start);
    chain.reverse();
    let mut text = String::new();
    for pair in chain.windows(2) {
        let edge = &graph.edges[pair[0]][pair[1]];
        let _ = write!(text, "{}:{} ({}) -> ", pair[0], edge.line, edge.path);
    }
    text.push_str(start);
    text
}

// ---------------------------------------------------------------------------------------------
// The workspace.

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directories of the workspace members (from the root `Cargo.toml`), the root included.
fn members(root: &Path) -> Vec<String> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("read Cargo.toml");
    let start = manifest.find("members").expect("workspace members");
    let list = &manifest[start..];
    let list = &list[list.find('[').expect("members list") + 1..list.find(']').expect("list end")];
    let mut dirs = vec![".".to_owned()];
    for member in list
        .split(',')
        .map(|m| m.trim().trim_matches('"'))
        .filter(|m| !m.is_empty())
    {
        if let Some(parent) = member.strip_suffix("/*") {
            let mut found: Vec<String> = std::fs::read_dir(root.join(parent))
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| e.path().join("Cargo.toml").is_file())
                .map(|e| format!("{parent}/{}", e.file_name().to_string_lossy()))
                .collect();
            found.sort();
            dirs.extend(found);
        } else {
            dirs.push(member.to_owned());
        }
    }
    dirs.retain(|d| root.join(d).join("src").is_dir());
    dirs
}

fn read_sources(dir: &Path, relative: &str, out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read src")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let rel = format!("{relative}{name}");
        if path.is_dir() {
            read_sources(&path, &format!("{rel}/"), out);
        } else if name.ends_with(".rs") {
            out.insert(rel, std::fs::read_to_string(&path).expect("read source"));
        }
    }
}

fn display(member: &str, file: &str) -> String {
    if member == "." {
        format!("src/{file}")
    } else {
        format!("{member}/src/{file}")
    }
}

/// Compares the circles of one crate's graph with the files allowed to be in one. Returns the
/// failures and appends the circles found to `report`.
fn check(
    member: &str,
    graph: &Graph,
    allowed: &BTreeSet<&str>,
    report: &mut String,
) -> Vec<String> {
    let mut failures = Vec::new();
    let found = circles(graph);
    let in_circle: BTreeSet<&str> = found.iter().flatten().map(String::as_str).collect();
    for component in &found {
        let _ = writeln!(
            report,
            "{member}: {} files in one import circle:",
            component.len()
        );
        for file in component {
            let circle = shortest_circle(graph, file);
            if allowed.contains(file.as_str()) {
                let _ = writeln!(report, "  [allowed] {circle}");
            } else {
                let _ = writeln!(report, "  [NEW] {circle}");
                failures.push(format!("{file} is in an import circle: {circle}"));
            }
        }
    }
    for file in allowed.difference(&in_circle) {
        failures.push(format!(
            "{file} is no longer in an import circle: remove it from ALLOWED in tests/imports.rs"
        ));
    }
    failures
}

#[test]
fn no_file_is_in_an_import_circle_with_other_files_of_its_crate() {
    let root = workspace_root();
    let mut report = String::new();
    let mut failures = Vec::new();
    let mut checked = Vec::new();
    for member in members(&root) {
        let mut files = BTreeMap::new();
        read_sources(&root.join(&member).join("src"), "", &mut files);
        let crate_graph = graph(&files);
        // Name files as the workspace does, `issuer/src/store/mod.rs`.
        let named = Graph {
            files: crate_graph
                .files
                .iter()
                .map(|f| display(&member, f))
                .collect(),
            edges: crate_graph
                .edges
                .iter()
                .map(|(from, to)| {
                    let to = to
                        .iter()
                        .map(|(t, e)| (display(&member, t), e.clone()))
                        .collect();
                    (display(&member, from), to)
                })
                .collect(),
        };
        checked.push(format!("{member} ({} files)", named.files.len()));
        let allowed: BTreeSet<&str> = ALLOWED
            .iter()
            .filter(|(m, _)| *m == member)
            .flat_map(|(_, files)| files.iter().copied())
            .collect();
        failures.extend(check(&member, &named, &allowed, &mut report));
    }
    for (member, _) in ALLOWED {
        if !checked.iter().any(|c| c.starts_with(&format!("{member} "))) {
            failures.push(format!(
                "ALLOWED names {member}, which is not a workspace member with src/"
            ));
        }
    }
    eprintln!("checked: {}", checked.join(", "));
    eprintln!("{report}");
    assert!(
        failures.is_empty(),
        "import circles:\n{}\n\n{report}",
        failures.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The checker itself, on small file sets.

fn sources(files: &[(&str, &str)]) -> BTreeMap<String, String> {
    files
        .iter()
        .map(|(f, s)| ((*f).to_owned(), (*s).to_owned()))
        .collect()
}

fn circles_of(files: &[(&str, &str)]) -> Vec<Vec<String>> {
    circles(&graph(&sources(files)))
}

#[test]
fn two_files_importing_each_other_are_a_circle() {
    let found = circles_of(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a.rs", "use crate::b::B;\npub struct A;\n"),
        (
            "b.rs",
            "pub struct B;\nfn f() -> crate::a::A { crate::a::A }\n",
        ),
    ]);
    assert_eq!(found, vec![vec!["a.rs".to_owned(), "b.rs".to_owned()]]);
}

#[test]
fn a_circle_through_a_grouped_use_is_found_and_printed_with_its_lines() {
    let files = sources(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a.rs", "use crate::{b::{self, B}, c};\npub struct A;\n"),
        ("b.rs", "pub struct B;\n\nuse super::a::A;\n"),
    ]);
    let g = graph(&files);
    assert_eq!(
        circles(&g),
        vec![vec!["a.rs".to_owned(), "b.rs".to_owned()]]
    );
    assert_eq!(
        shortest_circle(&g, "b.rs"),
        "b.rs:3 (super::a::A) -> a.rs:1 (crate::b) -> b.rs"
    );
}

#[test]
fn a_parent_re_exporting_a_child_that_imports_the_parent_is_a_circle() {
    let found = circles_of(&[
        ("lib.rs", "pub mod service;\n"),
        (
            "service/mod.rs",
            "mod keys;\npub use keys::Keys;\npub struct Issuer;\n",
        ),
        ("service/keys.rs", "use super::Issuer;\npub struct Keys;\n"),
    ]);
    assert_eq!(
        found,
        vec![vec![
            "service/keys.rs".to_owned(),
            "service/mod.rs".to_owned()
        ]]
    );
}

#[test]
fn a_child_importing_its_parent_alone_is_no_circle() {
    let found = circles_of(&[
        ("lib.rs", "pub mod service;\n"),
        ("service.rs", "pub mod keys;\npub struct Issuer;\n"),
        (
            "service/keys.rs",
            "use super::Issuer;\nuse crate::service::Issuer as I;\n",
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn imports_inside_cfg_test_modules_and_test_files_are_not_counted() {
    let found = circles_of(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a.rs", "use crate::b::B;\npub struct A;\n#[cfg(test)]\nmod tests;\n"),
        ("a/tests.rs", "use crate::b::*;\n"),
        (
            "b.rs",
            "pub struct B;\n#[cfg(test)]\n#[allow(dead_code)]\nmod tests {\n    use super::*;\n    use crate::a::A;\n    fn f() { let _ = crate::a::A; }\n}\n",
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn paths_in_comments_and_string_literals_are_not_imports() {
    let found = circles_of(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a.rs", "use crate::b::B;\npub struct A;\n"),
        (
            "b.rs",
            "//! See crate::a::A.\n/// [`crate::a::A`]\n/* crate::a /* nested */ crate::a */\npub struct B;\nconst S: &str = \"crate::a::A\";\nconst R: &str = r#\"use crate::a; \"\"#;\nconst C: char = '\"';\nconst Q: char = '\\'';\nconst P: [char; 2] = ['\\'','\"'];\nconst T: &str = \"crate::a::A\";\nconst B: u8 = b'\\'';\nconst E: &str = \"\\\" crate::a \\\"\";\nconst L: &[u8] = b\"super::a\";\nfn f<'a>(x: &'a str) -> &'a str { x }\n",
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn imports_from_the_crate_root_are_not_counted_and_a_binary_is_its_own_tree() {
    let found = circles_of(&[
        (
            "lib.rs",
            "pub mod a;\npub use a::A;\nuse crate::a::helper;\n",
        ),
        (
            "a.rs",
            "pub struct A;\npub fn helper() {}\nuse crate::A as Again;\n",
        ),
        ("main.rs", "mod cli;\nuse demo::a::A;\n"),
        ("cli/mod.rs", "pub mod run;\npub use run::go;\n"),
        ("cli/run.rs", "pub fn go() {}\n"),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn an_import_through_a_crate_root_re_export_is_an_import_of_the_defining_file() {
    let files = sources(&[
        (
            "lib.rs",
            "pub mod error;\npub mod store;\npub use error::ApiError;\nuse store::Row as StoreRow;\npub struct Config;\n",
        ),
        ("error.rs", "pub enum ApiError {}\nfn f(_: crate::StoreRow, _: crate::Config) {}\n"),
        ("store.rs", "use crate::ApiError;\npub struct Row;\n"),
    ]);
    let g = graph(&files);
    let store: Vec<&String> = g.edges["store.rs"].keys().collect();
    assert_eq!(store, vec!["error.rs"]);
    let error: Vec<&String> = g.edges["error.rs"].keys().collect();
    assert_eq!(error, vec!["lib.rs", "store.rs"]);
    assert_eq!(
        circles(&g),
        vec![vec!["error.rs".to_owned(), "store.rs".to_owned()]]
    );
}

#[test]
fn an_inline_child_module_path_and_super_from_an_inline_module_resolve_to_their_files() {
    let g = graph(&sources(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "a.rs",
            "mod inner {\n    use super::super::b::B;\n    fn f() { super::g(); }\n}\nfn g() {}\n",
        ),
        ("b.rs", "pub mod c;\npub struct B;\nfn h() { c::run(); }\n"),
        ("b/c.rs", "pub fn run() {}\n"),
    ]));
    let a: Vec<&String> = g.edges["a.rs"].keys().collect();
    assert_eq!(a, vec!["b.rs"]);
    let b: Vec<&String> = g.edges["b.rs"].keys().collect();
    assert_eq!(b, vec!["b/c.rs"]);
}

#[test]
fn a_path_attribute_names_the_module_file() {
    let found = circles_of(&[
        ("lib.rs", "#[path = \"odd/place.rs\"]\nmod a;\nmod b;\n"),
        ("odd/place.rs", "use crate::b::B;\npub struct A;\n"),
        ("b.rs", "pub struct B;\nuse crate::a::A;\n"),
    ]);
    assert_eq!(
        found,
        vec![vec!["b.rs".to_owned(), "odd/place.rs".to_owned()]]
    );
}

#[test]
fn a_visibility_path_and_a_method_turbofish_are_not_imports() {
    let found = circles_of(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a.rs", "use crate::b::B;\npub(in crate::a) struct A;\n"),
        (
            "b.rs",
            "pub struct B;\npub(in crate::a) fn f() {}\nfn g() { \"1\".a::<u8>(); }\n",
        ),
    ]);
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn a_new_file_in_a_circle_fails_and_an_allowed_one_passes() {
    let g = graph(&sources(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a.rs", "use crate::b::B;\npub struct A;\n"),
        ("b.rs", "use crate::a::A;\npub struct B;\n"),
    ]));
    let mut report = String::new();
    let failures = check("x", &g, &BTreeSet::from(["a.rs"]), &mut report);
    assert_eq!(
        failures,
        vec!["b.rs is in an import circle: b.rs:1 (crate::a::A) -> a.rs:1 (crate::b::B) -> b.rs"]
    );
    assert!(
        report.contains("[allowed] a.rs:1 (crate::b::B) -> b.rs:1 (crate::a::A) -> a.rs"),
        "{report}"
    );
    assert!(check("x", &g, &BTreeSet::from(["a.rs", "b.rs"]), &mut report).is_empty());
}

#[test]
fn an_allowed_file_that_left_every_circle_fails_until_it_is_removed_from_the_list() {
    let g = graph(&sources(&[
        ("lib.rs", "mod a;\nmod b;\n"),
        ("a.rs", "use crate::b::B;\npub struct A;\n"),
        ("b.rs", "pub struct B;\n"),
    ]));
    let mut report = String::new();
    let failures = check("x", &g, &BTreeSet::from(["a.rs"]), &mut report);
    assert_eq!(
        failures,
        vec!["a.rs is no longer in an import circle: remove it from ALLOWED in tests/imports.rs"]
    );
    assert!(check("x", &g, &BTreeSet::new(), &mut report).is_empty());
}
