//! Applying fixes to source text: edits are sorted, overlapping ones are skipped, and the result
//! must parse (no more syntax errors than before) or the fix is not applied. [`release_paths`]
//! summarises what each path through a function leaves locked, so that a fix which changes it
//! (a release left inside the `with` block that replaced its acquisition) can be refused.

use std::collections::{BTreeMap, BTreeSet};

use threadlint_rules::model::{
    AcquireHow, Event, EventKind, ExitKind, FileModel, LoopKind, Node, ObjKey, Scope, ScopeKind,
};
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
pub(crate) struct Applied {
    pub source: String,
    /// How many of the fixes were applied.
    pub count: usize,
    /// Indices (into the `fixes` given) of the fixes applied.
    pub chosen: Vec<usize>,
}

/// Applies as many of `fixes` as can be applied together: in source order, skipping those that
/// overlap an earlier one, and those after which `errors(new_source)` exceeds `errors(source)`.
pub(crate) fn apply_fixes(source: &str, fixes: &[&Fix], errors: &dyn Fn(&str) -> usize) -> Applied {
    let baseline = errors(source);
    let mut ordered: Vec<(usize, &Fix)> = fixes.iter().copied().enumerate().collect();
    ordered.sort_by_key(|(_, f)| f.edits.iter().map(|e| e.span.start).min());
    let mut chosen: Vec<Edit> = Vec::new();
    let mut chosen_fixes = Vec::new();
    let mut applied = 0;
    for (index, fix) in ordered {
        let overlaps = fix.edits.iter().any(|e| {
            chosen.iter().any(|c| {
                e.span.start < c.span.end.max(c.span.start + 1)
                    && c.span.start < e.span.end.max(e.span.start + 1)
            })
        });
        if overlaps {
            continue;
        }
        // Each fix must parse on its own before it joins the others.
        match apply_edits(source, &fix.edits) {
            Some(alone) if errors(&alone) <= baseline => {
                chosen.extend(fix.edits.iter().cloned());
                chosen_fixes.push(index);
                applied += 1;
            }
            _ => {}
        }
    }
    match apply_edits(source, &chosen) {
        Some(result) if errors(&result) <= baseline => Applied {
            source: result,
            count: applied,
            chosen: chosen_fixes,
        },
        _ => Applied {
            source: source.to_string(),
            count: 0,
            chosen: Vec::new(),
        },
    }
}

/// How many more times each lock was acquired than released at the end of one path (locks at
/// zero left out). A `with` block or a guard bound with `let` releases what it acquires, so it
/// counts for nothing.
pub(crate) type Balance = BTreeMap<ObjKey, i32>;

/// Each function's qualified name with the balances its paths end with: paths that complete
/// or `return`, never those that raise (making them release is what a `with` fix is for).
/// `None` when a function has too many paths to follow. `if` arms, one pass through a loop
/// (two through `while True`), `try` bodies, `except` arms from the start of the `try`, and
/// `finally` on every way out are followed.
pub(crate) fn release_paths(model: &FileModel) -> Vec<(String, Option<BTreeSet<Balance>>)> {
    model
        .functions
        .iter()
        .map(|function| {
            let mut walker = Walker {
                model,
                steps: 0,
                overflow: false,
            };
            let start: Paths = BTreeSet::from([Balance::new()]);
            let out = walker.body(&function.body, start);
            let mut ends = out.normal;
            ends.extend(out.returned);
            (
                function.qualified_name(),
                (!walker.overflow).then_some(ends),
            )
        })
        .collect()
}

/// Whether some function present in both has paths that end with other balances after a fix.
pub(crate) fn release_paths_differ(
    before: &[(String, Option<BTreeSet<Balance>>)],
    after: &[(String, Option<BTreeSet<Balance>>)],
) -> bool {
    // Functions are matched by name and by their rank among functions of that name.
    let ranked = |list: &'_ [(String, Option<BTreeSet<Balance>>)]| {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        list.iter()
            .map(|(name, paths)| {
                let rank = seen.entry(name.clone()).or_default();
                *rank += 1;
                ((name.clone(), *rank), paths.clone())
            })
            .collect::<BTreeMap<_, _>>()
    };
    let before = ranked(before);
    let after = ranked(after);
    before.iter().any(|(key, old)| match (old, after.get(key)) {
        (Some(old), Some(Some(new))) => old != new,
        _ => false,
    })
}

