//! The `portcullis` binary as a library: configuration ([`Settings`]), the
//! command line ([`Cli`]), logging, and [`Application`], which wires the
//! store, the web layer and the background tasks together.
//!
//! Tests build an [`Application`] from [`Settings`] with port 0 and talk to
//! it over HTTP; `main` only parses the command line and calls [`run`].

mod accounts;
pub mod backchannel;
pub mod backup;
mod cli;
mod clients;
mod data_dir;
mod database;
mod fanout;
mod groups_cli;
pub mod healthcheck;
pub mod keys;
mod mail;
pub mod settings;
mod startup;
pub mod telemetry;
mod users_cli;

pub use accounts::{Swept, sweep_expired};
pub use cli::{Cli, Command, ConfigCommand};
pub use database::open_store;
pub use groups_cli::GroupsCommand;
pub use settings::Settings;
pub use startup::{Application, StartupError, connect_and_migrate, shutdown_signal};
pub use users_cli::{AddArgs, UsersCommand};

use std::process::ExitCode;

/// Exit status for a configuration or start-up problem (as clap uses for usage errors).
pub const EXIT_CONFIG: u8 = 2;

/// Runs a parsed command line to completion; returns the process exit code.
/// Failures print one line to stderr: no panic, no backtrace.
pub async fn run(cli: Cli) -> ExitCode {
    let code = run_command(cli).await;
    telemetry::flush();
    code
}

async fn run_command(cli: Cli) -> ExitCode {
    // A health check answers healthy (0) or not (1): container engines
    // reserve other codes, so even a bad configuration is a plain 1 there.
    let config_exit = if matches!(cli.command, Command::Healthcheck) { 1 } else { EXIT_CONFIG };
    let settings = match Settings::load(cli.config.as_deref(), env_vars()) {
        Ok(settings) => settings,
        Err(e) => return fail(config_exit, &e),
    };
    let format = cli.log_format.unwrap_or(settings.log.format);
    match cli.command {
        Command::Config { command: ConfigCommand::Check } => {
            #[allow(clippy::print_stdout)] // the command's output
            {
                print!("{}", config_check(&settings));
            }
            ExitCode::SUCCESS
        }
        Command::Migrate => {
            telemetry::init(format, &settings.log.level);
            match connect_and_migrate(&settings).await {
                Ok((store, applied)) => {
                    tracing::info!(applied, backend = %store.backend(), "migrations applied");
                    store.close().await;
                    ExitCode::SUCCESS
                }
                Err(e) => fail(EXIT_CONFIG, &e),
            }
        }
        Command::Backup(args) => {
            telemetry::init(format, &settings.log.level);
            backup::run(&settings, args).await
        }
        Command::Healthcheck => match healthcheck::check(settings.listen, healthcheck::TIMEOUT) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(1, &e),
        },
        Command::Serve => {
            telemetry::init(format, &settings.log.level);
            serve(&settings).await
        }
        Command::Keys { command } => {
            telemetry::init(format, &settings.log.level);
            keys::run_keys_command(&settings, command).await
        }
        Command::Users { command } => {
            telemetry::init(format, &settings.log.level);
            users_cli::run(&settings, command).await
        }
        Command::Groups { command } => {
            telemetry::init(format, &settings.log.level);
            groups_cli::run(&settings, command).await
        }
        Command::Clients { command } => {
            telemetry::init(format, &settings.log.level);
            clients::run(&settings, command).await
        }
    }
}

async fn serve(settings: &Settings) -> ExitCode {
    let stop = match shutdown_signal() {
        Ok(stop) => stop,
        Err(e) => return fail(1, &format!("cannot listen for SIGTERM/SIGINT: {e}")),
    };
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => return fail(EXIT_CONFIG, &e),
    };
    let host = settings.listen.ip();
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        issuer = %settings.issuer,
        database = %settings.database_url(),
        data_dir = %settings.data_dir.display(),
        "Portcullis listening on http://{host}:{}, metrics on http://{}:{}/metrics",
        app.port(),
        settings.metrics_listen.ip(),
        app.metrics_port(),
    );
    match app.run_until(stop).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(1, &e),
    }
}

/// What `config check` prints, all of it TOML: a comment saying the
/// configuration is valid, the effective settings with secrets redacted,
/// then a comment line per upstream with the redirect URI to register there.
fn config_check(settings: &Settings) -> String {
    let mut out = String::from("# configuration is valid; effective settings (secrets redacted):\n");
    out.push_str(&settings.to_redacted_toml());
    for upstream in &settings.upstreams {
        out.push_str(&format!(
            "# upstream {}: register the redirect URI {} at {}\n",
            upstream.id,
            upstream.redirect_uri(&settings.issuer),
            upstream.issuer,
        ));
    }
    out
}

/// Prints `error: …` as one line and returns the exit code.
fn fail(code: u8, err: &dyn std::fmt::Display) -> ExitCode {
    let line = err.to_string().replace('\n', " ");
    telemetry::flush();
    #[allow(clippy::print_stderr)] // the one line a failed start prints
    {
        eprintln!("error: {line}");
    }
    ExitCode::from(code)
}

/// The process environment; variables that are not UTF-8 cannot be settings.
fn env_vars() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_check_names_the_redirect_uri_of_each_upstream() {
        let toml = "issuer = \"https://id.example.com\"\n\
                    [[upstreams]]\nid = \"corp\"\ndisplay_name = \"Corp\"\nissuer = \"https://corp.example\"\n\
                    client_id = \"portcullis\"\nclient_secret = \"hunter2\"\n\
                    [[upstreams]]\nid = \"google\"\ndisplay_name = \"Google\"\n\
                    issuer = \"https://accounts.google.com\"\nclient_id = \"g\"\nclient_secret = \"s3cret\"\n";
        let settings = Settings::from_toml_str("c.toml", toml, std::iter::empty()).expect("valid");
        let out = config_check(&settings);
        let lines: Vec<&str> = out.lines().filter(|l| l.starts_with("# upstream ")).collect();
        assert_eq!(
            lines,
            [
                "# upstream corp: register the redirect URI \
                 https://id.example.com/login/upstream/corp/callback at https://corp.example",
                "# upstream google: register the redirect URI \
                 https://id.example.com/login/upstream/google/callback at https://accounts.google.com",
            ]
        );
        assert!(out.parse::<toml::Table>().is_ok(), "still TOML:\n{out}");
        assert!(!out.contains("hunter2") && !out.contains("s3cret"), "{out}");
    }
}
