//! Applying fixes to source text: edits are sorted, overlapping ones are skipped, and the result
//! must parse (no more syntax errors than before) or the fix is not applied.

use threadlint_rules::{Edit, Fix};

/// Applies `edits` (non-overlapping, any order) to `source`.
pub fn apply_edits(source: &str, edits: &[Edit]) -> Option<String> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out = String::with_capacity(source.len());
    let mut cursor = 0usize;
    for edit in sorted {
        let (start, end) = (edit.span.start as usize, edit.span.end as usize);
        if start < cursor || end > source.len() || start > end {
            return None;
        }
        out.push_str(source.get(cursor..start)?);
        out.push_str(&edit.content);
        cursor = end;
    }
    out.push_str(source.get(cursor..)?);
    Some(out)
}

/// The outcome of applying a set of fixes once.
pub struct Applied {
    pub source: String,
    pub applied: usize,
    /// Fixes skipped because they overlapped another or would not parse.
    pub rejected: usize,
    /// Indices (into the `fixes` given) of the fixes applied.
    pub chosen: Vec<usize>,
}

/// Applies as many of `fixes` as can be applied together: in source order, skipping those that
/// overlap an earlier one, and those after which `errors(new_source)` exceeds `errors(source)`.
pub fn apply_fixes(source: &str, fixes: &[&Fix], errors: &dyn Fn(&str) -> usize) -> Applied {
    let baseline = errors(source);
    let mut ordered: Vec<(usize, &Fix)> = fixes.iter().copied().enumerate().collect();
    ordered.sort_by_key(|(_, f)| f.edits.iter().map(|e| e.span.start).min());
    let mut chosen: Vec<Edit> = Vec::new();
    let mut chosen_fixes = Vec::new();
    let mut rejected = 0;
    let mut applied = 0;
    for (index, fix) in ordered {
        let overlaps = fix.edits.iter().any(|e| {
            chosen.iter().any(|c| {
                e.span.start < c.span.end.max(c.span.start + 1)
                    && c.span.start < e.span.end.max(e.span.start + 1)
            })
        });
        if overlaps {
            rejected += 1;
            continue;
        }
        // Each fix must parse on its own before it joins the others.
        match apply_edits(source, &fix.edits) {
            Some(alone) if errors(&alone) <= baseline => {
                chosen.extend(fix.edits.iter().cloned());
                chosen_fixes.push(index);
                applied += 1;
            }
            _ => rejected += 1,
        }
    }
    match apply_edits(source, &chosen) {
        Some(result) if errors(&result) <= baseline => Applied {
            source: result,
            applied,
            rejected,
            chosen: chosen_fixes,
        },
        _ => Applied {
            source: source.to_string(),
            applied: 0,
            rejected: rejected + applied,
            chosen: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use threadlint_rules::model::Span;
    use threadlint_rules::Applicability;

    fn fix(start: u32, end: u32, content: &str) -> Fix {
        Fix {
            applicability: Applicability::Safe,
            message: String::new(),
            edits: vec![Edit {
                span: Span::new(start, end),
                content: content.into(),
            }],
        }
    }

    #[test]
    fn overlapping_fixes_are_skipped() {
        let a = fix(0, 2, "while");
        let b = fix(1, 3, "x");
        let out = apply_fixes("if x: y", &[&a, &b], &|_| 0);
        assert_eq!(out.source, "while x: y");
        assert_eq!((out.applied, out.rejected), (1, 1));
    }

    #[test]
    fn fix_that_breaks_parsing_is_rejected() {
        let a = fix(0, 2, "if (");
        let out = apply_fixes("if x: y", &[&a], &|s: &str| s.matches('(').count());
        assert_eq!(out.source, "if x: y");
        assert_eq!(out.applied, 0);
    }
}