type Paths = BTreeSet<Balance>;

/// Where the paths through a statement list go.
#[derive(Default)]
struct Outcomes {
    normal: Paths,
    returned: Paths,
    broke: Paths,
    continued: Paths,
}

impl Outcomes {
    fn take_exits(&mut self, other: &mut Outcomes) {
        self.returned.append(&mut other.returned);
        self.broke.append(&mut other.broke);
        self.continued.append(&mut other.continued);
    }
}

/// Paths of one function are followed until this many nodes have been visited.
const MAX_STEPS: usize = 100_000;
const MAX_PATHS: usize = 256;

struct Walker<'a> {
    model: &'a FileModel,
    steps: usize,
    overflow: bool,
}

impl Walker<'_> {
    fn body(&mut self, nodes: &[Node], input: Paths) -> Outcomes {
        let mut out = Outcomes::default();
        let mut current = input;
        let mut index = 0;
        while index < nodes.len() && !current.is_empty() && !self.overflow {
            self.steps += 1;
            if self.steps > MAX_STEPS || current.len() > MAX_PATHS {
                self.overflow = true;
                break;
            }
            match &nodes[index] {
                Node::Event(event) => current = self.event(event, current, &mut out),
                Node::Scope(scope) => match &scope.kind {
                    ScopeKind::Branch(info) => {
                        // This arm and the `elif`/`else` (or `match`) arms after it.
                        let mut arms = vec![scope];
                        while let Some(Node::Scope(next)) = nodes.get(index + 1) {
                            match &next.kind {
                                ScopeKind::Branch(b) if !b.first => {
                                    arms.push(next);
                                    index += 1;
                                }
                                _ => break,
                            }
                        }
                        let mut after = if info.has_else {
                            Paths::new()
                        } else {
                            current.clone()
                        };
                        for arm in arms {
                            let mut o = self.body(&arm.body, current.clone());
                            after.append(&mut o.normal);
                            out.take_exits(&mut o);
                        }
                        current = after;
                    }
                    ScopeKind::Loop(info) => {
                        current = self.loop_(scope, info.kind, current, &mut out);
                    }
                    ScopeKind::TryStatement => {
                        current = self.try_statement(scope, current, &mut out);
                    }
                    _ => {
                        let mut o = self.body(&scope.body, current);
                        out.take_exits(&mut o);
                        current = o.normal;
                    }
                },
            }
            index += 1;
        }
        out.normal.append(&mut current);
        out
    }

    fn event(&mut self, event: &Event, mut current: Paths, out: &mut Outcomes) -> Paths {
        let change = |current: Paths, lock: &ObjKey, by: i32| -> Paths {
            current
                .into_iter()
                .map(|mut balance| {
                    let value = balance.entry(lock.clone()).or_default();
                    *value += by;
                    if *value == 0 {
                        balance.remove(lock);
                    }
                    balance
                })
                .collect()
        };
        match &event.kind {
            // A Rust temporary guard is followed by the release at the end of its statement.
            EventKind::Acquire { obj, how, .. } if *how != AcquireHow::Scoped => {
                let key = &self.model.object(self.model.lock_of(*obj)).key;
                change(current, key, 1)
            }
            EventKind::Release { obj } => {
                let key = &self.model.object(self.model.lock_of(*obj)).key;
                change(current, key, -1)
            }
            EventKind::Exit(kind) => {
                match kind {
                    ExitKind::Return => out.returned.append(&mut current),
                    ExitKind::Break => out.broke.append(&mut current),
                    ExitKind::Continue => out.continued.append(&mut current),
                    ExitKind::Raise => {}
                }
                Paths::new()
            }
            _ => current,
        }
    }

    fn loop_(
        &mut self,
        scope: &Scope,
        kind: LoopKind,
        current: Paths,
        out: &mut Outcomes,
    ) -> Paths {
        let infinite = kind == LoopKind::Infinite;
        let mut after = if infinite {
            Paths::new()
        } else {
            current.clone()
        };
        let mut first = self.body(&scope.body, current);
        after.append(&mut first.broke);
        out.returned.append(&mut first.returned);
        let mut again = first.normal;
        again.append(&mut first.continued);
        if infinite {
            let mut second = self.body(&scope.body, again);
            after.append(&mut second.broke);
            out.returned.append(&mut second.returned);
        } else {
            after.append(&mut again);
        }
        after
    }

    fn try_statement(&mut self, scope: &Scope, current: Paths, out: &mut Outcomes) -> Paths {
        let mut ends = Outcomes::default();
        let mut normal = Paths::new();
        if let Some(body) = scope.part(|k| matches!(k, ScopeKind::Try)) {
            let mut o = self.body(&body.body, current.clone());
            ends.take_exits(&mut o);
            normal = o.normal;
        }
        if let Some(otherwise) = scope.part(|k| matches!(k, ScopeKind::TryElse)) {
            let mut o = self.body(&otherwise.body, normal);
            ends.take_exits(&mut o);
            normal = o.normal;
        }
        for node in &scope.body {
            if let Node::Scope(handler) = node {
                if matches!(handler.kind, ScopeKind::Except(_)) {
                    let mut o = self.body(&handler.body, current.clone());
                    ends.take_exits(&mut o);
                    normal.append(&mut o.normal);
                }
            }
        }
        ends.normal = normal;
        let Some(finally) = scope.part(|k| matches!(k, ScopeKind::Finally)) else {
            out.take_exits(&mut ends);
            return ends.normal;
        };
        // Every way out runs the `finally:` suite, then goes on its way (unless the suite
        // itself leaves).
        let mut through = |paths: Paths, out: &mut Outcomes| -> Paths {
            if paths.is_empty() {
                return paths;
            }
            let mut o = self.body(&finally.body, paths);
            out.take_exits(&mut o);
            o.normal
        };
        let mut returned = through(std::mem::take(&mut ends.returned), out);
        let mut broke = through(std::mem::take(&mut ends.broke), out);
        let mut continued = through(std::mem::take(&mut ends.continued), out);
        out.returned.append(&mut returned);
        out.broke.append(&mut broke);
        out.continued.append(&mut continued);
        through(std::mem::take(&mut ends.normal), out)
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
        assert_eq!((out.count, out.chosen), (1, vec![0]));
    }

    fn paths(source: &str, function: &str) -> Vec<Vec<i32>> {
        let parsed = crate::engine::parse(threadlint_rules::model::Language::Python, source);
        let model = parsed.model.expect("a model");
        let (_, ends) = release_paths(&model)
            .into_iter()
            .find(|(name, _)| name == function)
            .expect("the function");
        ends.expect("few paths")
            .iter()
            .map(|balance| balance.values().copied().collect())
            .collect()
    }

    const LOCK: &str = "import threading\nlock = threading.Lock()\n\n";

    #[test]
    fn an_early_release_inside_with_releases_twice_on_its_path() {
        let source = format!("{LOCK}def f(q):\n    with lock:\n        if not q:\n            lock.release()\n            return\n        q.pop()\n");
        assert_eq!(paths(&source, "f"), vec![vec![], vec![-1]]);
    }

    #[test]
    fn finally_releases_on_return_and_raising_paths_are_left_out() {
        let source = format!("{LOCK}def f(q):\n    lock.acquire()\n    try:\n        if not q:\n            return None\n        if q[0] is None:\n            raise ValueError()\n        return q.pop()\n    finally:\n        lock.release()\n");
        assert_eq!(paths(&source, "f"), vec![Vec::<i32>::new()]);
    }

    #[test]
    fn continue_that_skips_the_release_keeps_the_lock() {
        let source = format!("{LOCK}def f(items):\n    for item in items:\n        lock.acquire()\n        if item is None:\n            continue\n        lock.release()\n");
        assert_eq!(paths(&source, "f"), vec![vec![], vec![1]]);
    }

    #[test]
    fn fix_that_breaks_parsing_is_rejected() {
        let a = fix(0, 2, "if (");
        let out = apply_fixes("if x: y", &[&a], &|s: &str| s.matches('(').count());
        assert_eq!(out.source, "if x: y");
        assert_eq!(out.count, 0);
    }
}
