//! What a forward pass reports at its named stage boundaries: intermediates for the
//! parity tests, or stage times for the profile of `bench/net`.

use std::collections::BTreeMap;
use std::time::Instant;

use tch::Tensor;

/// What a forward pass reports at each named stage boundary: nothing, a copy of the
/// intermediate (the parity tests), or the wall time since the previous boundary (the
/// profile of `bench/net`; on a CPU every op has finished when it returns).
#[derive(Default)]
pub enum Trace {
    /// Nothing recorded.
    #[default]
    Off,
    /// Every named intermediate.
    Tensors(BTreeMap<String, Tensor>),
    /// Seconds spent per stage, in order, and when the last stage ended.
    Times(Vec<(String, f64)>, Instant),
}

impl Trace {
    /// A trace that records nothing.
    pub fn off() -> Self {
        Self::Off
    }

    /// A trace that records every named intermediate.
    pub fn on() -> Self {
        Self::Tensors(BTreeMap::new())
    }

    /// A trace that times the stages between named intermediates, from now.
    pub fn timed() -> Self {
        Self::Times(Vec::new(), Instant::now())
    }

    /// Records a detached copy of `t` under `name`, or the time since the last record.
    pub fn record(&mut self, name: &str, t: &Tensor) {
        match self {
            Self::Off => {}
            Self::Tensors(map) => {
                map.insert(name.to_string(), t.detach().copy());
            }
            Self::Times(times, since) => {
                times.push((name.to_string(), since.elapsed().as_secs_f64()));
                *since = Instant::now();
            }
        }
    }

    /// A recorded intermediate.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        match self {
            Self::Tensors(map) => map.get(name),
            _ => None,
        }
    }

    /// The stage times recorded, in order.
    pub fn times(&self) -> &[(String, f64)] {
        match self {
            Self::Times(times, _) => times,
            _ => &[],
        }
    }
}
