//! The project's lock-order graph as `threadlint graph` draws it: every lock, every edge
//! with its sites, cycles marked.

use super::*;

/// One lock of the project's lock-order graph.
#[derive(Clone, Debug)]
pub struct GraphLock {
    /// Its identity (`pkg.locks.ORDERS_LOCK`, `pkg.pool.Pool._lock`).
    pub name: LockName,
    /// How the code names it where it is first taken.
    pub display: String,
}

/// "`inner` is taken while `outer` is held", at one or more sites.
#[derive(Clone, Debug)]
pub struct GraphEdge {
    pub outer: usize,
    pub inner: usize,
    /// `(file index, site)` of each place it happens.
    pub sites: Vec<(usize, Span)>,
    /// Part of a cycle: a potential deadlock.
    pub in_cycle: bool,
}

/// The order in which the code takes its locks, joined over every file.
#[derive(Clone, Debug, Default)]
pub struct LockGraph {
    pub locks: Vec<GraphLock>,
    pub edges: Vec<GraphEdge>,
}

/// The lock-order graph of the summaries of every file (as for [`check`]).
pub fn graph(summaries: &[(usize, &str, &LockSummary)]) -> LockGraph {
    let (all, _) = joined_edges(summaries);
    let mut names: BTreeMap<&str, &str> = BTreeMap::new();
    for (_, _, edge) in &all {
        names.entry(&edge.outer).or_insert(&edge.outer_display);
        names.entry(&edge.inner).or_insert(&edge.inner_display);
    }
    let number: HashMap<&str, usize> = names.keys().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut adjacency: Vec<Vec<usize>> = vec![Vec::new(); names.len()];
    let mut edges: BTreeMap<(usize, usize), Vec<(usize, Span)>> = BTreeMap::new();
    for (file, _, edge) in &all {
        let (a, b) = (number[edge.outer.as_str()], number[edge.inner.as_str()]);
        if !adjacency[a].contains(&b) {
            adjacency[a].push(b);
        }
        let sites = edges.entry((a, b)).or_default();
        if !sites.contains(&(*file, edge.site)) {
            sites.push((*file, edge.site));
        }
    }
    let component = strongly_connected_components(&adjacency);
    let mut sizes: HashMap<usize, usize> = HashMap::default();
    for &c in &component {
        *sizes.entry(c).or_default() += 1;
    }
    LockGraph {
        locks: names
            .iter()
            .map(|(name, display)| GraphLock {
                name: name.to_string(),
                display: display.to_string(),
            })
            .collect(),
        edges: edges
            .into_iter()
            .map(|((outer, inner), sites)| GraphEdge {
                outer,
                inner,
                sites,
                in_cycle: component[outer] == component[inner] && sizes[&component[outer]] > 1,
            })
            .collect(),
    }
}
