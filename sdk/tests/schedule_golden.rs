//! Parity of the schedule maths with the reference (`schedule.safetensors` in the golden folder):
//! float64 tables within 1e-9 relative, kept timesteps exactly.

use infty_golden::Golden;
use infty_sdk::schedule::{space_timesteps, BetaSchedule, Schedule};

/// The reference run's diffusion length (manifest `config.diffusion.steps`).
fn steps(golden: &Golden) -> usize {
    golden.manifest()["config"]["diffusion"]["steps"].as_u64().expect("config.diffusion.steps") as usize
}

/// The manifest's rule for float64 tensors: `|a − b| ≤ 1e-9·|b| + 1e-15`.
fn assert_close(name: &str, ours: &[f64], golden: &Golden) {
    let want = golden.f64(name).data;
    assert_eq!(ours.len(), want.len(), "{name}: length");
    for (i, (a, b)) in ours.iter().zip(&want).enumerate() {
        assert!((a - b).abs() <= 1e-9 * b.abs() + 1e-15, "{name}[{i}]: {a} vs {b}");
    }
}

#[test]
fn cosine_tables_match_the_reference() {
    let golden = Golden::load("schedule.safetensors");
    let s = Schedule::named(BetaSchedule::Cosine, steps(&golden));
    assert_close("betas", &s.betas, &golden);
    assert_close("alphas_cumprod", &s.alphas_cumprod, &golden);
    assert_close("alphas_cumprod_prev", &s.alphas_cumprod_prev, &golden);
    assert_close("sqrt_recip_alphas_cumprod", &s.sqrt_recip_alphas_cumprod, &golden);
    assert_close("sqrt_recipm1_alphas_cumprod", &s.sqrt_recipm1_alphas_cumprod, &golden);
    assert_close("posterior_variance", &s.posterior_variance, &golden);
    assert_close("posterior_mean_coef1", &s.posterior_mean_coef1, &golden);
    assert_close("posterior_mean_coef2", &s.posterior_mean_coef2, &golden);
    assert_close("fixed_large_log_variance", &s.fixed_large_log_variance, &golden);
}

#[test]
fn respacing_matches_the_reference() {
    let golden = Golden::load("schedule.safetensors");
    let total = steps(&golden);
    let base = Schedule::named(BetaSchedule::Cosine, total);
    // Every respaced count the set stores (`timesteps_<count>`).
    let tensors = golden.manifest()["files"]["schedule.safetensors"]["tensors"].as_object().unwrap();
    let counts: Vec<&str> = tensors.keys().filter_map(|k| k.strip_prefix("timesteps_")).collect();
    assert!(!counts.is_empty(), "the schedule set stores no respaced timesteps");
    for count in counts {
        let kept = space_timesteps(total, count).unwrap();
        let want: Vec<usize> =
            golden.i64(&format!("timesteps_{count}")).data.iter().map(|&t| t as usize).collect();
        assert_eq!(kept, want, "timesteps_{count}");
        let spaced = base.respaced(&kept);
        assert_close(&format!("spaced_betas_{count}"), &spaced.betas, &golden);
        assert_close(&format!("spaced_alphas_cumprod_{count}"), &spaced.alphas_cumprod, &golden);
    }
}
