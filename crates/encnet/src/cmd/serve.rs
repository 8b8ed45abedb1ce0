//! `encnet serve`: run a node until SIGINT or SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use encnet_node::{Config, LogFormat, Server};

use crate::error::CliError;

/// Flags of `encnet serve`; each overrides the config file and `ENCNET_*`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Config file (default: ./encnet.toml when it exists; or ENCNET_CONFIG).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory holding root.key and encnet.db [default: ./encnet-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8700].
    #[arg(long, value_name = "ADDR")]
    listen: Option<std::net::SocketAddr>,
    /// Database URL (default: SQLite in the data directory).
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// Log format.
    #[arg(long, value_enum)]
    log_format: Option<LogFormatArg>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

pub(crate) fn run(args: ServeArgs) -> Result<ExitCode, CliError> {
    let config = resolve_config(args)?;
    init_logging(config.log_format);
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::Runtime)?;
    runtime.block_on(serve(config))?;
    Ok(ExitCode::SUCCESS)
}

/// Defaults, then the config file, then `ENCNET_*`, then flags.
fn resolve_config(args: ServeArgs) -> Result<Config, CliError> {
    let file = args
        .config
        .or_else(|| std::env::var_os("ENCNET_CONFIG").map(PathBuf::from))
        .or_else(|| {
            let default = PathBuf::from("encnet.toml");
            default.exists().then_some(default)
        });
    let mut config = match file {
        Some(path) => Config::from_file(&path)?,
        None => Config::default(),
    };
    config.apply_env(|name| std::env::var(name).ok())?;
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(url) = args.database_url {
        config.database_url = Some(url);
    }
    if let Some(format) = args.log_format {
        config.log_format = match format {
            LogFormatArg::Text => LogFormat::Text,
            LogFormatArg::Json => LogFormat::Json,
        };
    }
    Ok(config)
}

async fn serve(config: Config) -> Result<(), CliError> {
    let server = Server::open(&config).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| CliError::Bind {
            addr: config.listen.to_string(),
            source,
        })?;
    let addr = listener.local_addr().map_err(CliError::Runtime)?;
    let shutdown = shutdown_signal()?;
    println!(
        "encnet node {} listening on http://{addr}",
        server.node_did()
    );
    tracing::info!(node = %server.node_did(), %addr, data_dir = %config.data_dir.display(), "node started");
    server.serve(listener, shutdown).await?;
    tracing::info!("node stopped");
    Ok(())
}

/// Installs the SIGINT and SIGTERM handlers now, before the node announces
/// itself, so a signal sent on seeing that line is never missed (it would
/// otherwise kill the process); the future resolves on either.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, CliError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).map_err(CliError::Runtime)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(CliError::Runtime)?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
