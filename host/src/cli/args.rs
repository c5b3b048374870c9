//! The command line: what each command accepts. Operators add no code here; their
//! parameters come from their declarations (`super::item`).

use clap::{Parser, Subcommand};

const AFTER_HELP: &str = "\
Operators and other items come from plugins: `infty plugins` lists them and
`infty help <item>` explains one. Any operator also runs alone: `infty <op> IN OUT [--param v]... [--resume] [--sync] [--shard I/N] [--tile-size N]`.

Plugins are loaded from a 'plugins' folder next to the executable, then from each
folder in INFTY_PLUGIN_PATH.

Exit codes: 0 success, 1 failure while running, 2 bad usage or bad input, 128 + the signal
when stopped by one: 130 Ctrl-C (SIGINT), 143 SIGTERM, 129 SIGHUP.";

/// Function-space image operators: pipelines of plugins over images of any size.
#[derive(Parser, Debug)]
#[command(name = "infty", version, disable_help_subcommand = true, after_help = AFTER_HELP)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a pipeline: read IN ! OP [--param v]... ! write OUT  (IN/OUT may be - for stdin/stdout)
    #[command(
        after_help = "Example:\n  infty run read in.png ! to-gray ! scale --factor 1.2 ! clamp ! write out.png"
    )]
    Run {
        /// Continue an interrupted run of the same job (tiled TIFF output).
        #[arg(long)]
        resume: bool,
        /// Wait until the output is on the disk before it takes its name: it then survives a
        /// power cut, at the cost of the time the disk takes to write it (cp and libvips do not wait).
        #[arg(long)]
        sync: bool,
        /// Compute only shard I of N of the output tiles, into OUT's `.shard-I-of-N` file;
        /// `infty merge OUT` assembles them.
        #[arg(long, value_name = "I/N")]
        shard: Option<String>,
        /// The steps, separated by '!' (or the whole pipeline as one quoted word).
        #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true, value_name = "STEP")]
        pipeline: Vec<String>,
    },
    /// Assemble the shard files of `infty run --shard I/N ... ! write OUT` into OUT.
    Merge {
        /// The output the shards were written for.
        output: std::path::PathBuf,
        /// The shard files; by default every `OUT-stem.shard-I-of-N.ext` beside OUT.
        shards: Vec<std::path::PathBuf>,
        /// Wait until the output is on the disk before it takes its name: it then survives a
        /// power cut, at the cost of the time the disk takes to write it (cp and libvips do not wait).
        #[arg(long)]
        sync: bool,
    },
    /// Write an HTML page showing one image, or two side by side with zoom and pan locked
    /// together (OpenSeadragon, bundled: no network needed). Images other than .dzi are
    /// first written as DeepZoom beside the page.
    #[command(
        after_help = "Example:\n  infty upscale in.png big.tif --scale 4 && infty view in.png big.tif && xdg-open view.html"
    )]
    View {
        /// One or two images (.dzi, or any image infty reads).
        #[arg(required = true, num_args = 1..=2)]
        images: Vec<std::path::PathBuf>,
        /// The page to write; its DeepZoom tiles and script go to NAME_files/ beside it.
        #[arg(long, short, default_value = "view.html")]
        output: std::path::PathBuf,
    },
    /// List the loaded plugins, what they provide, and files that failed to load.
    Plugins {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Show help for a command or an item (operator, sampler, task).
    Help {
        /// A command (run, plugins) or an item name; none for the overview.
        name: Option<String>,
    },
    /// Internal: open one plugin library and print what it provides (the host runs this
    /// in a child process, so a broken library cannot crash the host).
    #[command(name = "__probe-plugin", hide = true)]
    ProbePlugin { file: std::path::PathBuf },
    /// Run an item directly: `infty <op> IN OUT [--param v]...`.
    #[command(external_subcommand)]
    Item(Vec<String>),
}
