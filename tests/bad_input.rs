//! Bad input: each case asserts the message, the exit code, and that no output file
//! (nor a temporary file) appears.

use image::ImageFormat;
use infty_e2e::images::Image;
use infty_e2e::{artifacts, Infty, Run};

/// An installation with the basic and test-fixture plugins and a valid `in.png`.
fn setup() -> Infty {
    let infty =
        Infty::with_plugins(&[artifacts().plugin("infty_basic"), artifacts().plugin("infty_test_fixture")]);
    std::fs::write(infty.path("in.png"), Image::pattern(300, 20, 4, "u8").encode(ImageFormat::Png)).unwrap();
    infty
}

/// Asserts the exit code, that stderr holds `message` (and `help` if given), and no `out.png`.
fn assert_refused(infty: &Infty, run: &Run, code: i32, message: &str, help: Option<&str>) {
    assert_eq!(run.code, code, "exit code; stderr:\n{}", run.stderr);
    assert!(run.stderr.contains(message), "expected {message:?} in stderr:\n{}", run.stderr);
    if let Some(help) = help {
        assert!(
            run.stderr.contains(&format!("  help: {help}")),
            "expected help {help:?} in:\n{}",
            run.stderr
        );
    }
    assert!(!run.stderr.contains("panicked at"), "a panic reached the user:\n{}", run.stderr);
    infty.assert_no_output("out.png");
}

#[test]
fn unknown_operator() {
    let infty = setup();
    let run = infty.pipeline("read in.png ! scal --factor 2 ! write out.png");
    assert_refused(&infty, &run, 2, "infty: error: unknown operator 'scal'", Some("did you mean 'scale'?"));
    let run = infty.run(&["blurrr", "in.png", "out.png"]);
    assert_refused(&infty, &run, 2, "unknown command or item 'blurrr'", None);
}

#[test]
fn unknown_parameter() {
    let infty = setup();
    let run = infty.pipeline("read in.png ! scale --facter 2 ! write out.png");
    assert_refused(&infty, &run, 2, "scale: unknown parameter --facter", Some("did you mean --factor?"));
    let run = infty.pipeline("read in.png ! write out.png --qualty 3");
    assert_refused(&infty, &run, 2, "write: unknown parameter --qualty", Some("did you mean --quality?"));
}

#[test]
fn out_of_range_and_malformed_parameter_values() {
    let infty = setup();
    let cases = [
        ("scale --factor 1e9", "scale (org.infty.basic): param 'factor': must be <= 1000000, got 1000000000"),
        ("scale --factor abc", "scale (org.infty.basic): param 'factor': expected a number, got 'abc'"),
        ("scale --factor NaN", "scale (org.infty.basic): param 'factor': must be a finite number, got NaN"),
        ("to-gray --standard srgb", "param 'standard': must be one of rec709, rec601, got 'srgb'"),
        ("clamp --min 0.9 --max 0.1", "clamp (org.infty.basic): param 'min': must be <= max (0.1), got 0.9"),
        ("crop --width 0 --height 5", "crop (org.infty.basic): param 'width': must be >= 1, got 0"),
        ("crop --width 10", "crop (org.infty.basic): param 'height': is required but was not given"),
        ("scale --factor", "scale: --factor needs a value"),
        ("scale 2", "scale: unexpected word '2'"),
    ];
    for (step, message) in cases {
        let run = infty.pipeline(&format!("read in.png ! {step} ! write out.png"));
        assert_refused(&infty, &run, 2, message, None);
    }
    let run = infty.pipeline("read in.png ! write out.png --quality 101");
    assert_refused(&infty, &run, 2, "write: param 'quality': must be <= 100, got 101", None);
    let run = infty.pipeline("read in.png ! write out.tif --tile-size 40");
    assert_refused(
        &infty,
        &run,
        2,
        "write --tile-size 40: TIFF tiles must be a multiple of 16",
        Some("use e.g. 128"),
    );
}

#[test]
fn malformed_pipelines() {
    let infty = setup();
    let cases = [
        (
            "read in.png ! scale",
            "malformed pipeline: it must start with 'read IN' and end with 'write OUT', got 'read ! scale'",
        ),
        ("scale ! write out.png", "malformed pipeline: it must start with 'read IN'"),
        ("read in.png ! ! write out.png", "malformed pipeline: step 2 is empty"),
        ("read in.png ! write out.png !", "malformed pipeline: step 3 is empty"),
        (
            "read in.png ! read in.png ! write out.png",
            "malformed pipeline: 'read' may only be the first step",
        ),
        ("read ! write out.png", "read: param 'path': is required but was not given"),
        ("read in.png extra.png ! write out.png", "read: unexpected word 'extra.png'"),
        ("read in.png ! write out.xyz", "write: cannot tell the format of 'out.xyz' from its extension"),
        ("read in.png ! write -", "write -: give --format png|jpeg|tiff for standard output"),
    ];
    for (pipeline, message) in cases {
        let run = infty.pipeline(pipeline);
        assert_refused(&infty, &run, 2, message, None);
    }
    let run = infty.run(&["run", "read 'in.png ! write out.png"]);
    assert_refused(&infty, &run, 2, "malformed pipeline: unbalanced quotes", None);
}

