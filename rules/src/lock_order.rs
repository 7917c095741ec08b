//! The whole-program lock-order graph (rule TL004's engine).
//!
//! Each file contributes a [`LockSummary`]: its nested acquisitions (lock `b` taken while `a`
//! is held, directly or through a call to a function of the same file) with their sites. The
//! summaries of every file are joined into one graph; each strongly connected component with
//! more than one lock is a potential deadlock, and every edge inside it is reported.

use std::collections::{BTreeMap, HashMap};

use crate::diagnostic::{Finding, Related};
use crate::model::{ObjKey, Span};
use crate::registry::Context;

/// A lock's identity across the whole program.
pub type LockName = String;

/// `inner` acquired while `outer` is held.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LockEdge {
    pub outer: LockName,
    pub inner: LockName,
    pub outer_display: String,
    pub inner_display: String,
    /// Where `inner` is taken (or the call that leads to it) in the holding function.
    pub site: Span,
    /// Where `outer` is taken.
    pub outer_site: Span,
    /// For an acquisition inside a callee: where the callee takes `inner`.
    pub callee_site: Option<Span>,
    /// Both locks come from parameters of the holding function, by the same attribute path
    /// (`a.lock`, `b.lock`): their order depends on the arguments.
    pub parameter_order: bool,
}

/// What one file contributes to the lock-order graph.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct LockSummary {
    pub edges: Vec<LockEdge>,
}

/// The identity of `key` across files: objects are scoped to the file that names them.
fn lock_name(file: &str, key: &ObjKey) -> LockName {
    match key {
        ObjKey::Local { function, name } => format!("{file}::fn{}::{name}", function.0),
        ObjKey::Param {
            function,
            index,
            path,
        } => {
            format!("{file}::fn{}::param{index}.{}", function.0, path.join("."))
        }
        other => format!("{file}::{other}"),
    }
}

/// The nested acquisitions of one file, as edges between lock names.
pub fn summarize(cx: &Context, file: &str) -> LockSummary {
    let model = cx.model;
    let mut edges = Vec::new();
    // Locks used as signals between threads are waited on, not held around other locks.
    let handoff = cx.handoff_locks();
    for nested in cx.nested_acquisitions() {
        if handoff.contains(&nested.outer.lock) || handoff.contains(&nested.inner_lock) {
            continue;
        }
        let outer = &model.object(nested.outer.lock);
        let inner = &model.object(nested.inner_lock);
        if nested.outer.lock == nested.inner_lock
            || !outer.kind.is_mutex()
            || !inner.kind.is_mutex()
        {
            continue;
        }
        let parameter_order = match (&outer.key, &inner.key) {
            (
                ObjKey::Param {
                    function: f1,
                    index: i1,
                    path: p1,
                },
                ObjKey::Param {
                    function: f2,
                    index: i2,
                    path: p2,
                },
            ) => f1 == f2 && i1 != i2 && p1 == p2,
            _ => false,
        };
        edges.push(LockEdge {
            outer: lock_name(file, &outer.key),
            inner: lock_name(file, &inner.key),
            outer_display: model.object(nested.outer.obj).display.clone(),
            inner_display: model.object(nested.inner_obj).display.clone(),
            site: nested.site,
            outer_site: nested.outer.site,
            callee_site: nested.through.as_ref().map(|t| t.site),
            parameter_order,
        });
    }
    LockSummary { edges }
}

