//! The model-file checks of the net plugin, from the header alone: any bytes opened as
//! a checkpoint (`checkpoint::open`: the safetensors header, its size against the
//! file's), then its config read from the metadata as the `net` and `latent` models
//! read it, and the fit checks (`fit::check_net`, `check_latent`: config bounds, tensor
//! names and shapes against the config, memory) for inference and for training. The
//! weights are never read.
//!
//! Must hold: no panic, no abort, no allocation sized by the file's claims.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use infty_fuzz::MemFile;
use infty_net::latent::{LatentConfig, Normalisation, FORMAT as LATENT_FORMAT};
use infty_net::{checkpoint, fit, NetConfig};
use libfuzzer_sys::fuzz_target;

static FILE: OnceLock<MemFile> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let path = FILE.get_or_init(MemFile::new).holding(data);
    let Ok(header) = checkpoint::open(Path::new(path)) else { return };
    let json = |key: &str| header.metadata.get(key).map(String::as_str).unwrap_or_default();
    if json("format") == LATENT_FORMAT {
        let Ok(cfg) = serde_json::from_str::<LatentConfig>(json("config")) else { return };
        if let Ok(norm) = serde_json::from_str::<Normalisation>(json("normalisation")) {
            let _ = norm.validate(cfg.channels as usize);
        }
        for train in [false, true] {
            let _ = fit::check_latent(&header, &cfg, train);
        }
    } else if let Ok(cfg) = serde_json::from_str::<NetConfig>(json("config")) {
        for train in [false, true] {
            let _ = fit::check_net(&header, &cfg, train);
        }
    }
});
