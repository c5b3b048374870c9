//! Named beta schedules (reference `diffusion.py:get_named_beta_schedule` and
//! `betas_for_alpha_bar`, docs/reference.md §1.1). All in float64, as the reference.

use std::f64::consts::FRAC_PI_2;

use crate::PluginError;

/// The schedule names a sampler accepts, in the order help lists them.
pub const SCHEDULE_NAMES: [&str; 4] = ["cosine", "linear", "const0.008", "shifted_cosine"];

/// A named beta schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum BetaSchedule {
    /// `ᾱ(t) = cos(((t+0.008)/1.008)·π/2)²`, betas clipped at 0.999 (every image config).
    Cosine,
    /// Betas evenly from `1e-4` to `0.02`, scaled by `1000/T`.
    Linear,
    /// Every beta `0.008·1000/T` (every latent config).
    Const0008,
    /// The cosine ᾱ with its log-SNR shifted by `2·log(64/resolution)` (simple diffusion).
    ShiftedCosine {
        /// The training resolution the shift is computed from.
        resolution: u32,
    },
}

impl BetaSchedule {
    /// The schedule called `name`; `resolution` is only read by `shifted_cosine`.
    pub fn from_name(name: &str, resolution: u32) -> Result<Self, PluginError> {
        match name {
            "cosine" => Ok(Self::Cosine),
            "linear" => Ok(Self::Linear),
            "const0.008" => Ok(Self::Const0008),
            "shifted_cosine" if resolution > 0 => Ok(Self::ShiftedCosine { resolution }),
            "shifted_cosine" => Err(PluginError::invalid_param(
                "schedule-resolution",
                "shifted_cosine needs the training resolution, a positive number of pixels",
            )),
            other => Err(PluginError::invalid_param(
                "schedule",
                format!("unknown beta schedule '{other}'; known: {}", SCHEDULE_NAMES.join(", ")),
            )),
        }
    }

    /// The `steps` betas of this schedule.
    pub fn betas(&self, steps: usize) -> Vec<f64> {
        let n = steps as f64;
        match *self {
            Self::Cosine => betas_for_alpha_bar(steps, cosine_alpha_bar),
            Self::ShiftedCosine { resolution } => {
                let shift = 2.0 * (64.0 / f64::from(resolution)).ln();
                betas_for_alpha_bar(steps, |t| {
                    let tan = ((t + 0.008) / 1.008 * FRAC_PI_2).tan();
                    sigmoid(-(tan * tan).ln() + shift)
                })
            }
            Self::Linear => {
                let scale = 1000.0 / n;
                linspace(scale * 1e-4, scale * 0.02, steps)
            }
            Self::Const0008 => vec![0.008 * (1000.0 / n); steps],
        }
    }
}

fn cosine_alpha_bar(t: f64) -> f64 {
    let c = ((t + 0.008) / 1.008 * FRAC_PI_2).cos();
    c * c
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `beta_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), 0.999)` (`betas_for_alpha_bar`).
fn betas_for_alpha_bar(steps: usize, alpha_bar: impl Fn(f64) -> f64) -> Vec<f64> {
    let n = steps as f64;
    (0..steps)
        .map(|i| {
            let (t1, t2) = (i as f64 / n, (i + 1) as f64 / n);
            (1.0 - alpha_bar(t2) / alpha_bar(t1)).min(0.999)
        })
        .collect()
}

/// `numpy.linspace(start, stop, count)`: `start + i·step`, the last value exactly `stop`.
fn linspace(start: f64, stop: f64, count: usize) -> Vec<f64> {
    if count == 1 {
        return vec![start];
    }
    let step = (stop - start) / (count - 1) as f64;
    let mut values: Vec<f64> = (0..count).map(|i| start + i as f64 * step).collect();
    values[count - 1] = stop;
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs()
    }

    #[test]
    fn cosine_matches_the_spec_check_values() {
        let b = BetaSchedule::Cosine.betas(1000);
        assert!(close(b[0], 4.128422e-05, 1e-6), "{}", b[0]);
        assert!(close(b[1], 4.614175e-05, 1e-6), "{}", b[1]);
        assert!(close(b[499], 3.145886e-03, 1e-6), "{}", b[499]);
        assert!(close(b[998], 0.749999, 1e-6), "{}", b[998]);
        assert_eq!(b[999], 0.999, "only the last beta is clipped");
    }

    #[test]
    fn const_and_linear_scale_with_the_step_count() {
        assert_eq!(BetaSchedule::Const0008.betas(500), vec![0.016; 500]);
        let b = BetaSchedule::Linear.betas(1000);
        assert_eq!((b[0], b[999]), (1e-4, 0.02));
        assert!(close(BetaSchedule::Linear.betas(100)[99], 0.2, 1e-12));
    }

    #[test]
    fn shifted_cosine_at_64_is_the_cosine_alpha_bar() {
        let shifted = BetaSchedule::ShiftedCosine { resolution: 64 }.betas(1000);
        let plain = BetaSchedule::Cosine.betas(1000);
        for i in [0, 10, 500, 990] {
            assert!(close(shifted[i], plain[i], 1e-9), "{i}: {} vs {}", shifted[i], plain[i]);
        }
        // A larger resolution shifts the log-SNR down: noisier at the same t.
        let big = BetaSchedule::ShiftedCosine { resolution: 256 }.betas(1000);
        assert!(big[100] > plain[100]);
    }

    #[test]
    fn unknown_names_are_refused_with_the_known_ones() {
        let err = BetaSchedule::from_name("sqrt", 64).unwrap_err();
        assert_eq!(err.param.as_ref().into_option().map(|p| p.as_str()), Some("schedule"));
        assert!(err.message.contains("cosine, linear, const0.008, shifted_cosine"), "{err}");
        assert!(BetaSchedule::from_name("shifted_cosine", 0).is_err());
    }
}
