//! `--add-noqa`: a `# noqa: CODE` comment at the end of each line that has findings, merged
//! into a `noqa` comment the line already has, after any other comment it has.

use std::collections::{BTreeMap, BTreeSet};

use threadlint_rules::model::Language;

use crate::diagnostic::FileReport;
use crate::discover::language_of;

/// The source of `file` with suppression comments added for its findings, and how many lines
/// changed. Lines that may end inside a multi-line string are left alone.
pub fn add(file: &FileReport) -> (String, usize) {
    let comment = match language_of(&file.path) {
        Some(Language::Rust) => "//",
        _ => "#",
    };
    let mut codes: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
    for diagnostic in &file.diagnostics {
        if let Some(code) = diagnostic.code {
            codes
                .entry(file.lines.line_of(diagnostic.span.start))
                .or_default()
                .insert(code);
        }
    }
    let source = &file.source;
    let mut out = String::with_capacity(source.len() + codes.len() * 16);
    let mut changed = 0;
    let mut cursor = 0;
    for (line, wanted) in codes {
        let start = file.lines.line_start(line) as usize;
        let text = file.lines.line_text(source, line);
        let end = start + text.len();
        if text.contains("\"\"\"") || text.contains("'''") || text.trim_end().ends_with('\\') {
            continue;
        }
        let Some(new_line) = with_noqa(text, comment, &wanted) else {
            continue;
        };
        out.push_str(&source[cursor..start]);
        out.push_str(&new_line);
        cursor = end;
        changed += 1;
    }
    out.push_str(&source[cursor..]);
    (out, changed)
}

/// `text` with `codes` added to its `noqa` comment (or a new one); `None` when they are all
/// there already.
pub fn with_noqa(text: &str, comment: &str, codes: &BTreeSet<&str>) -> Option<String> {
    let marker = format!("{comment} noqa");
    if let Some(pos) = text.find(&marker) {
        let rest = &text[pos + marker.len()..];
        let Some(list) = rest.strip_prefix(':') else {
            // A bare `noqa` already suppresses everything.
            return None;
        };
        let list_end = list.find(comment).unwrap_or(list.len());
        let mut existing: BTreeSet<String> = list[..list_end]
            .split([',', ' '])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect();
        let before = existing.len();
        existing.extend(codes.iter().map(std::string::ToString::to_string));
        if existing.len() == before {
            return None;
        }
        let joined = existing.into_iter().collect::<Vec<_>>().join(", ");
        return Some(format!(
            "{}{marker}: {joined}{}",
            &text[..pos],
            &list[list_end..]
        ));
    }
    let joined = codes.iter().copied().collect::<Vec<_>>().join(", ");
    Some(format!("{}  {marker}: {joined}", text.trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set<'a>(codes: &[&'a str]) -> BTreeSet<&'a str> {
        codes.iter().copied().collect()
    }

    #[test]
    fn adds_and_merges() {
        assert_eq!(
            with_noqa("    lock.acquire()", "#", &set(&["TL001"])).unwrap(),
            "    lock.acquire()  # noqa: TL001"
        );
        assert_eq!(
            with_noqa("x()  # noqa: TL005", "#", &set(&["TL001"])).unwrap(),
            "x()  # noqa: TL001, TL005"
        );
        assert_eq!(with_noqa("x()  # noqa: TL001", "#", &set(&["TL001"])), None);
        assert_eq!(with_noqa("x()  # noqa", "#", &set(&["TL001"])), None);
        assert_eq!(
            with_noqa("x()  # why: reasons", "#", &set(&["TL002"])).unwrap(),
            "x()  # why: reasons  # noqa: TL002"
        );
    }
}
