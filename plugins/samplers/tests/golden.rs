//! Teacher-forced parity with the reference's sampling runs (`golden/tiny_ddim.safetensors`):
//! feed the stored x and ε̂ of each step, compare the next x and x̂0 within the
//! manifest's tolerances (quoted per tensor below, as the manifest gives them as text).

use infty_golden::Golden;
use infty_samplers::{Ddim, Ddpm};
use infty_sdk::sampler::new_sampler_box;
use infty_sdk::testing::max_abs_diff;
use infty_sdk::{ItemSpec, Sampler, SamplerBox, SamplerState};

fn sampler<S: Sampler>(given: &[(&str, &str)]) -> SamplerBox {
    let spec: ItemSpec = S::spec();
    new_sampler_box::<S>(&spec.resolve(given.iter().copied()).unwrap()).unwrap()
}

/// Runs the step at call index `call` from the stored state `x`; returns (x_next, x̂0).
fn forced_step(
    sampler: &SamplerBox,
    call: usize,
    x: &[f32],
    eps: &[f32],
    noise: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let step = sampler.steps()[call];
    let mut state = SamplerState { x: x.to_vec().into(), history: Default::default() };
    let mut x0 = vec![0.0; eps.len()];
    let noise = if step.noise { noise } else { &[] };
    sampler.step(step, &mut state, eps.into(), noise.into(), x0.as_mut_slice().into()).into_result().unwrap();
    (state.x.into_vec(), x0)
}

fn check(what: &str, got: &[f32], want: &[f32], tolerance: f32) {
    let err = max_abs_diff(got, want);
    eprintln!("{what}: max abs error {err:e} (tolerance {tolerance:e})");
    assert!(err <= tolerance, "{what}: max abs error {err:e} > {tolerance:e}");
}

#[test]
fn ddim_steps_match_the_reference_step_by_step() {
    let golden = Golden::load("tiny_ddim.safetensors");
    let (x, eps, pred_x0, model_t) =
        (golden.f32("x"), golden.f32("eps"), golden.f32("pred_x0"), golden.f32("model_t"));
    // x holds x_T and the state after every step.
    let count = x.shape[0] - 1;
    let ddim = sampler::<Ddim>(&[("steps", count.to_string().as_str())]);
    let steps = ddim.steps();
    assert_eq!(steps.len(), count);
    for (k, step) in steps.iter().enumerate() {
        assert!(model_t.at(k).iter().all(|&t| t == step.model_t), "model_t at step {k}");
        assert!(!step.noise, "DDIM with eta 0 takes no noise");
        let (next, x0) = forced_step(&ddim, k, x.at(k), eps.at(k), &[]);
        // Manifest: x[1] 1e-2, later x 2e-5; pred_x0 step 0 5e-2, later steps 1e-4.
        check(&format!("x[{}]", k + 1), &next, x.at(k + 1), if k == 0 { 1e-2 } else { 2e-5 });
        check(&format!("pred_x0[{k}]"), &x0, pred_x0.at(k), if k == 0 { 5e-2 } else { 1e-4 });
    }
    assert_eq!(x.at(count), golden.f32("final").data, "the final sample is the last state");
}

/// A three-step DDPM excerpt of the plain (unrespaced) process, from the stored timesteps.
fn ddpm_excerpt(prefix: &str, x0_tolerances: [f32; 3]) {
    let golden = Golden::load("tiny_ddim.safetensors");
    let total = golden.manifest()["config"]["diffusion"]["steps"].as_u64().expect("config.diffusion.steps");
    let ddpm = sampler::<Ddpm>(&[("steps", total.to_string().as_str())]);
    let name = |t: &str| format!("{prefix}_{t}");
    let (x, eps, pred_x0) = (golden.f32(&name("x")), golden.f32(&name("eps")), golden.f32(&name("pred_x0")));
    let (noise, t) = (golden.f32(&name("mollified_noise")), golden.i64(&name("t")));
    // Call k runs timestep total − 1 − k.
    let first_call = (total as i64 - 1 - t.data[0]) as usize;
    for (k, &x0_tolerance) in x0_tolerances.iter().enumerate() {
        let step = ddpm.steps()[first_call + k];
        assert_eq!(i64::from(step.timestep), t.data[k], "{prefix} step {k}");
        assert_eq!(step.noise, t.data[k] != 0);
        let (next, x0) = forced_step(&ddpm, first_call + k, x.at(k), eps.at(k), noise.at(k));
        check(&format!("{prefix} x[{}]", k + 1), &next, x.at(k + 1), 2e-5);
        check(&format!("{prefix} pred_x0[{k}]"), &x0, pred_x0.at(k), x0_tolerance);
    }
}

#[test]
fn ddpm_start_matches_the_reference_with_the_stored_noise() {
    // Manifest: pred_x0 5e-2 at t=999, 5e-3 at t=998/997; x 2e-5.
    ddpm_excerpt("ddpm_start", [5e-2, 5e-3, 5e-3]);
}

#[test]
fn ddpm_end_matches_the_reference_with_the_stored_noise() {
    // Manifest: pred_x0 2e-5 at t <= 2; x 2e-5.
    ddpm_excerpt("ddpm_end", [2e-5; 3]);
}
