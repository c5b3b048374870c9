//! The parameter checker: `ItemSpec::resolve` of the real declarations (the basic
//! plugin's operators, the mollifier's, the built-in `read` and `write`) with
//! (name, value) pairs from the input: its first byte picks the declaration, each
//! further line is `name=value`. Operators whose parameters resolve are then built
//! (`Operator::new`) and asked their output raster and input window for a few sizes.
//!
//! Must hold: no panic, no abort; bad parameters are errors naming the parameter.
#![no_main]

use infty::pipeline::builtins::{read_spec, write_spec};
use infty_basic::{Clamp, Crop, Offset, Scale, ToGray};
use infty_mollifier::{Mollify, Unmollify};
use infty_sdk::{Operator, RasterInfo};
use libfuzzer_sys::fuzz_target;

/// Rasters an operator is asked about: tiny, ordinary, and the largest sides a header
/// may claim with `read --unlimited`.
const RASTERS: [RasterInfo; 4] = [
    RasterInfo::new(1, 1, 1),
    RasterInfo::new(300, 200, 3),
    RasterInfo::new(1 << 24, 1 << 24, 4),
    RasterInfo::new(u32::MAX, u32::MAX, 2),
];

fn operator<T: Operator>(pairs: &[(&str, &str)]) {
    let Ok(params) = T::spec().resolve(pairs.iter().copied()) else { return };
    let Ok(op) = T::new(&params) else { return };
    for raster in RASTERS {
        if let Ok(output) = op.output_raster(raster) {
            let _ = op.input_window(output.bounds(), raster);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let pairs: Vec<(&str, &str)> = text.lines().map(|l| l.split_once('=').unwrap_or((l, ""))).collect();
    match pick % 9 {
        0 => operator::<Scale>(&pairs),
        1 => operator::<Offset>(&pairs),
        2 => operator::<Clamp>(&pairs),
        3 => operator::<ToGray>(&pairs),
        4 => operator::<Crop>(&pairs),
        5 => operator::<Mollify>(&pairs),
        6 => operator::<Unmollify>(&pairs),
        7 => drop(read_spec().resolve(pairs)),
        _ => drop(write_spec().resolve(pairs)),
    }
});
