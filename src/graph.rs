//! `threadlint graph`: the project's lock-order graph, as Graphviz DOT or Mermaid, with the
//! cycles (potential deadlocks) highlighted.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use threadlint_analyzer::engine::{self, Input, ProjectGraph, RunOptions};

use crate::check::ConfigArgs;

#[derive(clap::Args)]
pub struct GraphArgs {
    /// Files or folders (default: the current folder).
    paths: Vec<PathBuf>,
    /// `dot` (Graphviz: `threadlint graph | dot -Tsvg > locks.svg`) or `mermaid` (renders in
    /// GitHub and GitLab Markdown).
    #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
    format: GraphFormat,
    /// Only the locks and edges that are part of a cycle.
    #[arg(long)]
    cycles_only: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum GraphFormat {
    Dot,
    Mermaid,
}

pub fn run(args: GraphArgs) -> ExitCode {
    let resolver = match args.config.resolver() {
        Ok(resolver) => resolver,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths
    };
    let options = RunOptions {
        project_context: true,
        ..RunOptions::default()
    };
    let project = engine::lock_graph(Input::Paths(paths), &resolver, &options);
    let text = match args.format {
        GraphFormat::Dot => dot(&project, args.cycles_only),
        GraphFormat::Mermaid => mermaid(&project, args.cycles_only),
    };
    // A closed pipe (`| head`) ends the output quietly.
    let _ = std::io::stdout().write_all(text.as_bytes());
    ExitCode::SUCCESS
}

/// The locks and edges to draw, with each edge's first site as `path:line` and how many more.
struct Drawn<'a> {
    locks: Vec<(usize, &'a str, &'a str)>,
    edges: Vec<(usize, usize, String, bool)>,
}

fn drawn(project: &ProjectGraph, cycles_only: bool) -> Drawn<'_> {
    let graph = &project.graph;
    let edges: Vec<_> = graph
        .edges
        .iter()
        .filter(|edge| edge.in_cycle || !cycles_only)
        .collect();
    let mut used = vec![false; graph.locks.len()];
    for edge in &edges {
        used[edge.outer] = true;
        used[edge.inner] = true;
    }
    Drawn {
        locks: graph
            .locks
            .iter()
            .enumerate()
            .filter(|(i, _)| used[*i])
            .map(|(i, lock)| (i, lock.display.as_str(), lock.name.as_str()))
            .collect(),
        edges: edges
            .iter()
            .map(|edge| {
                let (file, site) = edge.sites[0];
                let (path, lines) = &project.files[file];
                let mut label = format!("{path}:{}", lines.line_of(site.start) + 1);
                if edge.sites.len() > 1 {
                    let _ = write!(label, " (+{} more)", edge.sites.len() - 1);
                }
                (edge.outer, edge.inner, label, edge.in_cycle)
            })
            .collect(),
    }
}

fn dot(project: &ProjectGraph, cycles_only: bool) -> String {
    let quote = |text: &str| text.replace('\\', "\\\\").replace('"', "\\\"");
    let drawn = drawn(project, cycles_only);
    let mut out = String::from(
        "digraph lock_order {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n",
    );
    for (i, display, name) in &drawn.locks {
        let _ = writeln!(
            out,
            "  n{i} [label=\"{}\\n{}\"];",
            quote(display),
            quote(name)
        );
    }
    for (outer, inner, label, in_cycle) in &drawn.edges {
        let style = if *in_cycle {
            ", color=red, fontcolor=red, penwidth=2"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  n{outer} -> n{inner} [label=\"{}\"{style}];",
            quote(label)
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid(project: &ProjectGraph, cycles_only: bool) -> String {
    // Mermaid labels are quoted; a quote inside is written as an entity.
    let quote = |text: &str| text.replace('"', "#quot;");
    let drawn = drawn(project, cycles_only);
    let mut out = String::from("flowchart LR\n");
    for (i, display, name) in &drawn.locks {
        let _ = writeln!(out, "  n{i}[\"{}<br/>{}\"]", quote(display), quote(name));
    }
    let mut red = Vec::new();
    for (index, (outer, inner, label, in_cycle)) in drawn.edges.iter().enumerate() {
        let _ = writeln!(out, "  n{outer} -->|\"{}\"| n{inner}", quote(label));
        if *in_cycle {
            red.push(index.to_string());
        }
    }
    if !red.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:red,stroke-width:2px",
            red.join(",")
        );
    }
    out
}
