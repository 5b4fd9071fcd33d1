//! `cargo run -p xtask -- <task>`: developer tasks that need more than a shell line.
//!
//! - `weight DIR [--budget-kb N] [--total-budget-kb N]`: what a page downloads for the widget, raw / gzip /
//!   brotli; fails over budget.
//! - `bench --server BIN`: starts the release server on a fresh database and measures it (see `bench.rs`).
//! - `bundle WASM DIR`: the shipped widget from the compiled wasm, split into modules (see `bundle.rs`).
//! - `cold-start --server BIN --assets DIR`: how soon a restarted server answers (see `cold_start.rs`).
//! - `import-bench --server BIN`: a generated 1,000,000-comment Disqus export imported (see `import_bench.rs`).

mod bench;
mod bundle;
mod cold_start;
mod import_bench;
mod imports;
mod live;
mod mail_bench;
mod weight;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Developer tasks of otklik (the Makefile runs them).
#[derive(Parser)]
#[command(name = "xtask")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// What a page downloads for the widget, raw / gzip / brotli; fails over a budget.
    Weight {
        /// The widget build (usually dist).
        dir: PathBuf,
        /// Most KB (gzip) of the first load.
        #[arg(long)]
        budget_kb: Option<f64>,
        /// Most KB (gzip) of the whole widget, the parts loaded on demand included.
        #[arg(long)]
        total_budget_kb: Option<f64>,
    },
    /// Starts the release server on a fresh database and measures it.
    Bench {
        /// The server binary.
        #[arg(long, default_value = "target/server/otklik")]
        server: PathBuf,
        /// How long each scenario runs.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// A PostgreSQL server (a superuser URL) to run on, in a fresh database of its own; default: SQLite.
        #[arg(long)]
        postgres: Option<String>,
        /// Nodes sharing the database (PostgreSQL only), the clients spread over them.
        #[arg(long, default_value_t = 1)]
        nodes: usize,
    },
    /// How soon a server started on an existing database answers its first request.
    ColdStart {
        /// The server binary.
        #[arg(long, default_value = "target/server/otklik")]
        server: PathBuf,
        /// The widget build the server loads (usually dist).
        #[arg(long, default_value = "dist")]
        assets: PathBuf,
        /// Starts to time (the median is reported).
        #[arg(long, default_value_t = 9)]
        runs: usize,
    },
    /// Generates a Disqus export and times `otklik import disqus` on it (rate and peak memory).
    ImportBench {
        /// The server binary.
        #[arg(long, default_value = "target/server/otklik")]
        server: PathBuf,
        /// Comments in the generated file.
        #[arg(long, default_value_t = 1_000_000)]
        comments: u64,
        /// Keep the generated file here (it is deleted otherwise).
        #[arg(long)]
        keep: Option<PathBuf>,
    },
    /// How many messages a second the outbox sends to an SMTP server on loopback (aiosmtpd).
    MailBench {
        /// The server binary.
        #[arg(long, default_value = "target/server/otklik")]
        server: PathBuf,
        /// Messages to send.
        #[arg(long, default_value_t = 2_000)]
        messages: usize,
    },
    /// The shipped widget from the compiled wasm: split, bound, shrunk and named by hash.
    Bundle {
        /// The wasm cargo built with `--cfg otklik_split`.
        wasm: PathBuf,
        /// Where to write the files (usually dist).
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().task {
        Task::Weight { dir, budget_kb, total_budget_kb } => weight::run(&dir, budget_kb, total_budget_kb),
        Task::Bench { server, seconds, postgres, nodes } => bench::run(&server, seconds, postgres.as_deref(), nodes),
        Task::Bundle { wasm, out } => bundle::run(&wasm, &out),
        Task::ColdStart { server, assets, runs } => cold_start::run(&server, &assets, runs),
        Task::MailBench { server, messages } => mail_bench::run(&server, messages).map(|()| ExitCode::SUCCESS),
        Task::ImportBench { server, comments, keep } => {
            import_bench::run(&server, comments, keep).map(|()| ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::{Cli, Task};

    #[test]
    fn flags_are_checked_not_skipped() {
        let parsed = Cli::try_parse_from(["xtask", "weight", "dist", "--budget-kb", "88", "--total-budget-kb", "177"]);
        assert!(matches!(
            parsed.map(|c| c.task),
            Ok(Task::Weight { budget_kb: Some(88.0), total_budget_kb: Some(177.0), .. })
        ));
        assert!(Cli::try_parse_from(["xtask", "weight", "dist", "--budgetkb", "88"]).is_err());
        assert!(Cli::try_parse_from(["xtask", "weight", "dist", "--budget-kb", "lots"]).is_err());
        assert!(Cli::try_parse_from(["xtask", "bundle", "only-one-path"]).is_err());
    }
}
