//! The `threadlint` command line.

// Parsing allocates many small nodes from several threads at once; mimalloc is markedly
// faster at that than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod check;
mod graph;
mod render;
mod server;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Finds threading anti-patterns in Python code, explains them, and fixes them where a fix is
/// safe.
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
            println!("{:#?}", parsed.model);
            ExitCode::SUCCESS
        }
    }
}

fn rule_docs(rule: Option<&str>, all: bool) -> ExitCode {
    use threadlint_rules::RULES;
    if all {
        for (i, rule) in RULES.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print!("{}", rule.markdown_page());
        }
        return ExitCode::SUCCESS;
    }
    let wanted = rule.unwrap_or_default();
    match threadlint_rules::registry::find(wanted) {
        Some(rule) => {
            print!("{}", rule.markdown_page());
            ExitCode::SUCCESS
        }
        None => {
            eprintln!(
                "error: unknown rule `{wanted}`; the rules are {}",
                RULES.iter().map(|r| r.code).collect::<Vec<_>>().join(", ")
            );
            ExitCode::from(2)
        }
    }
}