/// TL004 findings over the summaries of every file, given as `(file index, path, summary)`:
/// `(file index, finding)`.
pub fn check(summaries: &[(usize, &str, &LockSummary)]) -> Vec<(usize, Finding)> {
    let mut findings = Vec::new();
    // Deterministic node numbering.
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, summary) in summaries {
        for edge in &summary.edges {
            names.entry(&edge.outer).or_insert(0);
            names.entry(&edge.inner).or_insert(0);
        }
    }
    for (i, value) in names.values_mut().enumerate() {
        *value = i;
    }
    let mut graph: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    for (_, _, summary) in summaries {
        for edge in &summary.edges {
            let (a, b) = (names[edge.outer.as_str()], names[edge.inner.as_str()]);
            if !graph[a].contains(&b) {
                graph[a].push(b);
            }
        }
    }
    let component = strongly_connected_components(&graph);
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    for &c in &component {
        *sizes.entry(c).or_default() += 1;
    }
    // Every edge inside a cycle, grouped by cycle.
    let mut cycles: BTreeMap<usize, Vec<(usize, &str, &LockEdge)>> = BTreeMap::new();
    for &(file, path, summary) in summaries {
        for edge in &summary.edges {
            let (a, b) = (names[edge.outer.as_str()], names[edge.inner.as_str()]);
            if component[a] == component[b] && sizes[&component[a]] > 1 {
                cycles
                    .entry(component[a])
                    .or_default()
                    .push((file, path, edge));
            }
        }
    }
    for sites in cycles.values() {
        for (index, &(file, _, edge)) in sites.iter().enumerate() {
            let mut related = Vec::new();
            related.push(Related {
                file: None,
                span: edge.outer_site,
                message: format!("`{}` acquired first here", edge.outer_display),
            });
            if let Some(callee_site) = edge.callee_site {
                related.push(Related {
                    file: None,
                    span: callee_site,
                    message: format!(
                        "`{}` acquired inside the called function here",
                        edge.inner_display
                    ),
                });
            }
            for (other_index, &(other_file, other_path, other)) in sites.iter().enumerate() {
                if other_index == index {
                    continue;
                }
                related.push(Related {
                    file: (other_file != file).then(|| other_path.to_string()),
                    span: other.site,
                    message: format!(
                        "`{}` acquired while holding `{}` here",
                        other.inner_display, other.outer_display
                    ),
                });
            }
            let through = if edge.callee_site.is_some() {
                " (through this call)"
            } else {
                ""
            };
            let message = format!(
                "`{inner}` is acquired{through} while holding `{outer}`, but elsewhere `{outer}` is acquired while holding `{inner}`: two threads taking them in opposite orders deadlock",
                inner = edge.inner_display,
                outer = edge.outer_display,
            );
            findings.push((
                file,
                Finding::new(
                    "TL004",
                    edge.site,
                    message,
                    "Take these locks in one global order everywhere (or replace them with a single coarser lock)",
                )
                .with_related(related),
            ));
        }
    }
    // Locks taken from parameters in argument order: `transfer(a, b)` and `transfer(b, a)`
    // running at once deadlock, whatever the rest of the program does.
    for &(file, _, summary) in summaries {
        for edge in summary.edges.iter().filter(|e| e.parameter_order) {
            let (a, b) = (names[edge.outer.as_str()], names[edge.inner.as_str()]);
            if component[a] == component[b] && sizes[&component[a]] > 1 {
                continue;
            }
            findings.push((
                file,
                Finding::new(
                    "TL004",
                    edge.site,
                    format!(
                        "`{}` is acquired while holding `{}`, both taken from parameters in argument order: two calls with the arguments swapped deadlock",
                        edge.inner_display, edge.outer_display
                    ),
                    "Acquire the two locks in an order that does not depend on the arguments, e.g. sorted by `id()`",
                )
                .with_related(vec![Related {
                    file: None,
                    span: edge.outer_site,
                    message: format!("`{}` acquired first here", edge.outer_display),
                }]),
            ));
        }
    }
    // The same site can close a cycle through several held locks (a reentrant lock held twice):
    // report it once.
    findings.sort_by(|(fa, a), (fb, b)| (fa, a.span, &a.message).cmp(&(fb, b.span, &b.message)));
    findings.dedup_by(|(fa, a), (fb, b)| fa == fb && a.span == b.span && a.message == b.message);
    findings
}

/// Tarjan's algorithm, iterative (graphs from real code can be deep). Returns the component of
/// each node.
fn strongly_connected_components(graph: &[Vec<usize>]) -> Vec<usize> {
    let n = graph.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut component = vec![usize::MAX; n];
    let mut next_index = 0;
    let mut next_component = 0;
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (node, ref mut child)) = work.last_mut() {
            if *child == 0 && index[node] == usize::MAX {
                index[node] = next_index;
                low[node] = next_index;
                next_index += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&next) = graph[node].get(*child) {
                *child += 1;
                if index[next] == usize::MAX {
                    work.push((next, 0));
                } else if on_stack[next] {
                    low[node] = low[node].min(index[next]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
            if low[node] == index[node] {
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component[member] = next_component;
                    if member == node {
                        break;
                    }
                }
                next_component += 1;
            }
        }
    }
    component
}

#[cfg(test)]
mod tests {
    use super::strongly_connected_components;

    #[test]
    fn finds_cycles() {
        let graph = vec![vec![1], vec![2], vec![0], vec![0]];
        let c = strongly_connected_components(&graph);
        assert_eq!(c[0], c[1]);
        assert_eq!(c[1], c[2]);
        assert_ne!(c[3], c[0]);
    }
}