#[test]
fn missing_corrupt_and_unsupported_inputs() {
    let infty = setup();
    let run = infty.pipeline("read missing.png ! write out.png");
    assert_refused(
        &infty,
        &run,
        2,
        "infty: error: cannot open 'missing.png': No such file or directory",
        None,
    );
    std::fs::write(infty.path("text.png"), "just some text, not an image").unwrap();
    let run = infty.pipeline("read text.png ! write out.png");
    assert_refused(&infty, &run, 2, "'text.png' is not a PNG, JPEG or TIFF image", Some("check the file"));
    // A real PNG cut in half.
    let png = Image::pattern(64, 64, 3, "u8").encode(ImageFormat::Png);
    std::fs::write(infty.path("cut.png"), &png[..png.len() / 2]).unwrap();
    let run = infty.pipeline("read cut.png ! write out.png");
    assert_refused(&infty, &run, 2, "'cut.png': cannot decode PNG:", None);
    // A TIFF whose first directory points past the end of the file.
    std::fs::write(infty.path("bad.tif"), b"II*\x00\x08\x00\x00\x00\xff\xff").unwrap();
    let run = infty.pipeline("read bad.tif ! write out.png");
    assert_refused(&infty, &run, 2, "'bad.tif': cannot decode TIFF:", None);
    // Standard input that is not an image.
    let run = infty.run_with_stdin(&["run", "read - ! write out.png"], b"nope");
    assert_refused(&infty, &run, 2, "standard input is not a PNG, JPEG or TIFF image", None);
}

#[test]
fn outputs_the_destination_cannot_hold() {
    let infty = setup();
    let run = infty.pipeline("read in.png ! write no/such/folder/out.png");
    assert_refused(
        &infty,
        &run,
        2,
        "cannot write 'no/such/folder/out.png': folder 'no/such/folder' does not exist",
        None,
    );
    let run = infty.pipeline("read in.png ! write out.jpg");
    let message = "write 'out.jpg': JPEG stores 1 (gray) or 3 (RGB) channels; the image has 4";
    assert_refused(&infty, &run, 2, message, None);
    infty.assert_no_output("out.jpg");
    let run = infty.pipeline("read in.png ! write out.png --depth f32");
    assert_refused(&infty, &run, 2, "write 'out.png': PNG stores u8 or u16 samples, not f32", None);
    let run = infty.pipeline("read in.png ! crop --x 290 --width 20 --height 5 ! write out.png");
    let message = "crop (org.infty.basic): the 20x5 window at (290, 0) extends past the 300x20 image";
    assert_refused(&infty, &run, 2, message, None);
}

#[test]
fn a_panicking_plugin_is_reported_and_the_host_survives() {
    let infty = setup();
    let run = infty.pipeline("read in.png ! panic-process ! write out.png");
    assert_refused(
        &infty,
        &run,
        1,
        "infty: error: panic-process (org.infty.test): panicked: deliberate test panic in process: \
         at tests/plugins/fixture/src/lib.rs:",
        Some("this is a bug in the plugin; please report it to its authors"),
    );
    let run = infty.pipeline("read in.png ! panic-new ! write out.png");
    assert_refused(
        &infty,
        &run,
        1,
        "panic-new (org.infty.test): panicked: deliberate test panic in new",
        None,
    );
    // Reported once, as our error, not also by Rust's default panic hook.
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
}

#[test]
fn a_failed_run_keeps_an_existing_output_untouched() {
    let infty = setup();
    std::fs::write(infty.path("keep.png"), b"previous contents").unwrap();
    let run = infty.pipeline("read in.png ! panic-process ! write keep.png");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(std::fs::read(infty.path("keep.png")).unwrap(), b"previous contents");
    infty.assert_no_output("out.png");
}

#[test]
fn ctrl_c_while_writing_exits_130_and_leaves_no_partial_file() {
    let infty = setup();
    // Big enough that deflate-compressing the output takes a while.
    std::fs::write(infty.path("big.tif"), Image::pattern(2500, 2500, 3, "u16").encode_tiff()).unwrap();
    let mut child = infty.spawn(&["run", "read", "big.tif", "!", "write", "out.png"]);
    let start = std::time::Instant::now();
    let partial = || {
        std::fs::read_dir(infty.dir.path())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().ends_with(".part"))
    };
    while !partial() {
        assert!(child.try_wait().unwrap().is_none(), "infty finished before it could be interrupted");
        assert!(start.elapsed().as_secs() < 120, "no temporary output appeared");
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let kill = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stderr).contains("infty: interrupted"));
    infty.assert_no_output("out.png");
}
