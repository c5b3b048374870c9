//! Broken plugin libraries on the plugin path: the host probes them and reports each
//! in one line, whatever the file does. Each test is named after the defect it guards against.

use image::ImageFormat;
use infty_e2e::images::Image;
use infty_e2e::{artifacts, Infty};

/// The basic plugin's folder with `name` holding `bytes` beside it.
fn with_broken_library(name: &str, bytes: &[u8]) -> Infty {
    let infty = Infty::basic();
    std::fs::write(infty.path("plugin-path").join(name), bytes).unwrap();
    infty
}

/// The first `len` bytes of the real basic plugin: ELF headers that promise sections
/// the file no longer has.
fn truncated_plugin(len: usize) -> Vec<u8> {
    let mut bytes = std::fs::read(artifacts().plugin("infty_basic")).unwrap();
    bytes.truncate(len);
    bytes
}

/// Asserts `infty plugins` and a pipeline both run, that each names `name` in exactly
/// one line containing `reason`, and that the pipeline's output is right.
fn assert_skipped_in_one_line(infty: &Infty, name: &str, reason: &str) {
    let listing = infty.run(&["plugins"]);
    listing.assert_ok();
    let stdout = listing.stdout_text();
    assert!(stdout.contains("org.infty.basic"), "the good plugin is listed:\n{stdout}");
    let lines: Vec<&str> = stdout.lines().filter(|l| l.contains(name)).collect();
    assert_eq!(lines.len(), 1, "one line names {name}:\n{stdout}");
    assert!(lines[0].starts_with("failed: ") && lines[0].contains(reason), "{}", lines[0]);

    let input = Image::pattern(16, 8, 3, "u8");
    std::fs::write(infty.path("in.png"), input.encode(ImageFormat::Png)).unwrap();
    let run = infty.pipeline("read in.png ! scale --factor 1 ! write out.png");
    run.assert_ok();
    assert_eq!(Image::load(&infty.path("out.png")), input);
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.contains(name)).collect();
    assert_eq!(warnings.len(), 1, "one warning names {name}:\n{}", run.stderr);
    assert!(warnings[0].starts_with("infty: warning: skipped plugin "), "{}", warnings[0]);
}

#[test]
fn a_truncated_plugin_library_is_skipped_in_one_line_not_a_sigbus() {
    // The ELF and program headers survive, the segments they map do not: the system
    // loader faults (SIGBUS) reading them. (Cut at half, the file still loads.)
    for len in [4096, 65536] {
        let infty = with_broken_library("libtruncated.so", &truncated_plugin(len));
        assert_skipped_in_one_line(&infty, "libtruncated.so", "crashed the loader");
        // Again from the cached verdict, without a probe.
        assert_skipped_in_one_line(&infty, "libtruncated.so", "crashed the loader");
    }
}

#[test]
fn a_file_that_is_no_library_is_skipped_in_one_line() {
    let infty = with_broken_library("libtext.so", b"this is not an ELF file at all\n");
    assert_skipped_in_one_line(&infty, "libtext.so", "not a loadable library");
}

#[test]
fn an_empty_plugin_file_is_skipped_in_one_line() {
    let infty = with_broken_library("libempty.so", b"");
    assert_skipped_in_one_line(&infty, "libempty.so", "not a loadable library");
}
