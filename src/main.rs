//! The `threadlint` command line.

// Parsing allocates many small nodes from several threads at once; mimalloc is markedly
// faster at that than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod check;
mod graph;
mod render;
mod server;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Finds threading anti-patterns in Python and Rust code, explains them, and fixes them where a
/// fix is safe.
#[derive(Parser)]
#[command(name = "threadlint", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check files or folders (default: the current folder).
    Check(check::CheckArgs),
    /// Print the documentation of a rule (`threadlint rule TL002`) or of every rule (`--all`).
    Rule {
        /// A rule code (`TL002`) or name (`wait-not-in-loop`).
        #[arg(required_unless_present = "all")]
        rule: Option<String>,
        /// Print every rule's documentation.
        #[arg(long, conflicts_with = "rule")]
        all: bool,
    },
    /// Print the project's lock-order graph (Graphviz DOT or Mermaid), cycles in red.
    Graph(graph::GraphArgs),
    /// Run the language server (LSP over standard input and output).
    Server,
    /// Print the settings that apply to a path (default: the current folder) and where they
    /// come from.
    Config {
        #[arg(default_value = ".")]
        path: std::path::PathBuf,
        #[command(flatten)]
        config: check::ConfigArgs,
    },
    /// Print the concurrency model of a file (for rule authors).
    #[command(hide = true)]
    DebugModel { path: std::path::PathBuf },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return match error.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    match cli.command {
        Command::Check(args) => check::run(args),
        Command::Rule { rule, all } => rule_docs(rule.as_deref(), all),
        Command::Config { path, config } => check::show_config(config, path),
        Command::Graph(args) => graph::run(args),
        Command::Server => server::run(),
        Command::DebugModel { path } => {
            let source = match threadlint_analyzer::engine::read_source(&path) {
                Ok(source) => source,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let language = threadlint_analyzer::engine::language_of(&path)
                .unwrap_or(threadlint_rules::model::Language::Python);
            let parsed = threadlint_analyzer::engine::parse(language, &source);
            print_stdout(&format!("{:#?}\n", parsed.model))
        }
    }
}

/// Writes `text` to standard output. A reader that closed the pipe early (`| head`) has what
/// it wanted: that ends the command quietly, not with an error.
pub(crate) fn print_stdout(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: failed to write output: {e}");
            ExitCode::from(2)
        }
    }
}

/// A rule's page as a reader of the terminal wants it: the generated pages' note to
/// contributors (an HTML comment) is for the repository, not for them.
fn terminal_page(rule: &threadlint_rules::registry::Rule) -> String {
    let page = rule.markdown_page();
    let mut text = String::with_capacity(page.len());
    let mut lines = page.split_inclusive('\n').peekable();
    while let Some(line) = lines.next() {
        if line.starts_with("<!--") && line.trim_end().ends_with("-->") {
            // The comment stands between two blank lines: keep one of them.
            if lines.peek().is_some_and(|next| next.trim().is_empty()) {
                lines.next();
            }
            continue;
        }
        text.push_str(line);
    }
    text
}

fn rule_docs(rule: Option<&str>, all: bool) -> ExitCode {
    use threadlint_rules::RULES;
    if all {
        let pages: Vec<String> = RULES.iter().map(|rule| terminal_page(rule)).collect();
        return print_stdout(&pages.join("\n"));
    }
    let wanted = rule.unwrap_or_default();
    if let Some(rule) = threadlint_rules::registry::find(wanted) {
        print_stdout(&terminal_page(rule))
    } else {
        eprintln!(
            "error: unknown rule `{wanted}`; the rules are {}",
            RULES.iter().map(|r| r.code).collect::<Vec<_>>().join(", ")
        );
        ExitCode::from(2)
    }
}
