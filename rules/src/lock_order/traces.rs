//! How threads get to a lock-order finding: one [`Trace`] per side of a cycle, with the calls
//! each makes while holding the first lock.

use super::*;

/// How threads take the locks of a cycle: the side of the reported edge first, then the other
/// edges of the cycle (at most [`MAX_TRACES`] in all), each with its calls.
pub(super) fn cycle_traces(
    sites: &[(usize, &str, &LockEdge)],
    index: usize,
    edge: &LockEdge,
    path: &str,
) -> Vec<Trace> {
    let mut traces = vec![side(edge, path, path)];
    for (other_index, &(_, other_path, other)) in sites.iter().enumerate() {
        if other_index == index || traces.len() >= MAX_TRACES {
            continue;
        }
        let (inner_display, outer_display) = distinct_names(other);
        let other = LockEdge {
            outer_display,
            inner_display,
            ..other.clone()
        };
        traces.push(side(&other, other_path, path));
    }
    traces
}

/// Sides of a cycle written out as traces for one finding.
const MAX_TRACES: usize = 8;

/// How a thread takes the two locks of `edge` (in the file `edge_path`), as a trace seen from
/// a finding in `finding_path`: where it takes the outer lock, the calls it makes holding it,
/// and where it takes the inner one.
pub(super) fn side(edge: &LockEdge, edge_path: &str, finding_path: &str) -> Trace {
    let step = |at: Option<&str>, span, message, kind, depth| TraceStep {
        file: Some(at.unwrap_or(edge_path))
            .filter(|at| *at != finding_path)
            .map(str::to_string),
        span,
        message,
        kind,
        depth,
    };
    let mut steps = vec![step(
        None,
        edge.outer_site,
        format!("`{}` acquired", edge.outer_display),
        StepKind::Acquire,
        0,
    )];
    match edge.callee_site {
        Some(callee_site) => {
            let called = edge.callee.as_deref().map_or_else(
                || "the function".to_string(),
                |name| format!("`{}`", short_name(name)),
            );
            steps.push(step(
                None,
                edge.site,
                format!("calls {called} holding `{}`", edge.outer_display),
                StepKind::Call,
                0,
            ));
            let mut depth = 1;
            for call in &edge.chain {
                steps.push(step(
                    call.file.as_deref(),
                    call.site,
                    format!("calls `{}`", short_name(&call.callee)),
                    StepKind::Call,
                    depth,
                ));
                depth += 1;
            }
            steps.push(step(
                edge.callee_file.as_deref(),
                callee_site,
                format!("`{}` acquired", edge.inner_display),
                StepKind::Acquire,
                depth,
            ));
        }
        None => steps.push(step(
            None,
            edge.site,
            format!(
                "`{}` acquired while holding `{}`",
                edge.inner_display, edge.outer_display
            ),
            StepKind::Acquire,
            0,
        )),
    }
    Trace {
        message: format!(
            "`{}` is taken, then `{}`",
            edge.outer_display, edge.inner_display
        ),
        steps,
    }
}
