//! Samplers through the real binary: listed and documented as samplers, refused as
//! pipeline steps, and driven by another plugin through the host API with
//! coordinate-keyed noise (the test fixture's `via-sampler` samples a distribution whose
//! only image is the input, so a correct sampler returns the input).

use infty_e2e::compat::{build_plugin, Alteration};
use infty_e2e::images::{Image, Samples};
use infty_e2e::{artifacts, Infty};

fn infty(extra: &[std::path::PathBuf]) -> Infty {
    let mut plugins: Vec<_> = ["infty_samplers", "infty_mollifier", "infty_test_fixture", "infty_dpm_solver"]
        .map(|p| artifacts().plugin(p))
        .to_vec();
    plugins.extend_from_slice(extra);
    Infty::with_plugins(&plugins)
}

/// A 300 × 40 RGB f32 image in [0, 1] spanning more than one 256-px engine tile.
fn write_input(infty: &Infty) -> Image {
    let mut image = Image::pattern(300, 40, 3, "f32");
    if let Samples::F32(v) = &mut image.samples {
        v.iter_mut().for_each(|s| *s = (*s + 1.0) / 3.0);
    }
    std::fs::write(infty.path("in.tif"), image.encode_tiff()).unwrap();
    image
}

fn max_diff(a: &Image, b: &Image) -> f64 {
    a.values().iter().zip(b.values()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn samplers_are_listed_documented_and_not_pipeline_steps() {
    let infty = infty(&[]);
    let list = infty.run(&["plugins"]).assert_ok().stdout_text();
    for name in ["ddpm", "ddim", "dpm-solver-2m"] {
        let line =
            list.lines().find(|l| l.trim_start().starts_with(name)).unwrap_or_else(|| panic!("{list}"));
        assert!(line.contains(" sampler "), "{line}");
    }
    let help = infty.run(&["help", "ddim"]).assert_ok().stdout_text();
    for flag in
        ["--steps <text>", "--schedule <cosine|linear|const0.008|shifted_cosine>", "--noise-mul", "--eta"]
    {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    write_input(&infty);
    let run = infty.pipeline("read in.tif ! ddim ! write out.tif");
    run.assert_refused("'ddim' is a sampler, not an operator");
    infty.assert_no_output("out.tif");
}

#[test]
fn every_installed_sampler_lands_on_the_only_data_point() {
    let euler = build_plugin(
        "readme-euler",
        Alteration::None,
        &infty_e2e::doc_rust_block("docs/plugins.md", "## Samplers"),
    );
    let infty = infty(&[euler]);
    let image = write_input(&infty);
    for (sampler, steps) in [("ddim", "20"), ("ddpm", "50"), ("dpm-solver-2m", "20"), ("euler", "20")] {
        let pipeline = format!(
            "read in.tif ! via-sampler --sampler {sampler} --steps {steps} ! write out.tif --depth f32"
        );
        infty.pipeline(&pipeline).assert_ok();
        let err = max_diff(&Image::load(&infty.path("out.tif")), &image);
        assert!(err < 2e-3, "{sampler}: {err}");
    }
}

#[test]
fn stochastic_sampling_is_reproducible_and_seeded() {
    let infty = infty(&[]);
    write_input(&infty);
    for sampler in ["ddpm", "ddim --params eta=1"] {
        let run = |seed: &str, out: &str| {
            let step = format!("via-sampler --sampler {sampler} --steps 10 --seed {seed}");
            infty.pipeline(&format!("read in.tif ! {step} ! write {out} --depth f32")).assert_ok();
            Image::load(&infty.path(out))
        };
        let (a, b, c) = (run("1", "a.tif"), run("1", "b.tif"), run("2", "c.tif"));
        assert!(a == b, "{sampler}: the same seed must give the same pixels");
        assert!(a != c, "{sampler}: another seed must give other noise");
    }
}

#[test]
fn bad_sampler_settings_are_clear_errors() {
    let infty = infty(&[]);
    write_input(&infty);
    for (args, says) in [
        ("--sampler ddim --steps 0", "param 'steps': '0' asks for zero steps"),
        ("--sampler ddim --steps 5000", "cannot take 5000 steps from a section of 1000"),
        ("--sampler ddim --steps ddim999", "cannot take exactly 999 steps of 1000"),
        ("--sampler nope", "unknown sampler 'nope'"),
        (
            "--sampler ddim --params schedule=quadratic",
            "must be one of cosine, linear, const0.008, shifted_cosine",
        ),
        ("--sampler ddim --params eta=2", "param 'eta': must be <= 1, got 2"),
        ("--sampler mollify", "'mollify' is an operator, not a sampler"),
    ] {
        let run = infty.pipeline(&format!("read in.tif ! via-sampler {args} ! write out.tif"));
        run.assert_refused(says);
        infty.assert_no_output("out.tif");
    }
}
