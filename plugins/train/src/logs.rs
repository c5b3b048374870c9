//! A run's logs: `train.csv` (step, loss, seconds), `val.csv` (step, held-out loss
//! per timestep band, their mean, and predicting zero), and `loss.png` drawn from them.
//! Rows are appended and flushed as they come; a resumed run first drops the rows
//! after its checkpoint, so the logs read as one uninterrupted run.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use infty_sdk::PluginError;

use crate::plot::{loss_plot, ValPoint};
use crate::validate::{BandLosses, BANDS};

/// The open logs of a run and the history they hold.
pub struct Logs {
    dir: PathBuf,
    train_file: File,
    val_file: File,
    pub train: Vec<(u64, f64)>,
    pub val: Vec<ValPoint>,
}

fn io_error(path: &Path, e: std::io::Error) -> PluginError {
    PluginError::failed(format!("cannot write '{}': {e}", path.display()))
}

/// The rows of `path` (header skipped) whose step is at most `last`, as fields.
fn rows_until(path: &Path, last: u64) -> Vec<Vec<String>> {
    let Ok(file) = File::open(path) else { return Vec::new() };
    BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .skip(1)
        .map(|line| line.split(',').map(str::to_string).collect::<Vec<_>>())
        .filter(|row| row.first().and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| s <= last))
        .collect()
}

/// Rewrites `path` with `header` and `rows`, then opens it for appending.
fn rewrite(path: &Path, header: &str, rows: &[Vec<String>]) -> Result<File, PluginError> {
    let mut text = format!("{header}\n");
    for row in rows {
        text.push_str(&row.join(","));
        text.push('\n');
    }
    std::fs::write(path, text).map_err(|e| io_error(path, e))?;
    OpenOptions::new().append(true).open(path).map_err(|e| io_error(path, e))
}

impl Logs {
    /// Opens the logs in `dir`, keeping the rows up to step `keep_until` (0 for a new run).
    pub fn open(dir: &Path, keep_until: u64) -> Result<Logs, PluginError> {
        let (train_path, val_path) = (dir.join("train.csv"), dir.join("val.csv"));
        let train_rows = rows_until(&train_path, keep_until);
        let val_rows = rows_until(&val_path, keep_until);
        let bands: Vec<String> = (0..BANDS).map(|b| format!("band{b}")).collect();
        let val_header = format!("step,mean,zero,{}", bands.join(","));
        let parse = |row: &Vec<String>, i: usize| row.get(i).and_then(|s| s.parse::<f64>().ok());
        Ok(Logs {
            dir: dir.to_path_buf(),
            train: train_rows.iter().filter_map(|r| Some((r[0].parse().ok()?, parse(r, 1)?))).collect(),
            val: val_rows
                .iter()
                .filter_map(|r| {
                    Some(ValPoint { step: r[0].parse().ok()?, mean: parse(r, 1)?, zero: parse(r, 2)? })
                })
                .collect(),
            train_file: rewrite(&train_path, "step,loss,seconds", &train_rows)?,
            val_file: rewrite(&val_path, &val_header, &val_rows)?,
        })
    }

    /// Records a training step's loss and the seconds it took.
    fn train_step(&mut self, step: u64, loss: f64, seconds: f64) -> Result<(), PluginError> {
        self.train.push((step, loss));
        writeln!(self.train_file, "{step},{loss},{seconds:.4}")
            .map_err(|e| io_error(&self.dir.join("train.csv"), e))
    }

    /// Records a training step and shows it on the progress bar: its `name`d loss, the
    /// mean of the last 50 and the last held-out loss.
    pub fn step(
        &mut self,
        step: u64,
        steps: u64,
        name: &str,
        loss: f64,
        seconds: f64,
    ) -> Result<(), PluginError> {
        self.train_step(step, loss, seconds)?;
        let recent = &self.train[self.train.len().saturating_sub(50)..];
        let average = recent.iter().map(|(_, l)| l).sum::<f64>() / recent.len() as f64;
        let val = self.val.last().map_or(String::new(), |v| format!("  held-out {:.4}", v.mean));
        let status = format!("{name} {loss:.4} (mean of last {}: {average:.4}){val}", recent.len());
        infty_sdk::host::progress(step, steps, &status);
        Ok(())
    }

    /// Records a held-out evaluation.
    pub fn validation(&mut self, step: u64, losses: &BandLosses) -> Result<(), PluginError> {
        let (mean, zero) = (losses.mean(), losses.zero_mean());
        self.val.push(ValPoint { step, mean, zero });
        let bands: Vec<String> = losses.model.iter().map(|l| l.to_string()).collect();
        writeln!(self.val_file, "{step},{mean},{zero},{}", bands.join(","))
            .map_err(|e| io_error(&self.dir.join("val.csv"), e))
    }

    /// Redraws `loss.png`.
    pub fn plot(&self) -> Result<(), PluginError> {
        loss_plot(&self.dir.join("loss.png"), &self.train, &self.val)
    }
}
